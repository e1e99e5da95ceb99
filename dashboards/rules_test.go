package dashboards_test

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/braidobs/braid/correlate/links"
	"github.com/braidobs/braid/dashboards"
)

func parseRules(t *testing.T, cfg dashboards.Config) *rulefmt.RuleGroups {
	t.Helper()
	raw, err := dashboards.RulesYAML(cfg)
	require.NoError(t, err)
	groups, errs := rulefmt.Parse(raw, false, model.UTF8Validation, parser.NewParser(parser.Options{}), slog.New(slog.DiscardHandler))
	require.Empty(t, errs, "rulefmt rejects the rule file")
	return groups
}

// burnClause is one "<sli>:rate<window> > (factor * (1 - target))" found in
// an alert expression.
type burnClause struct {
	window string
	factor float64
	target float64
}

// burnClauses walks an alert expression and returns its comparisons and how
// they pair up: each `and` of two comparisons is one multi-window condition.
func burnClauses(t *testing.T, expr string) [][2]burnClause {
	t.Helper()
	e, err := parser.NewParser(parser.Options{}).ParseExpr(expr)
	require.NoError(t, err)
	var pairs [][2]burnClause
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		b, ok := n.(*parser.BinaryExpr)
		if !ok || b.Op != parser.LAND {
			return nil
		}
		pairs = append(pairs, [2]burnClause{comparison(t, b.LHS), comparison(t, b.RHS)})
		return nil
	})
	return pairs
}

func comparison(t *testing.T, n parser.Expr) burnClause {
	t.Helper()
	for {
		p, ok := n.(*parser.ParenExpr)
		if !ok {
			break
		}
		n = p.Expr
	}
	b, ok := n.(*parser.BinaryExpr)
	require.True(t, ok && b.Op == parser.GTR, "not a > comparison: %s", n)
	vs, ok := b.LHS.(*parser.VectorSelector)
	require.True(t, ok, "left of > is not a recorded series: %s", b.LHS)
	_, window, ok := strings.Cut(vs.Name, ":rate")
	require.True(t, ok, vs.Name)
	// Right side: (factor * (1 - target)).
	rhs := unparen(b.RHS).(*parser.BinaryExpr)
	factor := unparen(rhs.LHS).(*parser.NumberLiteral).Val
	budget := unparen(rhs.RHS).(*parser.BinaryExpr)
	require.Equal(t, 1.0, unparen(budget.LHS).(*parser.NumberLiteral).Val)
	return burnClause{window: window, factor: factor, target: unparen(budget.RHS).(*parser.NumberLiteral).Val}
}

func unparen(n parser.Expr) parser.Expr {
	for {
		p, ok := n.(*parser.ParenExpr)
		if !ok {
			return n
		}
		n = p.Expr
	}
}

