package k8spodsextension

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/braidobs/braid/kube"
)

func TestLoadConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)

	tests := []struct {
		id      string
		want    *Config
		wantErr string
	}{
		{id: "", want: createDefaultConfig().(*Config)},
		{id: "agent", want: &Config{
			Mode: kube.ModeAgent, NodeName: "node-a", ClusterName: "prod-eu", AuthType: kube.AuthServiceAccount,
			SyncTimeout: 10 * time.Second, DeletedPodGracePeriod: 5 * time.Minute,
		}},
		{id: "kubeconfig", want: &Config{
			Mode: kube.ModeGateway, AuthType: kube.AuthKubeConfig,
			SyncTimeout: kube.DefaultSyncTimeout, DeletedPodGracePeriod: kube.DefaultDeletedPodGracePeriod,
		}},
		{id: "bad_mode", wantErr: `mode must be "agent" or "gateway", got "daemonset"`},
		{id: "bad_auth", wantErr: `auth_type must be "serviceAccount" or "kubeConfig", got "token"`},
		{id: "bad_sync_timeout", wantErr: "sync_timeout must be positive, got 0s"},
		{id: "bad_grace", wantErr: "deleted_pod_grace_period must not be negative, got -1s"},
	}
	for _, tt := range tests {
		name := tt.id
		if name == "" {
			name = "default"
		}
		t.Run(name, func(t *testing.T) {
			id := component.NewID(Type)
			if tt.id != "" {
				id = component.NewIDWithName(Type, tt.id)
			}
			sub, err := cm.Sub(id.String())
			require.NoError(t, err)
			cfg := createDefaultConfig()
			require.NoError(t, sub.Unmarshal(cfg))
			err = confmap.Validate(cfg)
			if tt.wantErr != "" {
				assert.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, cfg)
		})
	}
}

func TestUnknownKeyIsRefused(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	sub, err := cm.Sub("k8s_pods/agent")
	require.NoError(t, err)
	require.NoError(t, sub.Merge(confmap.NewFromStringMap(map[string]any{"node_nam": "x"})))
	assert.ErrorContains(t, sub.Unmarshal(createDefaultConfig()), "node_nam")
}
