package drillextension

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"
)

func TestConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)

	custom := createDefaultConfig().(*Config)
	custom.NetAddr.Endpoint = "127.0.0.1:9999"
	custom.Correlation = "correlation/gateway"
	custom.PodResolver = "k8s_pods"
	custom.GrafanaURL = "https://grafana.example.com/"
	custom.Datasources = DatasourcesConfig{PrometheusUID: "prom", LokiUID: "logs", JaegerUID: "traces"}
	custom.Jaeger = JaegerConfig{QueryURL: "http://jaeger-query:16686", Timeout: 2 * time.Second}
	custom.AlertLookback = 30 * time.Minute
	custom.AlertsRetained = 50

	peersDNS := createDefaultConfig().(*Config)
	peersDNS.Peers.DNS = "braid-gateway-headless.braid.svc.cluster.local:8890"
	peersDNS.Peers.Refresh = 30 * time.Second
	peersDNS.Peers.Timeout = 500 * time.Millisecond
	peersDNS.Peers.Auth.BearerTokenFile = "/var/run/secrets/braid/drill-token"

	peersStatic := createDefaultConfig().(*Config)
	peersStatic.Peers.Static = []string{"10.0.0.1:8890", "10.0.0.2:8890"}
	peersStatic.Peers.Auth.BearerToken = "s3cret"

	tests := []struct {
		id      component.ID
		want    *Config
		wantErr string
	}{
		{id: component.NewID(Type), want: createDefaultConfig().(*Config)},
		{id: component.NewIDWithName(Type, "custom"), want: custom},
		{id: component.NewIDWithName(Type, "bad_grafana"), wantErr: "grafana_url"},
		{id: component.NewIDWithName(Type, "bad_lookback"), wantErr: "alert_lookback must be positive, got -1m0s"},
		{id: component.NewIDWithName(Type, "bad_retained"), wantErr: "alerts_retained must be positive, got 0"},
		{id: component.NewIDWithName(Type, "bad_correlation"), wantErr: `correlation "correlation/"`},
		{id: component.NewIDWithName(Type, "bad_jaeger_timeout"), wantErr: "jaeger::timeout must be positive"},
		{id: component.NewIDWithName(Type, "unknown_key"), wantErr: "grafana"},
		{id: component.NewIDWithName(Type, "peers_dns"), want: peersDNS},
		{id: component.NewIDWithName(Type, "peers_static"), want: peersStatic},
		{id: component.NewIDWithName(Type, "peers_empty_dns"), want: createDefaultConfig().(*Config)},
		{id: component.NewIDWithName(Type, "peers_both"), wantErr: "peers: set dns or static, not both"},
		{id: component.NewIDWithName(Type, "peers_bad_dns"), wantErr: `peers::dns: peer address "braid-gateway-headless" is not host:port`},
		{id: component.NewIDWithName(Type, "peers_bad_static"), wantErr: `peers::static[1]: peer address "10.0.0.2"`},
		{id: component.NewIDWithName(Type, "peers_bad_timeout"), wantErr: "peers::timeout must be positive, got 0s"},
		{id: component.NewIDWithName(Type, "peers_bad_refresh"), wantErr: "peers::refresh must be positive, got -1s"},
		{id: component.NewIDWithName(Type, "peers_two_tokens"), wantErr: "peers::auth: set bearer_token or bearer_token_file, not both"},
	}
	for _, tt := range tests {
		t.Run(tt.id.String(), func(t *testing.T) {
			cfg := createDefaultConfig()
			sub, err := cm.Sub(tt.id.String())
			require.NoError(t, err)
			err = sub.Unmarshal(cfg)
			if err == nil {
				err = confmap.Validate(cfg)
			}
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			got := cfg.(*Config)
			// Auth is compared separately: it is an optional of its own.
			got.Auth = tt.want.Auth
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestConfigStruct(t *testing.T) {
	require.NoError(t, componenttest.CheckConfigStruct(createDefaultConfig()))
}
