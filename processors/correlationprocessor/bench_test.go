package correlationprocessor

import (
	"compress/gzip"
	"context"
	"encoding/binary"
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
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/braidobs/braid/correlate"
)

// benchLogs is a 1,000-record request from 10 pods, 100 lines each, logged
// by requests of six lines: four carry the request's trace ID (two in their
// TraceID field, two printed in a JSON body) and two are text lines without
// any. Trace IDs are spread over the index's shards as random ones are.
func benchLogs() []byte { return benchLogsOf(0) }

// benchLogsOf is benchLogs with the trace IDs of batch n: 170 traces no
// other batch has.
func benchLogsOf(n int) []byte {
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
			tid[0] = byte(p + 1)
			binary.BigEndian.PutUint64(tid[8:], uint64(n*10_000+p*1000+i/6+1)*0x9e3779b97f4a7c15)
			switch i % 6 {
			case 0, 3:
				lr.SetTraceID(tid)
				lr.SetSpanID(pcommon.SpanID{1, byte(i)})
				lr.Body().SetStr("order placed")
			case 1, 4:
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

// benchTraces is a 1,000-span request from 10 pods: traces of four spans,
// their IDs spread over the index's shards as random ones are.
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
			tid[0] = byte(p + 1)
			binary.BigEndian.PutUint64(tid[8:], uint64(p*1000+i/4+1)*0x9e3779b97f4a7c15)
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

// pipelineSignal is what a pipeline benchmark needs of a signal.
type pipelineSignal[T any] struct {
	// requests are decoded in turn, one per operation.
	requests [][]byte
	decode   func([]byte) (T, error)
	encode   func(T) ([]byte, error)
	// correlation starts the correlation processor in front of next and
	// returns its consume function.
	correlation func(b *testing.B, next func(context.Context, T) error) func(context.Context, T) error
	// more are further stages to compare, such as other configurations.
	more []pipelineStage[T]
}

// pipelineStage is what a pipeline benchmark puts between decode and
// encode: wrap returns the consume function of a stage in front of next
// (nil: nothing).
type pipelineStage[T any] struct {
	name string
	wrap func(b *testing.B, next func(context.Context, T) error) func(context.Context, T) error
}

// benchPipeline compares one 1,000-item batch through a pipeline with and
// without the correlation processor: decode the request the receiver got,
// (process,) encode what the exporter sends and, in the gzip variant,
// compress it as the OTLP exporters do by default. The ratio of the two
// cpu-ns/op figures is the processor's extra CPU.
func benchPipeline[T any](b *testing.B, sig pipelineSignal[T]) {
	stages := append([]pipelineStage[T]{{"without_correlation", nil}, {"with_correlation", sig.correlation}}, sig.more...)
	for _, variant := range []string{"encode", "encode_gzip"} {
		for _, stage := range stages {
			b.Run(variant+"/"+stage.name, func(b *testing.B) {
				var gz *gzip.Writer
				if variant == "encode_gzip" {
					gz = gzip.NewWriter(io.Discard)
				}
				n := 0
				next := func(_ context.Context, v T) error {
					buf, err := sig.encode(v)
					n += len(buf)
					if err == nil && gz != nil {
						gz.Reset(io.Discard)
						_, err = gz.Write(buf)
						err = errors.Join(err, gz.Close())
					}
					return err
				}
				if stage.wrap != nil {
					next = stage.wrap(b, next)
				}
				b.ReportAllocs()
				b.SetBytes(int64(len(sig.requests[0])))
				defer reportCPU(b)()
				for i := 0; b.Loop(); i++ {
					v, err := sig.decode(sig.requests[i%len(sig.requests)])
					if err != nil {
						b.Fatal(err)
					}
					if err := next(context.Background(), v); err != nil {
						b.Fatal(err)
					}
				}
				sinkN = n
			})
		}
	}
}

// startForBench starts a component and stops it when the benchmark ends.
func startForBench(b *testing.B, c component.Component, err error) {
	require.NoError(b, err)
	require.NoError(b, c.Start(context.Background(), componenttest.NewNopHost()))
	b.Cleanup(func() { require.NoError(b, c.Shutdown(context.Background())) })
}

// BenchmarkLogsPipeline is benchPipeline on benchLogs.
func BenchmarkLogsPipeline(b *testing.B) {
	benchPipeline(b, pipelineSignal[plog.Logs]{
		requests: [][]byte{benchLogs()},
		decode:   (&plog.ProtoUnmarshaler{}).UnmarshalLogs,
		encode:   (&plog.ProtoMarshaler{}).MarshalLogs,
		correlation: func(b *testing.B, next func(context.Context, plog.Logs) error) func(context.Context, plog.Logs) error {
			return startLogsForBench(b, createDefaultConfig().(*Config), next)
		},
		more: []pipelineStage[plog.Logs]{
			{"with_correlation_source_all", func(b *testing.B, next func(context.Context, plog.Logs) error) func(context.Context, plog.Logs) error {
				cfg := createDefaultConfig().(*Config)
				cfg.TraceContext.SourceAttribute = SourceAttributeAll
				return startLogsForBench(b, cfg, next)
			}},
			{"writes_only", logWritesOnly},
		},
	})
}

// BenchmarkLogsPipelineNewTraces is BenchmarkLogsPipeline's comparison on
// requests whose traces the index has not seen: 1,024 batches of 170 new
// traces each, more than the index's 100,000, so that in the steady state
// every new trace evicts an old one, as a gateway's index does under logs of
// traces whose spans it never gets (sampled out, say). BenchmarkLogsPipeline
// repeats one request, whose traces are always in the index already.
//
// The 1,024 requests (about 150 MiB) stay live, which makes garbage
// collection far rarer than in BenchmarkLogsPipeline: compare this
// benchmark's stages with each other only.
func BenchmarkLogsPipelineNewTraces(b *testing.B) {
	reqs := make([][]byte, 1024)
	for i := range reqs {
		reqs[i] = benchLogsOf(i + 1)
	}
	benchPipeline(b, pipelineSignal[plog.Logs]{
		requests: reqs,
		decode:   (&plog.ProtoUnmarshaler{}).UnmarshalLogs,
		encode:   (&plog.ProtoMarshaler{}).MarshalLogs,
		correlation: func(b *testing.B, next func(context.Context, plog.Logs) error) func(context.Context, plog.Logs) error {
			return startLogsForBench(b, createDefaultConfig().(*Config), next)
		},
	})
}

// startLogsForBench starts a logs processor with cfg in front of next.
func startLogsForBench(b *testing.B, cfg *Config, next func(context.Context, plog.Logs) error) func(context.Context, plog.Logs) error {
	sink, err := consumer.NewLogs(next)
	require.NoError(b, err)
	p, err := NewFactory().CreateLogs(context.Background(), processortest.NewNopSettings(Type), cfg, sink)
	startForBench(b, p, err)
	return p.ConsumeLogs
}

// logWritesOnly returns a stage that writes into each record of a decoded
// benchLogs request what the correlation processor writes there (trace and
// span IDs, the source attribute), found beforehand by running the
// processor once. It checks that the output is the processor's, byte for
// byte.
func logWritesOnly(b *testing.B, next func(context.Context, plog.Logs) error) func(context.Context, plog.Logs) error {
	req := benchLogs()
	u, m := &plog.ProtoUnmarshaler{}, &plog.ProtoMarshaler{}
	e, err := newEngine(createDefaultConfig().(*Config), componenttest.NewNopTelemetrySettings(), nil, time.Now, nil)
	require.NoError(b, err)
	p := newLogsProcessor(newBase(e, newRegistry(), component.NewID(Type)))
	processed, err := u.UnmarshalLogs(req)
	require.NoError(b, err)
	processed, err = p.process(context.Background(), processed)
	require.NoError(b, err)

	type write struct {
		i, j, k int
		tid     pcommon.TraceID
		sid     pcommon.SpanID
		source  string
	}
	var writes []write
	rls := processed.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		sls := rls.At(i).ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				lr := lrs.At(k)
				if v, ok := lr.Attributes().Get(correlate.SourceAttributeKey); ok {
					writes = append(writes, write{i, j, k, lr.TraceID(), lr.SpanID(), v.Str()})
				}
			}
		}
	}
	require.NotEmpty(b, writes)
	apply := func(ld plog.Logs) {
		rls := ld.ResourceLogs()
		for _, w := range writes {
			lr := rls.At(w.i).ScopeLogs().At(w.j).LogRecords().At(w.k)
			lr.SetTraceID(w.tid)
			lr.SetSpanID(w.sid)
			lr.Attributes().PutStr(correlate.SourceAttributeKey, w.source)
		}
	}
	ld, err := u.UnmarshalLogs(req)
	require.NoError(b, err)
	apply(ld)
	want, err := m.MarshalLogs(processed)
	require.NoError(b, err)
	got, err := m.MarshalLogs(ld)
	require.NoError(b, err)
	require.Equal(b, want, got, "the writes alone must give the processor's output")
	return func(ctx context.Context, ld plog.Logs) error {
		apply(ld)
		return next(ctx, ld)
	}
}

