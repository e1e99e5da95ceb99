package links_test

import (
	"encoding/json"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/braidobs/braid/correlate/links"
)

var traceID = pcommon.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36}

type pane struct {
	Datasource string           `json:"datasource"`
	Queries    []map[string]any `json:"queries"`
	Range      struct {
		From string `json:"from"`
		To   string `json:"to"`
	} `json:"range"`
}

// decodeExplore parses an Explore URL back into its single pane.
func decodeExplore(t *testing.T, raw string) (*url.URL, pane) {
	t.Helper()
	u, err := url.Parse(raw)
	require.NoError(t, err)
	require.True(t, strings.HasSuffix(u.Path, "/explore"), "path %q", u.Path)
	q := u.Query()
	require.Equal(t, "1", q.Get("schemaVersion"))
	var panes map[string]pane
	require.NoError(t, json.Unmarshal([]byte(q.Get("panes")), &panes))
	require.Len(t, panes, 1)
	for _, p := range panes {
		return u, p
	}
	panic("unreachable")
}

func TestLinks(t *testing.T) {
	start := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	r := links.TimeRange{From: start, To: start.Add(3 * time.Second)}
	ds := links.DefaultDatasources()
	ds.Jaeger.UID = "my-jaeger"
	b, err := links.NewLinkBuilder("https://grafana.example.com/sub/", ds, links.WithOrgID(7), links.WithLogWindow(30*time.Second))
	require.NoError(t, err)

	tests := []struct {
		name      string
		link      string
		wantUID   string
		wantType  string
		wantRange [2]time.Time
		check     func(t *testing.T, qs []map[string]any)
	}{
		{
			name: "trace in jaeger", link: b.Trace(traceID, r),
			wantUID: "my-jaeger", wantType: links.TypeJaeger, wantRange: [2]time.Time{r.From, r.To},
			check: func(t *testing.T, qs []map[string]any) {
				require.Len(t, qs, 1)
				assert.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", qs[0]["query"])
			},
		},
		{
			name: "trace logs in loki", link: b.TraceLogs(traceID, links.Selector{Service: "checkout", Pod: `we"ird`}, r),
			wantUID: links.DefaultLokiUID, wantType: links.TypeLoki,
			wantRange: [2]time.Time{r.From.Add(-30 * time.Second), r.To.Add(30 * time.Second)},
			check: func(t *testing.T, qs []map[string]any) {
				require.Len(t, qs, 1)
				assert.Equal(t, `{service_name="checkout", k8s_pod_name="we\"ird"} | trace_id="4bf92f3577b34da6a3ce929d0e0e4736"`, qs[0]["expr"])
			},
		},
		{
			name: "service series in prometheus", link: b.ServiceMetrics(links.Selector{Namespace: "shop", Service: "checkout"}, r),
			wantUID: links.DefaultPrometheusUID, wantType: links.TypePrometheus, wantRange: [2]time.Time{r.From, r.To},
			check: func(t *testing.T, qs []map[string]any) {
				require.Len(t, qs, 3)
				for _, q := range qs {
					assert.Contains(t, q["expr"], `k8s_namespace_name="shop", service_name="checkout"`)
					assert.Equal(t, true, q["exemplar"])
				}
				assert.Contains(t, qs[1]["expr"], `status_code="STATUS_CODE_ERROR"`)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, p := decodeExplore(t, tt.link)
			assert.Equal(t, "grafana.example.com", u.Host)
			assert.Equal(t, "/sub/explore", u.Path)
			assert.Equal(t, "7", u.Query().Get("orgId"))
			assert.Equal(t, tt.wantUID, p.Datasource)
			for i, q := range p.Queries {
				assert.Equal(t, string(rune('A'+i)), q["refId"])
				assert.Equal(t, map[string]any{"type": tt.wantType, "uid": tt.wantUID}, q["datasource"])
			}
			assert.Equal(t, strconvMillis(tt.wantRange[0]), p.Range.From)
			assert.Equal(t, strconvMillis(tt.wantRange[1]), p.Range.To)
			tt.check(t, p.Queries)
		})
	}
}

func strconvMillis(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }

