package kube_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/braidobs/braid/correlate"
	"github.com/braidobs/braid/kube"
)

const (
	uidA = "0f4a1b2c-3d4e-4f50-8a6b-7c8d9e0f1a2b"
	uidB = "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
	uidC = "2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e"
	uidH = "3c4d5e6f-7a8b-4c9d-8e0f-2a3b4c5d6e7f"
)

// clock is a settable clock for grace periods.
type clock struct {
	mu sync.Mutex // guards t
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type podOpt func(*corev1.Pod)

func newPod(ns, name, uid, ip string, opts ...podOpt) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID(uid)},
		Spec: corev1.PodSpec{
			NodeName:   "node-a",
			Containers: []corev1.Container{{Name: "app", Image: "registry.example/app:1"}},
		},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip, HostIP: "192.168.0.10"},
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

func onNode(n string) podOpt { return func(p *corev1.Pod) { p.Spec.NodeName = n } }

func labels(kv ...string) podOpt {
	return func(p *corev1.Pod) {
		p.Labels = map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			p.Labels[kv[i]] = kv[i+1]
		}
	}
}

func ownedBy(kind, name string) podOpt {
	return func(p *corev1.Pod) {
		yes := true
		p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: kind, Name: name, UID: "owner", Controller: &yes}}
	}
}

func hostNetwork(p *corev1.Pod) {
	p.Spec.HostNetwork = true
	p.Status.PodIP = p.Status.HostIP
}

type fixture struct {
	client   *fake.Clientset
	resolver *kube.Resolver
	clock    *clock
	reader   *sdkmetric.ManualReader
}

func start(t *testing.T, cfg kube.Config, objs ...runtime.Object) *fixture {
	t.Helper()
	f := newFixture(t, cfg, objs...)
	require.NoError(t, f.resolver.Start(context.Background()))
	return f
}

func newFixture(t *testing.T, cfg kube.Config, objs ...runtime.Object) *fixture {
	t.Helper()
	f := &fixture{client: fake.NewClientset(objs...), clock: newClock(), reader: sdkmetric.NewManualReader()}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(f.reader))
	t.Cleanup(func() { assert.NoError(t, mp.Shutdown(context.Background())) })
	r, err := kube.NewResolver(cfg, f.client, kube.WithClock(f.clock.Now), kube.WithMeterProvider(mp))
	require.NoError(t, err)
	t.Cleanup(r.Shutdown)
	f.resolver = r
	return f
}

func gatewayConfig() kube.Config {
	cfg := kube.DefaultConfig()
	cfg.ClusterName = "prod-eu"
	return cfg
}

func (f *fixture) create(t *testing.T, p *corev1.Pod) {
	t.Helper()
	_, err := f.client.CoreV1().Pods(p.Namespace).Create(context.Background(), p, metav1.CreateOptions{})
	require.NoError(t, err)
}

func (f *fixture) delete(t *testing.T, ns, name string) {
	t.Helper()
	require.NoError(t, f.client.CoreV1().Pods(ns).Delete(context.Background(), name, metav1.DeleteOptions{}))
}

// eventually waits until look-up returns a pod with the given UID ("" for a
// miss).
func eventually(t *testing.T, lookup func() (correlate.Pod, bool), wantUID string) {
	t.Helper()
	require.Eventually(t, func() bool {
		p, ok := lookup()
		if wantUID == "" {
			return !ok
		}
		return ok && p.UID == wantUID
	}, 10*time.Second, 5*time.Millisecond)
}

