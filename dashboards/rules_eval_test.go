package dashboards_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql/promqltest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/braidobs/braid/dashboards"
)

// segment is a stretch of minutes during which a counter grows by inc a
// minute.
type segment struct {
	minutes int
	inc     int
}

// counter renders segments as a promqltest series: one sample a minute.
func counter(segs ...segment) string {
	var items []string
	v := 0
	first := true
	for _, s := range segs {
		n := s.minutes
		if first {
			n-- // the first sample is the starting value itself
			first = false
		}
		items = append(items, fmt.Sprintf("%d+%dx%d", v, s.inc, n))
		v += s.inc * (n + 1)
	}
	return strings.Join(items, " ")
}

// Every scenario runs longer than the 3-day window, at a steady number of
// calls a minute.
const (
	minutesOf      = 4*24*60 + 60
	callsPerMinute = 10000
)

// inlineRecorded replaces the recorded series of an alert with their
// recording expressions, so the alert can be evaluated on raw series.
func inlineRecorded(expr string, recorded map[string]string) string {
	names := make([]string, 0, len(recorded))
	for n := range recorded {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return len(names[i]) > len(names[j]) })
	for _, n := range names {
		expr = strings.ReplaceAll(expr, n, "("+recorded[n]+")")
	}
	return expr
}

// The burn-rate alerts fire on the scenarios the recipe is meant for, and
// stay quiet on the others, evaluated by Prometheus' own engine on
// synthetic span metrics at the end of four days.
func TestBurnRateAlertsFire(t *testing.T) {
	cfg := dashboards.DefaultConfig() // availability 0.999, latency 0.99 under 400 ms
	groups := parseRules(t, cfg)
	recorded := map[string]string{}
	alerts := map[string]string{}
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			if r.Record != "" {
				recorded[r.Record] = r.Expr
			} else {
				alerts[r.Alert] = r.Expr
			}
		}
	}

	const svc = `k8s_cluster_name="prod", k8s_namespace_name="shop", service_name="checkout", span_kind="SPAN_KIND_SERVER", span_name="GET /cart"`
	// steady: calls a minute out of callsPerMinute, the whole time.
	steady := func(n int) []segment { return []segment{{minutesOf, n}} }
	tests := []struct {
		name      string
		errors    []segment // failed calls a minute
		slow      []segment // calls over 400 ms a minute
		wantFired []string
	}{
		{name: "healthy", errors: steady(1), slow: steady(10)},
		{name: "errors at 2% page and ticket", errors: steady(200), slow: steady(0),
			wantFired: []string{"BraidServiceErrorBudgetBurnFast", "BraidServiceErrorBudgetBurnSlow"}},
		{name: "errors at 0.5% only ticket", errors: steady(50), slow: steady(0),
			wantFired: []string{"BraidServiceErrorBudgetBurnSlow"}},
		{name: "errors at 0.05% stay within budget", errors: steady(5), slow: steady(0)},
		{
			// 20% errors from 70 to 40 minutes ago, none since: the long
			// windows still burn, the short ones have recovered.
			name:   "a burst that ended does not page",
			errors: []segment{{minutesOf - 70, 0}, {30, 2000}, {40, 0}}, slow: steady(0),
			wantFired: []string{"BraidServiceErrorBudgetBurnSlow"},
		},
		{name: "20% slow pages", errors: steady(0), slow: steady(2000),
			wantFired: []string{"BraidServiceLatencyBudgetBurnFast", "BraidServiceLatencyBudgetBurnSlow"}},
		{name: "5% slow only ticket", errors: steady(0), slow: steady(500),
			wantFired: []string{"BraidServiceLatencyBudgetBurnSlow"}},
		{name: "0.5% slow stays within budget", errors: steady(0), slow: steady(50)},
	}
	engine := promqltest.NewTestEngine(t, false, 5*time.Minute, 1<<30)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ok, fast []segment // the rest of callsPerMinute
			for _, s := range tt.errors {
				ok = append(ok, segment{s.minutes, callsPerMinute - s.inc})
			}
			for _, s := range tt.slow {
				fast = append(fast, segment{s.minutes, callsPerMinute - s.inc})
			}
			load := fmt.Sprintf(`load 1m
  traces_span_metrics_calls_total{%[1]s, status_code="STATUS_CODE_ERROR"} %[2]s
  traces_span_metrics_calls_total{%[1]s, status_code="STATUS_CODE_UNSET"} %[3]s
  traces_span_metrics_duration_milliseconds_bucket{%[1]s, status_code="STATUS_CODE_UNSET", le="400"} %[4]s
  traces_span_metrics_duration_milliseconds_count{%[1]s, status_code="STATUS_CODE_UNSET"} %[5]s
`, svc, counter(tt.errors...), counter(ok...), counter(fast...), counter(segment{minutesOf, callsPerMinute}))
			storage := promqltest.LoadedStorage(t, load)
			t.Cleanup(func() { _ = storage.Close() })
			at := time.Unix(0, 0).UTC().Add((minutesOf - 1) * time.Minute)

			var fired []string
			for name, expr := range alerts {
				if !strings.HasPrefix(name, "BraidService") {
					continue
				}
				q, err := engine.NewInstantQuery(context.Background(), storage, nil, inlineRecorded(expr, recorded), at)
				require.NoError(t, err, name)
				res := q.Exec(context.Background())
				require.NoError(t, res.Err, name)
				v, err := res.Vector()
				require.NoError(t, err, name)
				if len(v) > 0 {
					fired = append(fired, name)
					assert.Equal(t, "checkout", v[0].Metric.Get("service_name"))
				}
				q.Close()
			}
			assert.ElementsMatch(t, tt.wantFired, fired)
		})
	}
}
