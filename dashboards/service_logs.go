package dashboards

import (
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/units"

	"github.com/braidobs/braid/correlate/links"
)

// serviceStream selects one service's log streams in Loki.
var serviceStream = fmt.Sprintf(`{%s=~"$%s", %s=~"$%s", %s="$%s"}`,
	links.LogLabelCluster, links.VarCluster,
	links.LogLabelNamespace, links.VarNamespace,
	links.LogLabelService, links.VarService)

// errorSeverity keeps log lines whose severity is error or worse.
var errorSeverity = fmt.Sprintf(`| %s=~"(?i)error|fatal|critical|emergency|alert"`, links.LogFieldSeverity)

// ServiceLogs builds the service's logs and traces: its log lines with trace
// links, its error-log rate, and its recent and failed traces from Jaeger.
func ServiceLogs(cfg Config) (dashboard.Dashboard, error) {
	b := newDashboard(links.DashboardServiceLogs, "Braid / Service logs and traces",
		"Log lines of one service (trace IDs link to Jaeger), its error-log rate and its recent traces.").
		Link(dashboardLink("Service overview", links.DashboardServiceOverview)).
		Link(dashboardLink("Pod drill-down", links.DashboardPod))
	for _, v := range serviceVariables(cfg) {
		b.WithVariable(v)
	}
	b.WithPanel(timeseriesPanel("Error log lines", "Log lines per second with severity error or worse, by pod.", units.Short, fullWidth).
		WithTarget(lokiQuery(cfg, "A",
			fmt.Sprintf(`sum by (%s) (rate(%s %s [$__auto]))`, links.LogLabelPod, serviceStream, errorSeverity)).
			LegendFormat("{{" + links.LogLabelPod + "}}"))).
		WithPanel(logsPanel(cfg, "Logs", serviceStream)).
		WithPanel(tracesPanel(cfg, "Failed traces", "The service's most recent traces with an error span.", "$"+links.VarService, "error=true")).
		WithPanel(tracesPanel(cfg, "Recent traces", "The service's most recent traces.", "$"+links.VarService, ""))
	return build(b)
}
