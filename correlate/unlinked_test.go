package correlate_test

import (
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/braidobs/braid/correlate"
)

func TestInferLinkReasons(t *testing.T) {
	idx, _ := newIndex(t, func(c *correlate.IndexConfig) { c.SpansPerKey = 3 })
	add := func(tr uint64, pod string, from, to time.Duration) {
		idx.AddSpan(&correlate.SpanRecord{TraceID: traceID(tr), SpanID: spanID(tr), PodKey: pod, Start: ts(from), End: ts(to)})
	}
	add(1, "uid-a", 0, 100*time.Millisecond)
	add(2, "uid-a", 90*time.Millisecond, 200*time.Millisecond)
	// uid-b has a history (a linked line of a trace with spans) but no span.
	idx.AddLog(traceID(1), "uid-b", "")
	// uid-c's first span is pushed out of its three-span history.
	for i := range uint64(4) {
		add(10+i, "uid-c", time.Duration(i)*time.Second, time.Duration(i)*time.Second+time.Millisecond)
	}

	tests := []struct {
		name string
		at   time.Duration
		pods []string
		want correlate.UnlinkedReason
	}{
		{"one span active", 50 * time.Millisecond, []string{"uid-a"}, 0},
		{"two traces active", 95 * time.Millisecond, []string{"uid-a"}, correlate.UnlinkedAmbiguous},
		{"nothing active", 300 * time.Millisecond, []string{"uid-a"}, correlate.UnlinkedNoSpanActive},
		{"pod with no spans", 50 * time.Millisecond, []string{"uid-b"}, correlate.UnlinkedPodNoSpans},
		{"pod never seen", 50 * time.Millisecond, []string{"uid-z"}, correlate.UnlinkedPodNoSpans},
		{"second key answers", 50 * time.Millisecond, []string{"uid-z", "uid-a"}, 0},
		{"history too short", 0, []string{"uid-c"}, correlate.UnlinkedHistoryTooShort},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ref, why := idx.InferLink(ts(tc.at), tc.pods...)
			assert.Equal(t, tc.want, why, "got %s", why)
			assert.Equal(t, tc.want == 0, !ref.TraceID.IsEmpty())
			_, ok := idx.InferSpan(ts(tc.at), tc.pods...)
			assert.Equal(t, tc.want == 0, ok, "InferSpan agrees")
		})
	}
}

func TestUnlinkedReasonStrings(t *testing.T) {
	seen := map[string]bool{}
	for r := correlate.UnlinkedReason(0); r <= correlate.UnlinkedHistoryTooShort; r++ {
		s := r.String()
		assert.NotEqual(t, "unknown", s, "reason %d", r)
		assert.False(t, seen[s], "%s twice", s)
		seen[s] = true
	}
	assert.Equal(t, "unknown", correlate.UnlinkedReason(200).String())
}

func TestAddLinkedLogsCountsByHow(t *testing.T) {
	idx, _ := newIndex(t, nil)
	idx.AddSpan(&correlate.SpanRecord{TraceID: traceID(1), SpanID: spanID(1), PodKey: "uid-a", Start: ts(0), End: ts(time.Second)})
	idx.AddLinkedLogs([]pcommon.TraceID{traceID(1), traceID(1), traceID(1), traceID(2), traceID(1)},
		[]correlate.Source{correlate.SourcePresent, correlate.SourcePresent, correlate.SourceBody, correlate.SourceBody}, "uid-a", "svc")
	idx.AddLogFrom(correlate.SourceAttribute, traceID(1), "uid-a", "svc")
	idx.AddLogFrom(correlate.SourceInferred, traceID(1), "uid-a", "svc")
	idx.AddLog(traceID(1), "uid-a", "svc")
	idx.AddLogFrom(correlate.Source(99), traceID(1), "uid-a", "svc")
	sum, ok := idx.Get(traceID(1))
	require.True(t, ok)
	assert.Equal(t, 8, sum.LogCount)
	assert.Equal(t, correlate.LogLinks{Present: 2, Attribute: 1, Body: 1, Inferred: 1, Unknown: 3}, sum.LogLinks, "the line past the end of how is unknown")
	other, ok := idx.Get(traceID(2))
	require.True(t, ok)
	assert.Equal(t, correlate.LogLinks{Body: 1}, other.LogLinks)
}

