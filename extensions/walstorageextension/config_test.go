package walstorageextension

import (
	"path/filepath"
	"testing"

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

	tests := []struct {
		id      component.ID
		want    *Config
		wantErr string
	}{
		{id: component.NewID(Type), want: &Config{Directory: "./testdata", MaxSegmentSizeMiB: 64}},
		{
			id:   component.NewIDWithName(Type, "custom"),
			want: &Config{Directory: "./testdata", CreateDirectory: true, MaxSegmentSizeMiB: 16, FSync: true},
		},
		{
			id:   component.NewIDWithName(Type, "create"),
			want: &Config{Directory: "./testdata/does-not-exist", CreateDirectory: true, MaxSegmentSizeMiB: 64},
		},
		{id: component.NewIDWithName(Type, "no_directory"), wantErr: "directory must be set"},
		{id: component.NewIDWithName(Type, "missing_directory"), wantErr: `directory "./testdata/does-not-exist" does not exist (create_directory: true creates it)`},
		{id: component.NewIDWithName(Type, "not_a_directory"), wantErr: `directory "./testdata/config.yaml" is not a directory`},
		{id: component.NewIDWithName(Type, "zero_segment"), wantErr: "max_segment_size_mib must be between 1 and 4095, got 0"},
		{id: component.NewIDWithName(Type, "huge_segment"), wantErr: "max_segment_size_mib must be between 1 and 4095, got 4096"},
		{id: component.NewIDWithName(Type, "unknown_key"), wantErr: "max_segment_size"},
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
			assert.Equal(t, tt.want, cfg)
		})
	}
}

func TestConfigStruct(t *testing.T) {
	require.NoError(t, componenttest.CheckConfigStruct(createDefaultConfig()))
}
