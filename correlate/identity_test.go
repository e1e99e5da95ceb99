package correlate

import (
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

func TestPodIdentifierIdentify(t *testing.T) {
	const uid = "1f2e3d4c-5b6a-4789-8a7b-6c5d4e3f2a1b"
	orders := Pod{UID: uid, Name: "orders-0", Namespace: "shop", IP: "10.0.0.7", NodeName: "node-a", StatefulSetName: "orders", ServiceName: "orders"}
	resolver := NewStaticPodResolver([]Pod{orders})
	path := "/var/log/pods/shop_orders-0_" + uid + "/orders/0.log"
	all := PodIdentifier{Attributes: true, LogPath: true, SenderAddress: true}
	type lookups map[PodSource][2]int64
	for _, tc := range []struct {
		name     string
		pi       PodIdentifier
		attrs    map[string]any
		logPath  string
		sender   string
		resolver PodResolver
		wantKey  string
		wantAlt  string
		wantSvc  string
		wantAttr map[string]string // attributes written
		lookups  lookups
	}{
		{
			name: "attributes name the pod; the resolver fills in", pi: all,
			attrs: map[string]any{AttrPodUID: uid}, resolver: resolver,
			wantKey: uid, wantAlt: "shop/orders-0", wantSvc: "orders",
			wantAttr: map[string]string{AttrNodeName: "node-a", AttrStatefulSetName: "orders", AttrPodName: "orders-0"},
			lookups:  lookups{PodSourceAttributes: {1, 0}, PodSourceKubernetes: {1, 0}},
		},
		{
			name: "attributes already present are not overwritten", pi: all,
			attrs: map[string]any{AttrPodUID: uid, AttrNodeName: "node-b", AttrServiceName: "orders-api"}, resolver: resolver,
			wantKey: uid, wantAlt: "shop/orders-0", wantSvc: "orders-api",
			wantAttr: map[string]string{AttrNodeName: "node-b", AttrServiceName: "orders-api"},
			lookups:  lookups{PodSourceAttributes: {1, 0}, PodSourceKubernetes: {1, 0}},
		},
		{
			name: "the log path names the pod", pi: all,
			attrs: map[string]any{}, logPath: path,
			wantKey: uid, wantAlt: "shop/orders-0",
			wantAttr: map[string]string{AttrPodUID: uid, AttrNamespaceName: "shop", AttrContainerName: "orders"},
			lookups:  lookups{PodSourceAttributes: {0, 1}, PodSourceLogPath: {1, 0}},
		},
		{
			name: "the sender's address names the pod", pi: all,
			attrs: map[string]any{}, sender: "10.0.0.7", resolver: resolver,
			wantKey: uid, wantAlt: "shop/orders-0", wantSvc: "orders",
			wantAttr: map[string]string{AttrPodUID: uid, AttrServiceName: "orders"},
			lookups:  lookups{PodSourceAttributes: {0, 1}, PodSourceSenderAddress: {1, 0}, PodSourceKubernetes: {1, 0}},
		},
		{
			name: "an unknown sender", pi: all,
			attrs: map[string]any{}, sender: "10.9.9.9", resolver: resolver,
			lookups: lookups{PodSourceAttributes: {0, 1}, PodSourceSenderAddress: {0, 1}},
		},
		{
			name: "sender address off (a gateway: the sender is an agent)", pi: PodIdentifier{Attributes: true, LogPath: true},
			attrs: map[string]any{}, sender: "10.0.0.7", resolver: resolver,
			lookups: lookups{PodSourceAttributes: {0, 1}},
		},
		{
			name: "attributes off: the log path is read even when attributes name a pod", pi: PodIdentifier{LogPath: true},
			attrs: map[string]any{AttrPodUID: "other"}, logPath: path,
			wantKey: "other", wantAlt: "shop/orders-0",
			wantAttr: map[string]string{AttrPodUID: "other", AttrNamespaceName: "shop"},
			lookups:  lookups{PodSourceLogPath: {1, 0}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			attrs := pcommon.NewMap()
			if err := attrs.FromRaw(tc.attrs); err != nil {
				t.Fatal(err)
			}
			asked := 0
			sender := func() string { asked++; return tc.sender }
			var lc PodLookups
			id := tc.pi.Identify(attrs, tc.logPath, sender, tc.resolver, &lc)
			if id.Key != tc.wantKey || id.AltKey != tc.wantAlt || id.Service != tc.wantSvc {
				t.Errorf("identity = key %q alt %q service %q, want %q %q %q", id.Key, id.AltKey, id.Service, tc.wantKey, tc.wantAlt, tc.wantSvc)
			}
			for k, want := range tc.wantAttr {
				if v, _ := attrs.Get(k); v.AsString() != want {
					t.Errorf("attribute %s = %q, want %q", k, v.AsString(), want)
				}
			}
			var want PodLookups
			for src, n := range tc.lookups {
				want[src] = n
			}
			if lc != want {
				t.Errorf("lookups = %v, want %v", lc, want)
			}
			if !tc.pi.SenderAddress && asked > 0 {
				t.Errorf("the sender's address was asked for with the source off")
			}
		})
	}
}

func TestPodSourceString(t *testing.T) {
	for src, want := range map[PodSource]string{PodSourceAttributes: "attributes", PodSourceLogPath: "log_path", PodSourceSenderAddress: "sender_address", PodSourceKubernetes: "kubernetes", NumPodSources: "unknown"} {
		if got := src.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", src, got, want)
		}
	}
}