func TestAddExemplar(t *testing.T) {
	idx, _ := newIndex(t, nil)
	idx.AddSpan(&correlate.SpanRecord{TraceID: traceID(1), SpanID: spanID(1), Start: ts(0), End: ts(time.Second)})
	idx.AddExemplar(traceID(1))
	idx.AddExemplar(traceID(1))
	idx.AddExemplar(traceID(2)) // not held: not counted, no entry
	sum, _ := idx.Get(traceID(1))
	assert.Equal(t, 2, sum.Exemplars)
	_, ok := idx.Get(traceID(2))
	assert.False(t, ok)
}

func TestUnlinkedLinesRing(t *testing.T) {
	idx, _ := newIndex(t, func(c *correlate.IndexConfig) { c.UnlinkedPerKey = 3 })
	idx.AddSpan(&correlate.SpanRecord{TraceID: traceID(1), SpanID: spanID(1), PodKey: "uid-a", PodAltKey: "shop/a", Start: ts(0), End: ts(time.Second)})
	line := func(ms int, why correlate.UnlinkedReason) correlate.UnlinkedLine {
		return correlate.UnlinkedLine{Time: ts(time.Duration(ms) * time.Millisecond), Reason: why, Body: fmt.Sprintf("line at %dms", ms)}
	}

	// A pod without a history keeps nothing.
	idx.AddUnlinked([]correlate.UnlinkedLine{line(1, correlate.UnlinkedNoSpanActive)}, "uid-z")
	got, complete := idx.UnlinkedLines("uid-z", 0, ts(time.Hour))
	assert.Empty(t, got)
	assert.False(t, complete)

	// Kept under the first key with a history; out of order in, by time out.
	idx.AddUnlinked([]correlate.UnlinkedLine{line(200, correlate.UnlinkedAmbiguous), line(100, correlate.UnlinkedNoSpanActive)}, "uid-z", "uid-a")
	got, complete = idx.UnlinkedLines("uid-a", 0, ts(time.Second))
	assert.True(t, complete)
	require.Len(t, got, 2)
	assert.Equal(t, "line at 100ms", got[0].Body)
	assert.Equal(t, correlate.UnlinkedAmbiguous, got[1].Reason)

	// Four more lines into a ring of three: only the last three stay, and
	// the window that held dropped lines is reported incomplete.
	idx.AddUnlinked([]correlate.UnlinkedLine{line(300, 1), line(400, 1), line(500, 1), line(600, 1)}, "uid-a")
	tests := []struct {
		name         string
		from, to     time.Duration
		want         []string
		wantComplete bool
	}{
		{"everything", 0, time.Second, []string{"line at 400ms", "line at 500ms", "line at 600ms"}, false},
		{"after the dropped lines", 450 * time.Millisecond, time.Second, []string{"line at 500ms", "line at 600ms"}, true},
		{"a window with nothing", 700 * time.Millisecond, time.Second, nil, true},
		{"only dropped lines", 0, 250 * time.Millisecond, nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, complete := idx.UnlinkedLines("uid-a", ts(tc.from), ts(tc.to))
			var bodies []string
			for _, l := range got {
				bodies = append(bodies, l.Body)
			}
			assert.Equal(t, tc.want, bodies)
			assert.Equal(t, tc.wantComplete, complete)
		})
	}
}

