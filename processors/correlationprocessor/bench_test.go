package correlationprocessor

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor/processortest"
)

// benchLogs is a 1,000-record request from 10 pods: a third carry IDs in
// their TraceID field, a third print them in a JSON body, a third are text
// lines without any.
func benchLogs() []byte {
	ld := plog.NewLogs()
	for p := range 10 {
		rl := ld.ResourceLogs().AppendEmpty()
		attrs := rl.Resource().Attributes()
		attrs.PutStr("k8s.pod.uid", fmt.Sprintf("00000000-0000-0000-0000-%012d", p))
		attrs.PutStr("k8s.pod.name", fmt.Sprintf("orders-%d", p))
		attrs.PutStr("k8s.namespace.name", "shop")
		attrs.PutStr("service.name", "orders")
		sl := rl.ScopeLogs().AppendEmpty()
		for i := range 100 {
			lr := sl.LogRecords().AppendEmpty()
			lr.SetTimestamp(pcommon.NewTimestampFromTime(epoch.Add(time.Duration(i) * time.Millisecond)))
			lr.SetSeverityText("INFO")
			lr.Attributes().PutStr("log.iostream", "stdout")
			var tid pcommon.TraceID
			tid[0], tid[1], tid[15] = byte(p+1), byte(i), 1
			switch i % 3 {
			case 0:
				lr.SetTraceID(tid)
				lr.SetSpanID(pcommon.SpanID{1, byte(i)})
				lr.Body().SetStr("order placed")
			case 1:
				lr.Body().SetStr(fmt.Sprintf(`{"time":"2024-05-01T10:00:00.123Z","level":"INFO","msg":"order placed","order_id":%d,"trace_id":"%s","span_id":"00f067aa0ba902b7"}`, i, tid))
			default:
				lr.Body().SetStr(fmt.Sprintf("2024-05-01T10:00:00.123Z INFO [http-nio-8080-exec-1] c.e.OrderService - order %d written in 3ms", i))
			}
		}
	}
	b, err := (&plog.ProtoMarshaler{}).MarshalLogs(ld)
	if err != nil {
		panic(err)
	}
	return b
}

func benchTraces() []byte {
	td := ptrace.NewTraces()
	for p := range 10 {
		rs := td.ResourceSpans().AppendEmpty()
		attrs := rs.Resource().Attributes()
		attrs.PutStr("k8s.pod.uid", fmt.Sprintf("00000000-0000-0000-0000-%012d", p))
		attrs.PutStr("service.name", "orders")
		ss := rs.ScopeSpans().AppendEmpty()
		for i := range 100 {
			s := ss.Spans().AppendEmpty()
			var tid pcommon.TraceID
			tid[0], tid[1], tid[15] = byte(p+1), byte(i/4), 1
			s.SetTraceID(tid)
			s.SetSpanID(pcommon.SpanID{byte(p), byte(i), 1})
			if i%4 != 0 {
				s.SetParentSpanID(pcommon.SpanID{byte(p), byte(i - i%4), 1})
			}
			s.SetName("GET /orders")
			s.SetStartTimestamp(pcommon.NewTimestampFromTime(epoch))
			s.SetEndTimestamp(pcommon.NewTimestampFromTime(epoch.Add(time.Duration(i) * time.Millisecond)))
			s.Attributes().PutStr("http.request.method", "GET")
			s.Attributes().PutInt("http.response.status_code", 200)
		}
	}
	b, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(td)
	if err != nil {
		panic(err)
	}
	return b
}

// encodingLogs is the work a pipeline does around a processor: decode the
// request the receiver got (in the benchmark loop), encode what the
// exporter sends and, when gz is set, compress it as the OTLP exporters do
// by default.
type encodingLogs struct {
	n  int
	gz *gzip.Writer
}

func (e *encodingLogs) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }
func (e *encodingLogs) ConsumeLogs(_ context.Context, ld plog.Logs) error {
	b, err := (&plog.ProtoMarshaler{}).MarshalLogs(ld)
	e.n += len(b)
	if err == nil && e.gz != nil {
		e.gz.Reset(io.Discard)
		_, err = e.gz.Write(b)
		err = errors.Join(err, e.gz.Close())
	}
	return err
}

var sinkN int