func TestPodAddUpdateDelete(t *testing.T) {
	f := start(t, gatewayConfig())
	r := f.resolver

	f.create(t, newPod("shop", "checkout-1", uidA, "10.0.0.5", labels("app.kubernetes.io/name", "checkout", "app.kubernetes.io/version", "1.4.2")))
	eventually(t, func() (correlate.Pod, bool) { return r.ByUID(uidA) }, uidA)

	want := correlate.Pod{
		UID: uidA, Name: "checkout-1", Namespace: "shop", NodeName: "node-a", ContainerName: "app",
		IP: "10.0.0.5", ClusterName: "prod-eu", ServiceName: "checkout", ServiceVersion: "1.4.2",
		Labels: map[string]string{"app.kubernetes.io/name": "checkout", "app.kubernetes.io/version": "1.4.2"},
	}
	for name, lookup := range map[string]func() (correlate.Pod, bool){
		"uid":  func() (correlate.Pod, bool) { return r.ByUID(uidA) },
		"ip":   func() (correlate.Pod, bool) { return r.ByIP("10.0.0.5") },
		"name": func() (correlate.Pod, bool) { return r.ByName("shop", "checkout-1") },
	} {
		got, ok := lookup()
		assert.True(t, ok, name)
		assert.Equal(t, want, got, name)
	}

	// An update moves the IP and the version.
	updated := newPod("shop", "checkout-1", uidA, "10.0.0.6", labels("app.kubernetes.io/name", "checkout", "app.kubernetes.io/version", "1.5.0"))
	_, err := f.client.CoreV1().Pods("shop").Update(context.Background(), updated, metav1.UpdateOptions{})
	require.NoError(t, err)
	eventually(t, func() (correlate.Pod, bool) { return r.ByIP("10.0.0.6") }, uidA)
	_, ok := r.ByIP("10.0.0.5")
	assert.False(t, ok, "the old IP no longer resolves")
	got, _ := r.ByUID(uidA)
	assert.Equal(t, "1.5.0", got.ServiceVersion)
	assert.Equal(t, 1, r.Len())

	// A deleted pod keeps resolving through its grace period, then not.
	f.delete(t, "shop", "checkout-1")
	waitDeleted(t, r, 1)
	f.clock.Advance(kube.DefaultDeletedPodGracePeriod - time.Second)
	for _, ok := range []bool{hit(r.ByUID(uidA)), hit(r.ByIP("10.0.0.6")), hit(r.ByName("shop", "checkout-1"))} {
		assert.True(t, ok, "within the grace period")
	}
	f.clock.Advance(time.Second)
	for _, ok := range []bool{hit(r.ByUID(uidA)), hit(r.ByIP("10.0.0.6")), hit(r.ByName("shop", "checkout-1"))} {
		assert.False(t, ok, "after the grace period")
	}
	assert.Equal(t, 1, r.Len(), "not swept yet")
	assert.Equal(t, 1, r.Sweep())
	assert.Equal(t, 0, r.Len())
}

func hit(_ correlate.Pod, ok bool) bool { return ok }

// waitDeleted waits until the resolver has seen n deletions.
func waitDeleted(t *testing.T, r *kube.Resolver, n int) {
	t.Helper()
	require.Eventually(t, func() bool { return r.Deleting() == n }, 10*time.Second, 5*time.Millisecond)
}

func TestIPReuseAfterDelete(t *testing.T) {
	f := start(t, gatewayConfig(), newPod("shop", "cart-1", uidA, "10.0.0.7"))
	r := f.resolver
	eventually(t, func() (correlate.Pod, bool) { return r.ByIP("10.0.0.7") }, uidA)

	f.delete(t, "shop", "cart-1")
	waitDeleted(t, r, 1)
	p, ok := r.ByIP("10.0.0.7")
	require.True(t, ok, "late telemetry from a deleted pod is still attributed")
	assert.Equal(t, uidA, p.UID)

	// A new pod takes the IP: it wins at once.
	f.create(t, newPod("shop", "cart-2", uidB, "10.0.0.7"))
	eventually(t, func() (correlate.Pod, bool) { return r.ByIP("10.0.0.7") }, uidB)
	p, ok = r.ByUID(uidA)
	require.True(t, ok, "the deleted pod still resolves by UID")
	assert.Equal(t, "cart-1", p.Name)

	f.clock.Advance(kube.DefaultDeletedPodGracePeriod)
	assert.Equal(t, 1, r.Sweep())
	p, ok = r.ByIP("10.0.0.7")
	require.True(t, ok)
	assert.Equal(t, uidB, p.UID)
	_, ok = r.ByUID(uidA)
	assert.False(t, ok)
}

