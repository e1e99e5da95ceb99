package loadgen

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Shape describes the cluster the generated telemetry pretends to come from.
type Shape struct {
	// Services is the number of distinct service.name values.
	Services int
	// PodsPerService is the number of pods behind each service.
	PodsPerService int
	// SpansPerTrace is the number of spans in each generated trace.
	SpansPerTrace int
	// TracedLogShare is the share of log records that carry a trace ID
	// (in the record, or in a JSON or logfmt body); the rest carry none.
	TracedLogShare float64
	// LogsPerTrace is how many traced lines of a pod in a row share a trace
	// ID, as the lines that one request logs do. Zero or one gives every
	// traced line a trace of its own, the worst case for Braid's trace
	// index: each line is then a trace it has not seen.
	LogsPerTrace int
	// Namespace, when set, puts every pod in that namespace; empty spreads
	// the services over four (team-0 … team-3).
	Namespace string
}

// DefaultShape is a mid-sized cluster: 20 services, 5 pods each, traces of 5
// spans, 60% of log lines with trace context, 4 lines per request.
var DefaultShape = Shape{Services: 20, PodsPerService: 5, SpansPerTrace: 5, TracedLogShare: 0.6, LogsPerTrace: 4}

// Generator builds batches of telemetry. It is not safe for concurrent use:
// give each sender its own.
type Generator struct {
	shape Shape
	rng   *rand.Rand
	pods  []pod
	seq   uint64
}

type pod struct {
	service, namespace, name, uid, node, deployment string
}

// NewGenerator returns a generator for shape, seeded so runs repeat.
func NewGenerator(shape Shape, seed uint64) *Generator {
	if shape.Services <= 0 {
		shape.Services = 1
	}
	if shape.PodsPerService <= 0 {
		shape.PodsPerService = 1
	}
	if shape.SpansPerTrace <= 0 {
		shape.SpansPerTrace = 1
	}
	g := &Generator{shape: shape, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
	for s := range shape.Services {
		service := fmt.Sprintf("svc-%02d", s)
		for p := range shape.PodsPerService {
			g.pods = append(g.pods, pod{
				service:    service,
				namespace:  cmp.Or(shape.Namespace, fmt.Sprintf("team-%d", s%4)),
				deployment: service,
				name:       fmt.Sprintf("%s-7d9f8b6c5-%05d", service, p),
				uid:        fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", s, p, s, p, uint64(s)<<20|uint64(p)),
				node:       fmt.Sprintf("node-%d", (s+p)%8),
			})
		}
	}
	return g
}

func (g *Generator) putResource(attrs pcommon.Map, p pod) {
	attrs.EnsureCapacity(8)
	attrs.PutStr("service.name", p.service)
	attrs.PutStr("service.version", "1.4.2")
	attrs.PutStr("k8s.namespace.name", p.namespace)
	attrs.PutStr("k8s.pod.name", p.name)
	attrs.PutStr("k8s.pod.uid", p.uid)
	attrs.PutStr("k8s.node.name", p.node)
	attrs.PutStr("k8s.deployment.name", p.deployment)
	attrs.PutStr("k8s.container.name", "app")
}

func (g *Generator) traceID() pcommon.TraceID {
	var id pcommon.TraceID
	binary.BigEndian.PutUint64(id[:8], g.rng.Uint64()|1)
	binary.BigEndian.PutUint64(id[8:], g.rng.Uint64())
	return id
}

func (g *Generator) spanID() pcommon.SpanID {
	var id pcommon.SpanID
	binary.BigEndian.PutUint64(id[:], g.rng.Uint64()|1)
	return id
}

var operations = []string{"GET /api/cart", "POST /api/checkout", "GET /api/products/{id}", "SELECT orders", "redis GET", "publish order.created"}

// Traces returns n spans, grouped into traces of Shape.SpansPerTrace spans,
// one resource per pod. About 2% of spans are errors.
func (g *Generator) Traces(n int) ptrace.Traces {
	td := ptrace.NewTraces()
	now := time.Now()
	for n > 0 {
		p := g.pods[g.rng.IntN(len(g.pods))]
		rs := td.ResourceSpans().AppendEmpty()
		g.putResource(rs.Resource().Attributes(), p)
		spans := rs.ScopeSpans().AppendEmpty().Spans()
		k := min(n, g.shape.SpansPerTrace)
		spans.EnsureCapacity(k)
		tid := g.traceID()
		var parent pcommon.SpanID
		start := now.Add(-time.Duration(g.rng.IntN(2000)) * time.Millisecond)
		for i := range k {
			s := spans.AppendEmpty()
			s.SetTraceID(tid)
			sid := g.spanID()
			s.SetSpanID(sid)
			s.SetParentSpanID(parent)
			parent = sid
			s.SetName(operations[g.rng.IntN(len(operations))])
			if i == 0 {
				s.SetKind(ptrace.SpanKindServer)
			} else {
				s.SetKind(ptrace.SpanKindInternal)
			}
			d := time.Duration(1+g.rng.ExpFloat64()*20) * time.Millisecond
			s.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
			s.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(d)))
			s.Attributes().PutStr("http.request.method", "GET")
			s.Attributes().PutInt("http.response.status_code", 200)
			if g.rng.IntN(50) == 0 {
				s.Status().SetCode(ptrace.StatusCodeError)
				s.Attributes().PutInt("http.response.status_code", 503)
			}
		}
		n -= k
	}
	return td
}

