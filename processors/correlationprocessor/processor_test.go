package correlationprocessor

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/client"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.uber.org/goleak"

	"github.com/braidobs/braid/correlate"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const (
	podUID  = "1f2e3d4c-5b6a-4789-8a7b-6c5d4e3f2a1b"
	podIP   = "10.0.0.7"
	logPath = "/var/log/pods/shop_orders-0_" + podUID + "/orders/0.log"
)

var (
	epoch = time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	tid1  = pcommon.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36}
	tid2  = pcommon.TraceID{0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x01}
	sid1  = pcommon.SpanID{0, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7}
	sid2  = pcommon.SpanID{1, 2, 3, 4, 5, 6, 7, 8}
)

func at(d time.Duration) pcommon.Timestamp { return pcommon.NewTimestampFromTime(epoch.Add(d)) }

// rig builds the traces, logs and metrics processors of one component ID
// from one factory, each feeding a sink.
type rig struct {
	t       *testing.T
	state   *factory
	lp      *logsProcessor
	factory processor.Factory
	tel     *componenttest.Telemetry
	traces  processor.Traces
	logs    processor.Logs
	metrics processor.Metrics
	tSink   *consumertest.TracesSink
	lSink   *consumertest.LogsSink
	mSink   *consumertest.MetricsSink
	// lErr, when set, is what the logs processor's next consumer answers
	// instead of taking the records.
	lErr     atomic.Pointer[error]
	shutOnce sync.Once
}

// refuseLogs makes the logs processor's next consumer answer err.
func (r *rig) refuseLogs(err error) { r.lErr.Store(&err) }

// logsOut is the logs processor's next consumer: the sink, unless the rig
// is set to refuse.
type logsOut struct{ r *rig }

func (o logsOut) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

func (o logsOut) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	if err := o.r.lErr.Load(); err != nil {
		return *err
	}
	return o.r.lSink.ConsumeLogs(ctx, ld)
}

func newRig(t *testing.T, mutate func(*Config), opts ...Option) *rig {
	r := &rig{t: t, tel: componenttest.NewTelemetry(), tSink: new(consumertest.TracesSink), lSink: new(consumertest.LogsSink), mSink: new(consumertest.MetricsSink)}
	r.state = newFactory(opts...)
	r.factory = r.state.processorFactory()
	cfg := r.factory.CreateDefaultConfig().(*Config)
	if mutate != nil {
		mutate(cfg)
	}
	require.NoError(t, cfg.Validate())
	set := processortest.NewNopSettings(Type)
	set.ID = component.NewIDWithName(Type, "test")
	set.TelemetrySettings = r.tel.NewTelemetrySettings()
	ctx := context.Background()
	var err error
	r.traces, err = r.factory.CreateTraces(ctx, set, cfg, r.tSink)
	require.NoError(t, err)
	r.logs, err = r.factory.CreateLogs(ctx, set, cfg, logsOut{r})
	require.NoError(t, err)
	r.metrics, err = r.factory.CreateMetrics(ctx, set, cfg, r.mSink)
	require.NoError(t, err)
	host := componenttest.NewNopHost()
	require.NoError(t, r.traces.Start(ctx, host))
	require.NoError(t, r.logs.Start(ctx, host))
	require.NoError(t, r.metrics.Start(ctx, host))
	t.Cleanup(r.shutdown)
	return r
}

func (r *rig) shutdown() {
	r.shutOnce.Do(func() {
		ctx := context.Background()
		assert.NoError(r.t, r.traces.Shutdown(ctx))
		assert.NoError(r.t, r.logs.Shutdown(ctx))
		assert.NoError(r.t, r.metrics.Shutdown(ctx))
		assert.NoError(r.t, r.tel.Shutdown(ctx))
	})
}

func (r *rig) engine() *engine {
	return r.state.registry.get(component.NewIDWithName(Type, "test"))
}

// sumByAttr reads an int64 sum self-metric as attribute value → total.
func (r *rig) sumByAttr(name, key string) map[string]int64 {
	m, err := r.tel.GetMetric(name)
	require.NoError(r.t, err)
	out := map[string]int64{}
	for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
		v, _ := dp.Attributes.Value(attribute.Key(key))
		out[v.AsString()] += dp.Value
	}
	return out
}

func traces(podAttrs map[string]any, spans ...func(ptrace.Span)) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	_ = rs.Resource().Attributes().FromRaw(podAttrs)
	ss := rs.ScopeSpans().AppendEmpty()
	for _, f := range spans {
		f(ss.Spans().AppendEmpty())
	}
	return td
}

func span(tid pcommon.TraceID, sid pcommon.SpanID, name string, from, to time.Duration, isErr bool) func(ptrace.Span) {
	return func(s ptrace.Span) {
		s.SetTraceID(tid)
		s.SetSpanID(sid)
		s.SetName(name)
		s.SetStartTimestamp(at(from))
		s.SetEndTimestamp(at(to))
		if isErr {
			s.Status().SetCode(ptrace.StatusCodeError)
		}
	}
}

var ordersPod = map[string]any{"k8s.pod.uid": podUID, "k8s.pod.name": "orders-0", "k8s.namespace.name": "shop", "service.name": "orders"}