func TestCompletedPodGivesWayToNewPodOnItsIP(t *testing.T) {
	done := newPod("batch", "report-1", uidA, "10.0.0.8", func(p *corev1.Pod) { p.Status.Phase = corev1.PodSucceeded })
	f := start(t, gatewayConfig(), done, newPod("batch", "web-1", uidB, "10.0.0.8"))
	p, ok := f.resolver.ByIP("10.0.0.8")
	require.True(t, ok)
	assert.Equal(t, uidB, p.UID)
}

func TestIPAmbiguity(t *testing.T) {
	tests := []struct {
		name    string
		pods    []runtime.Object
		ip      string
		wantUID string
	}{
		{
			name:    "one host-network pod: the node's IP is not the pod's",
			pods:    []runtime.Object{newPod("kube-system", "proxy", uidH, "", hostNetwork)},
			ip:      "192.168.0.10",
			wantUID: "",
		},
		{
			name: "two host-network pods share the node IP",
			pods: []runtime.Object{
				newPod("kube-system", "proxy", uidH, "", hostNetwork),
				newPod("monitoring", "node-exporter", uidC, "", hostNetwork),
			},
			ip: "192.168.0.10",
		},
		{
			name: "two running pods claim one IP",
			pods: []runtime.Object{newPod("a", "x", uidA, "10.0.0.9"), newPod("b", "y", uidB, "10.0.0.9")},
			ip:   "10.0.0.9",
		},
		{
			name:    "a pod next to host-network pods keeps its own IP",
			pods:    []runtime.Object{newPod("kube-system", "proxy", uidH, "", hostNetwork), newPod("a", "x", uidA, "10.0.0.10")},
			ip:      "10.0.0.10",
			wantUID: uidA,
		},
		{
			name:    "sender address with a port",
			pods:    []runtime.Object{newPod("a", "x", uidA, "10.0.0.11")},
			ip:      "10.0.0.11:43122",
			wantUID: uidA,
		},
		{
			name:    "IPv4-mapped IPv6 sender",
			pods:    []runtime.Object{newPod("a", "x", uidA, "10.0.0.12")},
			ip:      "[::ffff:10.0.0.12]:4317",
			wantUID: uidA,
		},
		{
			name:    "IPv6 pod",
			pods:    []runtime.Object{newPod("a", "x", uidA, "fd00:0:0::0a")},
			ip:      "fd00::a",
			wantUID: uidA,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := start(t, gatewayConfig(), tt.pods...)
			p, ok := f.resolver.ByIP(tt.ip)
			if tt.wantUID == "" {
				assert.False(t, ok, "resolved to %s", p.Name)
				return
			}
			require.True(t, ok)
			assert.Equal(t, tt.wantUID, p.UID)
		})
	}
	t.Run("host-network pods still resolve by UID and name", func(t *testing.T) {
		f := start(t, gatewayConfig(), newPod("kube-system", "proxy", uidH, "", hostNetwork))
		assert.True(t, hit(f.resolver.ByUID(uidH)))
		assert.True(t, hit(f.resolver.ByName("kube-system", "proxy")))
	})
}

func replicaSet(ns, name, deployment string) *appsv1.ReplicaSet {
	rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: "rs-uid"}}
	if deployment != "" {
		yes := true
		rs.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "Deployment", Name: deployment, UID: "d", Controller: &yes}}
	}
	return rs
}