func TestOpenRange(t *testing.T) {
	b, err := links.NewLinkBuilder(links.DefaultGrafanaURL, links.DefaultDatasources())
	require.NoError(t, err)
	_, p := decodeExplore(t, b.TraceLogs(traceID, links.Selector{Service: "checkout"}, links.TimeRange{}))
	assert.Equal(t, "now-1h", p.Range.From)
	assert.Equal(t, "now", p.Range.To)
}

// Every label a Loki query of the link builder can name is one the Loki
// exporter writes.
func TestLogMatchersUseExporterLabels(t *testing.T) {
	sel := links.Selector{Cluster: "c", Namespace: "n", Service: "s", Pod: "p"}
	for _, m := range strings.Split(links.LogMatchers(sel), ", ") {
		name, _, ok := strings.Cut(m, "=")
		require.True(t, ok, m)
		assert.Contains(t, links.LogLabels(), name)
	}
	for _, l := range links.TraceLogLabels() {
		assert.Contains(t, links.LogLabels(), l.Label)
		assert.Equal(t, strings.ReplaceAll(l.Attribute, ".", "_"), l.Label)
	}
	assert.Equal(t, `service_name=~".+"`, links.LogMatchers(links.Selector{}))
}

func TestSelectorMatchers(t *testing.T) {
	tests := []struct {
		name       string
		sel        links.Selector
		wantLogs   string
		wantMetric string
	}{
		{name: "one service", sel: links.Selector{Service: "checkout"},
			wantLogs: `service_name="checkout"`, wantMetric: `service_name="checkout"`},
		{name: "services of a trace", sel: links.Selector{Service: "checkout", Services: []string{"cart", "checkout", "pay.v2"}},
			wantLogs: `service_name=~"checkout|cart|pay\\.v2"`, wantMetric: `service_name=~"checkout|cart|pay\\.v2"`},
		{name: "pod in namespace", sel: links.Selector{Cluster: "prod", Namespace: "shop", Pod: "checkout-7d4b9"},
			wantLogs:   `k8s_cluster_name="prod", k8s_namespace_name="shop", k8s_pod_name="checkout-7d4b9"`,
			wantMetric: `k8s_cluster_name="prod", k8s_namespace_name="shop", k8s_pod_name="checkout-7d4b9"`},
		{name: "nothing", sel: links.Selector{}, wantLogs: `service_name=~".+"`, wantMetric: ``},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.wantLogs, links.LogMatchers(tt.sel))
			assert.Equal(t, tt.wantMetric, links.MetricMatchers(tt.sel))
		})
	}
}

func TestNewLinkBuilderRefusesBadInput(t *testing.T) {
	tests := []struct {
		name    string
		grafana string
		mutate  func(*links.Datasources)
		wantErr string
	}{
		{name: "relative grafana url", grafana: "grafana:3000", wantErr: `grafana url "grafana:3000"`},
		{name: "empty uid", grafana: links.DefaultGrafanaURL, mutate: func(d *links.Datasources) { d.Loki.UID = "" }, wantErr: `loki datasource uid "": is empty`},
		{name: "duplicate uid", grafana: links.DefaultGrafanaURL, mutate: func(d *links.Datasources) { d.Jaeger.UID = d.Loki.UID },
			wantErr: `jaeger datasource uid "braid-loki" is already used by the loki datasource`},
		{name: "uid with slash", grafana: links.DefaultGrafanaURL, mutate: func(d *links.Datasources) { d.Prometheus.UID = "a/b" }, wantErr: `contains '/'`},
		{name: "uid too long", grafana: links.DefaultGrafanaURL, mutate: func(d *links.Datasources) { d.Prometheus.UID = strings.Repeat("a", 41) }, wantErr: "Grafana allows 40"},
		{name: "bad backend url", grafana: links.DefaultGrafanaURL, mutate: func(d *links.Datasources) { d.Jaeger.URL = "localhost:16686" }, wantErr: `jaeger datasource url "localhost:16686"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ds := links.DefaultDatasources()
			if tt.mutate != nil {
				tt.mutate(&ds)
			}
			_, err := links.NewLinkBuilder(tt.grafana, ds)
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
	assert.NoError(t, links.DefaultDatasources().Validate())
	assert.Len(t, slices.Compact([]string{links.DefaultPrometheusUID, links.DefaultLokiUID, links.DefaultJaegerUID}), 3)
}
