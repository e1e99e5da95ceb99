package dashboards

import (
	"fmt"
	"sort"
	"strconv"

	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
	"github.com/grafana/grafana-foundation-sdk/go/units"

	"github.com/braidobs/braid/correlate/links"
)

// Recording rules of the usage dashboard's trend: five-minute rates per
// signal and sender, and per signal, exporter and namespace.
const (
	recordUsageBytes         = "braid:usage_received_bytes:rate5m"
	recordUsageItems         = "braid:usage_received_items:rate5m"
	recordUsageExportedBytes = "braid:usage_exported_bytes:rate5m"
)

// usageSignals are the signal label values of braid_usage_*, as panels
// title them.
var usageSignals = []struct{ value, title string }{
	{"traces", "Traces"}, {"logs", "Logs"}, {"metrics", "Metrics"},
}

// topUsage is how many senders the top panels show.
const topUsage = 10

// Usage builds the telemetry usage dashboard: who sends what through
// Braid, per signal, namespace and service, their share of the whole, the
// trend, and what each backend takes (with its cost when prices are given).
func Usage(cfg Config) (dashboard.Dashboard, error) {
	b := newDashboard(links.DashboardUsage, "Braid / Telemetry usage",
		"Who sends what through Braid: bytes and items per namespace, workload and service (the usage processor's braid_usage_* counters; the senders past its top_n show as other), per signal and per backend.").
		Link(dashboardLink("Braid itself", links.DashboardBraid)).
		WithVariable(selfVariable(cfg, varInstance, metricUsageReceivedBytes, varInstance))
	b.WithRow(dashboard.NewRowBuilder("Top namespaces"))
	for _, s := range usageSignals {
		b.WithPanel(usageTopPanel(cfg, s.title+": bytes per second by namespace",
			fmt.Sprintf("The %d namespaces that send the most %s by OTLP-encoded bytes per second.", topUsage, s.value),
			s.value, labelUsageNamespace, "{{"+labelUsageNamespace+"}}"))
	}
	b.WithRow(dashboard.NewRowBuilder("Top services"))
	for _, s := range usageSignals {
		b.WithPanel(usageTopPanel(cfg, s.title+": bytes per second by service",
			fmt.Sprintf("The %d services (in their namespace and workload) that send the most %s by OTLP-encoded bytes per second.", topUsage, s.value),
			s.value, labelUsageNamespace+", "+labelUsageWorkload+", "+labelUsageService,
			"{{"+labelUsageNamespace+"}}/{{"+labelUsageService+"}}"))
	}
	b.WithRow(dashboard.NewRowBuilder("Share and trend")).
		WithPanel(timeseriesPanel("Share of the whole", "Each namespace's share of all bytes Braid takes in, every signal together.", units.PercentUnit, halfWidth).
			WithTarget(promQuery(cfg, "A", fmt.Sprintf(`sum by (%[1]s) (rate(%[2]s{%[3]s}[%[4]s]))
/ on () group_left
sum(rate(%[2]s{%[3]s}[%[4]s]))`, labelUsageNamespace, metricUsageReceivedBytes, selfInstance, rateWindow), "{{"+labelUsageNamespace+"}}")).
			Max(1)).
		WithPanel(timeseriesPanel("Trend: bytes per second by namespace, last 7 days", "Every signal together, from the recorded five-minute rate ("+recordUsageBytes+").", units.BytesPerSecondSI, halfWidth).
			WithTarget(promQuery(cfg, "A", fmt.Sprintf(`topk(%d, sum by (%s) (%s{%s}))`, topUsage, labelUsageNamespace, recordUsageBytes, selfInstance), "{{"+labelUsageNamespace+"}}")).
			TimeFrom("7d")).
		WithRow(dashboard.NewRowBuilder("Backends")).
		WithPanel(timeseriesPanel("Bytes per second by backend", "OTLP-encoded bytes per second each exporter accepted, by signal.", units.BytesPerSecondSI, halfWidth).
			WithTarget(promQuery(cfg, "A", fmt.Sprintf(`sum by (%s, %s) (rate(%s{%s}[%s]))`, labelExporter, labelSignal, metricUsageExportedBytes, selfInstance, rateWindow), "{{"+labelExporter+"}} {{"+labelSignal+"}}"))).
		WithPanel(timeseriesPanel("Items per second by namespace", "Spans, log records and metric data points per second the pipelines accepted, by namespace and signal.", units.Short, halfWidth).
			WithTarget(promQuery(cfg, "A", fmt.Sprintf(`topk(%d, sum by (%s, %s) (rate(%s{%s}[%s])))`, topUsage, labelUsageNamespace, labelSignal, metricUsageReceivedItems, selfInstance, rateWindow), "{{"+labelUsageNamespace+"}} {{"+labelSignal+"}}")))
	if len(cfg.CostPerGB) > 0 {
		b.WithPanel(costPanel(cfg))
	}
	return build(b)
}

// usageTopPanel shows the top senders of one signal by bytes per second,
// grouped by the labels by.
func usageTopPanel(cfg Config, title, description, signal, by, legend string) *timeseries.PanelBuilder {
	return timeseriesPanel(title, description, units.BytesPerSecondSI, thirdWidth).
		WithTarget(promQuery(cfg, "A", fmt.Sprintf(`topk(%d, sum by (%s) (rate(%s{%s="%s", %s}[%s])))`,
			topUsage, by, metricUsageReceivedBytes, labelSignal, signal, selfInstance, rateWindow), legend))
}

// costPanel turns each priced backend's bytes into money per 30 days at the
// current rate, by namespace.
func costPanel(cfg Config) *timeseries.PanelBuilder {
	exporters := make([]string, 0, len(cfg.CostPerGB))
	for e := range cfg.CostPerGB {
		exporters = append(exporters, e)
	}
	sort.Strings(exporters)
	p := timeseriesPanel("Cost per 30 days at the current rate, by namespace and backend",
		"Bytes each priced exporter accepted (OTLP-encoded), as a rate over 30 days, times its price per GB (10^9 bytes) given to `braid dashboards generate --cost-per-gb`.",
		units.Short, fullWidth).
		Stacking(common.NewStackingConfigBuilder().Mode(common.StackingModeNormal))
	for i, e := range exporters {
		price := strconv.FormatFloat(cfg.CostPerGB[e], 'f', -1, 64)
		p.WithTarget(promQuery(cfg, string(rune('A'+i)), fmt.Sprintf(`sum by (%s) (rate(%s{%s=%q, %s}[%s])) * 30 * 86400 / 1e9 * %s`,
			labelUsageNamespace, metricUsageExportedBytes, labelExporter, e, selfInstance, rateWindow, price), "{{"+labelUsageNamespace+"}} "+e))
	}
	return p
}
