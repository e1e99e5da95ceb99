//go:build kubeapi

package main

// Braid's manifests and a running braid against a real API server
// (internal/kubeapi: etcd and kube-apiserver processes, RBAC on). make kube
// runs these, with kubectl and helm from deploy/local/kube.sh.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/braidobs/braid/internal/kubeapi"
	"github.com/braidobs/braid/internal/testnet"
)

// foreignNamespaces returns the namespaces that manifests put objects in
// but do not create.
func foreignNamespaces(t *testing.T, manifests []byte) []string {
	t.Helper()
	used, made := map[string]bool{}, map[string]bool{}
	for _, d := range bytes.Split(manifests, []byte("\n---\n")) {
		var o struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name, Namespace string
			} `json:"metadata"`
		}
		require.NoError(t, yaml.Unmarshal(d, &o))
		if o.Kind == "Namespace" {
			made[o.Metadata.Name] = true
		} else if o.Metadata.Namespace != "" {
			used[o.Metadata.Namespace] = true
		}
	}
	var out []string
	for ns := range used {
		if !made[ns] {
			out = append(out, ns)
		}
	}
	sort.Strings(out)
	return out
}

// TestAPIServerAcceptsEveryManifest applies every rendering, Kustomize's
// and the Helm chart's, to a real API server with server-side apply and
// strict field validation: a field the server does not know, a wrong type or
// a failed validation fails it. The objects are stored (nothing schedules
// them: no controller manager, no kubelet), then each rendering is sent
// again as a dry run, which the server admits and validates the same way but
// keeps nothing of.
func TestAPIServerAcceptsEveryManifest(t *testing.T) {
	cp := kubeapi.Start(t)
	ctx := context.Background()
	renderings := slices.Clone(kustomizeRenderings)
	for _, c := range helmCases {
		renderings = append(renderings, rendering{"helm-" + c.helm.name, c.helm.render})
	}
	for _, r := range renderings {
		t.Run(r.name, func(t *testing.T) {
			manifests, dropped := withoutCertManager(r.render(t))
			if len(dropped) > 0 {
				t.Logf("not sent (cert-manager's kinds, no CRDs here): %s", strings.Join(dropped, ", "))
			}
			// The sidecar example goes into the app's namespace, which
			// the user has: made here, as any namespace a rendering uses
			// but does not hold.
			for _, ns := range foreignNamespaces(t, manifests) {
				_, err := kubeapi.Apply(ctx, cp.Admin, []byte("apiVersion: v1\nkind: Namespace\nmetadata: {name: "+ns+"}\n"), false)
				require.NoError(t, err)
				t.Logf("namespace %s made first (the rendering uses it, the user owns it)", ns)
			}
			applied, err := kubeapi.Apply(ctx, cp.Admin, manifests, false)
			require.NoError(t, err)
			require.NotEmpty(t, applied)
			_, err = kubeapi.Apply(ctx, cp.Admin, manifests, true)
			require.NoError(t, err, "dry run")
			names := make([]string, len(applied))
			for i, a := range applied {
				names[i] = a.String()
			}
			t.Logf("accepted %d objects: %s", len(applied), strings.Join(names, ", "))
		})
	}
}

// TestAPIServerRefusesAManifestWithAnUnknownField: the strict validation
// the test above relies on is on, and names the bad field.
func TestAPIServerRefusesAManifestWithAnUnknownField(t *testing.T) {
	cp := kubeapi.Start(t)
	bad := []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: braid-bad\n  namespace: default\ndata: {a: b}\nbinaryDta: {}\n")
	_, err := kubeapi.Apply(context.Background(), cp.Admin, bad, true)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "binaryDta")
	t.Logf("refused: %v", err)
}

// logCapture is an OTLP/HTTP logs endpoint that keeps every record's
// resource attributes.
type logCapture struct {
	mu        sync.Mutex // guards resources
	resources []map[string]any
}

func (c *logCapture) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	req := plogotlp.NewExportRequest()
	if err := req.UnmarshalProto(body); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	rls := req.Logs().ResourceLogs()
	for i := range rls.Len() {
		c.resources = append(c.resources, rls.At(i).Resource().Attributes().AsRaw())
	}
	c.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(nil)
}

// find returns the last resource whose k8s.pod.name is pod.
func (c *logCapture) find(pod string) map[string]any {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := len(c.resources) - 1; i >= 0; i-- {
		if c.resources[i]["k8s.pod.name"] == pod {
			return c.resources[i]
		}
	}
	return nil
}