func logsFromFile(lines ...string) plog.Logs {
	ld := plog.NewLogs()
	sl := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty()
	for i, l := range lines {
		lr := sl.LogRecords().AppendEmpty()
		lr.Body().SetStr(l)
		lr.SetTimestamp(at(time.Duration(i+1) * 10 * time.Millisecond))
		lr.Attributes().PutStr(correlate.AttrLogFilePath, logPath)
	}
	return ld
}

func allLogs(sink *consumertest.LogsSink) []plog.LogRecord {
	var out []plog.LogRecord
	for _, ld := range sink.AllLogs() {
		rls := ld.ResourceLogs()
		for i := 0; i < rls.Len(); i++ {
			sls := rls.At(i).ScopeLogs()
			for j := 0; j < sls.Len(); j++ {
				lrs := sls.At(j).LogRecords()
				for k := 0; k < lrs.Len(); k++ {
					out = append(out, lrs.At(k))
				}
			}
		}
	}
	return out
}

func sourceOf(lr plog.LogRecord) string {
	if v, ok := lr.Attributes().Get(correlate.SourceAttributeKey); ok {
		return v.Str()
	}
	return ""
}

// Traces, then logs, then metrics through the three pipelines of one
// processor ID: the logs and metrics are linked to the traces.
func TestSharedEngineLinksSignals(t *testing.T) {
	r := newRig(t, func(c *Config) {
		c.InferLogLinks.Enabled = true
		c.InferLogLinks.Delay = 0
		c.Exemplars.Enabled = true
		c.Exemplars.MaxAge = time.Hour
	})
	ctx := context.Background()

	require.NoError(t, r.traces.ConsumeTraces(ctx, traces(ordersPod,
		span(tid1, sid1, "GET /orders", 0, 100*time.Millisecond, true))))

	// Logs from the container's log file: the pod comes from the path.
	require.NoError(t, r.logs.ConsumeLogs(ctx, logsFromFile(
		`{"level":"info","msg":"order placed","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7"}`,
		`order 1042 written to the database`,
	)))
	recs := allLogs(r.lSink)
	require.Len(t, recs, 2)
	assert.Equal(t, tid1, recs[0].TraceID())
	assert.Empty(t, sourceOf(recs[0]), "read from the record itself: not marked by default")
	assert.Equal(t, tid1, recs[1].TraceID(), "the only span active in the pod")
	assert.Equal(t, sid1, recs[1].SpanID())
	assert.Equal(t, "inferred", sourceOf(recs[1]))
	res := r.lSink.AllLogs()[0].ResourceLogs().At(0).Resource().Attributes().AsRaw()
	assert.Equal(t, podUID, res["k8s.pod.uid"])
	assert.Equal(t, "orders-0", res["k8s.pod.name"])
	assert.Equal(t, "shop", res["k8s.namespace.name"])
	assert.Equal(t, "orders", res["k8s.container.name"])

	sum, ok := r.engine().index.Get(tid1)
	require.True(t, ok)
	assert.Equal(t, 1, sum.SpanCount)
	assert.Equal(t, 2, sum.LogCount)
	assert.Equal(t, "GET /orders", sum.RootName)

	// A histogram of the pod without exemplars gets one in the right bucket.
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	_ = rm.Resource().Attributes().FromRaw(ordersPod)
	m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName("http.server.request.duration")
	m.SetUnit("s")
	dp := m.SetEmptyHistogram().DataPoints().AppendEmpty()
	dp.SetTimestamp(at(time.Second))
	dp.ExplicitBounds().FromRaw([]float64{0.05, 0.25, 1})
	dp.BucketCounts().FromRaw([]uint64{3, 1, 0, 0})
	c := rm.ScopeMetrics().At(0).Metrics().AppendEmpty()
	c.SetName("http.server.errors")
	c.SetEmptySum().SetIsMonotonic(true)
	c.Sum().DataPoints().AppendEmpty().SetIntValue(4)
	c.Sum().DataPoints().At(0).SetTimestamp(at(time.Second))
	require.NoError(t, r.metrics.ConsumeMetrics(ctx, md))

	got := r.mSink.AllMetrics()[0].ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics()
	exs := got.At(0).Histogram().DataPoints().At(0).Exemplars()
	require.Equal(t, 1, exs.Len(), "one span, in the (0.05, 0.25] bucket")
	assert.Equal(t, tid1, exs.At(0).TraceID())
	assert.InDelta(t, 0.1, exs.At(0).DoubleValue(), 1e-9)
	v, _ := exs.At(0).FilteredAttributes().Get(correlate.SourceAttributeKey)
	assert.Equal(t, "inferred", v.Str())
	sumExs := got.At(1).Sum().DataPoints().At(0).Exemplars()
	require.Equal(t, 1, sumExs.Len(), "the error span for an error counter")
	assert.Equal(t, tid1, sumExs.At(0).TraceID())

	assert.Equal(t, map[string]int64{"extracted": 1, "inferred": 1}, r.sumByAttr("braid_correlation_logs", "outcome"))
	assert.Equal(t, map[string]int64{"": 2}, r.sumByAttr("braid_correlation_exemplars_added", ""))
	lookups := r.sumByAttr("braid_correlation_pod_lookups", "source")
	assert.Equal(t, int64(1), lookups["log_path"])
}