func TestOwnerChainAndServiceName(t *testing.T) {
	tests := []struct {
		name    string
		objs    []runtime.Object
		pod     *corev1.Pod
		want    correlate.Pod // only the workload and service fields are compared
		comment string
	}{
		{
			name: "ReplicaSet of a Deployment",
			objs: []runtime.Object{replicaSet("shop", "checkout-7d9f8", "checkout")},
			pod:  newPod("shop", "checkout-7d9f8-abcde", uidA, "10.1.0.1", ownedBy("ReplicaSet", "checkout-7d9f8")),
			want: correlate.Pod{ReplicaSetName: "checkout-7d9f8", DeploymentName: "checkout", ServiceName: "checkout"},
		},
		{
			name: "bare ReplicaSet",
			objs: []runtime.Object{replicaSet("shop", "legacy", "")},
			pod:  newPod("shop", "legacy-abcde", uidA, "10.1.0.2", ownedBy("ReplicaSet", "legacy")),
			want: correlate.Pod{ReplicaSetName: "legacy", ServiceName: "legacy"},
		},
		{
			name: "StatefulSet",
			pod:  newPod("db", "postgres-0", uidA, "10.1.0.3", ownedBy("StatefulSet", "postgres")),
			want: correlate.Pod{StatefulSetName: "postgres", ServiceName: "postgres"},
		},
		{
			name: "DaemonSet",
			pod:  newPod("kube-system", "fluent-x1", uidA, "10.1.0.4", ownedBy("DaemonSet", "fluent")),
			want: correlate.Pod{DaemonSetName: "fluent", ServiceName: "fluent"},
		},
		{
			name: "Job of a CronJob",
			pod:  newPod("batch", "nightly-29443680-q2x7z", uidA, "10.1.0.5", ownedBy("Job", "nightly-29443680")),
			want: correlate.Pod{JobName: "nightly-29443680", CronJobName: "nightly", ServiceName: "nightly"},
		},
		{
			name: "Job with a short number is not a CronJob's",
			pod:  newPod("batch", "migrate-42-abcde", uidA, "10.1.0.6", ownedBy("Job", "migrate-42")),
			want: correlate.Pod{JobName: "migrate-42", ServiceName: "migrate-42"},
		},
		{
			name: "label app.kubernetes.io/name beats app and the workload",
			pod: newPod("db", "postgres-0", uidA, "10.1.0.7", ownedBy("StatefulSet", "postgres"),
				labels("app.kubernetes.io/name", "orders-db", "app", "pg", "version", "16")),
			want: correlate.Pod{StatefulSetName: "postgres", ServiceName: "orders-db", ServiceVersion: "16"},
		},
		{
			name: "label app beats k8s-app",
			pod:  newPod("kube-system", "dns-1", uidA, "10.1.0.8", labels("app", "dns", "k8s-app", "kube-dns")),
			want: correlate.Pod{ServiceName: "dns"},
		},
		{
			name: "label k8s-app beats the workload",
			pod:  newPod("kube-system", "dns-1", uidA, "10.1.0.9", ownedBy("DaemonSet", "coredns"), labels("k8s-app", "kube-dns")),
			want: correlate.Pod{DaemonSetName: "coredns", ServiceName: "kube-dns"},
		},
		{
			name: "app.kubernetes.io/version beats version",
			pod:  newPod("a", "b", uidA, "10.1.0.10", labels("app.kubernetes.io/version", "2.0", "version", "1.0")),
			want: correlate.Pod{ServiceVersion: "2.0"},
		},
		{
			name: "no owner and no label: no service name",
			pod:  newPod("a", "b", uidA, "10.1.0.11"),
			want: correlate.Pod{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := start(t, gatewayConfig(), append(tt.objs, tt.pod)...)
			got, ok := f.resolver.ByUID(uidA)
			require.True(t, ok)
			workload := correlate.Pod{
				DeploymentName: got.DeploymentName, StatefulSetName: got.StatefulSetName, DaemonSetName: got.DaemonSetName,
				JobName: got.JobName, CronJobName: got.CronJobName, ReplicaSetName: got.ReplicaSetName,
				ServiceName: got.ServiceName, ServiceVersion: got.ServiceVersion,
			}
			assert.Equal(t, tt.want, workload)
		})
	}
}

