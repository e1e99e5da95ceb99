package correlate

import (
	"encoding/binary"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// The keys and value shapes of tracing systems other than OpenTelemetry,
// as their log integrations print them by default. They are always on:
// someone whose services mix tracing systems should not have to list them.
// Keys a configuration already names keep the role it gives them.

// familyKeys are top-level keys (and attribute keys) of the tracing systems.
var familyKeys = []keyEntry{
	// Datadog: decimal 64-bit IDs, or 32 hex digits for a 128-bit trace ID.
	{"dd.trace_id", roleDecimalTraceID},
	{"dd.span_id", roleDecimalSpanID},
	// Jaeger clients' propagation header {trace}:{span}:{parent}:{flags}.
	{"uber-trace-id", roleJaeger},
	// AWS X-Ray: the trace header, the variable Lambda sets from it, the
	// field Powertools for AWS Lambda logs, the X-Ray SDK for Java's MDC key.
	{"x-amzn-trace-id", roleXRay},
	{"_x_amzn_trace_id", roleXRay},
	{"xray_trace_id", roleXRay},
	{"xraytraceid", roleXRay},
	{"aws-xray-trace-id", roleXRay},
	{"root", roleXRay}, // Root=1-… read as a pair of its own
	// Google Cloud structured logging.
	{"logging.googleapis.com/trace", roleCloudTrace},
	{"logging.googleapis.com/spanid", roleSpanID},
	// Azure Application Insights (operation_Id, operation_ParentId) and its
	// context tags.
	{"operation_id", roleTraceID},
	{"operation_parentid", roleSpanID},
	{"ai.operation.id", roleTraceID},
	{"ai.operation.parentid", roleSpanID},
	// Dynatrace OneAgent log enrichment.
	{"dt.trace_id", roleTraceID},
	{"dt.span_id", roleSpanID},
	// Elastic APM: the transaction's ID stands for the span when a line is
	// written outside any span of the transaction.
	{"transaction.id", roleTransactionID},
}

// familyPaths are nested objects whose keys mean an ID only there:
// {"dd":{"trace_id":…}} (Datadog's Node.js and PHP integrations),
// {"trace":{"id":…},"span":{"id":…},"transaction":{"id":…}} (ECS loggers).
var familyPaths = []struct {
	path string
	keys []keyEntry
}{
	{"dd", []keyEntry{{"trace_id", roleDecimalTraceID}, {"span_id", roleDecimalSpanID}}},
	{"trace", []keyEntry{{"id", roleTraceID}}},
	{"span", []keyEntry{{"id", roleSpanID}}},
	{"transaction", []keyEntry{{"id", roleTransactionID}}},
}

// valueEnd returns where the value of a text pair ends, given e, the end of
// its run of value bytes: header-shaped values go on over separators that
// other IDs never hold.
func valueEnd(s string, e int, role keyRole) int {
	if role != roleJaeger && role != roleXRay {
		return e
	}
	for e < len(s) {
		c := s[e]
		switch {
		case isValueChar(c):
		case role == roleJaeger && (c == ':' || c == '%'):
		case role == roleXRay && (c == ';' || c == '=' || c == '@'):
		default:
			return e
		}
		e++
	}
	return e
}

// hexInto decodes hex digits s right-aligned into dst, zeros on the left,
// and reports whether every byte was a hex digit and fitted.
func hexInto(dst []byte, s string) bool {
	if len(s) == 0 || len(s) > 2*len(dst) {
		return false
	}
	clear(dst)
	var bad byte
	for i, k := len(s)-1, len(dst)-1; i >= 0; i, k = i-2, k-1 {
		lo := hexVal[s[i]]
		var hi byte
		if i > 0 {
			hi = hexVal[s[i-1]]
		}
		bad |= hi | lo
		dst[k] = hi<<4 | lo
	}
	return bad <= 15
}

func isZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// parseDecimal parses between minDigits and 20 decimal digits as a nonzero
// uint64.
func parseDecimal(s string, minDigits int) (uint64, bool) {
	if len(s) < minDigits || len(s) > 20 {
		return 0, false
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if n > (1<<64-1-d)/10 {
			return 0, false // overflows 64 bits
		}
		n = n*10 + d
	}
	return n, n != 0
}

// parseDecimalTraceID parses a Datadog trace ID: 32 hex digits for a
// 128-bit ID, or a decimal 64-bit ID. The decimal form is what Datadog's
// tracers log for a trace whose upper 64 bits are zero, and it is zero-padded
// to 128 bits, as a 64-bit Datadog trace ID is when it travels as W3C
// context. It needs 16 digits at least, like every ID found in text: shorter
// ones (below 10^15, about one random ID in ten thousand) are not read.
func parseDecimalTraceID(s string, dst *pcommon.TraceID) bool {
	if len(s) == 32 {
		return parseTraceID(s, dst)
	}
	n, ok := parseDecimal(s, minHexRun)
	if !ok {
		return false
	}
	var tid pcommon.TraceID
	binary.BigEndian.PutUint64(tid[8:], n)
	*dst = tid
	return true
}

// parseDecimalSpanID parses a Datadog span ID: a decimal 64-bit number of
// 16 digits at least, as for trace IDs, so that the pairs read in a line do
// not depend on which scan reads them.
func parseDecimalSpanID(s string, dst *pcommon.SpanID) bool {
	n, ok := parseDecimal(s, minHexRun)
	if !ok {
		return false
	}
	binary.BigEndian.PutUint64(dst[:], n)
	return true
}

// cutJaeger splits s at its first field separator, ':' or its URL-encoded
// form %3A.
func cutJaeger(s string) (string, string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == ':' {
			return s[:i], s[i+1:], true
		}
		if s[i] == '%' && i+2 < len(s) && s[i+1] == '3' && (s[i+2] == 'A' || s[i+2] == 'a') {
			return s[:i], s[i+3:], true
		}
	}
	return s, "", false
}

