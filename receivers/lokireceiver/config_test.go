package lokireceiver

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"
)

func TestLoadConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)

	full := createDefaultConfig().(*Config)
	full.ServerConfig.NetAddr.Endpoint = "0.0.0.0:3100"
	full.ServerConfig.MaxRequestBodySize = 1 << 20
	full.ServerConfig.IncludeMetadata = true
	full.LabelAttributes = map[string]string{"namespace": "k8s.namespace.name", "pod": "k8s.pod.name"}

	tenants := createDefaultConfig().(*Config)
	tenants.Tenants = []TenantIdentity{
		{Tenant: "team-a", Tokens: []configopaque.String{"token-a"}, ClientNames: []string{"shipper-a"}},
		{Tenant: "team-b", Tokens: []configopaque.String{"token-b"}},
	}

	tests := []struct {
		id      string
		want    *Config
		wantErr string
	}{
		{id: "loki", want: createDefaultConfig().(*Config)},
		{id: "loki/full", want: full},
		{id: "loki/no_endpoint", wantErr: "endpoint is required"},
		{id: "loki/negative_size", wantErr: "max_request_body_size must not be negative, got -1"},
		{id: "loki/empty_attribute", wantErr: "label_attributes.pod must name an attribute"},
		{id: "loki/tenants", want: tenants},
		{id: "loki/tenant_without_identity", wantErr: `tenants[0] (tenant "team-a") needs tokens or client_names`},
		{id: "loki/tenant_bad_name", wantErr: `tenants[0].tenant "a/b"`},
		{id: "loki/tenant_shared_token", wantErr: "tenants[1].tokens[0] is also a token of tenants[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			sub, err := cm.Sub(tt.id)
			require.NoError(t, err)
			cfg := createDefaultConfig().(*Config)
			require.NoError(t, sub.Unmarshal(cfg))
			err = confmap.Validate(cfg)
			if tt.wantErr != "" {
				assert.ErrorContains(t, err, tt.wantErr)
				assert.NotContains(t, err.Error(), "s3cret", "errors never show a token")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, cfg)
		})
	}
}

func TestFactory(t *testing.T) {
	f := NewFactory()
	assert.Equal(t, "loki", f.Type().String())
	cfg := f.CreateDefaultConfig().(*Config)
	require.NoError(t, componenttest.CheckConfigStruct(cfg))
	assert.Equal(t, "localhost:3500", cfg.ServerConfig.NetAddr.Endpoint)
	require.NoError(t, confmap.Validate(cfg))
}
