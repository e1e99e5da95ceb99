package correlate_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/braidobs/braid/correlate"
)

func TestPodFromLogPath(t *testing.T) {
	tests := []struct {
		name   string
		path   string
		want   correlate.Pod
		wantOK bool
	}{
		{"kubelet pods dir", "/var/log/pods/shop_orders-7d9c5b-x2x4k_1f2e3d4c-5b6a-4789-8a7b-6c5d4e3f2a1b/orders/0.log",
			correlate.Pod{UID: "1f2e3d4c-5b6a-4789-8a7b-6c5d4e3f2a1b", Name: "orders-7d9c5b-x2x4k", Namespace: "shop", ContainerName: "orders"}, true},
		{"rotated file", "/var/log/pods/kube-system_coredns-5d78c9869d-abcde_0c1d2e3f-aaaa-bbbb-cccc-ddddeeeeffff/coredns/3.log.20240501-100000",
			correlate.Pod{UID: "0c1d2e3f-aaaa-bbbb-cccc-ddddeeeeffff", Name: "coredns-5d78c9869d-abcde", Namespace: "kube-system", ContainerName: "coredns"}, true},
		{"host mount", "/host/var/log/pods/shop_db-0_abc/postgres/0.log", correlate.Pod{UID: "abc", Name: "db-0", Namespace: "shop", ContainerName: "postgres"}, true},
		{"containers symlink", "/var/log/containers/orders-7d9c5b-x2x4k_shop_orders-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.log",
			correlate.Pod{Name: "orders-7d9c5b-x2x4k", Namespace: "shop", ContainerName: "orders"}, true},
		{"not a pod log", "/var/log/syslog", correlate.Pod{}, false},
		{"missing uid", "/var/log/pods/shop_orders/orders/0.log", correlate.Pod{}, false},
		{"too many parts", "/var/log/pods/shop_orders_x_y/orders/0.log", correlate.Pod{}, false},
		{"not under pods", "/var/log/other/shop_orders_uid/orders/0.log", correlate.Pod{}, false},
		{"empty", "", correlate.Pod{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := correlate.PodFromLogPath(tc.path)
			assert.Equal(t, tc.wantOK, ok)
			assert.Equal(t, tc.want, got)
		})
	}
}

func FuzzPodFromLogPath(f *testing.F) {
	f.Add("/var/log/pods/shop_orders-7d9c5b-x2x4k_1f2e3d4c/orders/0.log")
	f.Add("/var/log/containers/a_b_c-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.log")
	f.Add("pods/_/x/0.log")
	f.Add("////")
	f.Fuzz(func(t *testing.T, path string) {
		p, ok := correlate.PodFromLogPath(path)
		if ok && (p.Name == "" || p.Namespace == "" || p.ContainerName == "") {
			t.Fatalf("partial identity %+v from %q", p, path)
		}
	})
}

func TestStaticPodResolver(t *testing.T) {
	a := correlate.Pod{UID: "uid-a", Name: "orders-0", Namespace: "shop", IP: "10.0.0.7", ServiceName: "orders"}
	r := correlate.NewStaticPodResolver([]correlate.Pod{a, {Name: "no-uid", Namespace: "shop"}})

	got, ok := r.ByUID("uid-a")
	assert.True(t, ok)
	assert.Equal(t, a, got)
	got, ok = r.ByIP("10.0.0.7")
	assert.True(t, ok)
	assert.Equal(t, a, got)
	got, ok = r.ByName("shop", "orders-0")
	assert.True(t, ok)
	assert.Equal(t, a, got)
	_, ok = r.ByName("shop", "no-uid")
	assert.True(t, ok)
	_, ok = r.ByIP("10.0.0.8")
	assert.False(t, ok)
	_, ok = r.ByUID("")
	assert.False(t, ok)
}

func TestPodAttributes(t *testing.T) {
	attrs := pcommon.NewMap()
	attrs.PutStr(correlate.AttrServiceName, "already-set")
	p := correlate.Pod{UID: "uid-a", Name: "orders-0", Namespace: "shop", NodeName: "node-1", ContainerName: "orders", StatefulSetName: "orders", ServiceName: "orders", ServiceVersion: "1.2.3"}
	assert.True(t, correlate.ApplyPod(attrs, p))
	assert.False(t, correlate.ApplyPod(attrs, p), "nothing new the second time")

	back := correlate.PodFromAttributes(attrs)
	want := p
	want.ServiceName = "already-set" // never overwritten
	assert.Equal(t, want, back)
	assert.Equal(t, "uid-a", back.Key())
	assert.True(t, back.Known())

	assert.Equal(t, "shop/orders-0", correlate.Pod{Name: "orders-0", Namespace: "shop"}.Key())
	assert.Equal(t, "", correlate.Pod{Name: "orders-0"}.Key())
	assert.False(t, correlate.Pod{Name: "orders-0"}.Known())

	merged := correlate.Pod{Name: "orders-0", Namespace: "shop"}.Merge(p)
	assert.Equal(t, p, merged)
}

func TestPodWorkload(t *testing.T) {
	tests := []struct {
		name           string
		pod            correlate.Pod
		kind, workload string
	}{
		{"deployment over its replica set", correlate.Pod{DeploymentName: "orders", ReplicaSetName: "orders-7d9c5b"}, "Deployment", "orders"},
		{"cron job over its job", correlate.Pod{CronJobName: "nightly", JobName: "nightly-28600"}, "CronJob", "nightly"},
		{"statefulset", correlate.Pod{StatefulSetName: "db"}, "StatefulSet", "db"},
		{"bare pod", correlate.Pod{Name: "debug"}, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			kind, name := tc.pod.Workload()
			assert.Equal(t, tc.kind, kind)
			assert.Equal(t, tc.workload, name)
		})
	}
}