// reportCPU reports the process's CPU time (user and system, every thread,
// garbage collection included) per operation as cpu-ns/op. On a machine
// shared with other work, wall-clock ns/op counts the time spent waiting
// for a core; CPU time does not, so it is the figure to compare.
func reportCPU(b *testing.B) func() {
	start := cpuTime()
	return func() {
		if n := b.N; n > 0 {
			b.ReportMetric(float64(cpuTime()-start)/float64(n), "cpu-ns/op")
		}
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkLogsPipeline compares one 1,000-record batch through a pipeline
// (decode, processor, encode, and gzip in the gzip variant) with and
// without the correlation processor. The ratio of the two cpu-ns/op
// figures is the processor's extra CPU.
func BenchmarkLogsPipeline(b *testing.B) {
	req := benchLogs()
	for _, variant := range []string{"encode", "encode_gzip"} {
		for _, withProcessor := range []bool{false, true} {
			name := variant + "/without_correlation"
			if withProcessor {
				name = variant + "/with_correlation"
			}
			b.Run(name, func(b *testing.B) {
				benchLogsPipeline(b, req, variant == "encode_gzip", withProcessor)
			})
		}
	}
}

func benchLogsPipeline(b *testing.B, req []byte, gz, withProcessor bool) {
	sink := &encodingLogs{}
	if gz {
		sink.gz = gzip.NewWriter(io.Discard)
	}
	var next consumer.Logs = sink
	if withProcessor {
		cfg := createDefaultConfig().(*Config)
		set := processortest.NewNopSettings(Type)
		p, err := NewFactory().CreateLogs(context.Background(), set, cfg, sink)
		require.NoError(b, err)
		require.NoError(b, p.Start(context.Background(), componenttest.NewNopHost()))
		b.Cleanup(func() { require.NoError(b, p.Shutdown(context.Background())) })
		next = p
	}
	u := &plog.ProtoUnmarshaler{}
	b.ReportAllocs()
	b.SetBytes(int64(len(req)))
	defer reportCPU(b)()
	for b.Loop() {
		ld, err := u.UnmarshalLogs(req)
		if err != nil {
			b.Fatal(err)
		}
		if err := next.ConsumeLogs(context.Background(), ld); err != nil {
			b.Fatal(err)
		}
	}
	sinkN = sink.n
}

// BenchmarkProcessLogs is the processor alone on a 1,000-record batch
// (wall time only: the batches are decoded with the timer stopped).
func BenchmarkProcessLogs(b *testing.B) {
	req := benchLogs()
	e, err := newEngine(createDefaultConfig().(*Config), componenttest.NewNopTelemetrySettings(), nil, time.Now)
	require.NoError(b, err)
	p := newLogsProcessor(newBase(e, newRegistry(), component.NewID(Type)), consumertest.NewNop(), nil)
	u := &plog.ProtoUnmarshaler{}
	batches := make([]plog.Logs, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		if len(batches) == 0 {
			for range 64 {
				ld, _ := u.UnmarshalLogs(req)
				batches = append(batches, ld)
			}
		}
		ld := batches[len(batches)-1]
		batches = batches[:len(batches)-1]
		b.StartTimer()
		if _, err := p.process(context.Background(), ld); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkProcessTraces is the processor alone on a 1,000-span batch.
func BenchmarkProcessTraces(b *testing.B) {
	req := benchTraces()
	e, err := newEngine(createDefaultConfig().(*Config), componenttest.NewNopTelemetrySettings(), nil, time.Now)
	require.NoError(b, err)
	p := &tracesProcessor{base: newBase(e, newRegistry(), component.NewID(Type))}
	td, err := (&ptrace.ProtoUnmarshaler{}).UnmarshalTraces(req)
	require.NoError(b, err)
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		if _, err := p.process(context.Background(), td); err != nil {
			b.Fatal(err)
		}
	}
}

type encodingTraces struct {
	n  int
	gz *gzip.Writer
}

func (e *encodingTraces) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }
func (e *encodingTraces) ConsumeTraces(_ context.Context, td ptrace.Traces) error {
	b, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(td)
	e.n += len(b)
	if err == nil && e.gz != nil {
		e.gz.Reset(io.Discard)
		_, err = e.gz.Write(b)
		err = errors.Join(err, e.gz.Close())
	}
	return err
}

// BenchmarkTracesPipeline is BenchmarkLogsPipeline for 1,000 spans.
func BenchmarkTracesPipeline(b *testing.B) {
	req := benchTraces()
	for _, variant := range []string{"encode", "encode_gzip"} {
		for _, withProcessor := range []bool{false, true} {
			name := variant + "/without_correlation"
			if withProcessor {
				name = variant + "/with_correlation"
			}
			b.Run(name, func(b *testing.B) {
				benchTracesPipeline(b, req, variant == "encode_gzip", withProcessor)
			})
		}
	}
}

func benchTracesPipeline(b *testing.B, req []byte, gz, withProcessor bool) {
	sink := &encodingTraces{}
	if gz {
		sink.gz = gzip.NewWriter(io.Discard)
	}
	var next consumer.Traces = sink
	if withProcessor {
		p, err := NewFactory().CreateTraces(context.Background(), processortest.NewNopSettings(Type), createDefaultConfig(), sink)
		require.NoError(b, err)
		require.NoError(b, p.Start(context.Background(), componenttest.NewNopHost()))
		b.Cleanup(func() { require.NoError(b, p.Shutdown(context.Background())) })
		next = p
	}
	u := &ptrace.ProtoUnmarshaler{}
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		td, err := u.UnmarshalTraces(req)
		if err != nil {
			b.Fatal(err)
		}
		if err := next.ConsumeTraces(context.Background(), td); err != nil {
			b.Fatal(err)
		}
	}
	sinkN = sink.n
}
