package correlationprocessor

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/braidobs/braid/correlate"
)

func TestLoadConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)

	custom := createDefaultConfig().(*Config)
	custom.MaxTraces = 5000
	custom.MaxLogOnlyTraces = 1000
	custom.TTL = 2 * time.Minute
	custom.Shards = 4
	custom.MaxKeys = 100
	custom.SpansPerKey = 32
	custom.UnlinkedLinesPerPod = 4
	custom.TraceContext = TraceContextConfig{
		Sources:         []string{"body"},
		TraceIDKeys:     []string{"trace_id", "request_trace"},
		SpanIDKeys:      []string{"span_id"},
		TraceparentKeys: []string{"traceparent"},
		B3Keys:          []string{},
		BodyPaths:       []string{"mdc"},
		SourceAttribute: SourceAttributeAll,
	}
	custom.PodIdentity.Sources = []string{"attributes", "log_path"}
	custom.Pods = []correlate.Pod{{UID: "1f2e3d4c-5b6a-4789-8a7b-6c5d4e3f2a1b", Name: "orders-0", Namespace: "shop", IP: "10.0.0.7", StatefulSetName: "orders", ServiceName: "orders"}}
	custom.PodResolver = "k8s_pods"
	custom.InferLogLinks = InferLogLinksConfig{Enabled: true, Delay: 500 * time.Millisecond, MaxDelayedLogs: 100}
	custom.Exemplars = ExemplarsConfig{Enabled: true, MaxAge: 30 * time.Second, MaxPerPoint: 2}
	custom.Multiline = MultilineConfig{Enabled: true, MaxLines: 200, MaxBytes: 32768}

	tests := []struct {
		id      component.ID
		want    *Config
		wantErr string
	}{
		{id: component.NewID(Type), want: createDefaultConfig().(*Config)},
		{id: component.NewIDWithName(Type, "custom"), want: custom},
		{id: component.NewIDWithName(Type, "negative_unlinked_lines"), wantErr: "unlinked_lines_per_pod must not be negative, got -2"},
		{id: component.NewIDWithName(Type, "negative_ttl"), wantErr: "ttl must be positive, got -1s"},
		{id: component.NewIDWithName(Type, "zero_max_traces"), wantErr: "max_traces must be positive, got 0"},
		{id: component.NewIDWithName(Type, "negative_max_log_only_traces"), wantErr: "max_log_only_traces must not be negative, got -1"},
		{id: component.NewIDWithName(Type, "unknown_source"), wantErr: `trace_context::sources[1]: unknown extraction source "headers"`},
		{id: component.NewIDWithName(Type, "unknown_pod_source"), wantErr: `pod_identity::sources[0]: unknown pod identity source "dns"`},
		{id: component.NewIDWithName(Type, "bad_pod"), wantErr: "pods[0]: a pod needs a uid, an ip, or a namespace and a name"},
		{id: component.NewIDWithName(Type, "bad_pod_resolver"), wantErr: `pod_resolver: "9-not an id" is not a component ID`},
		{id: component.NewIDWithName(Type, "negative_delay"), wantErr: "infer_log_links::delay must not be negative, got -1s"},
		{id: component.NewIDWithName(Type, "zero_multiline_max_lines"), wantErr: "multiline::max_lines must be positive, got 0"},
		{id: component.NewIDWithName(Type, "negative_multiline_max_bytes"), wantErr: "multiline::max_bytes must be positive, got -1"},
		{id: component.NewIDWithName(Type, "unknown_source_attribute"), wantErr: `trace_context::source_attribute: unknown value "some" (want all or inferred_only)`},
	}
	for _, tc := range tests {
		t.Run(tc.id.String(), func(t *testing.T) {
			cfg := createDefaultConfig()
			sub, err := cm.Sub(tc.id.String())
			require.NoError(t, err)
			require.NoError(t, sub.Unmarshal(cfg))
			err = cfg.(*Config).Validate()
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, cfg)
		})
	}
}
