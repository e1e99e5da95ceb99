package dashboards_test

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/kafkaexporter"
	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/prometheusexporter"
	"github.com/open-telemetry/opentelemetry-collector-contrib/receiver/kafkareceiver"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/otlphttpexporter"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/otelcol"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/batchprocessor"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
	"go.opentelemetry.io/collector/service/telemetry/otelconftelemetry"

	"github.com/braidobs/braid/connectors/spanmetricsconnector"
	"github.com/braidobs/braid/correlate/links"
	"github.com/braidobs/braid/exporters/lokiexporter"
	"github.com/braidobs/braid/extensions/walstorageextension"
	"github.com/braidobs/braid/internal/authmetrics"
	"github.com/braidobs/braid/internal/reloadmetrics"
	"github.com/braidobs/braid/internal/testcollector"
	"github.com/braidobs/braid/internal/testnet"
	"github.com/braidobs/braid/processors/admissionprocessor"
	"github.com/braidobs/braid/processors/correlationprocessor"
	"github.com/braidobs/braid/processors/usageprocessor"
)

// emitted is what a metrics endpoint really exposes: series name → label
// names seen on it.
type emitted map[string]map[string]bool

// collectorConfig mirrors Braid's pipeline where it decides metric names:
// Braid's span-metrics connector (cumulative, exemplars, the pod dimensions)
// into the Prometheus exporter, Braid's correlation processor and Loki
// exporter, the queue on Braid's wal_storage, and the collector's own
// telemetry reader without units, type
// suffixes or scope labels. A dead
// OTLP/HTTP backend makes every signal's refused, failed and queue metrics
// appear; a Loki that refuses everything makes the Loki exporter's.
const collectorConfig = `
receivers:
  otlp:
    protocols:
      http:
        endpoint: %[1]s
  # The Kafka tier's gateway side: it reads back what the exporter below
  # wrote, so its consumer lag is reported.
  kafka:
    brokers: [%[7]s]
    group_id: braid-emitted
    initial_offset: earliest
    traces:
      topics: [otlp_spans]
processors:
  admission: {}
  usage: {}
  batch: {}
  correlation:
    exemplars:
      enabled: true
connectors:
  braid_span_metrics:
    metrics_flush_interval: 100ms
    aggregation_temporality: AGGREGATION_TEMPORALITY_CUMULATIVE
    exemplars:
      enabled: true
    dimensions:
      - name: k8s.cluster.name
      - name: k8s.namespace.name
      - name: k8s.pod.name
exporters:
  kafka:
    brokers: [%[7]s]
    traces:
      topic: otlp_spans
  prometheus:
    endpoint: %[2]s
    enable_open_metrics: true
  otlp_http/dead:
    endpoint: http://%[4]s
    retry_on_failure:
      enabled: false
    sending_queue:
      enabled: false
  loki:
    # Loki answers 400: a permanent refusal, counted as dropped entries.
    endpoint: %[5]s/loki/api/v1/push
    retry_on_failure:
      enabled: false
    sending_queue:
      enabled: false
  otlp_http/queued:
    endpoint: http://%[4]s
    retry_on_failure:
      enabled: false
    sending_queue:
      enabled: true
      queue_size: 100
      storage: wal_storage
extensions:
  wal_storage:
    directory: %[6]s
service:
  extensions: [wal_storage]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [admission, correlation, usage, batch]
      exporters: [braid_span_metrics, otlp_http/dead, otlp_http/queued, kafka]
    traces/kafka:
      receivers: [kafka]
      exporters: [otlp_http/queued]
    metrics:
      receivers: [otlp, braid_span_metrics]
      processors: [correlation, usage]
      exporters: [prometheus, otlp_http/dead, otlp_http/queued]
    logs:
      receivers: [otlp]
      processors: [correlation, usage]
      exporters: [otlp_http/dead, otlp_http/queued, loki]
  telemetry:
    logs:
      # The dead backend makes every export fail on purpose; keep the test output quiet.
      level: fatal
    metrics:
      readers:
        - pull:
            exporter:
              prometheus:
                host: 127.0.0.1
                port: %[3]s
                without_scope_info: true
                without_units: true
                without_type_suffix: true
`