// trace_context::source_attribute decides which linked records are marked
// with where their trace context came from; inferred links always are.
func TestSourceAttribute(t *testing.T) {
	for _, tc := range []struct {
		setting                          string
		wantBody, wantAttr, wantInferred string
	}{
		{SourceAttributeAll, "body", "attribute", "inferred"},
		{SourceAttributeInferredOnly, "", "", "inferred"},
	} {
		t.Run(tc.setting, func(t *testing.T) {
			r := newRig(t, func(c *Config) {
				c.TraceContext.SourceAttribute = tc.setting
				c.InferLogLinks.Enabled = true
				c.InferLogLinks.Delay = 0
			})
			ctx := context.Background()
			require.NoError(t, r.traces.ConsumeTraces(ctx, traces(ordersPod,
				span(tid1, sid1, "GET /orders", 0, 100*time.Millisecond, false))))
			ld := logsFromFile(
				`{"msg":"order placed","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7"}`,
				`order written`,
				`order paid`,
			)
			lrs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
			lrs.At(1).Attributes().PutStr("trace_id", "4bf92f3577b34da6a3ce929d0e0e4736")
			require.NoError(t, r.logs.ConsumeLogs(ctx, ld))

			recs := allLogs(r.lSink)
			require.Len(t, recs, 3)
			for i, want := range []string{tc.wantBody, tc.wantAttr, tc.wantInferred} {
				assert.Equal(t, tid1, recs[i].TraceID(), "record %d", i)
				assert.Equal(t, want, sourceOf(recs[i]), "record %d", i)
			}
			assert.Equal(t, map[string]int64{"extracted": 2, "inferred": 1}, r.sumByAttr("braid_correlation_logs", "outcome"))
		})
	}
}

// With multiline on, a stack trace read from a container log is one record,
// linked once, with the trace context of its first line.
func TestMultilineJoinsStackTraces(t *testing.T) {
	stack := []string{
		`{"msg":"charge failed","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7"}`,
		"java.lang.IllegalStateException: card declined",
		"\tat com.shop.Charger.charge(Charger.java:42)",
		"Caused by: java.net.SocketTimeoutException: Read timed out",
		"\t... 3 more",
		"ERROR:shop.payment:retry failed",
		"Traceback (most recent call last):",
		`  File "/app/payment.py", line 12, in charge`,
		"ValueError: card declined",
		"order 1042 paid",
	}
	for _, tc := range []struct {
		name       string
		enabled    bool
		wantBodies []string
		wantJoined int64
	}{
		{"on", true, []string{strings.Join(stack[:5], "\n"), strings.Join(stack[5:9], "\n"), stack[9]}, 7},
		{"off", false, stack, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, func(c *Config) {
				c.Multiline.Enabled = tc.enabled
				c.InferLogLinks.Enabled = true
				c.InferLogLinks.Delay = 0
			})
			ctx := context.Background()
			require.NoError(t, r.traces.ConsumeTraces(ctx, traces(ordersPod,
				span(tid2, sid2, "charge", 0, time.Second, false))))
			require.NoError(t, r.logs.ConsumeLogs(ctx, logsFromFile(stack...)))

			recs := allLogs(r.lSink)
			var bodies []string
			for _, lr := range recs {
				bodies = append(bodies, lr.Body().Str())
			}
			require.Equal(t, tc.wantBodies, bodies)
			assert.Equal(t, tid1, recs[0].TraceID(), "the first line's own trace context")
			assert.Equal(t, sid1, recs[0].SpanID())
			for i := 1; i < len(recs); i++ {
				assert.Equal(t, tid2, recs[i].TraceID(), "record %d: the only span active in the pod", i)
			}
			joined := int64(0)
			if m, err := r.tel.GetMetric("braid_correlation_joined_lines"); err == nil {
				for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
					joined += dp.Value
				}
			}
			assert.Equal(t, tc.wantJoined, joined)
		})
	}
}