// Logs returns n log records, one resource per pod, with bodies shaped as
// applications print them: JSON lines with trace_id and span_id, logfmt text
// with trace_id, records whose TraceID is already set, and plain text with
// no trace context at all.
func (g *Generator) Logs(n int) plog.Logs {
	ld := plog.NewLogs()
	now := pcommon.NewTimestampFromTime(time.Now())
	const perResource = 10
	for n > 0 {
		p := g.pods[g.rng.IntN(len(g.pods))]
		rl := ld.ResourceLogs().AppendEmpty()
		g.putResource(rl.Resource().Attributes(), p)
		records := rl.ScopeLogs().AppendEmpty().LogRecords()
		k := min(n, perResource)
		records.EnsureCapacity(k)
		var tid pcommon.TraceID
		var sid pcommon.SpanID
		left := 0 // lines still to log for tid
		for range k {
			g.seq++
			lr := records.AppendEmpty()
			lr.SetTimestamp(now)
			lr.SetObservedTimestamp(now)
			lr.SetSeverityNumber(plog.SeverityNumberInfo)
			lr.SetSeverityText("INFO")
			if g.rng.Float64() >= g.shape.TracedLogShare {
				lr.Body().SetStr("cache refreshed entries=" + strconv.Itoa(g.rng.IntN(5000)) + " took=3ms seq=" + strconv.FormatUint(g.seq, 10))
				continue
			}
			if left == 0 {
				tid, sid, left = g.traceID(), g.spanID(), max(1, g.shape.LogsPerTrace)
			}
			left--
			switch g.rng.IntN(3) {
			case 0:
				lr.Body().SetStr(`{"level":"info","ts":"2026-11-26T12:00:00Z","msg":"order placed","order_id":` +
					strconv.FormatUint(g.seq, 10) + `,"trace_id":"` + tid.String() + `","span_id":"` + sid.String() + `"}`)
			case 1:
				lr.Body().SetStr(`level=info msg="payment authorized" amount=42.10 trace_id=` + tid.String() + ` span_id=` + sid.String())
			default:
				lr.Body().SetStr("GET /api/cart 200 12ms")
				lr.SetTraceID(tid)
				lr.SetSpanID(sid)
			}
		}
		n -= k
	}
	return ld
}

var histogramBounds = []float64{5, 10, 25, 50, 100, 250, 500, 1000, 2500}

// Metrics returns n data points, one resource per pod, alternating between
// cumulative request counters and latency histograms.
func (g *Generator) Metrics(n int) pmetric.Metrics {
	md := pmetric.NewMetrics()
	now := pcommon.NewTimestampFromTime(time.Now())
	start := pcommon.NewTimestampFromTime(time.Now().Add(-time.Hour))
	const perResource = 10
	for n > 0 {
		p := g.pods[g.rng.IntN(len(g.pods))]
		rm := md.ResourceMetrics().AppendEmpty()
		g.putResource(rm.Resource().Attributes(), p)
		ms := rm.ScopeMetrics().AppendEmpty().Metrics()
		k := min(n, perResource)
		counter := ms.AppendEmpty()
		counter.SetName("http.server.requests")
		sum := counter.SetEmptySum()
		sum.SetIsMonotonic(true)
		sum.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
		hist := ms.AppendEmpty()
		hist.SetName("http.server.request.duration")
		hist.SetUnit("ms")
		h := hist.SetEmptyHistogram()
		h.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
		for i := range k {
			g.seq++
			route := operations[i%len(operations)]
			if i%2 == 0 {
				dp := sum.DataPoints().AppendEmpty()
				dp.SetStartTimestamp(start)
				dp.SetTimestamp(now)
				dp.SetIntValue(int64(g.seq))
				dp.Attributes().PutStr("http.route", route)
				continue
			}
			dp := h.DataPoints().AppendEmpty()
			dp.SetStartTimestamp(start)
			dp.SetTimestamp(now)
			dp.ExplicitBounds().FromRaw(histogramBounds)
			counts := make([]uint64, len(histogramBounds)+1)
			var total uint64
			for b := range counts {
				counts[b] = uint64(g.rng.IntN(100))
				total += counts[b]
			}
			dp.BucketCounts().FromRaw(counts)
			dp.SetCount(total)
			dp.SetSum(float64(total) * 42)
			dp.Attributes().PutStr("http.route", route)
		}
		n -= k
	}
	return md
}
