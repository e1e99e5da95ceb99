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
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/braidobs/braid/internal/kubeapi"
	"github.com/braidobs/braid/internal/testnet"
)

// rendering is one set of manifests a user would apply.
type rendering struct {
	name string
	// render returns the manifests, a multi-document YAML stream.
	render func(t *testing.T) []byte
}

// kustomizeRendering renders dir (relative to deploy/) with kubectl.
func kustomizeRendering(name, dir string) rendering {
	return rendering{name, func(t *testing.T) []byte {
		out, err := exec.Command(kubeapi.Binary(t, "kubectl"), "kustomize", filepath.Join("../../deploy", dir)).Output()
		require.NoError(t, err, "kubectl kustomize %s: %s", dir, stderrOf(err))
		return out
	}}
}

// componentRendering renders the base with components, as a user's overlay
// would.
func componentRendering(name string, components ...string) rendering {
	return rendering{name, func(t *testing.T) []byte {
		dir, err := os.MkdirTemp(filepath.Dir(k8sDir), ".overlay-test-")
		require.NoError(t, err)
		t.Cleanup(func() { os.RemoveAll(dir) })
		paths := make([]string, len(components))
		for i, c := range components {
			paths[i] = "../kubernetes/components/" + c
		}
		require.NoError(t, os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte("resources: [../kubernetes]\n"+
			"components: ["+strings.Join(paths, ", ")+"]\n"), 0o600))
		out, err := exec.Command(kubeapi.Binary(t, "kubectl"), "kustomize", dir).Output()
		require.NoError(t, err, "kubectl kustomize with %v: %s", components, stderrOf(err))
		return out
	}}
}

func stderrOf(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return string(ee.Stderr)
	}
	return ""
}

// kustomizeRenderings is everything deploy/ lets a user apply with
// kubectl apply -k.
var kustomizeRenderings = []rendering{
	kustomizeRendering("kubernetes", "kubernetes"),
	kustomizeRendering("sidecar", "kubernetes/sidecar"),
	kustomizeRendering("hub", "overlays/hub"),
	kustomizeRendering("spoke", "overlays/spoke"),
	componentRendering("token-auth", "token-auth"),
	componentRendering("kafka", "kafka"),
	componentRendering("cert-manager", "cert-manager"),
}

// withoutCertManager drops cert-manager's objects (Issuer, Certificate):
// their kinds exist only where cert-manager's CRDs are installed, which this
// control plane does not have. It returns the rest and what it dropped.
func withoutCertManager(manifests []byte) ([]byte, []string) {
	var keep [][]byte
	var dropped []string
	for _, d := range bytes.Split(manifests, []byte("\n---\n")) {
		if bytes.Contains(d, []byte("apiVersion: cert-manager.io/")) {
			kind, name := "", ""
			for _, l := range strings.Split(string(d), "\n") {
				if v, ok := strings.CutPrefix(l, "kind: "); ok {
					kind = v
				}
				if v, ok := strings.CutPrefix(l, "  name: "); ok && name == "" {
					name = v
				}
			}
			dropped = append(dropped, kind+"/"+name)
			continue
		}
		keep = append(keep, d)
	}
	return bytes.Join(keep, []byte("\n---\n")), dropped
}

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

// TestAPIServerAcceptsEveryManifest applies every rendering to a real API
// server with server-side apply and strict field validation: a field the
// server does not know, a wrong type or a failed validation fails it. The
// objects are stored (nothing schedules them: no controller manager, no
// kubelet), then each rendering is sent again as a dry run, which the server
// admits and validates the same way but keeps nothing of.
func TestAPIServerAcceptsEveryManifest(t *testing.T) {
	cp := kubeapi.Start(t)
	ctx := context.Background()
	for _, r := range kustomizeRenderings {
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
