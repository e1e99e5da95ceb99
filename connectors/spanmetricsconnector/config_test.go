package spanmetricsconnector

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap"
)

func TestConfigRefusesBadSettingsNamingTheKey(t *testing.T) {
	for _, tc := range []struct {
		name    string
		conf    map[string]any
		wantErr string
	}{
		{"defaults", map[string]any{}, ""},
		{"contrib-style keys", sharedConfig, ""},
		{"seconds and custom buckets", map[string]any{"histogram": map[string]any{"unit": "s", "explicit": map[string]any{"buckets": []any{"100us", "1ms", "1s"}}}}, ""},
		{"empty dimension name", map[string]any{"dimensions": []any{map[string]any{"name": ""}}}, "dimensions[0]::name: must not be empty"},
		{"repeated dimension", map[string]any{"dimensions": []any{map[string]any{"name": "a"}, map[string]any{"name": "a"}}}, `dimensions[1]::name: "a" is already a dimension`},
		{"dimension that is always there", map[string]any{"dimensions": []any{map[string]any{"name": "span.kind"}}}, `dimensions[0]::name: "span.kind" is already a dimension`},
		{"unknown unit", map[string]any{"histogram": map[string]any{"unit": "us"}}, `histogram::unit: "us" is not ms or s`},
		{"no buckets", map[string]any{"histogram": map[string]any{"explicit": map[string]any{"buckets": []any{}}}}, "histogram::explicit::buckets: must not be empty"},
		{"decreasing buckets", map[string]any{"histogram": map[string]any{"explicit": map[string]any{"buckets": []any{"2ms", "1ms"}}}}, "histogram::explicit::buckets: must be positive and increasing, 1ms at index 1 is not"},
		{"zero flush interval", map[string]any{"metrics_flush_interval": "0s"}, "metrics_flush_interval: must be positive"},
		{"negative expiration", map[string]any{"metrics_expiration": "-1m"}, "metrics_expiration: must not be negative"},
		{"delta", map[string]any{"aggregation_temporality": "AGGREGATION_TEMPORALITY_DELTA"}, "aggregation_temporality: only AGGREGATION_TEMPORALITY_CUMULATIVE is supported"},
		{"zero max_series", map[string]any{"max_series": 0}, "max_series: must be positive, got 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := createDefaultConfig().(*Config)
			require.NoError(t, confmap.NewFromStringMap(tc.conf).Unmarshal(cfg))
			err := cfg.Validate()
			if tc.wantErr == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.wantErr)
		})
	}
}

func TestConfigRefusesKeysItDoesNotHave(t *testing.T) {
	// Contrib keys Braid's connector does not implement are refused by
	// name, not ignored.
	cfg := createDefaultConfig()
	err := confmap.NewFromStringMap(map[string]any{"events": map[string]any{"enabled": true}}).Unmarshal(cfg)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "events")
}

func TestDefaultConfig(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	require.NoError(t, cfg.Validate())
	assert.Equal(t, 60*time.Second, cfg.MetricsFlushInterval)
	assert.Equal(t, 10*time.Minute, cfg.MetricsExpiration)
	assert.Equal(t, "traces.span.metrics", cfg.Namespace)
	assert.Equal(t, defaultBuckets, cfg.Histogram.Explicit.Buckets)
	assert.False(t, cfg.Exemplars.Enabled)
}
