package correlationprocessor_test

import (
	"context"
	"net"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/client"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor/processortest"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/braidobs/braid/extensions/k8spodsextension"
	"github.com/braidobs/braid/kube"
	"github.com/braidobs/braid/processors/correlationprocessor"
)

const checkoutUID = "0b9d3d4e-5f60-4a71-8b92-a3b4c5d6e7f8"

// clusterWithCheckout is a cluster holding one pod of the checkout
// deployment (through its ReplicaSet), on node-a.
func clusterWithCheckout() kubernetes.Interface {
	controller := true
	rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{
		Namespace: "shop", Name: "checkout-7d9f8b6c5", UID: "rs-uid",
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "Deployment", Name: "checkout", UID: "dep-uid", Controller: &controller}},
	}}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: "shop", Name: "checkout-7d9f8b6c5-abcde", UID: checkoutUID,
			Labels:          map[string]string{"app.kubernetes.io/name": "checkout", "app.kubernetes.io/version": "2.3.1"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "checkout-7d9f8b6c5", UID: "rs-uid", Controller: &controller}},
		},
		Spec:   corev1.PodSpec{NodeName: "node-a", Containers: []corev1.Container{{Name: "app"}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.1.2.3"},
	}
	return fake.NewClientset(rs, pod)
}

type hostWith map[component.ID]component.Component

func (h hostWith) GetExtensions() map[component.ID]component.Component { return h }

// startK8sPods runs the k8s_pods extension against the fake cluster and
// returns a host that offers it.
func startK8sPods(t *testing.T) hostWith {
	t.Helper()
	f := k8spodsextension.NewFactoryWithClientProvider(func(kube.AuthType) (kubernetes.Interface, error) {
		return clusterWithCheckout(), nil
	})
	cfg := f.CreateDefaultConfig().(*k8spodsextension.Config)
	cfg.ClusterName = "prod-eu"
	set := extensiontest.NewNopSettings(k8spodsextension.Type)
	set.ID = component.NewID(k8spodsextension.Type)
	ext, err := f.Create(context.Background(), set, cfg)
	require.NoError(t, err)
	require.NoError(t, ext.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, ext.Shutdown(context.Background())) })
	return hostWith{set.ID: ext}
}

func wantFullIdentity(t *testing.T, attrs pcommon.Map) {
	t.Helper()
	want := map[string]string{
		"k8s.pod.uid":         checkoutUID,
		"k8s.pod.name":        "checkout-7d9f8b6c5-abcde",
		"k8s.namespace.name":  "shop",
		"k8s.node.name":       "node-a",
		"k8s.container.name":  "app",
		"k8s.deployment.name": "checkout",
		"k8s.cluster.name":    "prod-eu",
		"service.name":        "checkout",
		"service.version":     "2.3.1",
	}
	for k, v := range want {
		got, ok := attrs.Get(k)
		if assert.True(t, ok, "%s missing", k) {
			assert.Equal(t, v, got.Str(), k)
		}
	}
}

func newProcessorConfig(f interface{ CreateDefaultConfig() component.Config }) *correlationprocessor.Config {
	cfg := f.CreateDefaultConfig().(*correlationprocessor.Config)
	cfg.PodResolver = "k8s_pods"
	return cfg
}

func TestKubernetesIdentityFromSenderAddressOnly(t *testing.T) {
	host := startK8sPods(t)
	f := correlationprocessor.NewFactory()
	sink := new(consumertest.TracesSink)
	p, err := f.CreateTraces(context.Background(), processortest.NewNopSettings(f.Type()), newProcessorConfig(f), sink)
	require.NoError(t, err)
	require.NoError(t, p.Start(context.Background(), host))
	defer func() { require.NoError(t, p.Shutdown(context.Background())) }()

	td := ptrace.NewTraces()
	span := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	span.SetTraceID(pcommon.TraceID{1, 2, 3})
	span.SetSpanID(pcommon.SpanID{4})
	// Nothing about the pod in the data: only the address it was sent from.
	ctx := client.NewContext(context.Background(), client.Info{Addr: &net.TCPAddr{IP: net.ParseIP("10.1.2.3"), Port: 51234}})
	require.NoError(t, p.ConsumeTraces(ctx, td))

	require.Len(t, sink.AllTraces(), 1)
	wantFullIdentity(t, sink.AllTraces()[0].ResourceSpans().At(0).Resource().Attributes())
}

func TestKubernetesIdentityFromLogPathOnly(t *testing.T) {
	host := startK8sPods(t)
	f := correlationprocessor.NewFactory()
	sink := new(consumertest.LogsSink)
	p, err := f.CreateLogs(context.Background(), processortest.NewNopSettings(f.Type()), newProcessorConfig(f), sink)
	require.NoError(t, err)
	require.NoError(t, p.Start(context.Background(), host))

	ld := plog.NewLogs()
	lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.Body().SetStr("order placed")
	// What the file_log receiver with include_file_path sets, nothing more.
	lr.Attributes().PutStr("log.file.path", "/var/log/pods/shop_checkout-7d9f8b6c5-abcde_"+checkoutUID+"/app/0.log")
	require.NoError(t, p.ConsumeLogs(context.Background(), ld))
	require.NoError(t, p.Shutdown(context.Background()))

	require.Equal(t, 1, sink.LogRecordCount())
	wantFullIdentity(t, sink.AllLogs()[0].ResourceLogs().At(0).Resource().Attributes())
}
