package dashboards

// Shared defaults of every generated dashboard: datasource references,
// query and panel constructors, variables and the common layout.

import (
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/logs"
	"github.com/grafana/grafana-foundation-sdk/go/loki"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/table"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
	"github.com/grafana/grafana-foundation-sdk/go/units"

	"github.com/braidobs/braid/correlate/links"
)

// Panel sizes on Grafana's 24-column grid.
const (
	panelHeight  = 8
	logsHeight   = 12
	thirdWidth   = 8
	halfWidth    = 12
	fullWidth    = 24
	refreshEvery = "30s"
	rateWindow   = "$__rate_interval"
)

// Server and consumer spans are the calls a service answers: the ones its
// SLOs and RED panels count.
var servedSpanKinds = links.MetricLabelSpanKind + `=~"SPAN_KIND_SERVER|SPAN_KIND_CONSUMER"`

func dsRef(ds links.Datasource) common.DataSourceRef {
	return common.DataSourceRef{Type: cog.ToPtr(ds.Type), Uid: cog.ToPtr(ds.UID)}
}

// newDashboard applies the settings every Braid dashboard shares.
func newDashboard(uid, title, description string) *dashboard.DashboardBuilder {
	return dashboard.NewDashboardBuilder(title).
		Uid(uid).
		Description(description).
		Tags([]string{"braid", "generated"}).
		Editable().
		Refresh(refreshEvery).
		Time("now-1h", "now").
		Timezone(common.TimeZoneBrowser).
		Tooltip(dashboard.DashboardCursorSyncCrosshair)
}

// build builds the dashboard and numbers its panels, so panel links
// (viewPanel=N) stay stable across regenerations.
func build(b *dashboard.DashboardBuilder) (dashboard.Dashboard, error) {
	d, err := b.Build()
	if err != nil {
		return dashboard.Dashboard{}, err
	}
	// The SDK puts links into the controls menu, which only the newest
	// Grafana has; without a placement every version shows them on top.
	for i := range d.Links {
		d.Links[i].Placement = nil
	}
	id := uint32(1)
	for _, p := range d.Panels {
		switch {
		case p.Panel != nil:
			p.Panel.Id = cog.ToPtr(id)
			id++
		case p.RowPanel != nil:
			p.RowPanel.Id = id
			id++
			for i := range p.RowPanel.Panels {
				p.RowPanel.Panels[i].Id = cog.ToPtr(id)
				id++
			}
		}
	}
	return d, nil
}

// promQuery is a range query on the Prometheus datasource.
func promQuery(cfg Config, ref, expr, legend string) *prometheus.DataqueryBuilder {
	return prometheus.NewDataqueryBuilder().
		Datasource(dsRef(cfg.Datasources.Prometheus)).
		RefId(ref).
		Expr(expr).
		LegendFormat(legend).
		Range()
}

// lokiQuery is a LogQL query on the Loki datasource.
func lokiQuery(cfg Config, ref, expr string) *loki.DataqueryBuilder {
	return loki.NewDataqueryBuilder().
		Datasource(dsRef(cfg.Datasources.Loki)).
		RefId(ref).
		Expr(expr)
}

// jaegerSearch is a trace search on the Jaeger datasource. The SDK has no
// Jaeger query type, so the query is written in the Jaeger datasource's own
// fields: queryType search, service, tags (logfmt), limit.
func jaegerSearch(cfg Config, ref, service, tags string, limit int) cog.Builder[variants.Dataquery] {
	q := variants.UnknownDataquery{
		"refId":      ref,
		"datasource": dsRef(cfg.Datasources.Jaeger),
		"queryType":  "search",
		"service":    service,
		"limit":      limit,
	}
	if tags != "" {
		q["tags"] = tags
	}
	return variants.NewUnknownDataqueryBuilderFromObject(q)
}

// timeseriesPanel is the default time series panel of Braid dashboards.
func timeseriesPanel(title, description, unit string, width uint32) *timeseries.PanelBuilder {
	return timeseries.NewPanelBuilder().
		Title(title).
		Description(description).
		Unit(unit).
		Min(0).
		Height(panelHeight).
		Span(width).
		LineWidth(1).
		FillOpacity(10).
		ShowPoints(common.VisibilityModeNever).
		Legend(common.NewVizLegendOptionsBuilder().
			DisplayMode(common.LegendDisplayModeList).
			Placement(common.LegendPlacementBottom).
			ShowLegend(true)).
		Tooltip(common.NewVizTooltipOptionsBuilder().
			Mode(common.TooltipDisplayModeMulti).
			Sort(common.SortOrderDescending))
}

// requestRatePanel is the RED request-rate panel: calls per second by
// operation, with exemplars.
func requestRatePanel(cfg Config, matchers string) *timeseries.PanelBuilder {
	return timeseriesPanel("Request rate", "Served calls per second by operation (span metrics). Dots are exemplars: click one to open its trace.", units.RequestsPerSecond, thirdWidth).
		WithTarget(promQuery(cfg, "A",
			fmt.Sprintf(`sum by (%s) (rate(%s{%s}[%s]))`, links.MetricLabelSpanName, links.MetricSpanCalls, matchers, rateWindow),
			"{{"+links.MetricLabelSpanName+"}}").Exemplar(true))
}