func TestReplicaSetArrivingLaterNamesTheDeployment(t *testing.T) {
	f := start(t, gatewayConfig(), newPod("shop", "web-5c6b-x", uidA, "10.2.0.1", ownedBy("ReplicaSet", "web-5c6b")))
	p, _ := f.resolver.ByUID(uidA)
	assert.Empty(t, p.DeploymentName)
	_, err := f.client.AppsV1().ReplicaSets("shop").Create(context.Background(), replicaSet("shop", "web-5c6b", "web"), metav1.CreateOptions{})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		p, _ := f.resolver.ByUID(uidA)
		return p.DeploymentName == "web"
	}, 10*time.Second, 5*time.Millisecond)
}

func TestAgentModeWatchesOneNode(t *testing.T) {
	cfg := gatewayConfig()
	cfg.Mode = kube.ModeAgent
	cfg.NodeName = "node-a"
	f := start(t, cfg,
		newPod("a", "here", uidA, "10.3.0.1"),
		newPod("a", "elsewhere", uidB, "10.3.0.2", onNode("node-b")),
	)
	assert.True(t, hit(f.resolver.ByUID(uidA)))
	// The fake clientset ignores field selectors; the resolver drops other
	// nodes' pods itself as well, and the real API server never sends them.
	assert.False(t, hit(f.resolver.ByUID(uidB)))

	var podLists []string
	for _, a := range f.client.Actions() {
		if l, ok := a.(k8stesting.ListAction); ok && a.GetResource().Resource == "pods" {
			podLists = append(podLists, l.GetListRestrictions().Fields.String())
		}
	}
	require.NotEmpty(t, podLists)
	for _, sel := range podLists {
		assert.Equal(t, "spec.nodeName=node-a", sel)
	}
}

func TestAgentModeNeedsANodeName(t *testing.T) {
	cfg := gatewayConfig()
	cfg.Mode = kube.ModeAgent
	f := newFixture(t, cfg)
	err := f.resolver.Start(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "node_name is empty in agent mode")
}

func TestSyncTimeout(t *testing.T) {
	cfg := gatewayConfig()
	cfg.SyncTimeout = 200 * time.Millisecond
	f := newFixture(t, cfg)
	f.client.PrependReactor("list", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, "", errors.New("RBAC: access denied"))
	})
	err := f.resolver.Start(context.Background())
	require.Error(t, err)
	assert.Regexp(t, `kube: pods (and replicasets )?caches? did not sync within 200ms \(sync_timeout\)`, err.Error())
	assert.Contains(t, err.Error(), "list and watch pods and replicasets")
	assert.Contains(t, err.Error(), "forbidden")
	// Start stopped what it started (goleak checks the goroutines); Shutdown
	// afterwards is harmless.
	f.resolver.Shutdown()
}

func TestStartHonoursItsContext(t *testing.T) {
	f := newFixture(t, gatewayConfig())
	f.client.PrependReactor("list", "*", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("unreachable")
	})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.Error(t, f.resolver.Start(ctx))
}

func TestShutdownWithoutStartAndTwice(t *testing.T) {
	f := newFixture(t, gatewayConfig())
	f.resolver.Shutdown()
	f.resolver.Shutdown()
	assert.False(t, hit(f.resolver.ByUID(uidA)))
}

