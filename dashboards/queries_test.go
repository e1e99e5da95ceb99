package dashboards_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/braidobs/braid/correlate/links"
	"github.com/braidobs/braid/dashboards"
)

// query is one query found in the generated files.
type query struct {
	where string // file and place, for failure messages
	lang  string // promql, logql or label_values
	expr  string
}

// generatedQueries collects every PromQL and LogQL query of the generated
// files: dashboard targets and variables, the rule file, and the Jaeger
// datasource's traces-to-metrics and traces-to-logs queries.
func generatedQueries(t *testing.T, files map[string][]byte) []query {
	t.Helper()
	var out []query
	for _, name := range dashboards.Names(files) {
		switch {
		case strings.HasPrefix(name, dashboards.DashboardsDir+"/"):
			var d struct {
				Panels []struct {
					Title   string           `json:"title"`
					Targets []map[string]any `json:"targets"`
				} `json:"panels"`
				Templating struct {
					List []struct {
						Name  string `json:"name"`
						Query string `json:"query"`
					} `json:"list"`
				} `json:"templating"`
			}
			require.NoError(t, json.Unmarshal(files[name], &d), name)
			for _, p := range d.Panels {
				for _, tg := range p.Targets {
					ds, _ := tg["datasource"].(map[string]any)
					expr, _ := tg["expr"].(string)
					where := fmt.Sprintf("%s panel %q target %v", name, p.Title, tg["refId"])
					switch ds["type"] {
					case links.TypePrometheus:
						out = append(out, query{where, "promql", expr})
					case links.TypeLoki:
						out = append(out, query{where, "logql", expr})
					}
				}
			}
			for _, v := range d.Templating.List {
				out = append(out, query{fmt.Sprintf("%s variable %s", name, v.Name), "label_values", v.Query})
			}
		case name == dashboards.RulesFile:
			var rf rulefmt.RuleGroups
			require.NoError(t, yaml.Unmarshal(files[name], &rf))
			for _, g := range rf.Groups {
				for _, r := range g.Rules {
					out = append(out, query{fmt.Sprintf("%s group %s rule %s%s", name, g.Name, r.Record, r.Alert), "promql", r.Expr})
				}
			}
		case name == dashboards.DatasourcesProvisioning:
			for _, q := range dashboards.TracesToMetricsQueries() {
				out = append(out, query{name + " tracesToMetrics " + q["name"], "promql", q["query"]})
			}
			out = append(out, query{name + " tracesToLogsV2", "logql", dashboards.TracesToLogsQuery()})
		}
	}
	return out
}

var (
	grafanaVar     = regexp.MustCompile(`\$\{\w+\}|\$\w+`)
	labelValuesRe  = regexp.MustCompile(`^label_values\((.+), (\w+)\)$`)
	provisioningSS = strings.NewReplacer("$$", "$")
)

// expand replaces Grafana's variables with values a parser accepts: time
// windows with 5m, ${__tags} with the mapped tags, anything else with "x".
func expand(expr string, tags []links.Label) string {
	expr = provisioningSS.Replace(expr)
	return grafanaVar.ReplaceAllStringFunc(expr, func(v string) string {
		name := strings.Trim(v, "${}")
		switch name {
		case "__rate_interval", "__interval", "__auto", "__range":
			return "5m"
		case "__tags":
			var ms []string
			for _, l := range tags {
				ms = append(ms, l.Label+`="x"`)
			}
			return strings.Join(ms, ", ")
		}
		return "x"
	})
}

// scrapeLabels are added by Prometheus to every scraped series.
var scrapeLabels = []string{"job", "instance"}

// known merges the names the pipeline really emitted (span metrics, the
// collector's and Braid's own self-metrics) and the rule file's recorded
// series.
func known(spans, self emitted, recorded map[string][]string) emitted {
	out := emitted{}
	add := func(name string, labels []string) {
		if out[name] == nil {
			out[name] = map[string]bool{}
		}
		for _, l := range append(labels, scrapeLabels...) {
			out[name][l] = true
		}
	}
	for _, src := range []emitted{spans, self} {
		for name, ls := range src {
			add(name, nil)
			for l := range ls {
				out[name][l] = true
			}
		}
	}
	for name, ls := range recorded {
		add(name, ls)
	}
	return out
}