// errorPanel shows failed calls per second (with exemplars, which point at
// failed traces) and the error ratio on the right axis.
func errorPanel(cfg Config, matchers string) *timeseries.PanelBuilder {
	errs := matchers + `, ` + links.MetricLabelStatusCode + `="` + links.StatusCodeError + `"`
	return timeseriesPanel("Errors", "Failed calls per second by operation, with exemplars of failed traces; the dashed line is the error ratio of all calls (right axis).", units.RequestsPerSecond, thirdWidth).
		WithTarget(promQuery(cfg, "A",
			fmt.Sprintf(`sum by (%s) (rate(%s{%s}[%s]))`, links.MetricLabelSpanName, links.MetricSpanCalls, errs, rateWindow),
			"{{"+links.MetricLabelSpanName+"}}").Exemplar(true)).
		WithTarget(promQuery(cfg, "B",
			fmt.Sprintf(`sum(rate(%s{%s}[%s])) / sum(rate(%s{%s}[%s]))`,
				links.MetricSpanCalls, errs, rateWindow, links.MetricSpanCalls, matchers, rateWindow),
			"error ratio")).
		OverrideByName("error ratio", []dashboard.DynamicConfigValue{
			{Id: "unit", Value: units.PercentUnit},
			{Id: "custom.axisPlacement", Value: common.AxisPlacementRight},
			{Id: "custom.lineStyle", Value: map[string]any{"fill": "dash", "dash": []int{10, 10}}},
		})
}

// latencyPanel shows p50, p90 and p99 latency of all served calls; the p99
// query carries the exemplars (one set is enough: they are the same points).
func latencyPanel(cfg Config, matchers string) *timeseries.PanelBuilder {
	p := timeseriesPanel("Latency", "p50, p90 and p99 of served calls (span metrics histogram). Dots are exemplars: click one to open its trace.", units.Milliseconds, thirdWidth)
	for i, q := range []struct{ quantile, legend string }{{"0.5", "p50"}, {"0.9", "p90"}, {"0.99", "p99"}} {
		expr := fmt.Sprintf(`histogram_quantile(%s, sum by (%s) (rate(%s{%s}[%s])))`,
			q.quantile, links.MetricLabelBucket, links.MetricSpanDurationBucket, matchers, rateWindow)
		p.WithTarget(promQuery(cfg, string(rune('A'+i)), expr, q.legend).Exemplar(q.legend == "p99"))
	}
	return p
}

// latencyByOperationPanel shows the p99 of each operation.
func latencyByOperationPanel(cfg Config, matchers string) *timeseries.PanelBuilder {
	return timeseriesPanel("p99 latency by operation", "The slowest operations first in the tooltip.", units.Milliseconds, halfWidth).
		WithTarget(promQuery(cfg, "A",
			fmt.Sprintf(`histogram_quantile(0.99, sum by (%s, %s) (rate(%s{%s}[%s])))`,
				links.MetricLabelSpanName, links.MetricLabelBucket, links.MetricSpanDurationBucket, matchers, rateWindow),
			"{{"+links.MetricLabelSpanName+"}}"))
}

// logsPanel shows log lines; trace IDs in them become Jaeger links through
// the Loki datasource's derived fields.
func logsPanel(cfg Config, title, expr string) *logs.PanelBuilder {
	return logs.NewPanelBuilder().
		Title(title).
		Description("Log lines, newest first. Open a line: its trace_id links to the trace in Jaeger.").
		Height(logsHeight).
		Span(fullWidth).
		ShowTime(true).
		WrapLogMessage(true).
		EnableLogDetails(true).
		SortOrder(common.LogsSortOrderDescending).
		WithTarget(lokiQuery(cfg, "A", expr).MaxLines(1000))
}

// tracesPanel lists recent traces of a Jaeger search as a table.
func tracesPanel(cfg Config, title, description, service, tags string) *table.PanelBuilder {
	return table.NewPanelBuilder().
		Title(title).
		Description(description).
		Height(logsHeight).
		Span(halfWidth).
		// An explicit empty reducer list: Grafana's table reads a null one badly.
		Footer(common.NewTableFooterOptionsBuilder().Show(false).Reducer([]string{})).
		WithTarget(jaegerSearch(cfg, "A", service, tags, 20))
}

// labelVariable is a query variable over the values of a span metrics label.
func labelVariable(cfg Config, name, label, matchers string, all bool) *dashboard.QueryVariableBuilder {
	sel := links.MetricSpanCalls
	if matchers != "" {
		sel += "{" + matchers + "}"
	}
	q := fmt.Sprintf("label_values(%s, %s)", sel, label)
	v := dashboard.NewQueryVariableBuilder(name).
		Label(name).
		Datasource(dsRef(cfg.Datasources.Prometheus)).
		Query(dashboard.StringOrMap{String: cog.ToPtr(q)}).
		Definition(q).
		Refresh(dashboard.VariableRefreshOnTimeRangeChanged).
		Sort(dashboard.VariableSortAlphabeticalCaseInsensitiveAsc)
	if all {
		v = v.IncludeAll(true).AllValue(".*")
	}
	return v
}

// selfVariable is a query variable over the values of a self-metric label.
func selfVariable(cfg Config, name, metric, label string) *dashboard.QueryVariableBuilder {
	q := fmt.Sprintf("label_values(%s, %s)", metric, label)
	return dashboard.NewQueryVariableBuilder(name).
		Label(name).
		Datasource(dsRef(cfg.Datasources.Prometheus)).
		Query(dashboard.StringOrMap{String: cog.ToPtr(q)}).
		Definition(q).
		Refresh(dashboard.VariableRefreshOnTimeRangeChanged).
		Sort(dashboard.VariableSortAlphabeticalCaseInsensitiveAsc).
		Multi(true).
		IncludeAll(true).
		AllValue(".*")
}

// dashboardLink links to another Braid dashboard, carrying the time range
// and the variables along.
func dashboardLink(title, uid string) *dashboard.DashboardLinkBuilder {
	return dashboard.NewDashboardLinkBuilder(title).
		Type(dashboard.DashboardLinkTypeLink).
		Url("/d/" + uid).
		Icon("dashboard").
		IncludeVars(true).
		KeepTime(true)
}