func testFactories() (otelcol.Factories, error) {
	var err error
	// Braid's reload metrics ride on the collector's telemetry as in the
	// braid binary; no check ran here, so the gauge reads 0.
	status := new(reloadmetrics.Status)
	status.Succeeded()
	status.SetConfig(map[string]any{"receivers": map[string]any{"otlp": nil}})
	// So do the admin endpoint's refusals (the authenticator extensions'
	// have the same name and labels: internal/authmetrics).
	f := otelcol.Factories{Telemetry: status.TelemetryFactory(otelconftelemetry.NewFactory(), new(authmetrics.Admin).Register)}
	if f.Receivers, err = otelcol.MakeFactoryMap[receiver.Factory](otlpreceiver.NewFactory(), kafkareceiver.NewFactory()); err != nil {
		return f, err
	}
	// Usage as in the braid binary: the processor and every exporter counting.
	usage := usageprocessor.NewShared()
	if f.Processors, err = otelcol.MakeFactoryMap[processor.Factory](batchprocessor.NewFactory(), correlationprocessor.NewFactory(), admissionprocessor.NewFactory(),
		usageprocessor.NewFactory(usageprocessor.WithShared(usage))); err != nil {
		return f, err
	}
	if f.Exporters, err = otelcol.MakeFactoryMap(usageprocessor.WrapExporter(prometheusexporter.NewFactory(), usage),
		usageprocessor.WrapExporter(otlphttpexporter.NewFactory(), usage), lokiexporter.NewFactory(lokiexporter.WithPushed(func(set exporter.Settings) lokiexporter.Pushed {
			return usage.ExporterCounter(set, "logs")
		})), usageprocessor.WrapExporter(kafkaexporter.NewFactory(), usage)); err != nil {
		return f, err
	}
	if f.Connectors, err = otelcol.MakeFactoryMap[connector.Factory](spanmetricsconnector.NewFactory()); err != nil {
		return f, err
	}
	f.Extensions, err = otelcol.MakeFactoryMap[extension.Factory](walstorageextension.NewFactory())
	return f, err
}

// pipelineMetrics runs the pipeline once, sends a trace with an ok and a
// failed server span, a metric and a log record, and returns what the span
// metrics endpoint and the telemetry endpoint expose, plus the span
// metrics endpoint's OpenMetrics text (which carries the exemplars).
func pipelineMetrics(t *testing.T) (spans, self emitted, openMetrics, text string) {
	t.Helper()
	otlpAddr, promAddr, telAddr, deadAddr := testnet.FreeAddr(t), testnet.FreeAddr(t), testnet.FreeAddr(t), testnet.FreeAddr(t)
	_, telPort, err := net.SplitHostPort(telAddr)
	require.NoError(t, err)
	loki := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		http.Error(w, "entry too far behind", http.StatusBadRequest)
	}))
	t.Cleanup(loki.Close)
	// A Kafka-protocol broker in the test (franz-go's kfake).
	kafka, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, "otlp_spans"))
	require.NoError(t, err)
	t.Cleanup(kafka.Close)
	cfg := fmt.Sprintf(collectorConfig, otlpAddr, promAddr, telPort, deadAddr, loki.URL, t.TempDir(), kafka.ListenAddrs()[0])

	_, err = testcollector.Run(t, testcollector.Settings(testFactories, cfg))
	require.NoError(t, err)

	post := func(path string, body []byte) {
		resp, err := http.Post("http://"+otlpAddr+path, "application/x-protobuf", bytes.NewReader(body))
		require.NoError(t, err)
		_ = resp.Body.Close() // the dead backend makes the receiver refuse: any status will do
	}
	traces, err := ptraceotlp.NewExportRequestFromTraces(sampleTraces()).MarshalProto()
	require.NoError(t, err)
	metrics, err := pmetricotlp.NewExportRequestFromMetrics(sampleMetrics()).MarshalProto()
	require.NoError(t, err)
	logs, err := plogotlp.NewExportRequestFromLogs(sampleLogs()).MarshalProto()
	require.NoError(t, err)

	// Send until the connector has flushed and the exporter exposes calls
	// (its first flush may show none).
	require.Eventually(t, func() bool {
		post("/v1/traces", traces)
		post("/v1/metrics", metrics)
		post("/v1/logs", logs)
		spans = scrape(t, "http://"+promAddr+"/metrics")
		self = scrape(t, "http://"+telAddr+"/metrics")
		return spans["traces_span_metrics_calls_total"] != nil &&
			self["otelcol_exporter_send_failed_log_records"] != nil &&
			self["otelcol_exporter_send_failed_metric_points"] != nil &&
			self["otelcol_exporter_send_failed_spans"] != nil &&
			self["braid_loki_dropped_entries"] != nil &&
			self["braid_correlation_logs"] != nil &&
			self["braid_correlation_pod_lookups"] != nil &&
			self["braid_correlation_exemplars_added"] != nil &&
			self["braid_admission_in_flight_items"] != nil &&
			self["braid_admission_refused_items"] != nil &&
			self["braid_span_metrics_series"] != nil &&
			self["braid_span_metrics_overflow_spans"] != nil &&
			self["braid_wal_storage_disk_bytes"] != nil &&
			self["braid_wal_storage_lost_bytes"] != nil &&
			self["braid_config_info"] != nil &&
			self["braid_auth_requests"] != nil &&
			self["otelcol_kafka_receiver_offset_lag"] != nil &&
			self["braid_usage_received_bytes"] != nil &&
			self["braid_usage_exported_bytes"] != nil
	}, 30*time.Second, 100*time.Millisecond)

	get := func(accept string) string {
		req, err := http.NewRequest(http.MethodGet, "http://"+promAddr+"/metrics", nil)
		require.NoError(t, err)
		req.Header.Set("Accept", accept)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		raw, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return string(raw)
	}
	return spans, self, get("application/openmetrics-text; version=1.0.0"), get("text/plain; version=0.0.4")
}

