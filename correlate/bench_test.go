package correlate_test

import (
	"runtime"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/braidobs/braid/correlate"
)

var sinkTC correlate.TraceContext

// reportCPU reports the process's CPU time per operation as cpu-ns/op: on
// a machine shared with other work, wall-clock ns/op also counts the time
// spent waiting for a core.
func reportCPU(b *testing.B) func() {
	start := cpuTime()
	return func() {
		if d := cpuTime() - start; d > 0 && b.N > 0 {
			b.ReportMetric(float64(d)/float64(b.N), "cpu-ns/op")
		}
	}
}

func BenchmarkExtract(b *testing.B) {
	withID := plog.NewLogRecord()
	withID.SetTraceID(wantTID)
	withID.SetSpanID(wantSID)
	withID.Body().SetStr("GET /orders 200 12ms")

	short := plog.NewLogRecord()
	short.Body().SetStr("GET /healthz 200 1.2ms")
	short.Attributes().PutStr("log.iostream", "stdout")
	short.Attributes().PutStr("logtag", "F")

	text := plog.NewLogRecord()
	text.Body().SetStr("2024-05-01T10:00:00.123Z INFO  [http-nio-8080-exec-1] c.e.OrderService - Order 1042 placed for customer 77 in 12ms, total 31.50 EUR")

	attrs := plog.NewLogRecord()
	attrs.Attributes().PutStr("trace_id", tHex)
	attrs.Attributes().PutStr("span_id", sHex)
	attrs.Body().SetStr("order placed")

	jsonID := plog.NewLogRecord()
	jsonID.Body().SetStr(bodyCases[0].body)
	jsonNoID := plog.NewLogRecord()
	jsonNoID.Body().SetStr(`{"time":"2024-05-01T10:00:00.123456789Z","level":"INFO","msg":"order placed","order_id":1042,"customer":"77","total":31.5}`)
	logfmt := plog.NewLogRecord()
	logfmt.Body().SetStr(bodyCases[2].body)
	python := plog.NewLogRecord()
	python.Body().SetStr(bodyCases[9].body)
	family := func(name string) plog.LogRecord {
		for _, fc := range familyCases {
			if fc.name == name {
				lr := plog.NewLogRecord()
				lr.Body().SetStr(fc.body)
				return lr
			}
		}
		b.Fatalf("no family case %q", name)
		return plog.LogRecord{}
	}

	for _, bc := range []struct {
		name string
		lr   plog.LogRecord
	}{
		{"present", withID},
		{"short_no_id", short},
		{"text_no_id", text},
		{"attributes", attrs},
		{"json_with_id", jsonID},
		{"json_no_id", jsonNoID},
		{"logfmt", logfmt},
		{"python_default", python},
		{"datadog_text", family("datadog python default")},
		{"datadog_nested_json", family("datadog node pino nested")},
		{"xray_powertools_json", family("powertools python json")},
		{"ecs_nested_json", family("ecs nested")},
		{"sleuth_text", family("sleuth 2 pattern with exportable")},
		{"container_id_json", family("container id")},
		{"image_digest_text", family("image digest")},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			defer reportCPU(b)()
			for b.Loop() {
				sinkTC = correlate.ExtractTraceContext(bc.lr)
			}
		})
	}
}

func BenchmarkTraceIndexAddSpan(b *testing.B) {
	idx, _ := newIndex(b, func(c *correlate.IndexConfig) { c.MaxTraces = 100_000 })
	recs := make([]correlate.SpanRecord, 4096)
	for i := range recs {
		recs[i] = correlate.SpanRecord{TraceID: traceID(uint64(i / 4)), SpanID: spanID(uint64(i)), Name: "GET /orders", Service: "shop/orders", PodKey: "uid-" + string(rune('a'+i%16)), Start: ts(0), End: ts(time.Millisecond)}
	}
	b.ReportAllocs()
	defer reportCPU(b)()
	i := 0
	for b.Loop() {
		idx.AddSpan(&recs[i%len(recs)])
		i++
	}
}