func TestInferredLinksOnlyWhenUnambiguous(t *testing.T) {
	r := newRig(t, func(c *Config) { c.InferLogLinks.Enabled = true; c.InferLogLinks.Delay = 0 })
	ctx := context.Background()
	// Two requests overlap between 50 and 100ms.
	require.NoError(t, r.traces.ConsumeTraces(ctx, traces(ordersPod,
		span(tid1, sid1, "GET /a", 0, 100*time.Millisecond, false),
		span(tid2, sid2, "GET /b", 50*time.Millisecond, 200*time.Millisecond, false))))

	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	_ = rl.Resource().Attributes().FromRaw(ordersPod)
	for _, ms := range []time.Duration{20, 70, 150, 500} {
		lr := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
		lr.SetTimestamp(at(ms * time.Millisecond))
		lr.Body().SetStr("working")
	}
	// A pod with no spans at all.
	other := ld.ResourceLogs().AppendEmpty()
	other.Resource().Attributes().PutStr("k8s.pod.uid", "other-uid")
	other.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().SetTimestamp(at(20 * time.Millisecond))
	require.NoError(t, r.logs.ConsumeLogs(ctx, ld))

	recs := allLogs(r.lSink)
	require.Len(t, recs, 5)
	assert.Equal(t, tid1, recs[0].TraceID(), "20ms: only /a")
	assert.True(t, recs[1].TraceID().IsEmpty(), "70ms: ambiguous")
	assert.Equal(t, tid2, recs[2].TraceID(), "150ms: only /b")
	assert.True(t, recs[3].TraceID().IsEmpty(), "500ms: nothing active")
	assert.True(t, recs[4].TraceID().IsEmpty(), "unknown pod")
	for _, i := range []int{1, 3, 4} {
		assert.Empty(t, sourceOf(recs[i]))
	}
	assert.Equal(t, map[string]int64{"inferred": 2, "none": 3}, r.sumByAttr("braid_correlation_logs", "outcome"))

	// The index says how each line went: the linked ones counted by how,
	// the pod's unlinked ones kept with why (not the unknown pod's).
	idx := r.engine().index
	sum, ok := idx.Get(tid1)
	require.True(t, ok)
	assert.Equal(t, correlate.LogLinks{Inferred: 1}, sum.LogLinks)
	lines, complete := idx.UnlinkedLines(podUID, 0, at(time.Hour))
	assert.True(t, complete)
	require.Len(t, lines, 2)
	assert.Equal(t, at(70*time.Millisecond), lines[0].Time)
	assert.Equal(t, correlate.UnlinkedAmbiguous, lines[0].Reason)
	assert.Equal(t, "working", lines[0].Body)
	assert.Equal(t, correlate.UnlinkedNoSpanActive, lines[1].Reason)
	otherLines, _ := idx.UnlinkedLines("other-uid", 0, at(time.Hour))
	assert.Empty(t, otherLines)
}

// A line held for its spans that still finds none is kept with the reason
// of its last try.
func TestHeldLineLeftUnlinkedIsKept(t *testing.T) {
	r := newRig(t, func(c *Config) {
		c.InferLogLinks.Enabled = true
		c.InferLogLinks.Delay = 20 * time.Millisecond
	})
	ctx := context.Background()
	require.NoError(t, r.traces.ConsumeTraces(ctx, traces(ordersPod, span(tid1, sid1, "GET /a", 0, 100*time.Millisecond, false))))
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	_ = rl.Resource().Attributes().FromRaw(ordersPod)
	lr := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.SetTimestamp(at(500 * time.Millisecond))
	lr.Body().SetStr("after the request")
	require.NoError(t, r.logs.ConsumeLogs(ctx, ld))
	lines, _ := r.engine().index.UnlinkedLines(podUID, 0, at(time.Hour))
	require.Len(t, lines, 1)
	assert.Equal(t, correlate.UnlinkedNoSpanActive, lines[0].Reason)
	assert.Equal(t, "after the request", lines[0].Body)
}

func TestUnlinkedLinesWithInferenceOff(t *testing.T) {
	for _, tc := range []struct {
		name  string
		keep  int
		wantN int
	}{
		{"kept", 16, 2},
		{"ring of one", 1, 1},
		{"none kept", 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, func(c *Config) { c.UnlinkedLinesPerPod = tc.keep })
			ctx := context.Background()
			require.NoError(t, r.traces.ConsumeTraces(ctx, traces(ordersPod, span(tid1, sid1, "GET /a", 0, time.Second, false))))
			ld := plog.NewLogs()
			rl := ld.ResourceLogs().AppendEmpty()
			_ = rl.Resource().Attributes().FromRaw(ordersPod)
			lrs := rl.ScopeLogs().AppendEmpty().LogRecords()
			for i, body := range []string{"no context here", `trace_id=4bf92f3577b34da6a3ce929d0e0e4736 linked`, "nor here"} {
				lr := lrs.AppendEmpty()
				lr.SetTimestamp(at(time.Duration(i+1) * 10 * time.Millisecond))
				lr.Body().SetStr(body)
			}
			linked := lrs.AppendEmpty()
			linked.SetTraceID(tid1)
			linked.Body().SetStr("with its own trace id")
			require.NoError(t, r.logs.ConsumeLogs(ctx, ld))

			idx := r.engine().index
			sum, ok := idx.Get(tid1)
			require.True(t, ok)
			assert.Equal(t, correlate.LogLinks{Present: 1, Body: 1}, sum.LogLinks)
			lines, _ := idx.UnlinkedLines(podUID, 0, at(time.Hour))
			require.Len(t, lines, tc.wantN)
			for _, l := range lines {
				assert.Equal(t, correlate.UnlinkedInferenceOff, l.Reason)
			}
			if tc.wantN > 0 {
				assert.Equal(t, "nor here", lines[len(lines)-1].Body)
			}
		})
	}
}

func TestInferenceOffByDefault(t *testing.T) {
	r := newRig(t, nil)
	ctx := context.Background()
	require.NoError(t, r.traces.ConsumeTraces(ctx, traces(ordersPod, span(tid1, sid1, "GET /a", 0, time.Second, false))))
	require.NoError(t, r.logs.ConsumeLogs(ctx, logsFromFile("no context here")))
	recs := allLogs(r.lSink)
	require.Len(t, recs, 1)
	assert.True(t, recs[0].TraceID().IsEmpty())
}

// consumeAsync sends ld in its own request and returns where its answer
// will arrive; a request holding records stays open until they go on.
func consumeAsync(ctx context.Context, r *rig, ld plog.Logs) <-chan error {
	done := make(chan error, 1)
	go func() { done <- r.logs.ConsumeLogs(ctx, ld) }()
	return done
}