func TestUnlinkedBodyIsCutAtACharacter(t *testing.T) {
	idx, _ := newIndex(t, nil)
	idx.AddSpan(&correlate.SpanRecord{TraceID: traceID(1), SpanID: spanID(1), PodKey: "uid-a", Start: ts(0), End: ts(time.Second)})
	for _, body := range []string{
		"short",
		strings.Repeat("x", 200),
		strings.Repeat("x", correlate.UnlinkedBodyBytes-1) + "é…",
		strings.Repeat("x", correlate.UnlinkedBodyBytes-2) + "€€",
		strings.Repeat("€", 40),
		"\xff\xfe invalid from the start " + strings.Repeat("y", 100),
	} {
		idx.AddUnlinked([]correlate.UnlinkedLine{{Time: ts(time.Millisecond), Reason: correlate.UnlinkedInferenceOff, Body: body}}, "uid-a")
		got, _ := idx.UnlinkedLines("uid-a", ts(time.Millisecond), ts(time.Millisecond))
		require.NotEmpty(t, got)
		kept := got[len(got)-1].Body
		assert.LessOrEqual(t, len(kept), correlate.UnlinkedBodyBytes)
		assert.True(t, strings.HasPrefix(body, kept), "%q is a prefix of %q", kept, body)
		if utf8.ValidString(body) && len(body) > correlate.UnlinkedBodyBytes {
			assert.True(t, utf8.ValidString(kept), "%q", kept)
			assert.Greater(t, len(kept), correlate.UnlinkedBodyBytes-utf8.UTFMax, "cut no more than one character: %q", kept)
		}
		if len(body) <= correlate.UnlinkedBodyBytes {
			assert.Equal(t, body, kept)
		}
	}
}

func TestUnlinkedLinesOff(t *testing.T) {
	idx, _ := newIndex(t, func(c *correlate.IndexConfig) { c.NoUnlinkedLines = true })
	idx.AddSpan(&correlate.SpanRecord{TraceID: traceID(1), SpanID: spanID(1), PodKey: "uid-a", Start: ts(0), End: ts(time.Second)})
	idx.AddUnlinked([]correlate.UnlinkedLine{{Time: ts(time.Millisecond), Reason: correlate.UnlinkedInferenceOff}}, "uid-a")
	got, _ := idx.UnlinkedLines("uid-a", 0, ts(time.Hour))
	assert.Empty(t, got)

	_, err := correlate.NewTraceIndex(correlate.IndexConfig{MaxTraces: 1, TTL: time.Second, UnlinkedPerKey: -1})
	assert.ErrorContains(t, err, "unlinked_lines_per_pod must not be negative, got -1")
}

func TestExplain(t *testing.T) {
	idx, _ := newIndex(t, nil)
	// Trace 1: a server span on pod a (0-100ms) calling pod b (20-60ms).
	idx.AddSpan(&correlate.SpanRecord{TraceID: traceID(1), SpanID: spanID(1), PodKey: "uid-a", PodAltKey: "shop/front-0", Service: "front", Name: "GET /", Start: ts(0), End: ts(100 * time.Millisecond)})
	idx.AddSpan(&correlate.SpanRecord{TraceID: traceID(1), SpanID: spanID(2), ParentSpanID: spanID(1), PodKey: "uid-b", Service: "cart", Start: ts(20 * time.Millisecond), End: ts(60 * time.Millisecond)})
	idx.AddLogFrom(correlate.SourcePresent, traceID(1), "uid-a", "front")
	idx.AddLogFrom(correlate.SourceInferred, traceID(1), "uid-b", "cart")
	idx.AddUnlinked([]correlate.UnlinkedLine{
		{Time: ts(-time.Second), Reason: correlate.UnlinkedNoSpanActive, Body: "before the trace"},
		{Time: ts(80 * time.Millisecond), Reason: correlate.UnlinkedNoSpanActive, Body: "after b's span"},
	}, "uid-b")

	x, ok := idx.Explain(traceID(1))
	require.True(t, ok)
	assert.Equal(t, correlate.LogLinks{Present: 1, Inferred: 1}, x.LogLinks)
	require.Len(t, x.Pods, 2)
	a, b := x.Pods[0], x.Pods[1]
	assert.Equal(t, "uid-a", a.Pod)
	assert.Equal(t, "shop/front-0", a.Name)
	assert.True(t, a.History)
	require.Len(t, a.Spans, 1)
	assert.Equal(t, spanID(1), a.Spans[0].SpanID)
	assert.Empty(t, a.Unlinked)
	assert.Equal(t, "uid-b", b.Pod)
	assert.Empty(t, b.Name, "its span named it by one key only")
	require.Len(t, b.Unlinked, 1, "only the line in the trace's window")
	assert.Equal(t, "after b's span", b.Unlinked[0].Body)
	assert.True(t, b.UnlinkedComplete)

	_, ok = idx.Explain(traceID(9))
	assert.False(t, ok)
}
