package faults

import (
	"encoding/binary"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// The items the harness sends carry their ID where each backend keeps it:
// spans and OTLP log records in the attribute fid; log lines in their text
// as "fid=l42" (Loki keeps the line, not every attribute); data points as
// their value, on a gauge named ProbeMetric (remote write keeps samples,
// and a label per ID would make a series per item).
const (
	idAttr      = "fid"
	ProbeMetric = "braid_fault_probe"
	probeSeries = 16 // gauge series the points are spread over
)

// probeResource is the pod the harness's items come from, so that the
// agent's correlation knows their pod and holds untraced records for their
// spans (infer_log_links).
func probeResource(r pcommon.Resource) {
	a := r.Attributes()
	a.PutStr("service.name", "braid-faults")
	a.PutStr("k8s.namespace.name", "faults")
	a.PutStr("k8s.pod.name", "probe-0")
	a.PutStr("k8s.pod.uid", "0f4a17e2-0000-4000-8000-000000000001")
}

// traceID derives a trace ID from an item ID; spans of a request share
// traces of eight.
func traceID(id uint64) pcommon.TraceID {
	var t pcommon.TraceID
	binary.BigEndian.PutUint64(t[:8], 0xb4a1d)
	binary.BigEndian.PutUint64(t[8:], id/8+1)
	return t
}

// SpansFrom builds n spans with IDs from first.
func SpansFrom(first uint64, n int, now time.Time) ptrace.Traces {
	return spansWith(first, n, now, traceID)
}

// spansWith is SpansFrom with the trace of each ID given by traceOf.
func spansWith(first uint64, n int, now time.Time, traceOf func(uint64) pcommon.TraceID) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	probeResource(rs.Resource())
	ss := rs.ScopeSpans().AppendEmpty().Spans()
	ss.EnsureCapacity(n)
	for i := range n {
		id := first + uint64(i)
		s := ss.AppendEmpty()
		s.SetTraceID(traceOf(id))
		var sid pcommon.SpanID
		binary.BigEndian.PutUint64(sid[:], id)
		s.SetSpanID(sid)
		s.SetName("probe")
		s.SetKind(ptrace.SpanKindServer)
		s.SetStartTimestamp(pcommon.NewTimestampFromTime(now.Add(-time.Millisecond)))
		s.SetEndTimestamp(pcommon.NewTimestampFromTime(now))
		s.Attributes().PutInt(idAttr, int64(id))
	}
	return td
}

// LogsFrom builds n log records with IDs from first. Without traceContext
// they carry no trace ID, as most container output does.
func LogsFrom(first uint64, n int, now time.Time, traceContext bool) plog.Logs {
	if !traceContext {
		return logsWith(first, n, now, nil)
	}
	return logsWith(first, n, now, traceID)
}

// logsWith is LogsFrom with the trace of each ID given by traceOf (nil for
// none).
func logsWith(first uint64, n int, now time.Time, traceOf func(uint64) pcommon.TraceID) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	probeResource(rl.Resource())
	lrs := rl.ScopeLogs().AppendEmpty().LogRecords()
	lrs.EnsureCapacity(n)
	for i := range n {
		id := first + uint64(i)
		lr := lrs.AppendEmpty()
		lr.SetTimestamp(pcommon.NewTimestampFromTime(now))
		lr.SetSeverityNumber(plog.SeverityNumberInfo)
		lr.Body().SetStr(Line(LogRecords, id))
		lr.Attributes().PutInt(idAttr, int64(id))
		if traceOf != nil {
			lr.SetTraceID(traceOf(id))
		}
	}
	return ld
}

// MetricsFrom builds n gauge points with IDs from first, spread over a few
// series, each point a millisecond after the one before in its series.
func MetricsFrom(first uint64, n int, now time.Time) pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	probeResource(rm.Resource())
	m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName(ProbeMetric)
	dps := m.SetEmptyGauge().DataPoints()
	dps.EnsureCapacity(n)
	for i := range n {
		id := first + uint64(i)
		dp := dps.AppendEmpty()
		dp.Attributes().PutStr("series", strconv.FormatUint(id%probeSeries, 10))
		dp.SetTimestamp(pcommon.NewTimestampFromTime(now.Add(time.Duration(i) * time.Millisecond)))
		dp.SetDoubleValue(float64(id))
	}
	return md
}

// Line is the text of a log line that carries an ID.
func Line(s Stream, id uint64) string {
	return "fid=" + string(rune(s)) + strconv.FormatUint(id, 10) + " probe line from the fault harness"
}

// ParseLine finds the ID in a line written by Line.
func ParseLine(line string) (Stream, uint64, bool) {
	_, rest, ok := strings.Cut(line, "fid=")
	if !ok || len(rest) < 2 {
		return 0, 0, false
	}
	s := Stream(rest[0])
	digits := rest[1:]
	if end := strings.IndexByte(digits, ' '); end >= 0 {
		digits = digits[:end]
	}
	id, err := strconv.ParseUint(digits, 10, 64)
	if err != nil || id == 0 {
		return 0, 0, false
	}
	switch s {
	case Spans, LogRecords, Points, FileLines:
		return s, id, true
	}
	return 0, 0, false
}
