package correlationprocessor

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/otelcol"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
	"go.opentelemetry.io/collector/service/telemetry/otelconftelemetry"

	"github.com/braidobs/braid/correlate"
	"github.com/braidobs/braid/internal/testcollector"
	"github.com/braidobs/braid/internal/testnet"
)

// sinks is a test exporter ("sink") that keeps what reaches it.
type sinks struct {
	traces  consumertest.TracesSink
	logs    consumertest.LogsSink
	metrics consumertest.MetricsSink
}

type nopLifecycle struct{}

func (nopLifecycle) Start(context.Context, component.Host) error { return nil }
func (nopLifecycle) Shutdown(context.Context) error              { return nil }

type sinkConfig struct{}

func (s *sinks) factory() exporter.Factory {
	return exporter.NewFactory(component.MustNewType("sink"), func() component.Config { return &sinkConfig{} },
		exporter.WithTraces(func(context.Context, exporter.Settings, component.Config) (exporter.Traces, error) {
			return struct {
				nopLifecycle
				*consumertest.TracesSink
			}{TracesSink: &s.traces}, nil
		}, component.StabilityLevelStable),
		exporter.WithLogs(func(context.Context, exporter.Settings, component.Config) (exporter.Logs, error) {
			return struct {
				nopLifecycle
				*consumertest.LogsSink
			}{LogsSink: &s.logs}, nil
		}, component.StabilityLevelStable),
		exporter.WithMetrics(func(context.Context, exporter.Settings, component.Config) (exporter.Metrics, error) {
			return struct {
				nopLifecycle
				*consumertest.MetricsSink
			}{MetricsSink: &s.metrics}, nil
		}, component.StabilityLevelStable),
	)
}

const collectorConfig = `
receivers:
  otlp:
    protocols:
      http:
        endpoint: ENDPOINT
processors:
  correlation:
    pods:
      - uid: sender-uid
        name: sidecar-app-0
        namespace: shop
        ip: 127.0.0.1
    infer_log_links:
      enabled: true
      delay: 0s
    exemplars:
      enabled: true
      max_age: 1h
exporters:
  sink: {}
service:
  telemetry:
    logs:
      level: warn
    metrics:
      level: none
  pipelines:
    traces:
      receivers: [otlp]
      processors: [correlation]
      exporters: [sink]
    logs:
      receivers: [otlp]
      processors: [correlation]
      exporters: [sink]
    metrics:
      receivers: [otlp]
      processors: [correlation]
      exporters: [sink]
`

func post(t *testing.T, url string, body []byte) {
	t.Helper()
	resp, err := http.Post(url, "application/x-protobuf", bytes.NewReader(body))
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusOK, resp.StatusCode)
}

