package correlate

import (
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// UnlinkedBodyBytes is how many bytes of an unlinked line's body the index
// keeps: enough to recognise the line, little enough to bound memory
// (pods × [IndexConfig.UnlinkedPerKey] lines of about 80 bytes each).
const UnlinkedBodyBytes = 64

// UnlinkedReason says why a log line without trace context got no link.
// The zero value means the line was linked.
type UnlinkedReason uint8

const (
	// UnlinkedInferenceOff: inferred links are off, so a line without
	// trace context stays unlinked.
	UnlinkedInferenceOff UnlinkedReason = iota + 1
	// UnlinkedPodNoSpans: the line's pod has no recent spans in the index
	// (it sent none within the TTL, or spans are not kept per pod).
	UnlinkedPodNoSpans
	// UnlinkedNoSpanActive: none of the pod's recent spans was active at
	// the line's time.
	UnlinkedNoSpanActive
	// UnlinkedAmbiguous: spans of more than one trace were active in the
	// pod at the line's time; guessing could link the wrong trace.
	UnlinkedAmbiguous
	// UnlinkedHistoryTooShort: the pod's span history (spans_per_key) no
	// longer reaches back to the line's time, so the index cannot be sure
	// which spans were active.
	UnlinkedHistoryTooShort
)

// String is the reason as the drill-down API writes it.
func (r UnlinkedReason) String() string {
	switch r {
	case 0:
		return "linked"
	case UnlinkedInferenceOff:
		return "inference_off"
	case UnlinkedPodNoSpans:
		return "pod_has_no_spans"
	case UnlinkedNoSpanActive:
		return "no_span_active"
	case UnlinkedAmbiguous:
		return "ambiguous"
	case UnlinkedHistoryTooShort:
		return "history_too_short"
	default:
		return "unknown"
	}
}

// UnlinkedLine is a log line that got no trace context.
type UnlinkedLine struct {
	// Time is the line's timestamp (its observed time when it has none).
	Time   pcommon.Timestamp
	Reason UnlinkedReason
	// Body is the start of the line's body: the index keeps at most
	// UnlinkedBodyBytes bytes of it, cut at a UTF-8 boundary.
	Body string
}

// unlinkedLine is an UnlinkedLine as the ring holds it: the body in a
// fixed array, so keeping a line allocates nothing.
type unlinkedLine struct {
	time   pcommon.Timestamp
	reason UnlinkedReason
	n      uint8
	body   [UnlinkedBodyBytes]byte
}

func (l *unlinkedLine) set(from *UnlinkedLine) {
	l.time, l.reason = from.Time, from.Reason
	b := from.Body
	if len(b) > UnlinkedBodyBytes {
		b = b[:UnlinkedBodyBytes]
		// Do not end in the middle of a character.
		for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
			if utf8.RuneStart(b[i]) {
				if !utf8.FullRuneInString(b[i:]) {
					b = b[:i]
				}
				break
			}
		}
	}
	l.n = uint8(copy(l.body[:], b))
}

func (l *unlinkedLine) export() UnlinkedLine {
	return UnlinkedLine{Time: l.time, Reason: l.reason, Body: string(l.body[:l.n])}
}

// AddUnlinked keeps log lines of one pod that got no trace context among
// the pod's recent unlinked lines (a ring of [IndexConfig.UnlinkedPerKey]
// per pod), under the first of the pod keys with a history: a pod that
// sent spans, or lines of traces with spans. Lines of other pods are not
// kept, so pods that only log cannot push out the histories of pods that
// trace. The bodies are copied (their first UnlinkedBodyBytes bytes): the
// caller may reuse lines and their strings after the call.
func (t *TraceIndex) AddUnlinked(lines []UnlinkedLine, podKeys ...string) {
	if len(lines) == 0 || t.pods.linesPerKey == 0 {
		return
	}
	for _, k := range podKeys {
		if k != "" && t.pods.addLines(k, lines) {
			return
		}
	}
}

// UnlinkedLines returns the kept unlinked lines of a pod with a time in
// [from, to], oldest first. complete is false when the pod's ring has since
// dropped lines of that window (more were unlinked than are shown).
func (t *TraceIndex) UnlinkedLines(podKey string, from, to pcommon.Timestamp) (lines []UnlinkedLine, complete bool) {
	lines, complete, _ = t.pods.unlinkedIn(podKey, from, to)
	return lines, complete
}

// TraceExplanation is what the index knows of why a trace's signals are
// linked or not: its summary (with its log records by how they were
// linked), and for each of its pods the pod's spans of the trace and its
// lines in the trace's time window that got no link.
type TraceExplanation struct {
	TraceSummary
	Pods []PodExplanation
}

// PodExplanation is one pod's part of a [TraceExplanation].
type PodExplanation struct {
	// Pod is the pod's key, as in [TraceSummary.Pods]; Name is its
	// namespace/name when Pod is its UID and its spans said so.
	Pod, Name string
	// Spans are the pod's spans of the trace still in its history of
	// recent spans, by start; nil when spans are not kept per pod.
	Spans []SpanRef
	// Unlinked are the pod's lines from the trace's start to its end that
	// got no trace context, oldest first.
	Unlinked []UnlinkedLine
	// UnlinkedComplete is false when more lines of that window were
	// unlinked than the pod's ring still holds.
	UnlinkedComplete bool
	// History is false when the pod has no history in the index any more
	// (it aged out, or was pushed out by other pods).
	History bool
}

// Explain returns what the index knows of a trace, for the question "why
// is this line (not) on my trace?".
func (t *TraceIndex) Explain(traceID pcommon.TraceID) (TraceExplanation, bool) {
	sum, ok := t.Get(traceID)
	if !ok {
		return TraceExplanation{}, false
	}
	x := TraceExplanation{TraceSummary: sum, Pods: make([]PodExplanation, 0, len(sum.Pods))}
	from, to := pcommon.NewTimestampFromTime(sum.Start), pcommon.NewTimestampFromTime(sum.End)
	for _, pod := range sum.Pods {
		p := PodExplanation{Pod: pod}
		p.Spans, p.Name, p.History = t.pods.spansOf(pod, traceID)
		if sum.SpanCount > 0 {
			p.Unlinked, p.UnlinkedComplete, _ = t.pods.unlinkedIn(pod, from, to)
		}
		x.Pods = append(x.Pods, p)
	}
	return x, true
}
