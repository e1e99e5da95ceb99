package spanmetricsconnector

import (
	"encoding/binary"
	"hash/maphash"
	"math"
	"sort"
	"strconv"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// scopeName is the instrumentation scope of the metrics the connector
// writes, and of its self-metrics.
const scopeName = "github.com/braidobs/braid/connectors/spanmetricsconnector"

// aggregator holds the series of one connector. It is not safe for
// concurrent use: the connector serialises calls.
type aggregator struct {
	bounds     []float64 // bucket upper bounds, in the histogram's unit
	unitNanos  float64   // nanoseconds per histogram unit
	unit       string
	dims       []dimension
	exemplars  bool
	expiration time.Duration
	maxSeries  int
	instanceID string
	callsName  string
	durName    string

	// h hashes resources and series; its zero value picks a random seed.
	h       maphash.Hash
	groups  map[resourceKey]*group
	nseries int
	// overflow takes the spans of new series once maxSeries are held.
	overflow      *series
	overflowSpans uint64
	// lookup is the scratch space for one span's dimension values.
	lookup []dimValue
}

type dimension struct {
	name string
	def  pcommon.Value
	// hasDefault is false when a missing value leaves the dimension out.
	hasDefault bool
}

// dimValue is one dimension's value for a span, or its absence.
type dimValue struct {
	v  pcommon.Value
	ok bool
}

// resourceKey identifies a resource by its attributes, whatever their order.
type resourceKey struct {
	sum, xor uint64
	n        int
}

// group is the series of one resource.
type group struct {
	attrs   pcommon.Map
	service string
	series  map[uint64]*series
}

// series is one combination of resource, span name, kind, status and
// dimension values.
type series struct {
	next   *series // another series with the same hash
	name   string
	kind   ptrace.SpanKind
	status ptrace.StatusCode
	dims   []dimValue
	// overflow marks the one series that counts spans beyond maxSeries.
	overflow bool

	start    pcommon.Timestamp
	lastSeen int64
	// reported is false until the first flush, which reports calls as 0 so
	// that a Prometheus rate() sees the first spans as an increase.
	reported bool
	calls    uint64
	sum      float64
	buckets  []uint64
	callEx   exemplar
	bucketEx []exemplar // nil without exemplars
}

// exemplar is the last span seen in one slot. It stays until a newer span
// takes the slot, with the span's end as its timestamp: flush after flush it
// is the same exemplar, which Prometheus stores once.
type exemplar struct {
	traceID pcommon.TraceID
	spanID  pcommon.SpanID
	value   float64
	ts      pcommon.Timestamp
	set     bool
}

func newAggregator(cfg *Config, instanceID string) *aggregator {
	a := &aggregator{
		unit:       cfg.Histogram.Unit,
		unitNanos:  float64(time.Millisecond),
		exemplars:  cfg.Exemplars.Enabled,
		expiration: cfg.MetricsExpiration,
		maxSeries:  cfg.MaxSeries,
		instanceID: instanceID,
		callsName:  metricName(cfg.Namespace, "calls"),
		durName:    metricName(cfg.Namespace, "duration"),
		groups:     map[resourceKey]*group{},
		lookup:     make([]dimValue, len(cfg.Dimensions)),
	}
	if a.unit == "s" {
		a.unitNanos = float64(time.Second)
	}
	for _, b := range cfg.Histogram.Explicit.Buckets {
		a.bounds = append(a.bounds, float64(b)/a.unitNanos)
	}
	for _, d := range cfg.Dimensions {
		dim := dimension{name: d.Name, def: pcommon.NewValueEmpty()}
		if d.Default != nil {
			dim.def.SetStr(*d.Default)
			dim.hasDefault = true
		}
		a.dims = append(a.dims, dim)
	}
	return a
}

func metricName(namespace, name string) string {
	if namespace == "" {
		return name
	}
	return namespace + "." + name
}

// add counts every span of td whose resource has a service.name.
func (a *aggregator) add(td ptrace.Traces, now time.Time) {
	nowNanos := now.UnixNano()
	start := pcommon.NewTimestampFromTime(now)
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		res := rs.Resource().Attributes()
		svc, ok := res.Get(serviceNameKey)
		if !ok {
			continue
		}
		g := a.group(res, svc)
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				span := spans.At(k)
				s := a.series(g, span, res, start)
				a.observe(s, span, nowNanos)
			}
		}
	}
}

