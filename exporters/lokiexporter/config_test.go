package lokiexporter

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/braidobs/braid/internal/lokilabels"
)

func TestLoadConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)

	full := createDefaultConfig().(*Config)
	full.ClientConfig.Endpoint = "https://loki.example.com/loki/api/v1/push"
	full.ClientConfig.Timeout = 10 * time.Second
	full.ClientConfig.Headers.Set("X-Extra", "braid")
	queue := exporterhelper.NewDefaultQueueConfig()
	storage := component.MustNewID("file_storage")
	queue.StorageID = &storage
	queue.QueueSize = 5000
	full.QueueConfig = configoptional.Some(queue)
	full.RetryConfig.MaxElapsedTime = 0
	full.Labels = LabelsConfig{ResourceAttributes: []string{"service.name", "k8s.namespace.name"}, Attributes: []string{"level"}}
	full.Tenant = TenantConfig{Value: "team-a", FromAttribute: "tenant.id"}
	full.StructuredMetadata = false
	full.MaxLabelValueLength = 256

	minimal := createDefaultConfig().(*Config)
	minimal.ClientConfig.Endpoint = "http://loki:3100/loki/api/v1/push"

	tests := []struct {
		id      string
		want    *Config
		wantErr string
	}{
		{id: "loki", want: minimal},
		{id: "loki/full", want: full},
		{id: "loki/no_endpoint", wantErr: "endpoint is required"},
		{id: "loki/bad_scheme", wantErr: `endpoint must be an http or https URL, got "ftp://loki:3100/push"`},
		{id: "loki/bad_length", wantErr: "max_label_value_length must be positive, got -1"},
		{id: "loki/duplicate_label", wantErr: `labels.resource_attributes[1]: "service.name" and "service_name" both map to label "service_name"`},
		{id: "loki/empty_label", wantErr: "labels.attributes[0] must not be empty"},
		{id: "loki/bad_tenant", wantErr: `tenant.value "team a": tenant ID has a character Loki does not allow at offset 4`},
		{id: "loki/long_tenant", wantErr: "tenant.value must be at most 150 characters, got 171"},
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
	assert.Equal(t, lokilabels.DefaultResourceAttributes(), cfg.Labels.ResourceAttributes)
	assert.Equal(t, lokilabels.TenantAttribute, cfg.Tenant.FromAttribute)
	assert.True(t, cfg.StructuredMetadata)
	assert.True(t, cfg.Labels.HonorHints)
	assert.ErrorContains(t, confmap.Validate(cfg), "endpoint is required", "the default has no endpoint")
}