// Logs that arrive before their spans wait inside their request, bounded by
// max_delayed_logs, and go on linked once their spans are in; the request
// is answered only then, with its client information kept.
func TestDelayBuffer(t *testing.T) {
	r := newRig(t, func(c *Config) {
		c.InferLogLinks.Enabled = true
		c.InferLogLinks.Delay = time.Hour // requests end by cancellation in this test
		c.InferLogLinks.MaxDelayedLogs = 3
	})
	tenant := client.NewContext(context.Background(), client.Info{
		Addr:     &net.TCPAddr{IP: net.ParseIP("10.1.1.1"), Port: 4317},
		Metadata: client.NewMetadata(map[string][]string{"x-scope-orgid": {"team-a"}}),
	})
	first, cancelFirst := context.WithCancel(tenant)
	defer cancelFirst()
	firstDone := consumeAsync(first, r, logsFromFile("a", "b", `trace_id=4bf92f3577b34da6a3ce929d0e0e4736 c`))
	require.Eventually(t, func() bool { return r.engine().delayed.Load() == 2 }, 10*time.Second, time.Millisecond)

	// Two more: only one fits in the buffer; the other goes on unlinked,
	// with its request, once the held one has waited.
	second, cancelSecond := context.WithCancel(context.Background())
	defer cancelSecond()
	secondDone := consumeAsync(second, r, logsFromFile("d", "e"))
	require.Eventually(t, func() bool { return r.engine().delayed.Load() == 3 }, 10*time.Second, time.Millisecond)
	assert.Zero(t, r.lSink.LogRecordCount(), "nothing goes on while its request waits")

	// The spans arrive; the senders give up waiting, and the held lines go
	// on linked with the rest of their requests.
	require.NoError(t, r.traces.ConsumeTraces(context.Background(), traces(ordersPod, span(tid2, sid2, "job", 0, time.Second, false))))
	cancelFirst()
	require.NoError(t, <-firstDone)
	recs := allLogs(r.lSink)
	require.Len(t, recs, 3)
	bySource := map[string][]string{}
	for _, lr := range recs {
		bySource[sourceOf(lr)] = append(bySource[sourceOf(lr)], lr.Body().Str())
		if sourceOf(lr) == "inferred" {
			assert.Equal(t, tid2, lr.TraceID())
		}
	}
	assert.Equal(t, map[string][]string{"": {`trace_id=4bf92f3577b34da6a3ce929d0e0e4736 c`}, "inferred": {"a", "b"}}, bySource)
	info := client.FromContext(r.lSink.Contexts()[0])
	assert.Equal(t, []string{"team-a"}, info.Metadata.Get("x-scope-orgid"))
	assert.Equal(t, "10.1.1.1:4317", info.Addr.String())

	cancelSecond()
	require.NoError(t, <-secondDone)
	require.Len(t, allLogs(r.lSink), 5)
	assert.Zero(t, r.engine().delayed.Load())
}

// A request's held records go on by themselves once the delay is up; a
// failure downstream is the request's answer, so the sender retries instead
// of holding a success for records that were never passed on.
func TestDelayBufferAnswersWithTheOutcome(t *testing.T) {
	for _, tc := range []struct {
		name string
		next error
	}{
		{name: "delivered", next: nil},
		{name: "refused downstream", next: errors.New("queue is full")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, func(c *Config) {
				c.InferLogLinks.Enabled = true
				c.InferLogLinks.Delay = time.Second
			})
			if tc.next != nil {
				r.refuseLogs(tc.next)
			}
			done := consumeAsync(context.Background(), r, logsFromFile("before the spans"))
			require.Eventually(t, func() bool { return r.engine().delayed.Load() == 1 }, 10*time.Second, time.Millisecond)
			require.NoError(t, r.traces.ConsumeTraces(context.Background(), traces(ordersPod, span(tid1, sid1, "job", 0, time.Second, false))))
			err := <-done
			assert.Zero(t, r.engine().delayed.Load())
			if tc.next != nil {
				assert.ErrorIs(t, err, tc.next)
				return
			}
			require.NoError(t, err)
			recs := allLogs(r.lSink)
			require.Len(t, recs, 1)
			assert.Equal(t, tid1, recs[0].TraceID())
			assert.Equal(t, "inferred", sourceOf(recs[0]))
		})
	}
}

// At shutdown, waiting requests go on at once instead of waiting out their
// delay.
func TestDelayBufferShutdownEndsTheWait(t *testing.T) {
	r := newRig(t, func(c *Config) {
		c.InferLogLinks.Enabled = true
		c.InferLogLinks.Delay = time.Hour
	})
	done := consumeAsync(context.Background(), r, plogWithoutSpansPod("late 1", "late 2"))
	require.Eventually(t, func() bool { return r.engine().delayed.Load() == 2 }, 10*time.Second, time.Millisecond)
	require.NoError(t, r.logs.Shutdown(context.Background()))
	require.NoError(t, <-done)
	recs := allLogs(r.lSink)
	require.Len(t, recs, 2)
	assert.Equal(t, "late 1", recs[0].Body().Str())
	assert.True(t, recs[0].TraceID().IsEmpty())
}

