package dashboards

import (
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/dashboard"

	"github.com/braidobs/braid/correlate/links"
)

// podMatchers selects one pod's served calls.
var podMatchers = fmt.Sprintf(`%s=~"$%s", %s="$%s", %s="$%s", %s`,
	links.MetricLabelCluster, links.VarCluster,
	links.MetricLabelNamespace, links.VarNamespace,
	links.MetricLabelPod, links.VarPod,
	servedSpanKinds)

// podStream selects one pod's log streams in Loki.
var podStream = fmt.Sprintf(`{%s=~"$%s", %s="$%s", %s="$%s"}`,
	links.LogLabelCluster, links.VarCluster,
	links.LogLabelNamespace, links.VarNamespace,
	links.LogLabelPod, links.VarPod)

// Pod builds the pod drill-down: one pod's RED metrics, logs and recent
// traces.
func Pod(cfg Config) (dashboard.Dashboard, error) {
	inNamespace := fmt.Sprintf(`%s=~"$%s", %s="$%s"`, links.MetricLabelCluster, links.VarCluster, links.MetricLabelNamespace, links.VarNamespace)
	b := newDashboard(links.DashboardPod, "Braid / Pod drill-down",
		"One pod: its RED metrics from span metrics, its log lines and its recent traces.").
		Link(dashboardLink("Service overview", links.DashboardServiceOverview)).
		Link(dashboardLink("Logs and traces", links.DashboardServiceLogs)).
		WithVariable(labelVariable(cfg, links.VarCluster, links.MetricLabelCluster, "", true)).
		WithVariable(labelVariable(cfg, links.VarNamespace, links.MetricLabelNamespace,
			fmt.Sprintf(`%s=~"$%s"`, links.MetricLabelCluster, links.VarCluster), false)).
		WithVariable(labelVariable(cfg, links.VarPod, links.MetricLabelPod, inNamespace, false)).
		// The pod's service, for the Jaeger search (Jaeger searches by service).
		WithVariable(labelVariable(cfg, links.VarService, links.MetricLabelService,
			fmt.Sprintf(`%s, %s="$%s"`, inNamespace, links.MetricLabelPod, links.VarPod), false).
			Hide(dashboard.VariableHideHideVariable))
	b.WithRow(dashboard.NewRowBuilder("RED")).
		WithPanel(requestRatePanel(cfg, podMatchers)).
		WithPanel(errorPanel(cfg, podMatchers)).
		WithPanel(latencyPanel(cfg, podMatchers)).
		WithRow(dashboard.NewRowBuilder("Logs and traces")).
		WithPanel(logsPanel(cfg, "Logs", podStream)).
		WithPanel(tracesPanel(cfg, "Failed traces", "The pod's most recent traces with an error span.",
			"$"+links.VarService, fmt.Sprintf(`error=true k8s.pod.name="$%s"`, links.VarPod))).
		WithPanel(tracesPanel(cfg, "Recent traces", "The pod's most recent traces.",
			"$"+links.VarService, fmt.Sprintf(`k8s.pod.name="$%s"`, links.VarPod)))
	return build(b)
}