// parseJaeger parses a Jaeger propagation value
// {trace-id}:{span-id}:{parent-span-id}:{flags}. Jaeger allows IDs without
// their leading zeros; the trace ID still needs 16 digits, like every ID
// found in text.
func parseJaeger(s string, tid *pcommon.TraceID, sid *pcommon.SpanID) bool {
	trace, rest, ok := cutJaeger(s)
	if !ok || len(trace) < minHexRun {
		return false
	}
	span, rest, ok := cutJaeger(rest)
	if !ok {
		return false
	}
	parent, flags, ok := cutJaeger(rest)
	if !ok || len(flags) == 0 || len(flags) > 2 {
		return false
	}
	var t pcommon.TraceID
	var p, pp pcommon.SpanID
	var f [1]byte
	if !hexInto(t[:], trace) || !hexInto(p[:], span) || !hexInto(pp[:], parent) || !hexInto(f[:], flags) {
		return false
	}
	if isZero(t[:]) || isZero(p[:]) {
		return false
	}
	*tid, *sid = t, p
	return true
}

// xrayIDLen is the length of an X-Ray trace ID: 1-<8 hex>-<24 hex>.
const xrayIDLen = 35

// parseXRayID converts an X-Ray trace ID to the W3C trace ID that
// OpenTelemetry's X-Ray propagation gives the same trace: the 8 hex digits
// of its epoch seconds followed by its 24 random ones.
func parseXRayID(s string, dst *pcommon.TraceID) bool {
	if len(s) != xrayIDLen || s[0] != '1' || s[1] != '-' || s[10] != '-' {
		return false
	}
	var t pcommon.TraceID
	if !hexInto(t[:4], s[2:10]) || !hexInto(t[4:], s[11:]) || isZero(t[:]) {
		return false
	}
	*dst = t
	return true
}

