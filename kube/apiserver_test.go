//go:build kubeapi

package kube_test

// The pod cache against a real API server (internal/kubeapi: etcd and
// kube-apiserver processes, RBAC on), authenticated as the ServiceAccounts
// that deploy/kubernetes ships, with the ClusterRole it ships. make kube runs
// these.

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/braidobs/braid/correlate"
	"github.com/braidobs/braid/internal/kubeapi"
	"github.com/braidobs/braid/kube"
)

const shop = "shop"

// cluster is a control plane with Braid's namespace, ServiceAccounts and
// ClusterRole applied from the shipped manifests, and a namespace of
// workloads to resolve.
type cluster struct {
	cp    *kubeapi.ControlPlane
	admin kubernetes.Interface
}

func newCluster(t *testing.T) *cluster {
	t.Helper()
	cp := kubeapi.Start(t)
	ctx := context.Background()
	for _, f := range []string{"../deploy/kubernetes/namespace.yaml", "../deploy/kubernetes/rbac.yaml"} {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		_, err = kubeapi.Apply(ctx, cp.Admin, b, false)
		require.NoError(t, err, f)
	}
	c := &cluster{cp: cp, admin: kubeapi.Client(t, cp.Admin)}
	_, err := c.admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: shop}}, metav1.CreateOptions{})
	require.NoError(t, err)
	// The controller manager would create it; the ServiceAccount admission
	// plugin refuses pods without it.
	_, err = c.admin.CoreV1().ServiceAccounts(shop).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{})
	require.NoError(t, err)
	return c
}

// replicaSet creates a ReplicaSet owned by Deployment deployment (nothing
// scales it: no controller manager runs) and returns its UID.
func (c *cluster) replicaSet(t *testing.T, name, deployment string) types.UID {
	t.Helper()
	yes := true
	sel := map[string]string{"app": deployment}
	rs, err := c.admin.AppsV1().ReplicaSets(shop).Create(context.Background(), &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, OwnerReferences: []metav1.OwnerReference{{
			APIVersion: "apps/v1", Kind: "Deployment", Name: deployment, UID: "0e6f0b8a-5d0c-4f3e-9a51-6f3c1c0d2a11", Controller: &yes,
		}}},
		Spec: appsv1.ReplicaSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: sel},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: sel},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.example/app:1"}}},
			},
		},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	return rs.UID
}

// pod creates a pod bound to node, owned by ReplicaSet rs, then gives it ip
// through the status subresource, as the kubelet would.
func (c *cluster) pod(t *testing.T, name, node, rs string, rsUID types.UID, ip string, lbls map[string]string) *corev1.Pod {
	t.Helper()
	ctx := context.Background()
	yes := true
	p, err := c.admin.CoreV1().Pods(shop).Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: lbls, OwnerReferences: []metav1.OwnerReference{{
			APIVersion: "apps/v1", Kind: "ReplicaSet", Name: rs, UID: rsUID, Controller: &yes,
		}}},
		Spec: corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "app", Image: "registry.example/app:1"}}},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	if ip == "" {
		return p
	}
	return c.setIP(t, p, ip)
}

func (c *cluster) setIP(t *testing.T, p *corev1.Pod, ip string) *corev1.Pod {
	t.Helper()
	p.Status.Phase = corev1.PodRunning
	p.Status.HostIP = "192.168.0.10"
	p.Status.HostIPs = []corev1.HostIP{{IP: "192.168.0.10"}}
	p.Status.PodIP = ip
	p.Status.PodIPs = []corev1.PodIP{{IP: ip}}
	p, err := c.admin.CoreV1().Pods(shop).UpdateStatus(context.Background(), p, metav1.UpdateOptions{})
	require.NoError(t, err)
	return p
}

// resolver starts a pod cache in mode, authenticated as the shipped
// ServiceAccount account, through API server s.
func (c *cluster) resolver(t *testing.T, s *kubeapi.APIServer, account string, cfg kube.Config) (*kube.Resolver, kubernetes.Interface) {
	t.Helper()
	client := kubeapi.Client(t, c.cp.ServiceAccountConfig(t, s, "braid", account))
	r, err := kube.NewResolver(cfg, client)
	require.NoError(t, err)
	t.Cleanup(r.Shutdown)
	require.NoError(t, r.Start(context.Background()), "informers sync under the shipped ClusterRole")
	return r, client
}

func nodeAgentConfig() kube.Config {
	cfg := kube.DefaultConfig()
	cfg.Mode, cfg.NodeName = kube.ModeAgent, "node-a"
	cfg.DeletedPodGracePeriod = 0
	return cfg
}

func clusterGatewayConfig() kube.Config {
	cfg := kube.DefaultConfig()
	cfg.DeletedPodGracePeriod = 0
	return cfg
}