func podCacheConfig(mode, otlpHTTP, telemetry, sink string) string {
	host, port := strings.Split(telemetry, ":")[0], strings.Split(telemetry, ":")[1]
	node := ""
	if mode == "agent" {
		node = "\n    node_name: node-a"
	}
	return fmt.Sprintf(`extensions:
  k8s_pods:
    mode: %s%s
    auth_type: kubeConfig
receivers:
  otlp:
    protocols:
      http:
        endpoint: %s
processors:
  correlation:
    pod_resolver: k8s_pods
exporters:
  otlphttp:
    endpoint: %s
    compression: none
    retry_on_failure: {enabled: false}
service:
  extensions: [k8s_pods]
  pipelines:
    logs: {receivers: [otlp], processors: [correlation], exporters: [otlphttp]}
  telemetry:
    metrics:
      readers:
        - pull:
            exporter:
              prometheus:
                host: %s
                port: %s
                without_scope_info: true
                without_units: true
                without_type_suffix: true
`, mode, node, otlpHTTP, sink, host, port)
}

// TestAPIServerBraidResolvesPodsWithItsServiceAccount runs braid with the
// k8s_pods extension, as the agent and as the gateway, authenticated with a
// token of the ServiceAccount the manifests give each and bound by the
// ClusterRole they ship: a log record naming a pod leaves braid with what
// the API server knows of it (workload, node), and follows the pod as it
// changes; the pod cache counts what it holds.
func TestAPIServerBraidResolvesPodsWithItsServiceAccount(t *testing.T) {
	cp := kubeapi.Start(t)
	ctx := context.Background()
	for _, f := range []string{k8sDir + "/namespace.yaml", k8sDir + "/rbac.yaml"} {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		_, err = kubeapi.Apply(ctx, cp.Admin, b, false)
		require.NoError(t, err, f)
	}
	admin := kubeapi.Client(t, cp.Admin)
	_, err := admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}}, metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = admin.CoreV1().ServiceAccounts("shop").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{})
	require.NoError(t, err)
	yes := true
	replicaSet := func(name, deployment string) *appsv1.ReplicaSet {
		sel := map[string]string{"app": "checkout"}
		rs, err := admin.AppsV1().ReplicaSets("shop").Create(ctx, &appsv1.ReplicaSet{
			ObjectMeta: metav1.ObjectMeta{Name: name, OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "apps/v1", Kind: "Deployment", Name: deployment, UID: "5b0f0b8a-5d0c-4f3e-9a51-6f3c1c0d2a11", Controller: &yes,
			}}},
			Spec: appsv1.ReplicaSetSpec{
				Selector: &metav1.LabelSelector{MatchLabels: sel},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: sel},
					Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.example/app:1"}}}},
			},
		}, metav1.CreateOptions{})
		require.NoError(t, err)
		return rs
	}
	stable, canary := replicaSet("checkout-6b7f9", "checkout"), replicaSet("checkout-84d5c", "checkout-canary")

	for _, tc := range []struct{ mode, account string }{{"agent", "braid-agent"}, {"gateway", "braid-gateway"}} {
		t.Run(tc.mode, func(t *testing.T) {
			t.Setenv("KUBECONFIG", kubeapi.WriteKubeconfig(t, cp.ServiceAccountConfig(t, cp.APIServer, "braid", tc.account)))
			capture := &logCapture{}
			sink := httptest.NewServer(capture)
			t.Cleanup(sink.Close)
			b := launchBraid(t, func(b *braidProcess) []string {
				b.otlpHTTP, b.telemetry = testnet.FreeAddr(t), testnet.FreeAddr(t)
				path := filepath.Join(t.TempDir(), "braid.yaml")
				require.NoError(t, os.WriteFile(path, []byte(podCacheConfig(tc.mode, b.otlpHTTP, b.telemetry, sink.URL)), 0o600))
				return []string{"--config=file:" + path, "--watch-config=false"}
			}, nil)

			pod := "checkout-" + tc.mode
			p, err := admin.CoreV1().Pods("shop").Create(ctx, &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Name: pod, Labels: map[string]string{"app": "checkout"}, OwnerReferences: []metav1.OwnerReference{{
					APIVersion: "apps/v1", Kind: "ReplicaSet", Name: stable.Name, UID: stable.UID, Controller: &yes,
				}}},
				Spec: corev1.PodSpec{NodeName: "node-a", Containers: []corev1.Container{{Name: "app", Image: "registry.example/app:1"}}},
			}, metav1.CreateOptions{})
			require.NoError(t, err)

			send := func() {
				body := fmt.Sprintf(`{"resourceLogs":[{"resource":{"attributes":[`+
					`{"key":"k8s.namespace.name","value":{"stringValue":"shop"}},`+
					`{"key":"k8s.pod.name","value":{"stringValue":%q}}]},`+
					`"scopeLogs":[{"logRecords":[{"body":{"stringValue":"order placed"}}]}]}]}`, pod)
				resp, err := http.Post("http://"+b.otlpHTTP+"/v1/logs", "application/json", strings.NewReader(body))
				require.NoError(t, err)
				resp.Body.Close()
				require.Equal(t, http.StatusOK, resp.StatusCode)
			}
			resolvedAs := func(deployment string) func() bool {
				return func() bool {
					send()
					time.Sleep(100 * time.Millisecond)
					r := capture.find(pod)
					return r != nil && r["k8s.deployment.name"] == deployment && r["k8s.node.name"] == "node-a" && r["k8s.pod.uid"] == string(p.UID)
				}
			}
			require.Eventually(t, resolvedAs("checkout"), 20*time.Second, 200*time.Millisecond,
				"a record from pod %s never left braid with its deployment, node and UID: last %v", pod, capture.find(pod))
			assert.GreaterOrEqual(t, metricValue(b.selfMetrics(t), "braid_k8s_pods_cached"), 1.0, "braid_k8s_pods_cached")

			// Adopted by another ReplicaSet: the next records say so.
			p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: canary.Name, UID: canary.UID, Controller: &yes}}
			_, err = admin.CoreV1().Pods("shop").Update(ctx, p, metav1.UpdateOptions{})
			require.NoError(t, err)
			require.Eventually(t, resolvedAs("checkout-canary"), 20*time.Second, 200*time.Millisecond,
				"the pod's new owner never showed: last %v", capture.find(pod))
			t.Logf("%s (system:serviceaccount:braid:%s): a record from shop/%s left with %v", tc.mode, tc.account, pod, capture.find(pod))

			zero := int64(0)
			require.NoError(t, admin.CoreV1().Pods("shop").Delete(ctx, pod, metav1.DeleteOptions{GracePeriodSeconds: &zero}))
		})
	}
}