// parseXRay parses what X-Ray libraries log: a trace ID, a trace ID with
// the segment ID after an @ (the X-Ray SDK for Java), or a trace header
// Root=…;Parent=…;Sampled=… in any order. It reports whether a trace ID was
// found and whether a span ID came with it.
func parseXRay(s string, tid *pcommon.TraceID, sid *pcommon.SpanID) (trace, span bool) {
	var t pcommon.TraceID
	var p pcommon.SpanID
	for first := true; ; first = false {
		part, next, more := strings.Cut(s, ";")
		part = strings.TrimSpace(part)
		switch {
		case len(part) > 5 && equalFoldASCII(part[:5], "root="):
			trace = parseXRayID(part[5:], &t)
		case len(part) > 7 && equalFoldASCII(part[:7], "parent="):
			span = parseSpanID(part[7:], &p)
		case first && len(part) >= xrayIDLen:
			trace = parseXRayID(part[:xrayIDLen], &t)
			if trace && len(part) > xrayIDLen {
				trace = part[xrayIDLen] == '@' && parseSpanID(part[xrayIDLen+1:], &p)
				span = trace
			}
		}
		if !more {
			break
		}
		s = next
	}
	if !trace {
		return false, false
	}
	*tid = t
	if span {
		*sid = p
	}
	return true, span
}

// parseCloudTrace parses Google Cloud's trace field:
// projects/<project>/traces/<32 hex>, or the bare trace ID.
func parseCloudTrace(s string, dst *pcommon.TraceID) bool {
	const prefix, traces = "projects/", "/traces/"
	if len(s) == 32 {
		return parseTraceID(s, dst)
	}
	if !strings.HasPrefix(s, prefix) || len(s) < len(prefix)+1+len(traces)+32 {
		return false
	}
	id := s[len(s)-32:]
	project := s[len(prefix) : len(s)-32-len(traces)]
	if s[len(s)-32-len(traces):len(s)-32] != traces || project == "" || strings.IndexByte(project, '/') >= 0 {
		return false
	}
	return parseTraceID(id, dst)
}

// Shapes that only text holds, found by scanString after the pairs.

// scanSleuth finds Spring Cloud Sleuth's [app,trace,span,exportable] and
// [app,trace,span] (Sleuth 3 and Spring Boot 3.0/3.1 with Micrometer
// Tracing). The application name may be empty.
func scanSleuth(s string, st *scanState) {
	const maxInside = 256
	for off := 0; off < len(s); {
		k := strings.IndexByte(s[off:], '[')
		if k < 0 {
			return
		}
		i := off + k
		off = i + 1
		end := strings.IndexByte(s[off:min(len(s), off+maxInside)], ']')
		if end < 0 {
			continue
		}
		inside := s[off : off+end]
		app, rest, ok := strings.Cut(inside, ",")
		if !ok || !isSleuthApp(app) {
			continue
		}
		trace, rest, ok := strings.Cut(rest, ",")
		if !ok {
			continue
		}
		span, exportable, four := strings.Cut(rest, ",")
		if four && exportable != "true" && exportable != "false" {
			continue
		}
		var tid pcommon.TraceID
		var sid pcommon.SpanID
		if parseTraceID(trace, &tid) && parseSpanID(span, &sid) {
			st.setBoth(tid, sid)
			return
		}
	}
}

// isSleuthApp reports whether s can be the application name of Sleuth's
// pattern: empty, or a name that is not a number, so that a JSON array of
// numbers such as [1,1714557600123456,1714557600123999] is not read as one.
func isSleuthApp(s string) bool {
	digits := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isKeyChar(c) {
			return false
		}
		digits = digits && '0' <= c && c <= '9'
	}
	return s == "" || !digits
}

// scanNRLinking finds the metadata New Relic's agents append to a line in
// local log decoration:
// NR-LINKING|{entity.guid}|{hostname}|{trace.id}|{span.id}|{entity.name}|.
func scanNRLinking(s string, st *scanState) {
	const marker = "NR-LINKING|"
	for off := 0; off < len(s); {
		k := strings.Index(s[off:], marker)
		if k < 0 {
			return
		}
		rest := s[off+k+len(marker):]
		off += k + len(marker)
		var fields [4]string
		n := 0
		for n < len(fields) {
			i := strings.IndexByte(rest, '|')
			if i < 0 {
				break
			}
			fields[n], rest = rest[:i], rest[i+1:]
			n++
		}
		if n < len(fields) {
			continue
		}
		var tid pcommon.TraceID
		var sid pcommon.SpanID
		if !parseTraceID(fields[2], &tid) {
			continue
		}
		if parseSpanID(fields[3], &sid) {
			st.setBoth(tid, sid)
		} else {
			st.trace, st.hasTrace = tid, true
		}
		return
	}
}
