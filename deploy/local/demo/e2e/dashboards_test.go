//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/braidobs/braid/deploy/local/demo/shop"
)

// grafanaDir is the generated Grafana output checked in by the dashboards
// generator.
func grafanaDir() string { return filepath.Join(filepath.Dir(st.script), "..", "grafana") }

// dashboardVars gives Grafana's template variables the values of the demo
// workload's pods, so that each query asks about data the stack has.
var dashboardVars = map[string]string{
	"cluster":         "local",
	"namespace":       shop.PaymentPod.Namespace,
	"pod":             shop.PaymentPod.Name,
	"service":         shop.PaymentPod.Service,
	"instance":        ".*",
	"__rate_interval": "1m",
	"__interval":      "15s",
	"__auto":          "1m",
	"__range":         "5m",
}

var grafanaVar = regexp.MustCompile(`\$\{?(\w+)(?::\w+)?\}?`)

func substitute(expr string) (string, error) {
	var missing []string
	out := grafanaVar.ReplaceAllStringFunc(expr, func(m string) string {
		name := grafanaVar.FindStringSubmatch(m)[1]
		v, ok := dashboardVars[name]
		if !ok {
			missing = append(missing, name)
		}
		return v
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("no value for Grafana variable(s) %v in %q", missing, expr)
	}
	return out, nil
}

// labelValues turns a Grafana variable query label_values(selector, label)
// into PromQL that has data exactly when the variable has values.
var labelValues = regexp.MustCompile(`^\s*label_values\((.*),\s*(\w+)\)\s*$`)

type promQueryRef struct{ where, expr string }

// dashboardQueries collects every Prometheus query of the generated
// dashboards (panel targets and template variables), and the LogQL ones.
func dashboardQueries(t *testing.T) (out, logQueries []promQueryRef) {
	files, err := filepath.Glob(filepath.Join(grafanaDir(), "dashboards", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no generated dashboards under %s (err %v): the dashboards generator's output is missing", grafanaDir(), err)
	}
	type ds struct {
		Type string `json:"type"`
	}
	type target struct {
		Datasource *ds    `json:"datasource"`
		Expr       string `json:"expr"`
	}
	type panel struct {
		Title      string   `json:"title"`
		Datasource *ds      `json:"datasource"`
		Targets    []target `json:"targets"`
		Panels     []panel  `json:"panels"`
	}
	var walk func(file string, ps []panel)
	walk = func(file string, ps []panel) {
		for _, p := range ps {
			walk(file, p.Panels)
			for _, tg := range p.Targets {
				d := tg.Datasource
				if d == nil {
					d = p.Datasource
				}
				if d == nil || tg.Expr == "" {
					continue
				}
				ref := promQueryRef{fmt.Sprintf("%s: panel %q", filepath.Base(file), p.Title), tg.Expr}
				switch d.Type {
				case "prometheus":
					out = append(out, ref)
				case "loki":
					logQueries = append(logQueries, ref)
				}
			}
		}
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var d struct {
			Panels     []panel `json:"panels"`
			Templating struct {
				List []struct {
					Name       string          `json:"name"`
					Type       string          `json:"type"`
					Datasource *ds             `json:"datasource"`
					Query      json.RawMessage `json:"query"`
				} `json:"list"`
			} `json:"templating"`
		}
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		walk(f, d.Panels)
		for _, v := range d.Templating.List {
			if v.Type != "query" || v.Datasource == nil || v.Datasource.Type != "prometheus" {
				continue
			}
			var q string
			if err := json.Unmarshal(v.Query, &q); err != nil {
				var obj struct{ Query string }
				if err := json.Unmarshal(v.Query, &obj); err != nil {
					t.Fatalf("%s: variable %s: query %s", f, v.Name, v.Query)
				}
				q = obj.Query
			}
			m := labelValues.FindStringSubmatch(q)
			if m == nil {
				t.Fatalf("%s: variable %s: cannot check query %q (only label_values(selector, label) is understood)", f, v.Name, q)
			}
			out = append(out, promQueryRef{fmt.Sprintf("%s: variable $%s", filepath.Base(f), v.Name),
				fmt.Sprintf("count by (%s) (%s)", m[2], m[1])})
		}
	}
	return out, logQueries
}

// ruleQueries collects the generated Prometheus rules. A recording rule's
// expression is checked as it is. An alert's expression is empty unless the
// alert fires, so it is checked with every comparison turned into a
// `bool` comparison: that has data exactly when the alert's inputs have.
func ruleQueries(t *testing.T) []promQueryRef {
	f := filepath.Join(grafanaDir(), "prometheus", "braid-rules.yaml")
	b, err := os.ReadFile(f)
	if err != nil {
		t.Fatalf("generated alert rules: %v", err)
	}
	var rules struct {
		Groups []struct {
			Name  string
			Rules []struct {
				Record, Alert, Expr string
			}
		}
	}
	if err := yaml.Unmarshal(b, &rules); err != nil {
		t.Fatalf("%s: %v", f, err)
	}
	var out []promQueryRef
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			switch {
			case r.Record != "":
				out = append(out, promQueryRef{"rule " + r.Record, r.Expr})
				out = append(out, promQueryRef{"recorded series " + r.Record, r.Record})
			case r.Alert != "":
				out = append(out, promQueryRef{"alert " + r.Alert + " (comparisons as bool)", boolComparisons(r.Expr)})
			}
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s holds no rule", f)
	}
	return out
}

// boolComparisons adds the bool modifier to every comparison operator outside
// label matchers and strings.
func boolComparisons(expr string) string {
	var b strings.Builder
	depth := 0
	var quote byte
	for i := 0; i < len(expr); i++ {
		c := expr[i]
		b.WriteByte(c)
		switch {
		case quote != 0:
			if c == '\\' && i+1 < len(expr) {
				i++
				b.WriteByte(expr[i])
			} else if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'' || c == '`':
			quote = c
		case c == '{':
			depth++
		case c == '}':
			depth--
		case depth == 0 && (c == '>' || c == '<' || c == '=' || c == '!'):
			if i+1 < len(expr) && expr[i+1] == '=' {
				i++
				b.WriteByte('=')
			} else if c == '=' || c == '!' {
				continue // not a comparison on its own
			}
			b.WriteString(" bool")
		}
	}
	return b.String()
}

// lossCounters count data that Braid dropped: they have no series until
// something is dropped. A query over them alone having no data is what the
// rest of this suite asserts (nothing acknowledged was lost), so it is
// reported, not failed.
var lossCounters = regexp.MustCompile(`^(otelcol_exporter_send_failed_\w+|braid_loki_dropped_entries)$`)

// kafkaTierMetrics exist only on gateways that read from Kafka, which this
// stack has none of; `make faults` (scenario kafka-tier) checks that such
// gateways report them.
var kafkaTierMetrics = regexp.MustCompile(`^otelcol_kafka_receiver_\w+$`)

var metricName = regexp.MustCompile(`([a-zA-Z_:][a-zA-Z0-9_:]*)\s*[{\[]`)

func onlyLossCounters(expr string) bool { return onlyMetrics(expr, lossCounters) }

// onlyMetrics reports whether every metric expr reads matches re.
func onlyMetrics(expr string, re *regexp.Regexp) bool {
	names := metricName.FindAllStringSubmatch(expr, -1)
	for _, m := range names {
		if !re.MatchString(m[1]) {
			return false
		}
	}
	return len(names) > 0
}

// everyPromQLQueryReturnsData runs every Prometheus query of the generated
// dashboards and rules against the stack's Prometheus, as a dashboard panel
// would: a range query over the last 15 minutes. It runs last, after the
// outage test has had Braid retry and queue.
func everyPromQLQueryReturnsData(t *testing.T) {
	queries, _ := dashboardQueries(t)
	queries = append(queries, ruleQueries(t)...)
	var empty []string
	lossOnly := 0
	end := time.Now()
	for _, q := range queries {
		expr, err := substitute(q.expr)
		if err != nil {
			t.Errorf("%s: %v", q.where, err)
			continue
		}
		u := fmt.Sprintf("%s/api/v1/query_range?query=%s&start=%d&end=%d&step=15", st.prometheus,
			url.QueryEscape(expr), end.Add(-15*time.Minute).Unix(), end.Unix())
		var v struct {
			Status string
			Error  string
			Data   struct{ Result []json.RawMessage }
		}
		if err := getJSON(u, &v); err != nil {
			t.Errorf("%s: %v", q.where, err)
			continue
		}
		if v.Status != "success" {
			t.Errorf("%s: %s", q.where, v.Error)
			continue
		}
		if len(v.Data.Result) > 0 {
			continue
		}
		if onlyLossCounters(expr) {
			lossOnly++
			t.Logf("no data, as expected with nothing dropped: %s: %s", q.where, expr)
			continue
		}
		if onlyMetrics(expr, kafkaTierMetrics) {
			lossOnly++
			t.Logf("no data, as expected without a Kafka tier (make faults checks it): %s: %s", q.where, expr)
			continue
		}
		empty = append(empty, fmt.Sprintf("%s: %s", q.where, expr))
	}
	sort.Strings(empty)
	for _, e := range empty {
		t.Errorf("no data: %s", e)
	}
	t.Logf("%d queries run: %d with data, %d over loss counters or the Kafka tier only (no data: nothing dropped, no Kafka here), %d failing",
		len(queries), len(queries)-len(empty)-lossOnly, lossOnly, len(empty))
}

// everyLogQLStreamSelectorSelectsLogs checks the dashboards' LogQL by label
// names: VictoriaLogs does not run LogQL, but LogsQL takes the same stream
// selector, so each query's selector, and each label filter after it, must
// select the workload's logs. The variables name frontend, whose logs come
// over OTLP with service.name.
func everyLogQLStreamSelectorSelectsLogs(t *testing.T) {
	_, logQueries := dashboardQueries(t)
	if len(logQueries) == 0 {
		t.Fatal("the generated dashboards hold no LogQL query")
	}
	vars := map[string]string{"service": shop.FrontendPod.Service, "pod": shop.FrontendPod.Name,
		"namespace": shop.FrontendPod.Namespace}
	for _, q := range logQueries {
		expr := q.expr
		for k, v := range vars {
			expr = strings.ReplaceAll(expr, "$"+k, v)
		}
		expr, err := substitute(expr)
		if err != nil {
			t.Errorf("%s: %v", q.where, err)
			continue
		}
		sel := streamSelector(expr)
		if sel == "" {
			t.Errorf("%s: no stream selector in %q", q.where, expr)
			continue
		}
		logsql := sel
		for _, m := range labelFilter.FindAllStringSubmatch(expr[strings.Index(expr, sel)+len(sel):], -1) {
			// Only that the field is there: whether any line matches the
			// filter depends on the workload's severities.
			logsql += " " + m[1] + ":*"
		}
		entries, err := st.logsQuery(logsql)
		if err != nil {
			t.Errorf("%s: %v", q.where, err)
			continue
		}
		if len(entries) == 0 {
			t.Errorf("%s: LogsQL %q (from %q) selects no log", q.where, logsql, expr)
			continue
		}
		t.Logf("%s: LogsQL %s selects %d entries", q.where, logsql, len(entries))
	}
}

// labelFilter matches LogQL label filters such as | severity_text=~"...".
var labelFilter = regexp.MustCompile(`\|\s*([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)\s*"`)

// streamSelector returns the first {...} of a LogQL expression, quotes kept.
func streamSelector(expr string) string {
	start := strings.IndexByte(expr, '{')
	if start < 0 {
		return ""
	}
	inQuote := false
	for i := start; i < len(expr); i++ {
		switch c := expr[i]; {
		case inQuote && c == '\\':
			i++
		case c == '"':
			inQuote = !inQuote
		case !inQuote && c == '}':
			return expr[start : i+1]
		}
	}
	return ""
}