// scrape reads a metrics endpoint in the Prometheus text format.
func scrape(t *testing.T, url string) emitted {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	require.NoError(t, err)
	out := emitted{}
	add := func(name string, labels []string) {
		if out[name] == nil {
			out[name] = map[string]bool{}
		}
		for _, l := range labels {
			out[name][l] = true
		}
	}
	for name, f := range families {
		for _, m := range f.GetMetric() {
			var labels []string
			for _, lp := range m.GetLabel() {
				labels = append(labels, lp.GetName())
			}
			switch {
			case m.GetHistogram() != nil:
				add(name+"_bucket", append(labels, "le"))
				add(name+"_sum", labels)
				add(name+"_count", labels)
			case m.GetSummary() != nil:
				add(name, append(labels, "quantile"))
				add(name+"_sum", labels)
				add(name+"_count", labels)
			default:
				add(name, labels)
			}
		}
	}
	return out
}

var (
	sampleTraceID = pcommon.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36}
	podResource   = map[string]string{
		"service.name": "checkout", "service.namespace": "shop",
		"k8s.cluster.name": "prod", "k8s.namespace.name": "shop", "k8s.pod.name": "checkout-7d4b9",
	}
)

func putResource(r pcommon.Resource) {
	for k, v := range podResource {
		r.Attributes().PutStr(k, v)
	}
}

func sampleTraces() ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	putResource(rs.Resource())
	ss := rs.ScopeSpans().AppendEmpty()
	now := time.Now()
	for i, failed := range []bool{false, true} {
		s := ss.Spans().AppendEmpty()
		s.SetTraceID(sampleTraceID)
		s.SetSpanID(pcommon.SpanID{1, 2, 3, 4, 5, 6, 7, byte(i + 1)})
		s.SetName("GET /cart")
		s.SetKind(ptrace.SpanKindServer)
		s.SetStartTimestamp(pcommon.NewTimestampFromTime(now.Add(-300 * time.Millisecond)))
		s.SetEndTimestamp(pcommon.NewTimestampFromTime(now))
		if failed {
			s.Status().SetCode(ptrace.StatusCodeError)
		}
	}
	return td
}

func sampleMetrics() pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	putResource(rm.Resource())
	ms := rm.ScopeMetrics().AppendEmpty().Metrics()
	m := ms.AppendEmpty()
	m.SetName("app_queue_depth")
	dp := m.SetEmptyGauge().DataPoints().AppendEmpty()
	dp.SetTimestamp(pcommon.NewTimestampFromTime(time.Now()))
	dp.SetIntValue(3)
	c := ms.AppendEmpty()
	c.SetName("app_orders")
	sum := c.SetEmptySum()
	sum.SetIsMonotonic(true)
	sum.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	cp := sum.DataPoints().AppendEmpty()
	cp.SetTimestamp(pcommon.NewTimestampFromTime(time.Now()))
	cp.SetIntValue(7)
	return md
}

func sampleLogs() plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	putResource(rl.Resource())
	lr := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.Body().SetStr("checkout failed")
	lr.SetTraceID(sampleTraceID)
	return ld
}

func TestPipelineExposesSpanMetricsWithExemplars(t *testing.T) {
	spans, self, om, text := pipelineMetrics(t)
	// The label values the queries and rules match on.
	for _, v := range []string{
		links.MetricLabelSpanKind + `="` + links.SpanKindServer + `"`,
		links.MetricLabelStatusCode + `="` + links.StatusCodeError + `"`,
		links.MetricLabelService + `="checkout"`,
		links.MetricLabelPod + `="checkout-7d4b9"`,
		links.MetricLabelJob + `="shop/checkout"`,
	} {
		require.Contains(t, text, v)
	}
	for _, name := range []string{"traces_span_metrics_calls_total", "traces_span_metrics_duration_milliseconds_bucket"} {
		require.Contains(t, spans, name)
		// An exemplar line: series value # {trace_id="…",…} value timestamp.
		var found bool
		for _, line := range strings.Split(om, "\n") {
			if strings.HasPrefix(line, name+"{") && strings.Contains(line, `# {`) && strings.Contains(line, `trace_id="4bf92f3577b34da6a3ce929d0e0e4736"`) {
				found = true
			}
		}
		require.True(t, found, "no exemplar with the trace ID on %s:\n%s", name, om)
	}
	require.NotEmpty(t, self)
}