// TestWatchedResourcesAreWhatTheInformersRequest holds [kube.WatchedResources]
// (which Braid's RBAC manifests are checked against) to the requests the
// informers really send.
func TestWatchedResourcesAreWhatTheInformersRequest(t *testing.T) {
	f := start(t, gatewayConfig(), newPod("a", "x", uidA, "10.4.0.1"))
	f.create(t, newPod("a", "y", uidB, "10.4.0.2"))
	eventually(t, func() (correlate.Pod, bool) { return f.resolver.ByUID(uidB) }, uidB)

	type key struct{ group, resource, verb string }
	seen := map[key]bool{}
	for _, a := range f.client.Actions() {
		gvr := a.GetResource()
		if a.GetVerb() == "create" { // the test's own request
			continue
		}
		seen[key{gvr.Group, gvr.Resource, a.GetVerb()}] = true
	}
	want := map[key]bool{}
	for _, r := range kube.WatchedResources() {
		for _, v := range r.Verbs {
			want[key{r.Group, r.Resource, v}] = true
		}
	}
	assert.Equal(t, want, seen)
}

func TestByLogPath(t *testing.T) {
	multi := newPod("shop", "checkout-1", uidA, "10.5.0.1", func(p *corev1.Pod) {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "envoy"})
	})
	f := start(t, gatewayConfig(), multi)
	r := f.resolver

	p, ok := r.ByUID(uidA)
	require.True(t, ok)
	assert.Empty(t, p.ContainerName, "two containers: which one is unknown")

	p, ok = r.ByLogPath("/var/log/pods/shop_checkout-1_" + uidA + "/envoy/0.log")
	require.True(t, ok)
	assert.Equal(t, "envoy", p.ContainerName)
	assert.Equal(t, "10.5.0.1", p.IP)

	p, ok = r.ByLogPath("/var/log/containers/checkout-1_shop_app-" + stringOf('a', 64) + ".log")
	require.True(t, ok)
	assert.Equal(t, uidA, p.UID)
	assert.Equal(t, "app", p.ContainerName)

	// A well-formed path of a pod the cache does not hold: what the path says.
	p, ok = r.ByLogPath("/var/log/pods/shop_gone-1_" + uidB + "/app/0.log")
	assert.False(t, ok)
	assert.Equal(t, correlate.Pod{UID: uidB, Name: "gone-1", Namespace: "shop", ContainerName: "app"}, p)
}

func stringOf(c byte, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = c
	}
	return string(b)
}

func TestMalformedInputIsLeftAloneAndCounted(t *testing.T) {
	f := start(t, gatewayConfig(), newPod("a", "x", uidA, "10.6.0.1"))
	r := f.resolver
	inputs := []struct {
		name   string
		lookup func() (correlate.Pod, bool)
	}{
		{"uid too short", func() (correlate.Pod, bool) { return r.ByUID("0f4a1b2c") }},
		{"uid not hex", func() (correlate.Pod, bool) { return r.ByUID("zf4a1b2c-3d4e-4f50-8a6b-7c8d9e0f1a2b") }},
		{"uid with a path in it", func() (correlate.Pod, bool) { return r.ByUID("../../etc/passwd-aaaaaaaaaaaaaaaaaaaaaaa") }},
		{"ip", func() (correlate.Pod, bool) { return r.ByIP("10.6.0.999") }},
		{"empty ip", func() (correlate.Pod, bool) { return r.ByIP("") }},
		{"empty namespace", func() (correlate.Pod, bool) { return r.ByName("", "x") }},
		{"log path outside the kubelet layout", func() (correlate.Pod, bool) { return r.ByLogPath("/var/log/syslog") }},
		{"log path without uid", func() (correlate.Pod, bool) { return r.ByLogPath("/var/log/pods/a_x/app/0.log") }},
		{"log path with a malformed uid", func() (correlate.Pod, bool) { return r.ByLogPath("/var/log/pods/a_x_not-a-uid/app/0.log") }},
	}
	for _, in := range inputs {
		t.Run(in.name, func(t *testing.T) {
			assert.NotPanics(t, func() {
				_, ok := in.lookup()
				assert.False(t, ok)
			})
		})
	}
	assert.True(t, hit(r.ByUID(uidA)))
	assert.False(t, hit(r.ByUID("4d5e6f7a-8b9c-4d0e-8f1a-3b4c5d6e7f80")))

	m := collect(t, f.reader)
	assert.Equal(t, map[string]int64{"uid": 4, "ip": 2, "name": 1, "log_path": 2}, m.malformed)
	assert.Equal(t, map[[2]string]int64{{"uid", "hit"}: 1, {"uid", "miss"}: 1}, m.lookups)
	assert.Equal(t, int64(1), m.cached)
}