func plogWithoutSpansPod(lines ...string) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("k8s.pod.uid", "quiet-pod")
	sl := rl.ScopeLogs().AppendEmpty()
	for _, l := range lines {
		lr := sl.LogRecords().AppendEmpty()
		lr.Body().SetStr(l)
		lr.SetTimestamp(at(0))
	}
	return ld
}

func TestPodIdentityFromSenderAddress(t *testing.T) {
	r := newRig(t, func(c *Config) {
		c.Pods = []correlate.Pod{{UID: podUID, Name: "orders-0", Namespace: "shop", IP: podIP, NodeName: "node-1", StatefulSetName: "orders", ServiceName: "orders"}}
	})
	ctx := client.NewContext(context.Background(), client.Info{Addr: &net.TCPAddr{IP: net.ParseIP(podIP), Port: 43210}})
	td := traces(map[string]any{}, span(tid1, sid1, "GET /", 0, time.Millisecond, false))
	require.NoError(t, r.traces.ConsumeTraces(ctx, td))
	attrs := r.tSink.AllTraces()[0].ResourceSpans().At(0).Resource().Attributes().AsRaw()
	assert.Equal(t, map[string]any{
		"k8s.pod.uid": podUID, "k8s.pod.name": "orders-0", "k8s.namespace.name": "shop", "k8s.node.name": "node-1",
		"k8s.statefulset.name": "orders", "service.name": "orders",
	}, attrs)

	// An unknown sender leaves the resource alone.
	ctx = client.NewContext(context.Background(), client.Info{Addr: &net.TCPAddr{IP: net.ParseIP("10.9.9.9"), Port: 1}})
	require.NoError(t, r.traces.ConsumeTraces(ctx, traces(map[string]any{"service.name": "x"}, span(tid2, sid2, "GET /", 0, time.Millisecond, false))))
	assert.Equal(t, map[string]any{"service.name": "x"}, r.tSink.AllTraces()[1].ResourceSpans().At(0).Resource().Attributes().AsRaw())

	lookups := map[string]map[string]int64{}
	m, err := r.tel.GetMetric("braid_correlation_pod_lookups")
	require.NoError(t, err)
	for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
		s, _ := dp.Attributes.Value("source")
		res, _ := dp.Attributes.Value("result")
		if lookups[s.AsString()] == nil {
			lookups[s.AsString()] = map[string]int64{}
		}
		lookups[s.AsString()][res.AsString()] = dp.Value
	}
	assert.Equal(t, map[string]int64{"hit": 1, "miss": 1}, lookups["sender_address"])
	assert.Equal(t, map[string]int64{"hit": 1}, lookups["kubernetes"])
	assert.Equal(t, map[string]int64{"miss": 2}, lookups["attributes"])
}

func TestWithPodResolver(t *testing.T) {
	injected := correlate.NewStaticPodResolver([]correlate.Pod{{UID: podUID, Name: "orders-0", Namespace: "shop", NodeName: "node-7", DeploymentName: "orders"}})
	calls := 0
	r := newRig(t, nil, WithPodResolver(func(processor.Settings, *Config) (correlate.PodResolver, error) {
		calls++
		return injected, nil
	}))
	assert.Equal(t, 1, calls, "one resolver per processor ID, shared by the pipelines")
	require.NoError(t, r.traces.ConsumeTraces(context.Background(), traces(map[string]any{"k8s.pod.uid": podUID}, span(tid1, sid1, "GET /", 0, time.Millisecond, false))))
	attrs := r.tSink.AllTraces()[0].ResourceSpans().At(0).Resource().Attributes().AsRaw()
	assert.Equal(t, "node-7", attrs["k8s.node.name"])
	assert.Equal(t, "orders", attrs["k8s.deployment.name"])
}

func TestSplitByLogPath(t *testing.T) {
	r := newRig(t, nil)
	ld := plog.NewLogs()
	sl := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty()
	for _, p := range []string{logPath, "/var/log/pods/shop_cart-1_uid-cart/cart/0.log", logPath, "/var/log/syslog"} {
		lr := sl.LogRecords().AppendEmpty()
		lr.Attributes().PutStr(correlate.AttrLogFilePath, p)
		lr.Body().SetStr(p)
	}
	require.NoError(t, r.logs.ConsumeLogs(context.Background(), ld))
	out := r.lSink.AllLogs()[0]
	assert.Equal(t, 4, out.LogRecordCount())
	byPod := map[string][]string{}
	for i := 0; i < out.ResourceLogs().Len(); i++ {
		rl := out.ResourceLogs().At(i)
		name, _ := rl.Resource().Attributes().Get("k8s.pod.name")
		lrs := rl.ScopeLogs().At(0).LogRecords()
		for k := 0; k < lrs.Len(); k++ {
			byPod[name.Str()] = append(byPod[name.Str()], lrs.At(k).Body().Str())
		}
	}
	assert.Equal(t, map[string][]string{
		"orders-0": {logPath, logPath},
		"cart-1":   {"/var/log/pods/shop_cart-1_uid-cart/cart/0.log"},
		"":         {"/var/log/syslog"},
	}, byPod)
}

