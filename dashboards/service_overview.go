package dashboards

import (
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/units"

	"github.com/braidobs/braid/correlate/links"
)

// serviceMatchers selects one service's served calls, within the chosen
// cluster and namespace.
var serviceMatchers = fmt.Sprintf(`%s=~"$%s", %s=~"$%s", %s="$%s", %s`,
	links.MetricLabelCluster, links.VarCluster,
	links.MetricLabelNamespace, links.VarNamespace,
	links.MetricLabelService, links.VarService,
	servedSpanKinds)

// serviceVariables are the cluster, namespace and service selectors, each
// narrowed by the one before.
func serviceVariables(cfg Config) []*dashboard.QueryVariableBuilder {
	return []*dashboard.QueryVariableBuilder{
		labelVariable(cfg, links.VarCluster, links.MetricLabelCluster, "", true),
		labelVariable(cfg, links.VarNamespace, links.MetricLabelNamespace,
			fmt.Sprintf(`%s=~"$%s"`, links.MetricLabelCluster, links.VarCluster), true),
		labelVariable(cfg, links.VarService, links.MetricLabelService,
			fmt.Sprintf(`%s=~"$%s", %s=~"$%s"`, links.MetricLabelCluster, links.VarCluster, links.MetricLabelNamespace, links.VarNamespace), false),
	}
}

// ServiceOverview builds the service overview: request rate, errors and
// latency of one service from span metrics, with exemplars that open traces.
func ServiceOverview(cfg Config) (dashboard.Dashboard, error) {
	b := newDashboard(links.DashboardServiceOverview, "Braid / Service overview",
		"Request rate, errors and latency of one service, from span metrics. Exemplars open the trace in Jaeger.").
		Link(dashboardLink("Logs and traces", links.DashboardServiceLogs)).
		Link(dashboardLink("Pod drill-down", links.DashboardPod))
	for _, v := range serviceVariables(cfg) {
		b.WithVariable(v)
	}
	b.WithRow(dashboard.NewRowBuilder("RED")).
		WithPanel(requestRatePanel(cfg, serviceMatchers)).
		WithPanel(errorPanel(cfg, serviceMatchers)).
		WithPanel(latencyPanel(cfg, serviceMatchers)).
		WithRow(dashboard.NewRowBuilder("By operation and pod")).
		WithPanel(latencyByOperationPanel(cfg, serviceMatchers)).
		WithPanel(timeseriesPanel("Request rate by pod", "Served calls per second of each pod of the service.", units.RequestsPerSecond, halfWidth).
			WithTarget(promQuery(cfg, "A",
				fmt.Sprintf(`sum by (%s) (rate(%s{%s}[%s]))`, links.MetricLabelPod, links.MetricSpanCalls, serviceMatchers, rateWindow),
				"{{"+links.MetricLabelPod+"}}")))
	return build(b)
}