type collected struct {
	lookups   map[[2]string]int64
	malformed map[string]int64
	cached    int64
}

func collect(t *testing.T, reader *sdkmetric.ManualReader) collected {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, reader.Collect(context.Background(), &rm))
	c := collected{lookups: map[[2]string]int64{}, malformed: map[string]int64{}, cached: -1}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch m.Name {
			case "braid_k8s_lookups":
				for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
					kind, _ := dp.Attributes.Value("kind")
					result, _ := dp.Attributes.Value("result")
					c.lookups[[2]string{kind.AsString(), result.AsString()}] = dp.Value
				}
			case "braid_k8s_lookups_malformed":
				for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
					kind, _ := dp.Attributes.Value("kind")
					c.malformed[kind.AsString()] = dp.Value
				}
			case "braid_k8s_pods_cached":
				c.cached = m.Data.(metricdata.Gauge[int64]).DataPoints[0].Value
			}
		}
	}
	return c
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(*kube.Config)
		wantErr string
	}{
		{name: "default", mutate: func(*kube.Config) {}},
		{name: "agent without node name is valid until start", mutate: func(c *kube.Config) { c.Mode = kube.ModeAgent }},
		{name: "bad mode", mutate: func(c *kube.Config) { c.Mode = "daemon" }, wantErr: `mode must be "agent" or "gateway", got "daemon"`},
		{name: "zero sync timeout", mutate: func(c *kube.Config) { c.SyncTimeout = 0 }, wantErr: "sync_timeout must be positive, got 0s"},
		{name: "negative grace", mutate: func(c *kube.Config) { c.DeletedPodGracePeriod = -time.Second }, wantErr: "deleted_pod_grace_period must not be negative, got -1s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := kube.DefaultConfig()
			tt.mutate(&cfg)
			err := cfg.Validate()
			if tt.wantErr == "" {
				assert.NoError(t, err)
				return
			}
			assert.ErrorContains(t, err, tt.wantErr)
		})
	}
}

func TestZeroGracePeriodForgetsDeletedPodsAtOnce(t *testing.T) {
	cfg := gatewayConfig()
	cfg.DeletedPodGracePeriod = 0
	f := start(t, cfg, newPod("shop", "cart-1", uidA, "10.7.0.1"))
	require.True(t, hit(f.resolver.ByUID(uidA)))
	f.delete(t, "shop", "cart-1")
	eventually(t, func() (correlate.Pod, bool) { return f.resolver.ByUID(uidA) }, "")
	assert.False(t, hit(f.resolver.ByIP("10.7.0.1")))
	assert.False(t, hit(f.resolver.ByName("shop", "cart-1")))
	assert.Equal(t, 0, f.resolver.Len())
}

func TestStatefulSetPodRecreatedUnderItsName(t *testing.T) {
	f := start(t, gatewayConfig(), newPod("db", "postgres-0", uidA, "10.8.0.1", ownedBy("StatefulSet", "postgres")))
	f.delete(t, "db", "postgres-0")
	waitDeleted(t, f.resolver, 1)
	f.create(t, newPod("db", "postgres-0", uidB, "10.8.0.2", ownedBy("StatefulSet", "postgres")))
	eventually(t, func() (correlate.Pod, bool) { return f.resolver.ByName("db", "postgres-0") }, uidB)
	f.clock.Advance(kube.DefaultDeletedPodGracePeriod)
	assert.Equal(t, 1, f.resolver.Sweep())
	p, ok := f.resolver.ByName("db", "postgres-0")
	require.True(t, ok, "sweeping the old pod keeps the new one's name")
	assert.Equal(t, uidB, p.UID)
}