func TestEngineReleasedByLastShutdown(t *testing.T) {
	r := newRig(t, nil)
	id := component.NewIDWithName(Type, "test")
	reg := r.state.registry
	ctx := context.Background()
	require.NoError(t, r.traces.Shutdown(ctx))
	require.NoError(t, r.traces.Shutdown(ctx), "idempotent")
	assert.NotNil(t, reg.get(id))
	require.NoError(t, r.logs.Shutdown(ctx))
	assert.NotNil(t, reg.get(id))
	require.NoError(t, r.metrics.Shutdown(ctx))
	assert.Nil(t, reg.get(id), "the last shutdown releases the engine")
}

func pcommonTime(t time.Time) pcommon.Timestamp { return pcommon.NewTimestampFromTime(t) }

func TestIndexSelfMetrics(t *testing.T) {
	r := newRig(t, func(c *Config) { c.MaxTraces = 2; c.MaxLogOnlyTraces = 1; c.Shards = 1 })
	ctx := context.Background()
	for i := range 5 {
		tid := pcommon.TraceID{byte(i + 1)}
		require.NoError(t, r.traces.ConsumeTraces(ctx, traces(ordersPod, span(tid, sid1, "GET /", 0, time.Millisecond, false))))
	}
	// Three lines of traces no span names: two log-only evictions, none of
	// a trace with spans.
	require.NoError(t, r.logs.ConsumeLogs(ctx, logsFromFile(
		"trace_id=11111111111111111111111111111111 a",
		"trace_id=22222222222222222222222222222222 b",
		"trace_id=33333333333333333333333333333333 c")))
	assert.Equal(t, map[string]int64{"capacity": 3, "log_only": 2, "ttl": 0}, r.sumByAttr("braid_correlation_index_evictions", "reason"))
	m, err := r.tel.GetMetric("braid_correlation_index_traces")
	require.NoError(t, err)
	assert.Equal(t, int64(3), m.Data.(metricdata.Gauge[int64]).DataPoints[0].Value, "two with spans, one log-only")
	m, err = r.tel.GetMetric("braid_correlation_delayed_logs")
	require.NoError(t, err)
	assert.Equal(t, int64(0), m.Data.(metricdata.Gauge[int64]).DataPoints[0].Value)
}

// hostWith is a host with extensions.
type hostWith map[component.ID]component.Component

func (h hostWith) GetExtensions() map[component.ID]component.Component { return h }

type resolverExtension struct {
	nopLifecycle
	*correlate.StaticPodResolver
}

func TestPodResolverExtension(t *testing.T) {
	reg := NewRegistry()
	f := NewFactory(WithRegistry(reg))
	cfg := f.CreateDefaultConfig().(*Config)
	cfg.PodResolver = "k8s_pods"
	require.NoError(t, cfg.Validate())
	set := processortest.NewNopSettings(Type)
	sink := new(consumertest.TracesSink)
	tp, err := f.CreateTraces(context.Background(), set, cfg, sink)
	require.NoError(t, err)

	// Not configured: refused at start, naming the key.
	err = tp.Start(context.Background(), hostWith{})
	require.ErrorContains(t, err, `pod_resolver: extension "k8s_pods" is not configured`)
	require.NoError(t, tp.Shutdown(context.Background()))

	tp, err = f.CreateTraces(context.Background(), set, cfg, sink)
	require.NoError(t, err)
	ext := resolverExtension{StaticPodResolver: correlate.NewStaticPodResolver([]correlate.Pod{{UID: podUID, Name: "orders-0", Namespace: "shop", IP: podIP, NodeName: "node-3"}})}
	require.NoError(t, tp.Start(context.Background(), hostWith{component.MustNewID("k8s_pods"): ext}))
	defer func() { require.NoError(t, tp.Shutdown(context.Background())) }()

	ctx := client.NewContext(context.Background(), client.Info{Addr: &net.TCPAddr{IP: net.ParseIP(podIP), Port: 1}})
	require.NoError(t, tp.ConsumeTraces(ctx, traces(map[string]any{}, span(tid1, sid1, "GET /", 0, time.Millisecond, false))))
	attrs := sink.AllTraces()[0].ResourceSpans().At(0).Resource().Attributes().AsRaw()
	assert.Equal(t, "node-3", attrs["k8s.node.name"])

	// The registry the factory was given exposes the running index.
	idx, ok := reg.TraceIndex(set.ID)
	require.True(t, ok)
	_, ok = idx.Get(tid1)
	assert.True(t, ok)
	_, ok = reg.TraceIndex(component.NewIDWithName(Type, "other"))
	assert.False(t, ok)
}