// BenchmarkTracesPipeline is benchPipeline on benchTraces.
func BenchmarkTracesPipeline(b *testing.B) {
	benchPipeline(b, pipelineSignal[ptrace.Traces]{
		requests: [][]byte{benchTraces()},
		decode:   (&ptrace.ProtoUnmarshaler{}).UnmarshalTraces,
		encode:   (&ptrace.ProtoMarshaler{}).MarshalTraces,
		correlation: func(b *testing.B, next func(context.Context, ptrace.Traces) error) func(context.Context, ptrace.Traces) error {
			sink, err := consumer.NewTraces(next)
			require.NoError(b, err)
			p, err := NewFactory().CreateTraces(context.Background(), processortest.NewNopSettings(Type), createDefaultConfig(), sink)
			startForBench(b, p, err)
			return p.ConsumeTraces
		},
	})
}

// BenchmarkProcessLogs is the processor alone on a 1,000-record batch
// (wall time only: the batches are decoded with the timer stopped).
func BenchmarkProcessLogs(b *testing.B) {
	req := benchLogs()
	e, err := newEngine(createDefaultConfig().(*Config), componenttest.NewNopTelemetrySettings(), nil, time.Now, nil)
	require.NoError(b, err)
	p := newLogsProcessor(newBase(e, newRegistry(), component.NewID(Type)))
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
	e, err := newEngine(createDefaultConfig().(*Config), componenttest.NewNopTelemetrySettings(), nil, time.Now, nil)
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