// group returns the series group of a resource, or nil when the resource
// is new and no series can be added (its spans go to the overflow series).
func (a *aggregator) group(res pcommon.Map, svc pcommon.Value) *group {
	key := a.resourceKey(res)
	if g := a.groups[key]; g != nil {
		return g
	}
	if a.nseries >= a.maxSeries {
		return nil
	}
	g := &group{attrs: pcommon.NewMap(), service: svc.AsString(), series: map[uint64]*series{}}
	res.CopyTo(g.attrs)
	a.groups[key] = g
	return g
}

func (a *aggregator) resourceKey(res pcommon.Map) resourceKey {
	var k resourceKey
	for name, v := range res.All() {
		a.h.Reset()
		a.h.WriteString(name)
		a.h.WriteByte(0)
		a.writeValue(v)
		x := a.h.Sum64()
		k.sum += mix(x)
		k.xor ^= x
		k.n++
	}
	return k
}

// mix is a 64-bit finaliser, so that the sum and the xor of the attribute
// hashes do not cancel alike.
func mix(x uint64) uint64 {
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x
}

func (a *aggregator) writeValue(v pcommon.Value) {
	var b [9]byte
	b[0] = byte(v.Type())
	switch v.Type() {
	case pcommon.ValueTypeStr:
		a.h.WriteByte(b[0])
		a.h.WriteString(v.Str())
		return
	case pcommon.ValueTypeInt:
		binary.LittleEndian.PutUint64(b[1:], uint64(v.Int()))
	case pcommon.ValueTypeDouble:
		binary.LittleEndian.PutUint64(b[1:], math.Float64bits(v.Double()))
	case pcommon.ValueTypeBool:
		if v.Bool() {
			b[1] = 1
		}
	default:
		a.h.WriteByte(b[0])
		a.h.WriteString(v.AsString())
		return
	}
	a.h.Write(b[:])
}

// series returns the series a span counts in, creating it if there is room.
func (a *aggregator) series(g *group, span ptrace.Span, res pcommon.Map, start pcommon.Timestamp) *series {
	if g == nil {
		return a.overflowSeries(start)
	}
	name, kind, status := span.Name(), span.Kind(), span.Status().Code()
	a.h.Reset()
	a.h.WriteString(name)
	a.h.WriteByte(byte(kind))
	a.h.WriteByte(byte(status))
	if len(a.dims) > 0 {
		attrs := span.Attributes()
		for i, d := range a.dims {
			v, ok := attrs.Get(d.name)
			if !ok {
				v, ok = res.Get(d.name)
			}
			if !ok && d.hasDefault {
				v, ok = d.def, true
			}
			a.lookup[i] = dimValue{v: v, ok: ok}
			if ok {
				a.h.WriteByte(1)
				a.writeLabel(v)
			} else {
				a.h.WriteByte(0)
			}
		}
	}
	h := a.h.Sum64()
	first := g.series[h]
	for s := first; s != nil; s = s.next {
		if s.name == name && s.kind == kind && s.status == status && a.sameDims(s.dims) {
			return s
		}
	}
	if a.nseries >= a.maxSeries {
		return a.overflowSeries(start)
	}
	s := a.newSeries(start)
	s.name, s.kind, s.status = name, kind, status
	if len(a.dims) > 0 {
		s.dims = make([]dimValue, len(a.dims))
		for i, l := range a.lookup {
			if l.ok {
				s.dims[i] = dimValue{v: pcommon.NewValueEmpty(), ok: true}
				l.v.CopyTo(s.dims[i].v)
			}
		}
	}
	s.next = first
	g.series[h] = s
	a.nseries++
	return s
}