// waitPod waits until f's pod satisfies ok, or fails naming what.
func waitPod(t *testing.T, what string, f func() (correlate.Pod, bool), ok func(correlate.Pod, bool) bool) {
	t.Helper()
	var p correlate.Pod
	var found bool
	require.Eventually(t, func() bool {
		p, found = f()
		return ok(p, found)
	}, 20*time.Second, 50*time.Millisecond, "%s: last seen %+v (found %v)", what, p, found)
}

func TestAPIServerResolvesPodsAsTheyChangeUnderTheShippedRole(t *testing.T) {
	c := newCluster(t)
	rsV1 := c.replicaSet(t, "checkout-6b7f9", "checkout")
	rsV2 := c.replicaSet(t, "checkout-84d5c", "checkout-canary")
	cases := []struct {
		name    string
		account string
		cfg     kube.Config
		// seesOtherNodes: whether a pod on node-b is in its cache.
		seesOtherNodes bool
	}{
		{"agent", "braid-agent", nodeAgentConfig(), false},
		{"gateway", "braid-gateway", clusterGatewayConfig(), true},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, client := c.resolver(t, c.cp.APIServer, tc.account, tc.cfg)
			name := "checkout-" + tc.name
			ip := []string{"10.1.0.5", "10.1.0.6"}[i]

			// Created, pending: known by name, no address yet.
			p := c.pod(t, name, "node-a", "checkout-6b7f9", rsV1, "", map[string]string{"app": "checkout", "app.kubernetes.io/version": "1.4.2"})
			waitPod(t, "created pod by name", func() (correlate.Pod, bool) { return r.ByName(shop, name) },
				func(got correlate.Pod, ok bool) bool {
					return ok && got.UID == string(p.UID) && got.DeploymentName == "checkout" && got.NodeName == "node-a"
				})

			// The kubelet reports its IP.
			p = c.setIP(t, p, ip)
			waitPod(t, "pod by its new IP", func() (correlate.Pod, bool) { return r.ByIP(ip) },
				func(got correlate.Pod, ok bool) bool { return ok && got.Name == name })

			// New labels, and a new owner (a rollout adopting the pod).
			p.Labels["app.kubernetes.io/version"] = "1.5.0"
			yes := true
			p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "checkout-84d5c", UID: rsV2, Controller: &yes}}
			p, err := c.admin.CoreV1().Pods(shop).Update(context.Background(), p, metav1.UpdateOptions{})
			require.NoError(t, err)
			waitPod(t, "pod's new owner and labels", func() (correlate.Pod, bool) { return r.ByUID(string(p.UID)) },
				func(got correlate.Pod, ok bool) bool {
					return ok && got.DeploymentName == "checkout-canary" && got.ServiceVersion == "1.5.0"
				})

			// A pod on another node: the agent's field selector keeps it
			// out, the gateway watches the whole cluster.
			other := c.pod(t, name+"-b", "node-b", "checkout-6b7f9", rsV1, ip+"0", map[string]string{"app": "checkout"})
			if tc.seesOtherNodes {
				waitPod(t, "pod on node-b", func() (correlate.Pod, bool) { return r.ByName(shop, other.Name) },
					func(_ correlate.Pod, ok bool) bool { return ok })
			} else {
				// The gateway case runs after this one and sees node-b's
				// pod; here, once the node-a pod below is deleted and
				// seen so, node-b's would have arrived before it.
				defer func() {
					_, ok := r.ByName(shop, other.Name)
					assert.False(t, ok, "the agent cached a pod of another node")
				}()
			}

			// Deleted: gone from every index.
			zero := int64(0)
			require.NoError(t, c.admin.CoreV1().Pods(shop).Delete(context.Background(), name, metav1.DeleteOptions{GracePeriodSeconds: &zero}))
			waitPod(t, "deleted pod by name", func() (correlate.Pod, bool) { return r.ByName(shop, name) },
				func(_ correlate.Pod, ok bool) bool { return !ok })
			_, ok := r.ByIP(ip)
			assert.False(t, ok, "a deleted pod's IP still resolves")

			// The role is enough and no more: what the informers send is
			// allowed, anything else is refused by the server.
			_, err = client.CoreV1().Pods("").List(context.Background(), metav1.ListOptions{Limit: 1})
			require.NoError(t, err, "list pods (the informers' request)")
			refused := []struct {
				what string
				call func() error
			}{
				{"get a pod", func() error {
					_, err := client.CoreV1().Pods(shop).Get(context.Background(), other.Name, metav1.GetOptions{})
					return err
				}},
				{"list secrets", func() error {
					_, err := client.CoreV1().Secrets("braid").List(context.Background(), metav1.ListOptions{})
					return err
				}},
				{"list configmaps", func() error {
					_, err := client.CoreV1().ConfigMaps(shop).List(context.Background(), metav1.ListOptions{})
					return err
				}},
				{"list deployments", func() error {
					_, err := client.AppsV1().Deployments(shop).List(context.Background(), metav1.ListOptions{})
					return err
				}},
				{"delete a pod", func() error {
					return client.CoreV1().Pods(shop).Delete(context.Background(), other.Name, metav1.DeleteOptions{})
				}},
			}
			for _, rq := range refused {
				err := rq.call()
				assert.True(t, apierrors.IsForbidden(err), "%s as %s: want 403 Forbidden from the server, got %v", rq.what, tc.account, err)
				t.Logf("%s as system:serviceaccount:braid:%s: %v", rq.what, tc.account, err)
			}
		})
	}
}

