package usageprocessor

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap/confmaptest"
)

func TestLoadConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	for _, tc := range []struct {
		id      string
		want    *Config
		wantErr string
	}{
		{id: "", want: createDefaultConfig().(*Config)},
		{id: "custom", want: &Config{TopN: 5, Candidates: 10, RankInterval: 30 * time.Second}},
		{id: "zero_top", wantErr: "top_n: must be positive, got 0"},
		{id: "negative_candidates", wantErr: "candidates: must be positive, got -1"},
		{id: "zero_interval", wantErr: "rank_interval: must be positive, got 0s"},
	} {
		t.Run(tc.id, func(t *testing.T) {
			sub, err := cm.Sub(component.NewIDWithName(Type, tc.id).String())
			require.NoError(t, err)
			cfg := createDefaultConfig().(*Config)
			require.NoError(t, sub.Unmarshal(cfg))
			err = cfg.Validate()
			if tc.wantErr != "" {
				assert.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, cfg)
		})
	}
}

func TestConfigStruct(t *testing.T) {
	require.NoError(t, componenttest.CheckConfigStruct(createDefaultConfig()))
}
