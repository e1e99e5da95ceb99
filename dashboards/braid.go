package dashboards

import (
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
	"github.com/grafana/grafana-foundation-sdk/go/units"

	"github.com/braidobs/braid/correlate/links"
)

// Braid builds the dashboard of Braid itself: items accepted, refused, sent
// and failed per signal, sending queues against their capacity, memory
// against the limit, admission, and the correlation engine's outcomes and
// index.
func Braid(cfg Config) (dashboard.Dashboard, error) {
	b := newDashboard(links.DashboardBraid, "Braid / Braid itself",
		"Health of the Braid collectors: data in and out per signal, sending queues, memory and the correlation engine.").
		WithVariable(selfVariable(cfg, varInstance, metricUptime, varInstance))
	b.WithRow(dashboard.NewRowBuilder("Pipelines"))
	for _, s := range signals {
		b.WithPanel(signalPanel(cfg, s))
	}
	b.WithPanel(queuePanel(cfg)).
		WithPanel(storagePanel(cfg)).
		WithPanel(admissionPanel(cfg)).
		WithPanel(memoryPanel(cfg)).
		WithPanel(configPanel(cfg)).
		WithPanel(authPanel(cfg)).
		WithPanel(kafkaLagPanel(cfg)).
		WithRow(dashboard.NewRowBuilder("Correlation")).
		WithPanel(byLabelRate(cfg, "Logs by trace context", "Log records per second by where their trace context came from: present, extracted, inferred or none.", metricCorrelationLogs, labelOutcome, units.Short)).
		WithPanel(timeseriesPanel("Trace index", "Traces held in the correlation index, and evictions per second by reason.", units.Short, thirdWidth).
			WithTarget(promQuery(cfg, "A", fmt.Sprintf(`sum(%s{%s})`, metricIndexTraces, selfInstance), "traces")).
			WithTarget(promQuery(cfg, "B", fmt.Sprintf(`sum by (%s) (rate(%s{%s}[%s]))`, labelReason, metricIndexEvictions, selfInstance, rateWindow), "evicted ({{"+labelReason+"}})/s")).
			OverrideByRegexp("^evicted.*", []dashboard.DynamicConfigValue{{Id: "custom.axisPlacement", Value: common.AxisPlacementRight}})).
		WithPanel(timeseriesPanel("Pod identity lookups", "Pod lookups per second by source and result.", units.Short, thirdWidth).
			WithTarget(promQuery(cfg, "A", fmt.Sprintf(`sum by (%s, %s) (rate(%s{%s}[%s]))`, labelSource, labelResult, metricPodLookups, selfInstance, rateWindow), "{{"+labelSource+"}} {{"+labelResult+"}}"))).
		WithPanel(timeseriesPanel("Exemplars and delayed logs", "Exemplars added per second, and logs held in the inference delay buffer.", units.Short, halfWidth).
			WithTarget(promQuery(cfg, "A", fmt.Sprintf(`sum(rate(%s{%s}[%s]))`, metricExemplarsAdded, selfInstance, rateWindow), "exemplars added/s")).
			WithTarget(promQuery(cfg, "B", fmt.Sprintf(`sum(%s{%s})`, metricDelayedLogs, selfInstance), "delayed logs")).
			OverrideByName("delayed logs", []dashboard.DynamicConfigValue{{Id: "custom.axisPlacement", Value: common.AxisPlacementRight}})).
		WithPanel(timeseriesPanel("Span metrics", "Series held by the span-metrics connector (braid_span_metrics), and spans per second counted in its overflow series because max_series series were held: their service, operation and pod labels are lost.", units.Short, halfWidth).
			WithTarget(promQuery(cfg, "A", fmt.Sprintf(`sum(%s{%s})`, metricSpanMetricsSeries, selfInstance), "series")).
			WithTarget(promQuery(cfg, "B", fmt.Sprintf(`sum(rate(%s{%s}[%s]))`, metricSpanMetricsOverflow, selfInstance, rateWindow), "overflow spans/s")).
			OverrideByName("overflow spans/s", []dashboard.DynamicConfigValue{
				{Id: "custom.axisPlacement", Value: common.AxisPlacementRight},
				{Id: "color", Value: map[string]any{"mode": "fixed", "fixedColor": "red"}},
			})).
		WithPanel(timeseriesPanel("Loki exporter", "Push requests per second by status, and entries dropped per second by reason.", units.Short, halfWidth).
			WithTarget(promQuery(cfg, "A", fmt.Sprintf(`sum by (%s) (rate(%s{%s}[%s]))`, labelStatus, metricLokiRequests, selfInstance, rateWindow), "requests {{"+labelStatus+"}}")).
			WithTarget(promQuery(cfg, "B", fmt.Sprintf(`sum by (%s) (rate(%s{%s}[%s]))`, labelReason, metricLokiDroppedEntries, selfInstance, rateWindow), "dropped {{"+labelReason+"}}")))
	return build(b)
}