// TestAPIServerRestartAndWatchExpiry: the API server a gateway's pod cache
// watches through goes away; while it is down, pods change through a second
// API server and etcd's history is compacted past what the cache saw. When
// the first comes back, resuming the watch is answered 410 Gone, and the
// cache must list again: no deleted pod left, no new one missing.
func TestAPIServerRestartAndWatchExpiry(t *testing.T) {
	c := newCluster(t)
	ctx := context.Background()
	rs := c.replicaSet(t, "checkout-6b7f9", "checkout")
	lbl := map[string]string{"app": "checkout"}
	c.pod(t, "stays", "node-a", "checkout-6b7f9", rs, "10.1.1.1", lbl)
	c.pod(t, "goes", "node-a", "checkout-6b7f9", rs, "10.1.1.2", lbl)
	relabelled := c.pod(t, "relabelled", "node-a", "checkout-6b7f9", rs, "10.1.1.3", map[string]string{"app": "checkout", "app.kubernetes.io/version": "1"})

	first := c.cp.APIServer
	r, _ := c.resolver(t, first, "braid-gateway", clusterGatewayConfig())
	for _, n := range []string{"stays", "goes", "relabelled"} {
		waitPod(t, n, func() (correlate.Pod, bool) { return r.ByName(shop, n) }, func(_ correlate.Pod, ok bool) bool { return ok })
	}
	seen, err := c.admin.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	staleRV := seen.ResourceVersion

	first.Stop()
	second := c.cp.NewAPIServer(t)
	admin2 := kubeapi.Client(t, second.AdminConfig())
	zero := int64(0)
	require.NoError(t, admin2.CoreV1().Pods(shop).Delete(ctx, "goes", metav1.DeleteOptions{GracePeriodSeconds: &zero}))
	relabelled.Labels["app.kubernetes.io/version"] = "2"
	_, err = admin2.CoreV1().Pods(shop).Update(ctx, relabelled, metav1.UpdateOptions{})
	require.NoError(t, err)
	// Created while the watched server is down.
	yes := true
	created, err := admin2.CoreV1().Pods(shop).Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "arrived", Labels: lbl, OwnerReferences: []metav1.OwnerReference{{
			APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "checkout-6b7f9", UID: rs, Controller: &yes,
		}}},
		Spec: corev1.PodSpec{NodeName: "node-a", Containers: []corev1.Container{{Name: "app", Image: "registry.example/app:1"}}},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	rev, err := c.cp.Compact(ctx)
	require.NoError(t, err)
	t.Logf("etcd compacted to revision %d; the cache last saw resource version %s", rev, staleRV)
	second.Stop()

	require.NoError(t, first.Start())
	// What the cache's watch meets on resuming: its resource version is gone.
	w, err := c.admin.CoreV1().Pods("").Watch(ctx, metav1.ListOptions{ResourceVersion: staleRV})
	if err == nil {
		ev := <-w.ResultChan()
		w.Stop()
		st, _ := ev.Object.(*metav1.Status)
		require.NotNil(t, st, "a watch from resource version %s after compaction gave %v, not an error", staleRV, ev.Type)
		err = &apierrors.StatusError{ErrStatus: *st}
	}
	require.True(t, apierrors.IsResourceExpired(err) || apierrors.IsGone(err), "want 410 Gone for a watch from %s, got %v", staleRV, err)
	t.Logf("a watch from the cache's last resource version after the restart: %v", err)

	waitPod(t, "pod deleted during the outage", func() (correlate.Pod, bool) { return r.ByName(shop, "goes") },
		func(_ correlate.Pod, ok bool) bool { return !ok })
	waitPod(t, "pod created during the outage", func() (correlate.Pod, bool) { return r.ByUID(string(created.UID)) },
		func(got correlate.Pod, ok bool) bool { return ok && got.DeploymentName == "checkout" })
	waitPod(t, "pod relabelled during the outage", func() (correlate.Pod, bool) { return r.ByName(shop, "relabelled") },
		func(got correlate.Pod, ok bool) bool { return ok && got.ServiceVersion == "2" })
	_, ok := r.ByName(shop, "stays")
	assert.True(t, ok, "an unchanged pod was lost")
	_, ok = r.ByIP("10.1.1.2")
	assert.False(t, ok, "the deleted pod's IP still resolves")
}