// checkPromQL parses expr and reports every metric or label name in it that
// names does not have.
func checkPromQL(expr string, names emitted) []string {
	e, err := parser.NewParser(parser.Options{}).ParseExpr(expr)
	if err != nil {
		return []string{"parse: " + err.Error()}
	}
	var problems []string
	labelsUnder := func(n parser.Node) map[string]bool {
		ls := map[string]bool{}
		parser.Inspect(n, func(c parser.Node, _ []parser.Node) error {
			if vs, ok := c.(*parser.VectorSelector); ok {
				for l := range names[vs.Name] {
					ls[l] = true
				}
			}
			return nil
		})
		return ls
	}
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		switch n := n.(type) {
		case *parser.VectorSelector:
			ls, ok := names[n.Name]
			if !ok {
				problems = append(problems, "metric "+n.Name+" is not emitted")
				return nil
			}
			for _, m := range n.LabelMatchers {
				if m.Name != model.MetricNameLabel && !ls[m.Name] {
					problems = append(problems, fmt.Sprintf("label %s is not on %s", m.Name, n.Name))
				}
			}
		case *parser.AggregateExpr:
			ls := labelsUnder(n.Expr)
			for _, g := range n.Grouping {
				if !ls[g] {
					problems = append(problems, fmt.Sprintf("grouping label %s is on none of the series aggregated", g))
				}
			}
		}
		return nil
	})
	return problems
}

// recordedSeries are the rule file's recorded series and the labels they
// keep (the grouping of their aggregations).
func recordedSeries(t *testing.T, rules []byte) map[string][]string {
	t.Helper()
	var rf rulefmt.RuleGroups
	require.NoError(t, yaml.Unmarshal(rules, &rf))
	out := map[string][]string{}
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			if r.Record == "" {
				continue
			}
			e, err := parser.NewParser(parser.Options{}).ParseExpr(r.Expr)
			require.NoError(t, err, r.Record)
			parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
				if a, ok := n.(*parser.AggregateExpr); ok {
					out[r.Record] = append(out[r.Record], a.Grouping...)
				}
				return nil
			})
		}
	}
	return out
}

// Every PromQL expression parses with Prometheus' parser and uses only
// metric and label names the real pipeline emits; every LogQL query uses
// only labels Braid's Loki exporter writes.
func TestQueriesUseEmittedNames(t *testing.T) {
	spans, self, _, _ := pipelineMetrics(t)
	for _, name := range []string{"traces_span_metrics_calls_total", "traces_span_metrics_duration_milliseconds_bucket", "otelcol_receiver_refused_spans", "otelcol_exporter_queue_size", "braid_loki_requests", "braid_loki_dropped_entries",
		"braid_correlation_logs", "braid_correlation_index_traces", "braid_correlation_index_evictions", "braid_correlation_exemplars_added",
		"braid_correlation_pod_lookups", "braid_correlation_delayed_logs"} {
		require.Contains(t, known(spans, self, nil), name, "the pipeline run exposed too little to check against")
	}

	for _, cfgName := range []string{"default", "custom"} {
		cfg := dashboards.DefaultConfig()
		if cfgName == "custom" {
			cfg.Datasources.Prometheus.UID = "p"
			cfg.LatencyThresholdMs = 1000
			cfg.CostPerGB = map[string]float64{"otlp_http/queued": 0.3, "loki": 0.5}
		}
		files, err := dashboards.Generate(cfg, dashboards.DefaultDashboardsPath)
		require.NoError(t, err)
		names := known(spans, self, recordedSeries(t, files[dashboards.RulesFile]))
		queries := append(generatedQueries(t, files), linkQueries(t, cfg)...)
		require.NotEmpty(t, queries)
		for _, q := range queries {
			t.Run(cfgName+"/"+q.where, func(t *testing.T) {
				switch q.lang {
				case "promql":
					assert.Empty(t, checkPromQL(expand(q.expr, links.TraceMetricLabels()), names), q.expr)
				case "label_values":
					m := labelValuesRe.FindStringSubmatch(q.expr)
					require.NotNil(t, m, "not a label_values query: %s", q.expr)
					assert.Empty(t, checkPromQL(expand(m[1], nil), names), q.expr)
					assert.True(t, names[selectorName(t, m[1])][m[2]], "label %s in %s", m[2], q.expr)
				case "logql":
					assert.Empty(t, checkLogQL(expand(q.expr, links.TraceLogLabels())), q.expr)
				}
			})
		}
	}
}