// writeLabel hashes a dimension value as the label it becomes: the string
// "404" and the integer 404 are one series, as they are one label value
// in Prometheus.
func (a *aggregator) writeLabel(v pcommon.Value) {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		a.h.WriteString(v.Str())
	case pcommon.ValueTypeInt:
		var b [20]byte
		a.h.Write(strconv.AppendInt(b[:0], v.Int(), 10))
	default:
		a.h.WriteString(v.AsString())
	}
}

func (a *aggregator) sameDims(dims []dimValue) bool {
	for i, l := range a.lookup {
		d := dims[i]
		if l.ok != d.ok || (l.ok && !sameLabel(l.v, d.v)) {
			return false
		}
	}
	return true
}

func sameLabel(x, y pcommon.Value) bool {
	tx, ty := x.Type(), y.Type()
	if tx == pcommon.ValueTypeStr && ty == pcommon.ValueTypeStr {
		return x.Str() == y.Str()
	}
	if tx == ty {
		return x.Equal(y)
	}
	return x.AsString() == y.AsString()
}

func (a *aggregator) newSeries(start pcommon.Timestamp) *series {
	s := &series{start: start, buckets: make([]uint64, len(a.bounds)+1)}
	if a.exemplars {
		s.bucketEx = make([]exemplar, len(a.bounds)+1)
	}
	return s
}

func (a *aggregator) overflowSeries(start pcommon.Timestamp) *series {
	a.overflowSpans++
	if a.overflow == nil {
		a.overflow = a.newSeries(start)
		a.overflow.overflow = true
	}
	return a.overflow
}

func (a *aggregator) observe(s *series, span ptrace.Span, nowNanos int64) {
	var d float64
	st, end := span.StartTimestamp(), span.EndTimestamp()
	if end > st {
		d = float64(end-st) / a.unitNanos
	}
	i := sort.SearchFloat64s(a.bounds, d)
	s.calls++
	s.sum += d
	s.buckets[i]++
	s.lastSeen = nowNanos
	if !a.exemplars {
		return
	}
	tid := span.TraceID()
	if tid.IsEmpty() {
		return
	}
	ex := exemplar{traceID: tid, spanID: span.SpanID(), value: d, ts: end, set: true}
	s.callEx = ex
	s.bucketEx[i] = ex
}

// flush writes every series as of now and drops the series that expired.
func (a *aggregator) flush(now time.Time) pmetric.Metrics {
	md := pmetric.NewMetrics()
	ts := pcommon.NewTimestampFromTime(now)
	oldest := now.Add(-a.expiration).UnixNano()
	for key, g := range a.groups {
		if a.expiration > 0 {
			a.expire(g, oldest)
			if len(g.series) == 0 {
				delete(a.groups, key)
				continue
			}
		}
		calls, durations := a.appendResource(md, g.attrs)
		for _, first := range g.series {
			for s := first; s != nil; s = s.next {
				a.appendPoints(calls, durations, g.service, s, ts)
			}
		}
	}
	if a.overflow != nil {
		calls, durations := a.appendResource(md, pcommon.NewMap())
		a.appendPoints(calls, durations, "", a.overflow, ts)
	}
	return md
}

// expire drops the series of g that have seen no span since oldest.
func (a *aggregator) expire(g *group, oldest int64) {
	for h, first := range g.series {
		var kept *series
		for s := first; s != nil; {
			next := s.next
			if s.lastSeen < oldest {
				a.nseries--
			} else {
				s.next = kept
				kept = s
			}
			s = next
		}
		if kept == nil {
			delete(g.series, h)
		} else {
			g.series[h] = kept
		}
	}
}