// signalPanel shows one signal's items per second in and out of the
// collectors: accepted and refused by receivers, sent and failed by exporters.
func signalPanel(cfg Config, s signalMetrics) *timeseries.PanelBuilder {
	p := timeseriesPanel(s.signal, "Items per second accepted and refused by receivers, sent and failed by exporters.", units.Short, thirdWidth)
	for i, q := range []struct{ metric, legend string }{
		{s.accepted, "accepted"}, {s.refused, "refused"}, {s.sent, "sent"}, {s.failed, "failed"},
	} {
		p.WithTarget(promQuery(cfg, string(rune('A'+i)), fmt.Sprintf(`sum(rate(%s{%s}[%s]))`, q.metric, selfInstance, rateWindow), q.legend))
	}
	return p.OverrideByRegexp("^(refused|failed)$", []dashboard.DynamicConfigValue{
		{Id: "color", Value: map[string]any{"mode": "fixed", "fixedColor": "red"}},
	})
}

// admissionPanel shows what the admission processor holds in flight per
// signal, and what it refuses: Braid shedding load because it is behind.
func admissionPanel(cfg Config) *timeseries.PanelBuilder {
	return timeseriesPanel("Admission", "Items in flight through each signal's pipelines, and items per second the admission processor refused (RESOURCE_EXHAUSTED / 429) because a pipeline was at max_in_flight_items.", units.Short, fullWidth).
		WithTarget(promQuery(cfg, "A", fmt.Sprintf(`sum by (%s) (%s{%s})`, labelSignal, metricAdmissionInFlight, selfInstance), "in flight {{"+labelSignal+"}}")).
		WithTarget(promQuery(cfg, "B", fmt.Sprintf(`sum by (%s) (rate(%s{%s}[%s]))`, labelSignal, metricAdmissionRefused, selfInstance, rateWindow), "refused {{"+labelSignal+"}}/s")).
		OverrideByRegexp("^refused.*", []dashboard.DynamicConfigValue{
			{Id: "custom.axisPlacement", Value: common.AxisPlacementRight},
			{Id: "color", Value: map[string]any{"mode": "fixed", "fixedColor": "red"}},
		})
}

// queuePanel shows each exporter's sending queue against its capacity.
func queuePanel(cfg Config) *timeseries.PanelBuilder {
	return timeseriesPanel("Sending queues", "Items in each exporter's sending queue, and the queue's capacity (dashed).", units.Short, halfWidth).
		WithTarget(promQuery(cfg, "A", fmt.Sprintf(`max by (%s, %s) (%s{%s})`, labelExporter, labelDataType, metricQueueSize, selfInstance), "{{"+labelExporter+"}} {{"+labelDataType+"}}")).
		WithTarget(promQuery(cfg, "B", fmt.Sprintf(`max by (%s, %s) (%s{%s})`, labelExporter, labelDataType, metricQueueCapacity, selfInstance), "capacity {{"+labelExporter+"}} {{"+labelDataType+"}}")).
		OverrideByRegexp("^capacity.*", []dashboard.DynamicConfigValue{
			{Id: "custom.lineStyle", Value: map[string]any{"fill": "dash", "dash": []int{10, 10}}},
			{Id: "custom.fillOpacity", Value: 0},
		})
}

// storagePanel shows what each queue's files hold on disk, and what was
// lost to damaged files found at start.
func storagePanel(cfg Config) *timeseries.PanelBuilder {
	return timeseriesPanel("Queue storage", "Bytes on disk and bytes still live in each wal_storage client (one per exporter queue and per file_log); in red, bytes lost to damaged queue files found at start.", units.BytesIEC, halfWidth).
		WithTarget(promQuery(cfg, "A", fmt.Sprintf(`max by (%s) (%s{%s})`, labelClient, metricStorageDiskBytes, selfInstance), "on disk {{"+labelClient+"}}")).
		WithTarget(promQuery(cfg, "B", fmt.Sprintf(`max by (%s) (%s{%s})`, labelClient, metricStorageLiveBytes, selfInstance), "live {{"+labelClient+"}}")).
		WithTarget(promQuery(cfg, "C", fmt.Sprintf(`sum by (%s) (increase(%s{%s}[%s]))`, labelClient, metricStorageLostBytes, selfInstance, rateWindow), "lost {{"+labelClient+"}}")).
		OverrideByRegexp("^lost.*", []dashboard.DynamicConfigValue{
			{Id: "color", Value: map[string]any{"mode": "fixed", "fixedColor": "red"}},
		})
}

