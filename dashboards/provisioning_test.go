package dashboards_test

import (
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/braidobs/braid/correlate/links"
	"github.com/braidobs/braid/dashboards"
)

// The in-line derived fields find the trace ID in what services print, and
// nothing in lines that only look alike.
func TestDerivedFieldsFindTraceIDsInLines(t *testing.T) {
	const id = "4bf92f3577b34da6a3ce929d0e0e4736"
	tests := []struct {
		name string
		line string
		want string // "" for no match
	}{
		{name: "json snake", line: `{"level":"error","msg":"boom","trace_id":"` + id + `"}`, want: id},
		{name: "json camel", line: `{"traceId":"` + id + `","spanId":"00f067aa0ba902b7"}`, want: id},
		{name: "logfmt", line: `level=error msg=boom trace_id=` + id + ` span_id=00f067aa0ba902b7`, want: id},
		{name: "dotted", line: `trace.id: ` + id, want: id},
		{name: "java mdc", line: `2026-11-26 ERROR [checkout,traceID=` + id + `] boom`, want: id},
		{name: "traceparent", line: `incoming traceparent: 00-` + id + `-00f067aa0ba902b7-01`, want: id},
		{name: "request id is not a trace id", line: `request_id=` + id},
		{name: "too short", line: `trace_id=4bf92f3577b34da6`},
		{name: "too long", line: `trace_id=` + id + `ff`},
	}
	var regexes []*regexp.Regexp
	for _, f := range dashboards.LokiDerivedFields(links.DefaultDatasources()) {
		assert.Equal(t, links.DefaultJaegerUID, f.DatasourceUID)
		assert.Equal(t, "$${__value.raw}", f.URL)
		if f.MatcherType == "label" {
			assert.Equal(t, links.LogFieldTraceID, f.MatcherRegex)
			continue
		}
		re := regexp.MustCompile(f.MatcherRegex)
		require.Equal(t, 1, re.NumSubexp(), "the first group is the link's value")
		regexes = append(regexes, re)
	}
	require.Len(t, regexes, 2)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got string
			for _, re := range regexes {
				if m := re.FindStringSubmatch(tt.line); m != nil {
					got = m[1]
					break
				}
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestDatasourceCrossLinks(t *testing.T) {
	cfg := dashboards.DefaultConfig()
	cfg.Datasources.Jaeger.UID = "j"
	raw, err := dashboards.DatasourcesYAML(cfg)
	require.NoError(t, err)
	var f struct {
		Datasources []struct {
			UID      string         `yaml:"uid"`
			Type     string         `yaml:"type"`
			URL      string         `yaml:"url"`
			JSONData map[string]any `yaml:"jsonData"`
		} `yaml:"datasources"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &f))
	byType := map[string]map[string]any{}
	for _, d := range f.Datasources {
		byType[d.Type] = d.JSONData
	}
	prom := byType[links.TypePrometheus]
	assert.Equal(t, []any{map[string]any{"name": links.ExemplarTraceIDLabel, "datasourceUid": "j", "urlDisplayLabel": "Open trace in Jaeger"}},
		prom["exemplarTraceIdDestinations"])

	jaeger := byType[links.TypeJaeger]
	logs := jaeger["tracesToLogsV2"].(map[string]any)
	assert.Equal(t, links.DefaultLokiUID, logs["datasourceUid"])
	assert.Equal(t, `{$${__tags}} | trace_id="$${__trace.traceId}"`, logs["query"])
	assert.Equal(t, true, logs["customQuery"])
	for _, tag := range logs["tags"].([]any) {
		assert.Contains(t, links.LogLabels(), tag.(map[string]any)["value"])
	}
	metrics := jaeger["tracesToMetrics"].(map[string]any)
	assert.Equal(t, links.DefaultPrometheusUID, metrics["datasourceUid"])
	assert.Len(t, metrics["queries"], 3)
}