// linkQueries are the queries inside the link builder's Explore links.
func linkQueries(t *testing.T, cfg dashboards.Config) []query {
	t.Helper()
	b, err := links.NewLinkBuilder(cfg.GrafanaURL, cfg.Datasources)
	require.NoError(t, err)
	sel := links.Selector{Cluster: "prod", Namespace: "shop", Service: "checkout", Services: []string{"cart", "pay.v2"}, Pod: "checkout-7d4b9"}
	var out []query
	for _, l := range []struct{ name, url string }{
		{"trace logs", b.TraceLogs(sampleTraceID, sel, links.TimeRange{})},
		{"service metrics", b.ServiceMetrics(sel, links.TimeRange{})},
	} {
		u, err := url.Parse(l.url)
		require.NoError(t, err)
		var panes map[string]struct {
			Queries []map[string]any `json:"queries"`
		}
		require.NoError(t, json.Unmarshal([]byte(u.Query().Get("panes")), &panes))
		for _, p := range panes {
			for _, q := range p.Queries {
				ds := q["datasource"].(map[string]any)
				lang := map[any]string{links.TypePrometheus: "promql", links.TypeLoki: "logql"}[ds["type"]]
				require.NotEmpty(t, lang)
				out = append(out, query{fmt.Sprintf("link %s %v", l.name, q["refId"]), lang, q["expr"].(string)})
			}
		}
	}
	return out
}

func selectorName(t *testing.T, sel string) string {
	t.Helper()
	e, err := parser.NewParser(parser.Options{}).ParseExpr(expand(sel, nil))
	require.NoError(t, err)
	vs, ok := e.(*parser.VectorSelector)
	require.True(t, ok, sel)
	return vs.Name
}

// The latency SLO reads the bucket whose le label is the threshold: the
// rule's matcher must match the bound as the exporter writes it, in both
// exposition formats.
func TestLatencyThresholdMatchesEmittedBuckets(t *testing.T) {
	_, _, om, text := pipelineMetrics(t)
	leValue := regexp.MustCompile(`traces_span_metrics_duration_milliseconds_bucket\{[^}]*le="([^"]+)"`)
	for _, format := range []struct{ name, body string }{{"openmetrics", om}, {"text", text}} {
		var les []string
		for _, m := range leValue.FindAllStringSubmatch(format.body, -1) {
			les = append(les, m[1])
		}
		require.NotEmpty(t, les, format.name)
		for _, ms := range dashboards.SpanMetricsBucketsMs {
			re := regexp.MustCompile("^(?:" + dashboards.LeRegex(ms) + ")$")
			var matched []string
			for _, le := range les {
				if re.MatchString(le) {
					matched = append(matched, le)
				}
			}
			assert.Len(t, slices.Compact(matched), 1, "%s: bound %v matches %v of %v", format.name, ms, matched, les)
		}
	}
}

// The PromQL checker itself must catch what it is there to catch.
func TestCheckPromQL(t *testing.T) {
	names := emitted{
		"calls_total":  {"service_name": true, "job": true},
		"other_metric": {"pod": true},
	}
	tests := []struct {
		name    string
		expr    string
		wantErr string
	}{
		{name: "known names", expr: `sum by (service_name) (rate(calls_total{service_name="a", job="b"}[5m]))`},
		{name: "grouping over both sides", expr: `sum by (pod, service_name) (calls_total or other_metric)`},
		{name: "syntax error", expr: `sum(rate(calls_total[5m])`, wantErr: "parse:"},
		{name: "unknown metric", expr: `rate(calls[5m])`, wantErr: "metric calls is not emitted"},
		{name: "unknown matcher label", expr: `calls_total{service="a"}`, wantErr: "label service is not on calls_total"},
		{name: "unknown grouping label", expr: `sum by (pod) (calls_total)`, wantErr: "grouping label pod"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			problems := checkPromQL(tt.expr, names)
			if tt.wantErr == "" {
				assert.Empty(t, problems)
				return
			}
			assert.Contains(t, strings.Join(problems, "; "), tt.wantErr)
		})
	}
}
