package links

// Default datasource UIDs, names and backend URLs of the local stack.
const (
	DefaultPrometheusUID = "braid-prometheus"
	DefaultLokiUID       = "braid-loki"
	DefaultJaegerUID     = "braid-jaeger"

	DefaultPrometheusURL = "http://127.0.0.1:9090"
	DefaultLokiURL       = "http://127.0.0.1:9428" // a Loki-compatible store (VictoriaLogs in the local stack)
	DefaultJaegerURL     = "http://127.0.0.1:16686"

	DefaultGrafanaURL = "http://127.0.0.1:3000"
)

// Grafana datasource plugin types.
const (
	TypePrometheus = "prometheus"
	TypeLoki       = "loki"
	TypeJaeger     = "jaeger"
)

// Span metrics as Braid's braid_span_metrics connector (and the contrib
// span_metrics connector, which writes the same series) and the Prometheus
// exporters expose them (cumulative, with exemplars).
const (
	MetricSpanCalls          = "traces_span_metrics_calls_total"
	MetricSpanDurationBucket = "traces_span_metrics_duration_milliseconds_bucket"
	MetricSpanDurationSum    = "traces_span_metrics_duration_milliseconds_sum"
	MetricSpanDurationCount  = "traces_span_metrics_duration_milliseconds_count"
)

// Labels on span metrics in Prometheus. The resource dimensions are the
// semantic-convention attribute names with dots turned into underscores.
const (
	MetricLabelService    = "service_name"
	MetricLabelSpanName   = "span_name"
	MetricLabelSpanKind   = "span_kind"
	MetricLabelStatusCode = "status_code"
	MetricLabelCluster    = "k8s_cluster_name"
	MetricLabelNamespace  = "k8s_namespace_name"
	MetricLabelPod        = "k8s_pod_name"
	MetricLabelJob        = "job"
	MetricLabelInstance   = "instance"
	MetricLabelBucket     = "le"

	// StatusCodeError is the value of status_code on failed spans.
	StatusCodeError = "STATUS_CODE_ERROR"
	// SpanKindServer is the value of span_kind on server spans.
	SpanKindServer = "SPAN_KIND_SERVER"
)

// ExemplarTraceIDLabel is the exemplar label that carries the trace ID, as the
// collector's Prometheus exporters write it.
const ExemplarTraceIDLabel = "trace_id"

// Index labels written by Braid's Loki exporter (resource attributes with dots
// turned into underscores).
const (
	LogLabelService          = "service_name"
	LogLabelServiceNamespace = "service_namespace"
	LogLabelCluster          = "k8s_cluster_name"
	LogLabelNamespace        = "k8s_namespace_name"
	LogLabelPod              = "k8s_pod_name"
	LogLabelContainer        = "k8s_container_name"
	LogLabelDeployment       = "k8s_deployment_name"
	LogLabelStatefulSet      = "k8s_statefulset_name"
	LogLabelDaemonSet        = "k8s_daemonset_name"
	LogLabelJob              = "k8s_job_name"
	LogLabelCronJob          = "k8s_cronjob_name"
	LogLabelEnvironment      = "deployment_environment_name"
)

// Structured metadata fields written by Braid's Loki exporter.
const (
	LogFieldTraceID  = "trace_id"
	LogFieldSpanID   = "span_id"
	LogFieldSeverity = "severity_text"
)

// LogLabels lists every index label Braid's Loki exporter writes by default.
func LogLabels() []string {
	return []string{
		LogLabelService, LogLabelServiceNamespace, LogLabelCluster, LogLabelNamespace,
		LogLabelPod, LogLabelContainer, LogLabelDeployment, LogLabelStatefulSet,
		LogLabelDaemonSet, LogLabelJob, LogLabelCronJob, LogLabelEnvironment,
	}
}

// Label maps a resource attribute (semantic conventions) to the label that
// carries it in Loki and in span metrics.
type Label struct {
	Attribute string // resource attribute, e.g. "k8s.pod.name"
	Label     string // label name, e.g. "k8s_pod_name"
}

// TraceLogLabels are the span resource attributes that select a trace's logs
// in Loki, in the order a query lists them.
func TraceLogLabels() []Label {
	return []Label{
		{"service.name", LogLabelService},
		{"k8s.namespace.name", LogLabelNamespace},
		{"k8s.pod.name", LogLabelPod},
	}
}

// TraceMetricLabels are the span resource attributes that select a span's
// series in Prometheus.
func TraceMetricLabels() []Label {
	return []Label{
		{"service.name", MetricLabelService},
		{"k8s.namespace.name", MetricLabelNamespace},
		{"k8s.pod.name", MetricLabelPod},
	}
}

// Dashboard UIDs of the generated dashboards, and the names of their
// template variables (a URL preselects one with var-<name>=<value>).
const (
	DashboardServiceOverview = "braid-service-overview"
	DashboardServiceLogs     = "braid-service-logs"
	DashboardPod             = "braid-pod"
	DashboardBraid           = "braid-self"
	DashboardUsage           = "braid-usage"

	VarCluster   = "cluster"
	VarNamespace = "namespace"
	VarService   = "service"
	VarPod       = "pod"
)
