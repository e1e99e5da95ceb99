package dashboards

// Names of the self-metrics Braid serves on its telemetry endpoint
// (without unit, type suffix or scope labels), as the dashboards and alert
// rules query them. The tests check every one against a collector running
// Braid's correlation processor and Loki exporter.

// Collector self-metrics, per signal.
type signalMetrics struct {
	signal   string // as shown on panels
	accepted string
	refused  string
	sent     string
	failed   string
}

var signals = []signalMetrics{
	{"Traces (spans)", "otelcol_receiver_accepted_spans", "otelcol_receiver_refused_spans", "otelcol_exporter_sent_spans", "otelcol_exporter_send_failed_spans"},
	{"Metrics (points)", "otelcol_receiver_accepted_metric_points", "otelcol_receiver_refused_metric_points", "otelcol_exporter_sent_metric_points", "otelcol_exporter_send_failed_metric_points"},
	{"Logs (records)", "otelcol_receiver_accepted_log_records", "otelcol_receiver_refused_log_records", "otelcol_exporter_sent_log_records", "otelcol_exporter_send_failed_log_records"},
}

// Collector self-metrics and their labels.
const (
	metricQueueSize     = "otelcol_exporter_queue_size"
	metricQueueCapacity = "otelcol_exporter_queue_capacity"
	metricMemoryRSS     = "otelcol_process_memory_rss"
	metricHeapAlloc     = "otelcol_process_runtime_heap_alloc_bytes"
	metricUptime        = "otelcol_process_uptime"

	labelReceiver = "receiver"
	labelExporter = "exporter"
	labelDataType = "data_type"
)

// Braid's own self-metrics (instrument names braid_<area>_<what>).
const (
	metricCorrelationLogs     = "braid_correlation_logs"            // outcome
	metricIndexTraces         = "braid_correlation_index_traces"    // gauge
	metricIndexEvictions      = "braid_correlation_index_evictions" // reason
	metricExemplarsAdded      = "braid_correlation_exemplars_added"
	metricPodLookups          = "braid_correlation_pod_lookups" // source, result
	metricDelayedLogs         = "braid_correlation_delayed_logs"
	metricLokiRequests        = "braid_loki_requests"             // status
	metricLokiDroppedEntries  = "braid_loki_dropped_entries"      // reason
	metricAdmissionInFlight   = "braid_admission_in_flight_items" // signal
	metricAdmissionRefused    = "braid_admission_refused_items"   // signal, reason
	labelSignal               = "signal"
	metricStorageDiskBytes    = "braid_wal_storage_disk_bytes" // client
	metricStorageLiveBytes    = "braid_wal_storage_live_bytes" // client
	metricStorageLostBytes    = "braid_wal_storage_lost_bytes" // client
	labelClient               = "client"
	metricSpanMetricsSeries   = "braid_span_metrics_series"
	metricSpanMetricsOverflow = "braid_span_metrics_overflow_spans"
	metricConfigReloadOK      = "braid_config_last_reload_successful" // gauge, 0 or 1
	metricConfigInfo          = "braid_config_info"                   // config_hash
	labelConfigHash           = "config_hash"
	metricAuthRequests        = "braid_auth_requests" // authenticator, outcome (accepted, refused)
	// The Kafka receiver's consumer lag (records behind the newest) per
	// partition it reads: only gateways of the Kafka tier have it.
	metricKafkaOffsetLag     = "otelcol_kafka_receiver_offset_lag" // topic, partition
	labelAuthenticator       = "authenticator"
	labelOutcome             = "outcome"
	labelReason              = "reason"
	labelTopic               = "topic"
	labelSource              = "source"
	labelResult              = "result"
	labelStatus              = "status"
	metricUsageReceivedBytes = "braid_usage_received_bytes" // signal, k8s_namespace_name, k8s_workload_name, service_name
	metricUsageReceivedItems = "braid_usage_received_items" // the same
	metricUsageExportedBytes = "braid_usage_exported_bytes" // the same and exporter
	labelUsageNamespace      = "k8s_namespace_name"
	labelUsageWorkload       = "k8s_workload_name"
	labelUsageService        = "service_name"
	varInstance              = "instance"
	selfInstance             = `instance=~"$instance"`
)