// TestAPIServerHelmInstallUpgradeUninstall installs the chart with helm
// itself into the real API server, upgrades it to the Kafka tier (the
// ConfigMaps gain the overlays, the workloads their --config flags), and
// uninstalls it (Braid's objects gone).
func TestAPIServerHelmInstallUpgradeUninstall(t *testing.T) {
	cp := kubeapi.Start(t)
	helm := kubeToolFor(t, "helm")
	kubeconfig := kubeapi.WriteKubeconfig(t, cp.Admin)
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(helm, append(args, "--kubeconfig", kubeconfig, "--namespace", "braid")...)
		cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+t.TempDir(), "HELM_CONFIG_HOME="+t.TempDir(), "HELM_DATA_HOME="+t.TempDir())
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "helm %s: %s", strings.Join(args, " "), out)
		return string(out)
	}
	client, err := kubernetes.NewForConfig(cp.Admin)
	require.NoError(t, err)
	ctx := context.Background()

	run("install", "braid", chartDir, "--create-namespace", "--wait=false")
	agent, err := client.AppsV1().DaemonSets("braid").Get(ctx, "braid-agent", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, []string{"--config=file:/etc/braid/agent.yaml"}, agent.Spec.Template.Spec.Containers[0].Args)

	run("upgrade", "braid", chartDir, "--set", "kafka.enabled=true")
	cm, err := client.CoreV1().ConfigMaps("braid").Get(ctx, "braid-gateway-config", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Contains(t, cm.Data, "kafka-gateway.yaml")
	gw, err := client.AppsV1().Deployments("braid").Get(ctx, "braid-gateway", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, []string{"--config=file:/etc/braid/gateway.yaml", "--config=file:/etc/braid/kafka-gateway.yaml"},
		gw.Spec.Template.Spec.Containers[0].Args)
	assert.Contains(t, run("history", "braid"), "Upgrade complete")

	run("uninstall", "braid")
	_, err = client.AppsV1().Deployments("braid").Get(ctx, "braid-gateway", metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "the gateway is gone: %v", err)
	_, err = client.RbacV1().ClusterRoles().Get(ctx, "braid-pod-reader", metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "the ClusterRole is gone: %v", err)
}