// One collector, one correlation processor in three pipelines: traces sent
// over OTLP, then logs, then metrics. The logs and metrics come out linked
// to the trace, which shows the pipelines share one engine.
func TestCollectorPipelinesShareOneEngine(t *testing.T) {
	addr := testnet.FreeAddr(t)
	var out sinks
	_, err := testcollector.Run(t, testcollector.Settings(func() (otelcol.Factories, error) {
		f := otelcol.Factories{Telemetry: otelconftelemetry.NewFactory()}
		var err error
		if f.Receivers, err = otelcol.MakeFactoryMap[receiver.Factory](otlpreceiver.NewFactory()); err != nil {
			return f, err
		}
		if f.Processors, err = otelcol.MakeFactoryMap[processor.Factory](NewFactory()); err != nil {
			return f, err
		}
		f.Exporters, err = otelcol.MakeFactoryMap[exporter.Factory](out.factory())
		return f, err
	}, strings.ReplaceAll(collectorConfig, "ENDPOINT", addr)))
	require.NoError(t, err)

	// Traces: one error span of the orders pod.
	now := time.Now()
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	require.NoError(t, rs.Resource().Attributes().FromRaw(ordersPod))
	sp := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	sp.SetTraceID(tid1)
	sp.SetSpanID(sid1)
	sp.SetName("POST /checkout")
	sp.SetStartTimestamp(pcommonTime(now.Add(-300 * time.Millisecond)))
	sp.SetEndTimestamp(pcommonTime(now))
	sp.Status().SetCode(ptrace.StatusCodeError)
	body, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	require.NoError(t, err)
	post(t, "http://"+addr+"/v1/traces", body)

	// Logs from the pod's log file: one prints its trace ID, one does not.
	ld := plog.NewLogs()
	sl := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty()
	for i, line := range []string{
		`2024-05-01 10:00:00,123 ERROR [app] [app.py:42] [trace_id=4bf92f3577b34da6a3ce929d0e0e4736 span_id=00f067aa0ba902b7 resource.service.name=orders trace_sampled=True] - card declined`,
		`retrying payment provider`,
	} {
		lr := sl.LogRecords().AppendEmpty()
		lr.Body().SetStr(line)
		lr.SetTimestamp(pcommonTime(now.Add(time.Duration(i-2) * 100 * time.Millisecond)))
		lr.Attributes().PutStr(correlate.AttrLogFilePath, logPath)
	}
	body, err = plogotlp.NewExportRequestFromLogs(ld).MarshalProto()
	require.NoError(t, err)
	post(t, "http://"+addr+"/v1/logs", body)

	// Metrics: the pod's request duration histogram, in milliseconds.
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	require.NoError(t, rm.Resource().Attributes().FromRaw(ordersPod))
	m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName("http.server.request.duration")
	m.SetUnit("ms")
	m.SetEmptyHistogram().SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	dp := m.Histogram().DataPoints().AppendEmpty()
	dp.SetTimestamp(pcommonTime(now.Add(time.Second)))
	dp.ExplicitBounds().FromRaw([]float64{100, 250, 500, 1000})
	dp.BucketCounts().FromRaw([]uint64{10, 3, 1, 0, 0})
	body, err = pmetricotlp.NewExportRequestFromMetrics(md).MarshalProto()
	require.NoError(t, err)
	post(t, "http://"+addr+"/v1/metrics", body)

	// Traces without pod attributes: the pod is the sender, by its address.
	td = ptrace.NewTraces()
	rs = td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "sidecar-app")
	sp = rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	sp.SetTraceID(tid2)
	sp.SetSpanID(sid2)
	body, err = ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	require.NoError(t, err)
	post(t, "http://"+addr+"/v1/traces", body)

	require.Eventually(t, func() bool {
		return out.traces.SpanCount() == 2 && out.logs.LogRecordCount() == 2 && out.metrics.DataPointCount() == 1
	}, 10*time.Second, 10*time.Millisecond)

	senderRes := out.traces.AllTraces()[1].ResourceSpans().At(0).Resource().Attributes().AsRaw()
	assert.Equal(t, "sender-uid", senderRes["k8s.pod.uid"], "pod identity from the sender's address")
	assert.Equal(t, "sidecar-app-0", senderRes["k8s.pod.name"])
	firstRes := out.traces.AllTraces()[0].ResourceSpans().At(0).Resource().Attributes().AsRaw()
	assert.Equal(t, podUID, firstRes["k8s.pod.uid"], "attributes already present win")

	recs := allLogs(&out.logs)
	require.Len(t, recs, 2)
	// Only the inferred link is marked (source_attribute: inferred_only).
	for i, want := range []string{"", "inferred"} {
		assert.Equal(t, tid1, recs[i].TraceID(), "record %d", i)
		assert.Equal(t, sid1, recs[i].SpanID(), "record %d", i)
		assert.Equal(t, want, sourceOf(recs[i]), "record %d", i)
	}
	logRes := out.logs.AllLogs()[0].ResourceLogs().At(0).Resource().Attributes().AsRaw()
	assert.Equal(t, podUID, logRes["k8s.pod.uid"], "pod identity from the log path")

	exs := out.metrics.AllMetrics()[0].ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).Histogram().DataPoints().At(0).Exemplars()
	require.Equal(t, 1, exs.Len(), "one exemplar, in the (250, 500] ms bucket")
	assert.Equal(t, tid1, exs.At(0).TraceID())
	assert.InDelta(t, 300, exs.At(0).DoubleValue(), 1e-6)
}