// The SLO alerts follow the published multi-window, multi-burn-rate recipe:
// page at 14.4× over 1h and 5m or 6× over 6h and 30m, ticket at 3× over 1d
// and 2h or 1× over 3d and 6h, each against the configured target.
func TestSLOAlertsFollowTheMultiWindowRecipe(t *testing.T) {
	cfg := dashboards.DefaultConfig()
	cfg.AvailabilitySLO, cfg.LatencySLO = 0.995, 0.95
	groups := parseRules(t, cfg)

	want := map[string][][2]burnClause{
		"page":   {{{"1h", 14.4, 0}, {"5m", 14.4, 0}}, {{"6h", 6, 0}, {"30m", 6, 0}}},
		"ticket": {{{"1d", 3, 0}, {"2h", 3, 0}}, {{"3d", 1, 0}, {"6h", 1, 0}}},
	}
	tests := []struct {
		alert, severity string
		target          float64
	}{
		{"BraidServiceErrorBudgetBurnFast", "page", 0.995},
		{"BraidServiceErrorBudgetBurnSlow", "ticket", 0.995},
		{"BraidServiceLatencyBudgetBurnFast", "page", 0.95},
		{"BraidServiceLatencyBudgetBurnSlow", "ticket", 0.95},
	}
	rules := map[string]rulefmt.Rule{}
	recorded := map[string]bool{}
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			rules[r.Alert] = r
			recorded[r.Record] = true
		}
	}
	for _, tt := range tests {
		t.Run(tt.alert, func(t *testing.T) {
			r, ok := rules[tt.alert]
			require.True(t, ok)
			assert.Equal(t, tt.severity, r.Labels["severity"])
			got := burnClauses(t, r.Expr)
			var wantPairs [][2]burnClause
			for _, p := range want[tt.severity] {
				p[0].target, p[1].target = tt.target, tt.target
				wantPairs = append(wantPairs, p)
			}
			assert.Equal(t, wantPairs, got)
			e, err := parser.NewParser(parser.Options{}).ParseExpr(r.Expr)
			require.NoError(t, err)
			parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
				if vs, ok := n.(*parser.VectorSelector); ok {
					assert.True(t, recorded[vs.Name], "%s is not recorded by any rule", vs.Name)
				}
				return nil
			})
			// The annotation opens the service overview with the service preselected.
			assert.Contains(t, r.Annotations["dashboard_url"], cfg.GrafanaURL+"/d/"+links.DashboardServiceOverview+"?")
			assert.Contains(t, r.Annotations["dashboard_url"], "var-"+links.VarService+"={{ $labels."+links.MetricLabelService+" | urlquery }}")
		})
	}
	// The recipe's windows and factors, as exported.
	assert.Equal(t, []dashboards.BurnAlert{
		{Severity: "page", Long: time.Hour, Short: 5 * time.Minute, Factor: 14.4},
		{Severity: "page", Long: 6 * time.Hour, Short: 30 * time.Minute, Factor: 6},
		{Severity: "ticket", Long: 24 * time.Hour, Short: 2 * time.Hour, Factor: 3},
		{Severity: "ticket", Long: 72 * time.Hour, Short: 6 * time.Hour, Factor: 1},
	}, dashboards.BurnAlerts)
}

func TestHealthAlerts(t *testing.T) {
	groups := parseRules(t, dashboards.DefaultConfig())
	alerts := map[string]rulefmt.Rule{}
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			if r.Alert != "" {
				alerts[r.Alert] = r
			}
		}
	}
	for _, name := range []string{"BraidRefusingData", "BraidExportFailing", "BraidExporterDroppedData", "BraidQueueNearlyFull", "BraidLokiDroppingEntries", "BraidSpanMetricsOverflow", "BraidConfigReloadFailed"} {
		t.Run(name, func(t *testing.T) {
			r, ok := alerts[name]
			require.True(t, ok)
			assert.NotEmpty(t, r.Labels["severity"])
			assert.NotEmpty(t, r.Annotations["summary"])
			assert.Contains(t, r.Annotations["dashboard_url"], "/d/"+links.DashboardBraid+"?var-instance=")
		})
	}
	for _, signal := range []string{"spans", "metric_points", "log_records"} {
		assert.Contains(t, alerts["BraidRefusingData"].Expr, "otelcol_receiver_refused_"+signal)
		assert.Contains(t, alerts["BraidExportFailing"].Expr, "otelcol_exporter_send_failed_"+signal)
		assert.Contains(t, alerts["BraidExporterDroppedData"].Expr, "increase(otelcol_exporter_send_failed_"+signal)
	}
	assert.Contains(t, alerts["BraidQueueNearlyFull"].Expr, "> 0.8")
	assert.Equal(t, "braid_config_last_reload_successful == 0", alerts["BraidConfigReloadFailed"].Expr)
}

// rulefmt must be able to refuse: a broken rule file does not pass.
func TestRulefmtRefusesBrokenRules(t *testing.T) {
	raw, err := dashboards.RulesYAML(dashboards.DefaultConfig())
	require.NoError(t, err)
	broken := strings.Replace(string(raw), "> (14.4 *", "> (14.4 **", 1)
	_, errs := rulefmt.Parse([]byte(broken), false, model.UTF8Validation, parser.NewParser(parser.Options{}), slog.New(slog.DiscardHandler))
	assert.NotEmpty(t, errs)
}
