package k8spodsextension

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.uber.org/goleak"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/braidobs/braid/correlate"
	"github.com/braidobs/braid/kube"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const uid = "0f4a1b2c-3d4e-4f50-8a6b-7c8d9e0f1a2b"

func checkoutPod() *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "checkout-1", UID: uid, Labels: map[string]string{"app": "checkout"}},
		Spec:       corev1.PodSpec{NodeName: "node-a", Containers: []corev1.Container{{Name: "app"}}},
		Status:     corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.0.0.5"},
	}
}

func fakeProvider(client kubernetes.Interface) kube.ClientProvider {
	return func(kube.AuthType) (kubernetes.Interface, error) { return client, nil }
}

func TestFactory(t *testing.T) {
	f := NewFactory()
	assert.Equal(t, Type, f.Type())
	assert.Equal(t, "k8s_pods", Type.String())
	cfg := f.CreateDefaultConfig()
	assert.NoError(t, componenttest.CheckConfigStruct(cfg))
	assert.NoError(t, cfg.(*Config).Validate())
}

// TestResolvesThroughHostExtensions is how a processor uses the extension:
// find it among the host's extensions by ID and type-assert it.
func TestResolvesThroughHostExtensions(t *testing.T) {
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	set := extensiontest.NewNopSettings(Type)
	set.ID = component.NewID(Type) // what `pod_resolver: k8s_pods` names
	set.TelemetrySettings = tel.NewTelemetrySettings()

	f := NewFactoryWithClientProvider(fakeProvider(fake.NewClientset(checkoutPod())))
	cfg := f.CreateDefaultConfig().(*Config)
	cfg.ClusterName = "prod-eu"
	ext, err := f.Create(context.Background(), set, cfg)
	require.NoError(t, err)

	host := map[component.ID]component.Component{set.ID: ext}
	resolver, ok := host[component.NewID(Type)].(correlate.PodResolver)
	require.True(t, ok, "the extension value is a correlate.PodResolver")

	_, ok = resolver.ByIP("10.0.0.5")
	assert.False(t, ok, "nothing resolves before Start")

	require.NoError(t, ext.Start(context.Background(), componenttest.NewNopHost()))
	p, ok := resolver.ByIP("10.0.0.5:40000")
	require.True(t, ok)
	assert.Equal(t, correlate.Pod{
		UID: uid, Name: "checkout-1", Namespace: "shop", NodeName: "node-a", ContainerName: "app", IP: "10.0.0.5",
		ClusterName: "prod-eu", ServiceName: "checkout", Labels: map[string]string{"app": "checkout"},
	}, p)
	p, ok = resolver.(kube.LogPathResolver).ByLogPath("/var/log/pods/shop_checkout-1_" + uid + "/app/0.log")
	require.True(t, ok)
	assert.Equal(t, "checkout-1", p.Name)
	assert.False(t, hit(resolver.ByUID("not-a-uid")))
	assert.True(t, hit(resolver.ByName("shop", "checkout-1")))

	m, err := tel.GetMetric("braid_k8s_pods_cached")
	require.NoError(t, err)
	assert.Equal(t, int64(1), m.Data.(metricdata.Gauge[int64]).DataPoints[0].Value)
	m, err = tel.GetMetric("braid_k8s_lookups")
	require.NoError(t, err)
	assert.NotEmpty(t, m.Data.(metricdata.Sum[int64]).DataPoints)
	m, err = tel.GetMetric("braid_k8s_lookups_malformed")
	require.NoError(t, err)
	assert.Equal(t, int64(1), m.Data.(metricdata.Sum[int64]).DataPoints[0].Value)

	require.NoError(t, ext.Shutdown(context.Background()))
	require.NoError(t, ext.Shutdown(context.Background()))
	assert.False(t, hit(resolver.ByUID(uid)), "nothing resolves after Shutdown")
}

func hit(_ correlate.Pod, ok bool) bool { return ok }

func TestStartFailures(t *testing.T) {
	tests := []struct {
		name     string
		mutate   func(*Config)
		provider kube.ClientProvider
		wantErr  string
		wantSync string // regexp
	}{
		{
			name: "no API credentials",
			provider: func(kube.AuthType) (kubernetes.Interface, error) {
				return nil, errors.New("unable to load in-cluster configuration")
			},
			wantErr: "unable to load in-cluster configuration",
		},
		{
			name:     "agent without node name",
			mutate:   func(c *Config) { c.Mode = kube.ModeAgent },
			provider: fakeProvider(fake.NewClientset()),
			wantErr:  "node_name is empty in agent mode",
		},
		{
			name:   "cache never syncs",
			mutate: func(c *Config) { c.SyncTimeout = 100_000_000 },
			provider: func(kube.AuthType) (kubernetes.Interface, error) {
				c := fake.NewClientset()
				c.PrependReactor("list", "replicasets", func(k8stesting.Action) (bool, runtime.Object, error) {
					return true, nil, errors.New("connection refused")
				})
				return c, nil
			},
			wantErr:  "did not sync within 100ms (sync_timeout)",
			wantSync: `(pods and )?replicasets caches? did not sync within .*last error: .*connection refused`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := NewFactoryWithClientProvider(tt.provider)
			cfg := f.CreateDefaultConfig().(*Config)
			if tt.mutate != nil {
				tt.mutate(cfg)
			}
			ext, err := f.Create(context.Background(), extensiontest.NewNopSettings(Type), cfg)
			require.NoError(t, err)
			err = ext.Start(context.Background(), componenttest.NewNopHost())
			assert.ErrorContains(t, err, tt.wantErr)
			if tt.wantSync != "" {
				assert.Regexp(t, tt.wantSync, err.Error())
			}
			assert.NoError(t, ext.Shutdown(context.Background()))
		})
	}
}

func TestShutdownWithoutStart(t *testing.T) {
	ext, err := NewFactory().Create(context.Background(), extensiontest.NewNopSettings(Type), createDefaultConfig())
	require.NoError(t, err)
	assert.NoError(t, ext.Shutdown(context.Background()))
}
