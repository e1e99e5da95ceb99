package main

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/otelcol"
	"go.uber.org/goleak"
)

func TestRecordLocationsOrdersThemAsOtelcol(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    []string
		wantErr bool
	}{
		{"none is the embedded default", nil, []string{defaultConfigURI}, false},
		{"configs in order", []string{"--config=file:a.yaml", "--config", "env:B"}, []string{"file:a.yaml", "env:B"}, false},
		{"sets after configs", []string{"--set=processors.batch.timeout=2s", "--config=file:a.yaml"},
			[]string{"file:a.yaml", "yaml:processors::batch::timeout: 2s"}, false},
		{"a bad set is not recorded", []string{"--config=file:a.yaml", "--set=nothing"}, []string{"file:a.yaml"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			flags := otelcol.NewCommand(settings()).Flags()
			locations := recordLocations(flags)
			err := flags.Parse(tt.args)
			if tt.wantErr {
				assert.Error(t, err)
			} else {
				require.NoError(t, err)
			}
			assert.Equal(t, tt.want, locations())
		})
	}
}

func TestPinInstanceIDKeepsTheUsersAndItsForm(t *testing.T) {
	const id = "pod-uid-1"
	tests := []struct {
		name     string
		resource any // service::telemetry::resource; nil: unset
		want     any
	}{
		{"unset joins the attributes list", nil,
			map[string]any{"attributes": []any{map[string]any{"name": "service.instance.id", "value": id}}}},
		{"attributes list gets an entry",
			map[string]any{"attributes": []any{map[string]any{"name": "deployment.environment.name", "value": "prod"}}},
			map[string]any{"attributes": []any{
				map[string]any{"name": "deployment.environment.name", "value": "prod"},
				map[string]any{"name": "service.instance.id", "value": id},
			}}},
		{"user's entry kept",
			map[string]any{"attributes": []any{map[string]any{"name": "service.instance.id", "value": "mine"}}},
			map[string]any{"attributes": []any{map[string]any{"name": "service.instance.id", "value": "mine"}}}},
		{"older inline form gets a key", map[string]any{"service.namespace": "shop"},
			map[string]any{"service.namespace": "shop", "service.instance.id": id}},
		{"user's inline key kept", map[string]any{"service.instance.id": "mine"},
			map[string]any{"service.instance.id": "mine"}},
		{"user's null kept", map[string]any{"service.instance.id": nil},
			map[string]any{"service.instance.id": nil}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := map[string]any{"receivers": map[string]any{"otlp": nil}}
			if tt.resource != nil {
				raw["service"] = map[string]any{"telemetry": map[string]any{"resource": tt.resource}}
			}
			conf := confmap.NewFromStringMap(raw)
			require.NoError(t, pinInstanceID(conf, id))
			assert.Equal(t, tt.want, conf.Get(telemetryResourceKey))
		})
	}
}

func TestRebuildSectionsIgnoresReceivers(t *testing.T) {
	base := func(endpoint, verbosity string) *confmap.Conf {
		return confmap.NewFromStringMap(map[string]any{
			"receivers": map[string]any{"otlp": map[string]any{"endpoint": endpoint}},
			"exporters": map[string]any{"debug": map[string]any{"verbosity": verbosity}},
			"service": map[string]any{"pipelines": map[string]any{
				"traces": map[string]any{"receivers": []any{"otlp"}, "exporters": []any{"debug"}},
			}},
		})
	}
	assert.Equal(t, rebuildSections(base("a:1", "basic")), rebuildSections(base("b:2", "basic")))
	assert.NotEqual(t, rebuildSections(base("a:1", "basic")), rebuildSections(base("a:1", "detailed")))
}

func TestCandidateCheckLeavesNoGoroutines(t *testing.T) {
	useFreePorts(t)
	r := newConfigReloader(defaultConfigURI)
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	for range 5 {
		_, err := r.candidate(context.Background())
		require.NoError(t, err)
	}
}

func TestCandidateCheckRefusesByName(t *testing.T) {
	useFreePorts(t)
	t.Setenv("BRAID_DEBUG_VERBOSITY", "basicx")
	_, err := newConfigReloader(defaultConfigURI).candidate(context.Background())
	var invalid *invalidConfigError
	require.ErrorAs(t, err, &invalid)
	assert.ErrorContains(t, err, "'verbosity'")
	assert.ErrorContains(t, err, "basicx")
}

// The check of a candidate (resolve, unmarshal, validate, build the graph),
// on the embedded default.
func BenchmarkCandidateCheck(b *testing.B) {
	r := newConfigReloader(defaultConfigURI)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.candidate(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}

func TestPinnedInstanceIDPrefersThePodUID(t *testing.T) {
	tests := []struct {
		name, braidPodUID, podUID, want string
	}{
		{"BRAID_POD_UID", "uid-1", "uid-2", "uid-1"},
		{"POD_UID", "", "uid-2", "uid-2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("BRAID_POD_UID", tt.braidPodUID)
			t.Setenv("POD_UID", tt.podUID)
			assert.Equal(t, tt.want, pinnedInstanceID())
		})
	}
	t.Run("a UUID otherwise", func(t *testing.T) {
		t.Setenv("BRAID_POD_UID", "")
		t.Setenv("POD_UID", "")
		id := pinnedInstanceID()
		assert.Len(t, id, 36)
		assert.NotEqual(t, id, pinnedInstanceID(), "drawn per reloader, not per reload")
	})
}

func TestRetrievedValuesAreServedAsRetrieved(t *testing.T) {
	fromYAML, err := confmap.NewRetrievedFromYAML([]byte("port: 4317\nname: '0123'\n"))
	require.NoError(t, err)
	raw := map[string]any{"list": []any{"a"}}
	fromRaw, err := confmap.NewRetrieved(raw)
	require.NoError(t, err)

	for name, ret := range map[string]*confmap.Retrieved{"yaml text": fromYAML, "raw value": fromRaw} {
		t.Run(name, func(t *testing.T) {
			v, err := recordRetrieved(ret)
			require.NoError(t, err)
			want, err := ret.AsRaw()
			require.NoError(t, err)
			again, err := v.retrieved()
			require.NoError(t, err)
			got, err := again.AsRaw()
			require.NoError(t, err)
			assert.Equal(t, want, got)
		})
	}
	v, err := recordRetrieved(fromRaw)
	require.NoError(t, err)
	raw["list"].([]any)[0] = "changed"
	again, err := v.retrieved()
	require.NoError(t, err)
	got, err := again.AsRaw()
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"list": []any{"a"}}, got, "a recorded raw value is a copy")
}