// configPanel shows, per collector, whether its last configuration check
// passed, and how many configurations its job runs: more than one outside a
// rollout means replicas that differ.
func configPanel(cfg Config) *timeseries.PanelBuilder {
	return timeseriesPanel("Configuration", "1 when a collector's last configuration check (SIGHUP, POST /-/reload, a changed file) passed, 0 when it refused one and runs the one before; and, per job, how many distinct configurations its collectors run (config_hash of braid_config_info).", units.Short, halfWidth).
		WithTarget(promQuery(cfg, "A", fmt.Sprintf(`min by (%s) (%s{%s})`, varInstance, metricConfigReloadOK, selfInstance), "last check passed {{"+varInstance+"}}")).
		WithTarget(promQuery(cfg, "B", fmt.Sprintf(`count by (job) (count by (job, %s) (%s{%s}))`, labelConfigHash, metricConfigInfo, selfInstance), "configurations {{job}}")).
		OverrideByRegexp("^configurations.*", []dashboard.DynamicConfigValue{{Id: "custom.axisPlacement", Value: common.AxisPlacementRight}})
}

// authPanel shows the requests each authenticator refused: senders or
// readers with a wrong, expired or missing token.
func authPanel(cfg Config) *timeseries.PanelBuilder {
	return timeseriesPanel("Authentication", "Requests per second refused (401, gRPC UNAUTHENTICATED) by each authenticator: bearertokenauth/<name> on OTLP, Loki push and the drill-down API, admin on POST /-/reload (braid_auth_requests also counts those accepted).", units.Short, halfWidth).
		WithTarget(promQuery(cfg, "A", fmt.Sprintf(`sum by (%s) (rate(%s{%s, %s="refused"}[%s]))`, labelAuthenticator, metricAuthRequests, selfInstance, labelOutcome, rateWindow), "refused {{"+labelAuthenticator+"}}/s")).
		OverrideByRegexp("^refused.*", []dashboard.DynamicConfigValue{
			{Id: "color", Value: map[string]any{"mode": "fixed", "fixedColor": "red"}},
		})
}

// kafkaLagPanel shows, per gateway of the Kafka tier and topic, how many
// records its consumer group is behind: a lag that grows means the gateways
// cannot keep up (add replicas, up to the partitions) or one stopped reading.
func kafkaLagPanel(cfg Config) *timeseries.PanelBuilder {
	return timeseriesPanel("Kafka consumer lag", "Records the gateways of the Kafka tier have yet to read, per gateway and topic (kafka_receiver_offset_lag summed over the partitions each reads). Empty without the Kafka tier.", units.Short, halfWidth).
		WithTarget(promQuery(cfg, "A", fmt.Sprintf(`sum by (%s, %s) (%s{%s})`, varInstance, labelTopic, metricKafkaOffsetLag, selfInstance), "{{"+varInstance+"}} {{"+labelTopic+"}}"))
}

// memoryPanel shows resident memory and Go heap against the memory
// limiter's limit, drawn as a red threshold line.
func memoryPanel(cfg Config) *timeseries.PanelBuilder {
	limit := cfg.MemoryLimitMiB * 1024 * 1024
	return timeseriesPanel("Memory", fmt.Sprintf("Resident memory and Go heap of each collector; the red line is the memory_limiter limit (%v MiB).", cfg.MemoryLimitMiB), units.BytesIEC, halfWidth).
		WithTarget(promQuery(cfg, "A", fmt.Sprintf(`max by (%s) (%s{%s})`, varInstance, metricMemoryRSS, selfInstance), "rss {{"+varInstance+"}}")).
		WithTarget(promQuery(cfg, "B", fmt.Sprintf(`max by (%s) (%s{%s})`, varInstance, metricHeapAlloc, selfInstance), "heap {{"+varInstance+"}}")).
		AxisSoftMax(limit).
		Thresholds(dashboard.NewThresholdsConfigBuilder().
			Mode(dashboard.ThresholdsModeAbsolute).
			Steps([]dashboard.Threshold{{Value: nil, Color: "green"}, {Value: &limit, Color: "red"}})).
		ThresholdsStyle(common.NewGraphThresholdsStyleConfigBuilder().Mode(common.GraphThresholdsStyleModeLine))
}

// byLabelRate shows a counter's rate split by one label.
func byLabelRate(cfg Config, title, description, metric, label, unit string) *timeseries.PanelBuilder {
	return timeseriesPanel(title, description, unit, thirdWidth).
		WithTarget(promQuery(cfg, "A", fmt.Sprintf(`sum by (%s) (rate(%s{%s}[%s]))`, label, metric, selfInstance, rateWindow), "{{"+label+"}}"))
}