var sinkIndex *correlate.TraceIndex

// BenchmarkTraceIndexMemory fills an index bounded at one million traces
// with twice as many, and reports the heap it holds per trace. Run it with
// -benchtime=1x.
func BenchmarkTraceIndexMemory(b *testing.B) {
	const max = 1_000_000
	for b.Loop() {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		idx, _ := newIndex(b, func(c *correlate.IndexConfig) { c.MaxTraces = max; c.MaxKeys = 1000 })
		r := correlate.SpanRecord{Name: "GET /orders", Service: "shop/orders", Start: ts(0), End: ts(time.Millisecond)}
		pods := []string{"uid-a", "uid-b", "uid-c", "uid-d"}
		for i := range uint64(2 * max) {
			r.TraceID, r.SpanID, r.PodKey = traceID(i), spanID(i), pods[i%4]
			idx.AddSpan(&r)
		}
		if idx.Len() > max {
			b.Fatalf("index holds %d traces, bound is %d", idx.Len(), max)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(idx.Len()), "heap-bytes/trace")
		b.ReportMetric(float64(idx.Len()), "traces")
		b.ReportMetric(float64(idx.Stats().EvictedCapacity), "evicted")
		sinkIndex = idx
	}
}

// BenchmarkTraceIndexAddLogs counts batches of 100 log lines from one pod
// in an index holding 100,000 traces. In "known_traces" the lines belong to
// traces the index holds already (their spans came first, or earlier lines
// did); in "new_traces" every line names a trace the index has not seen, so
// each one creates an entry and evicts the oldest: the worst case.
func BenchmarkTraceIndexAddLogs(b *testing.B) {
	const batch = 100
	for _, fresh := range []bool{false, true} {
		name := "known_traces"
		if fresh {
			name = "new_traces"
		}
		b.Run(name, func(b *testing.B) {
			// Log-only traces bounded like traces with spans, as the
			// index did before they had their own bound.
			idx, _ := newIndex(b, func(c *correlate.IndexConfig) { c.MaxTraces, c.MaxLogOnlyTraces = 100_000, 100_000 })
			ids := make([]pcommon.TraceID, batch)
			next := uint64(0)
			fill := func() {
				for i := range ids {
					ids[i] = traceID(next)
					if next++; !fresh && next == 100_000 {
						// Round again through the newest half of the
						// traces held, which no shard has evicted.
						next = 50_000
					}
				}
			}
			// Fill the index to its bound first.
			for range 100_000 / batch {
				fill()
				idx.AddLogs(ids, "3f1c9a52-7d7e-4c0e-9a51-2b1f7a6c1d42", "orders")
			}
			evicted := idx.Stats().EvictedCapacity
			b.ReportAllocs()
			defer reportCPU(b)()
			for b.Loop() {
				fill()
				idx.AddLogs(ids, "3f1c9a52-7d7e-4c0e-9a51-2b1f7a6c1d42", "orders")
			}
			if more := idx.Stats().EvictedCapacity - evicted; fresh != (more > 0) {
				b.Fatalf("%d evictions while adding lines of %s", more, name)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/line")
		})
	}
}

// BenchmarkTraceIndexLogOnlyFlood adds lines whose trace IDs no span ever
// names (what head sampling leaves in logs) to an index full of traces with
// spans, at the default bounds: each line creates a log-only entry and
// evicts another, and no trace with spans, nor the pod's history, changes.
func BenchmarkTraceIndexLogOnlyFlood(b *testing.B) {
	const batch, spanned = 100, 100_000
	idx, _ := newIndex(b, nil)
	recs := make([]correlate.SpanRecord, batch)
	for n := 0; n < spanned; n += batch {
		for i := range recs {
			id := uint64(n + i)
			recs[i] = correlate.SpanRecord{TraceID: traceID(id), SpanID: spanID(id), PodKey: "3f1c9a52-7d7e-4c0e-9a51-2b1f7a6c1d42", Service: "orders", Start: ts(0), End: ts(time.Millisecond)}
		}
		idx.AddSpans(recs)
	}
	// The shards are not filled evenly: count what the spans evicted.
	st0 := idx.Stats()
	history := idx.TracesForPod("3f1c9a52-7d7e-4c0e-9a51-2b1f7a6c1d42", correlate.Query{})
	ids := make([]pcommon.TraceID, batch)
	next := uint64(1 << 40)
	flood := func() {
		for i := range ids {
			ids[i] = traceID(next)
			next++
		}
		idx.AddLogs(ids, "3f1c9a52-7d7e-4c0e-9a51-2b1f7a6c1d42", "orders")
	}
	// Fill the log-only bound first: the loop measures the steady state.
	for range 2 * correlate.DefaultIndexConfig().MaxLogOnlyTraces / batch {
		flood()
	}
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		flood()
	}
	st := idx.Stats()
	if st.EvictedCapacity-st0.EvictedCapacity != st.EvictedLogOnly {
		b.Fatalf("%d traces with spans evicted by log-only ones", st.EvictedCapacity-st0.EvictedCapacity-st.EvictedLogOnly)
	}
	if st.Traces-st.LogOnlyTraces != st0.Traces {
		b.Fatalf("traces with spans: %d before the flood, %d after", st0.Traces, st.Traces-st.LogOnlyTraces)
	}
	if got := idx.TracesForPod("3f1c9a52-7d7e-4c0e-9a51-2b1f7a6c1d42", correlate.Query{}); len(got) != len(history) || got[0].TraceID != history[0].TraceID {
		b.Fatalf("the pod's history changed under the flood")
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/line")
	b.ReportMetric(float64(st0.Traces), "span-backed-kept")
}

// unlinkedSink keeps benchmark results alive.
var unlinkedSink []correlate.UnlinkedLine

// BenchmarkTraceIndexAddUnlinked keeps batches of 100 unlinked lines (a
// resource's lines without trace context, inference off) of one pod whose
// ring is full: the steady state, where each batch overwrites the ring.
func BenchmarkTraceIndexAddUnlinked(b *testing.B) {
	const batch = 100
	idx, _ := newIndex(b, nil)
	pod := "3f1c9a52-7d7e-4c0e-9a51-2b1f7a6c1d42"
	idx.AddSpan(&correlate.SpanRecord{TraceID: traceID(1), SpanID: spanID(1), PodKey: pod, Start: ts(0), End: ts(time.Millisecond)})
	lines := make([]correlate.UnlinkedLine, batch)
	for i := range lines {
		lines[i] = correlate.UnlinkedLine{Time: ts(time.Duration(i) * time.Millisecond), Reason: correlate.UnlinkedInferenceOff,
			Body: `level=info msg="cache refreshed" entries=1024 took=3.2ms component=pricing-cache region=eu-west-1`}
	}
	idx.AddUnlinked(lines, pod)
	b.ReportAllocs()
	for b.Loop() {
		idx.AddUnlinked(lines, pod)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/line")
	unlinkedSink, _ = idx.UnlinkedLines(pod, 0, ts(time.Hour))
}

// BenchmarkTraceIndexInferLink asks for the span active in a pod whose
// history of 128 spans is full, at an instant where none is (the answer
// that leaves a line unlinked, and scans the whole history).
func BenchmarkTraceIndexInferLink(b *testing.B) {
	idx, _ := newIndex(b, nil)
	pod := "3f1c9a52-7d7e-4c0e-9a51-2b1f7a6c1d42"
	for i := range uint64(128) {
		at := time.Duration(i) * 10 * time.Millisecond
		idx.AddSpan(&correlate.SpanRecord{TraceID: traceID(i), SpanID: spanID(i), PodKey: pod, Start: ts(at), End: ts(at + 5*time.Millisecond)})
	}
	var why correlate.UnlinkedReason
	b.ReportAllocs()
	for b.Loop() {
		_, why = idx.InferLink(ts(7*time.Millisecond), pod)
	}
	if why != correlate.UnlinkedNoSpanActive {
		b.Fatalf("got %s", why)
	}
}