func TestExemplars(t *testing.T) {
	r := newRig(t, func(c *Config) { c.Exemplars.Enabled = true; c.Exemplars.MaxAge = time.Minute })
	ctx := context.Background()
	require.NoError(t, r.traces.ConsumeTraces(ctx, traces(ordersPod,
		span(tid1, sid1, "GET /fast", 0, 20*time.Millisecond, false),
		span(tid2, sid2, "GET /slow", 0, 800*time.Millisecond, false))))

	histogram := func(ms pmetric.MetricSlice, unit string, counts []uint64, ts time.Duration, withExemplar bool) {
		m := ms.AppendEmpty()
		m.SetName("http.server.request.duration")
		m.SetUnit(unit)
		dp := m.SetEmptyHistogram().DataPoints().AppendEmpty()
		dp.SetTimestamp(at(ts))
		dp.ExplicitBounds().FromRaw([]float64{50, 500})
		dp.BucketCounts().FromRaw(counts)
		if withExemplar {
			dp.Exemplars().AppendEmpty().SetTraceID(pcommon.TraceID{9})
		}
	}
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	require.NoError(t, rm.Resource().Attributes().FromRaw(ordersPod))
	ms := rm.ScopeMetrics().AppendEmpty().Metrics()
	histogram(ms, "ms", []uint64{5, 0, 1}, time.Second, false)    // 0: both buckets with a span
	histogram(ms, "ms", []uint64{0, 7, 0}, time.Second, false)    // 1: (50, 500]: no span that long
	histogram(ms, "By", []uint64{5, 0, 1}, time.Second, false)    // 2: not a time unit
	histogram(ms, "ms", []uint64{5, 0, 1}, time.Second, true)     // 3: has its own exemplar
	histogram(ms, "ms", []uint64{5, 0, 1}, 10*time.Minute, false) // 4: spans too old for this point
	g := ms.AppendEmpty()                                         // 5: gauges are left alone
	g.SetName("queue.depth")
	g.SetEmptyGauge().DataPoints().AppendEmpty().SetIntValue(3)
	require.NoError(t, r.metrics.ConsumeMetrics(ctx, md))

	out := r.mSink.AllMetrics()[0].ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics()
	exs := out.At(0).Histogram().DataPoints().At(0).Exemplars()
	require.Equal(t, 2, exs.Len())
	assert.Equal(t, tid2, exs.At(0).TraceID(), "highest bucket first")
	assert.InDelta(t, 800, exs.At(0).DoubleValue(), 1e-9)
	assert.Equal(t, tid1, exs.At(1).TraceID())
	assert.InDelta(t, 20, exs.At(1).DoubleValue(), 1e-9)
	assert.Zero(t, out.At(1).Histogram().DataPoints().At(0).Exemplars().Len())
	assert.Zero(t, out.At(2).Histogram().DataPoints().At(0).Exemplars().Len())
	assert.Equal(t, 1, out.At(3).Histogram().DataPoints().At(0).Exemplars().Len())
	assert.Equal(t, pcommon.TraceID{9}, out.At(3).Histogram().DataPoints().At(0).Exemplars().At(0).TraceID())
	for _, id := range []pcommon.TraceID{tid1, tid2} {
		sum, _ := r.engine().index.Get(id)
		assert.Equal(t, 1, sum.Exemplars, "the index counts the exemplar that points at %s", id)
	}
	assert.Zero(t, out.At(4).Histogram().DataPoints().At(0).Exemplars().Len())
	assert.Zero(t, out.At(5).Gauge().DataPoints().At(0).Exemplars().Len())
}

func TestExemplarsOnExponentialHistograms(t *testing.T) {
	r := newRig(t, func(c *Config) { c.Exemplars.Enabled = true; c.Exemplars.MaxAge = time.Minute })
	ctx := context.Background()
	require.NoError(t, r.traces.ConsumeTraces(ctx, traces(ordersPod,
		span(tid1, sid1, "GET /fast", 0, 20*time.Millisecond, false),
		span(tid2, sid2, "GET /slow", 0, 800*time.Millisecond, false))))

	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	require.NoError(t, rm.Resource().Attributes().FromRaw(ordersPod))
	m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName("http.server.request.duration")
	m.SetUnit("ms")
	dp := m.SetEmptyExponentialHistogram().DataPoints().AppendEmpty()
	dp.SetTimestamp(at(time.Second))
	// Scale 0: bucket i covers (2^i, 2^(i+1)] ms. Offset 4: (16, 32], (32, 64],
	// (64, 128], (128, 256], (256, 512], (512, 1024].
	dp.SetScale(0)
	dp.Positive().SetOffset(4)
	dp.Positive().BucketCounts().FromRaw([]uint64{3, 2, 0, 0, 1, 1})
	dp.SetZeroCount(4)
	require.NoError(t, r.metrics.ConsumeMetrics(ctx, md))

	exs := r.mSink.AllMetrics()[0].ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).
		ExponentialHistogram().DataPoints().At(0).Exemplars()
	require.Equal(t, 2, exs.Len(), "(512, 1024] and (16, 32] have a span; (32, 64] and (256, 512] have none")
	assert.Equal(t, tid2, exs.At(0).TraceID(), "highest bucket first")
	assert.InDelta(t, 800, exs.At(0).DoubleValue(), 1e-9)
	assert.Equal(t, tid1, exs.At(1).TraceID())
	assert.InDelta(t, 20, exs.At(1).DoubleValue(), 1e-9)
	assert.Equal(t, "inferred", exs.At(1).FilteredAttributes().AsRaw()["braid.trace_context.source"])
}

func TestLogPathOnTheResource(t *testing.T) {
	r := newRig(t, nil)
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr(correlate.AttrLogFilePath, logPath)
	rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Body().SetStr("hello")
	require.NoError(t, r.logs.ConsumeLogs(context.Background(), ld))
	attrs := r.lSink.AllLogs()[0].ResourceLogs().At(0).Resource().Attributes().AsRaw()
	assert.Equal(t, podUID, attrs["k8s.pod.uid"])
	assert.Equal(t, "orders", attrs["k8s.container.name"])
}