func (a *aggregator) appendResource(md pmetric.Metrics, attrs pcommon.Map) (pmetric.NumberDataPointSlice, pmetric.HistogramDataPointSlice) {
	rm := md.ResourceMetrics().AppendEmpty()
	attrs.CopyTo(rm.Resource().Attributes())
	sm := rm.ScopeMetrics().AppendEmpty()
	sm.Scope().SetName(scopeName)
	calls := sm.Metrics().AppendEmpty()
	calls.SetName(a.callsName)
	sum := calls.SetEmptySum()
	sum.SetIsMonotonic(true)
	sum.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	dur := sm.Metrics().AppendEmpty()
	dur.SetName(a.durName)
	dur.SetUnit(a.unit)
	hist := dur.SetEmptyHistogram()
	hist.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	return sum.DataPoints(), hist.DataPoints()
}

func (a *aggregator) appendPoints(calls pmetric.NumberDataPointSlice, durations pmetric.HistogramDataPointSlice, service string, s *series, ts pcommon.Timestamp) {
	dp := calls.AppendEmpty()
	a.putAttributes(dp.Attributes(), service, s)
	dp.SetStartTimestamp(s.start)
	dp.SetTimestamp(ts)
	if s.reported {
		dp.SetIntValue(int64(s.calls))
	} else {
		dp.SetIntValue(0)
		s.reported = true
	}
	if s.callEx.set {
		putExemplar(dp.Exemplars(), s.callEx)
	}

	hp := durations.AppendEmpty()
	dp.Attributes().CopyTo(hp.Attributes())
	hp.SetStartTimestamp(s.start)
	hp.SetTimestamp(ts)
	hp.ExplicitBounds().FromRaw(a.bounds)
	hp.BucketCounts().FromRaw(s.buckets)
	hp.SetCount(s.calls)
	hp.SetSum(s.sum)
	for _, ex := range s.bucketEx {
		if ex.set {
			putExemplar(hp.Exemplars(), ex)
		}
	}
}

func (a *aggregator) putAttributes(m pcommon.Map, service string, s *series) {
	if s.overflow {
		m.PutBool(overflowKey, true)
		return
	}
	m.EnsureCapacity(5 + len(s.dims))
	m.PutStr(serviceNameKey, service)
	m.PutStr(spanNameKey, s.name)
	m.PutStr(spanKindKey, spanKindNames[s.kind])
	m.PutStr(statusCodeKey, statusCodeNames[s.status])
	if a.instanceID != "" {
		m.PutStr(collectorInstanceKey, a.instanceID)
	}
	for i, d := range s.dims {
		if d.ok {
			d.v.CopyTo(m.PutEmpty(a.dims[i].name))
		}
	}
}

func putExemplar(es pmetric.ExemplarSlice, ex exemplar) {
	e := es.AppendEmpty()
	e.SetTimestamp(ex.ts)
	e.SetTraceID(ex.traceID)
	e.SetSpanID(ex.spanID)
	e.SetDoubleValue(ex.value)
}

// The label values of span kinds and status codes, as OpenTelemetry's
// protocol spells the enum values.
var (
	spanKindNames = map[ptrace.SpanKind]string{
		ptrace.SpanKindUnspecified: "SPAN_KIND_UNSPECIFIED",
		ptrace.SpanKindInternal:    "SPAN_KIND_INTERNAL",
		ptrace.SpanKindServer:      "SPAN_KIND_SERVER",
		ptrace.SpanKindClient:      "SPAN_KIND_CLIENT",
		ptrace.SpanKindProducer:    "SPAN_KIND_PRODUCER",
		ptrace.SpanKindConsumer:    "SPAN_KIND_CONSUMER",
	}
	statusCodeNames = map[ptrace.StatusCode]string{
		ptrace.StatusCodeUnset: "STATUS_CODE_UNSET",
		ptrace.StatusCodeOk:    "STATUS_CODE_OK",
		ptrace.StatusCodeError: "STATUS_CODE_ERROR",
	}
)
