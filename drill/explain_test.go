package drill_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/braidobs/braid/correlate"
	"github.com/braidobs/braid/drill"
)

// explainIndex holds errTrace (a minute before alertTime, 120ms on the
// checkout pod) with a line linked from the record, one from the body and
// one inferred, two unlinked lines of the pod in the trace's window and one
// before it, and an inferred exemplar.
func explainIndex(t *testing.T) *correlate.TraceIndex {
	idx := newIndex(t)
	start := alertTime.Add(-time.Minute)
	idx.AddLinkedLogs([]pcommon.TraceID{errTrace, errTrace}, []correlate.Source{correlate.SourcePresent, correlate.SourceBody}, checkoutPodUID, "checkout")
	idx.AddLogFrom(correlate.SourceInferred, errTrace, checkoutPodUID, "checkout")
	idx.AddExemplar(errTrace)
	idx.AddUnlinked([]correlate.UnlinkedLine{
		{Time: ts(start.Add(-time.Second)), Reason: correlate.UnlinkedNoSpanActive, Body: "before the trace"},
		{Time: ts(start.Add(10 * time.Millisecond)), Reason: correlate.UnlinkedAmbiguous, Body: "charging card"},
		{Time: ts(start.Add(100 * time.Millisecond)), Reason: correlate.UnlinkedInferenceOff, Body: "card declined"},
	}, checkoutPodUID)
	return idx
}

func TestExplainTrace(t *testing.T) {
	srv := newServer(t, explainIndex(t), "")
	var x drill.Explanation
	require.Equal(t, http.StatusOK, getJSON(t, srv.URL+"/api/v1/traces/"+errTrace.String()+"/explain", &x))
	assert.Equal(t, errTrace.String(), x.TraceID)
	assert.Equal(t, 1, x.SpanCount)
	assert.Equal(t, alertTime.Add(-time.Minute), x.Start)
	assert.Equal(t, 4, x.LogCount, "three by how, one from the fixture without")
	assert.Equal(t, correlate.LogLinks{Present: 1, Body: 1, Inferred: 1, Unknown: 1}, x.LogLinks)
	assert.Equal(t, 1, x.InferredExemplars)
	assert.Contains(t, x.Links.Trace, errTrace.String())
	require.Len(t, x.Pods, 1)
	p := x.Pods[0]
	assert.Equal(t, "shop/checkout-7d9f8b6c5-abcde", p.Pod, "named as its spans named it")
	assert.True(t, p.History)
	require.Len(t, p.Spans, 1)
	assert.Equal(t, pcommon.SpanID{errTrace[0], 1}.String(), p.Spans[0].SpanID)
	assert.True(t, p.Spans[0].Error)
	assert.True(t, p.UnlinkedComplete)
	assert.Equal(t, []drill.UnlinkedLine{
		{Time: alertTime.Add(-time.Minute + 10*time.Millisecond), Reason: "ambiguous", Body: "charging card"},
		{Time: alertTime.Add(-time.Minute + 100*time.Millisecond), Reason: "inference_off", Body: "card declined"},
	}, p.Unlinked)
}

func TestExplainTraceErrors(t *testing.T) {
	srv := newServer(t, explainIndex(t), "")
	tests := []struct {
		name, id   string
		wantStatus int
		wantErr    string
	}{
		{"not hex", "zz92f3577b34da6a3ce929d0e0e4736z", http.StatusBadRequest, `trace id "zz92f3577b34da6a3ce929d0e0e4736z" is not hex`},
		{"too short", "abc", http.StatusBadRequest, `trace id "abc": want 32 hex digits`},
		{"unknown", "0102030405060708090a0b0c0d0e0f10", http.StatusNotFound, "is not in Braid's index"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var e drill.Error
			assert.Equal(t, tc.wantStatus, getJSON(t, srv.URL+"/api/v1/traces/"+tc.id+"/explain", &e))
			assert.Contains(t, e.Error, tc.wantErr)
		})
	}
}

func TestFleetMergesExplanations(t *testing.T) {
	idxs := threeReplicas(t)
	t0 := alertTime.Add(-time.Minute)
	// A linked the root's line from its body; B holds the cart pod's
	// unlinked line, within the trace's window, and an inferred line.
	idxs[0].AddLogFrom(correlate.SourceBody, splitTrace, "shop/checkout-1", "checkout")
	idxs[1].AddLogFrom(correlate.SourceInferred, splitTrace, "shop/cart-1", "cart")
	idxs[1].AddUnlinked([]correlate.UnlinkedLine{{Time: ts(t0.Add(30 * time.Millisecond)), Reason: correlate.UnlinkedAmbiguous, Body: "reserving stock"}}, "shop/cart-1")
	rs := newFleet(t, idxs, fleetOptions{})
	var x drill.Explanation
	require.Equal(t, http.StatusOK, getJSON(t, rs[2].srv.URL+"/api/v1/traces/"+splitTrace.String()+"/explain", &x), "C holds none of it")
	assert.False(t, x.Partial)
	assert.Equal(t, 3, x.SpanCount)
	assert.Equal(t, t0, x.Start)
	assert.Equal(t, t0.Add(300*time.Millisecond), x.End)
	assert.Equal(t, correlate.LogLinks{Body: 1, Inferred: 1, Unknown: 1}, x.LogLinks)
	pods := map[string]drill.PodExplanation{}
	for _, p := range x.Pods {
		pods[p.Pod] = p
	}
	require.Contains(t, pods, "shop/cart-1")
	assert.Equal(t, []drill.UnlinkedLine{{Time: t0.Add(30 * time.Millisecond), Reason: "ambiguous", Body: "reserving stock"}}, pods["shop/cart-1"].Unlinked)
	assert.Contains(t, pods, "shop/checkout-1")
	assert.Contains(t, pods, "shop/checkout-2")

	// With B down the answer says so, and has A's part.
	rs[1].srv.Close()
	x = drill.Explanation{}
	require.Equal(t, http.StatusOK, getJSON(t, rs[0].srv.URL+"/api/v1/traces/"+splitTrace.String()+"/explain", &x))
	assert.True(t, x.Partial)
	assert.Equal(t, []string{rs[1].addr}, x.MissingPeers)
	assert.Equal(t, 1, x.SpanCount)
}

func TestMergeExplanations(t *testing.T) {
	t0 := alertTime
	line := func(ms int, body string) drill.UnlinkedLine {
		return drill.UnlinkedLine{Time: t0.Add(time.Duration(ms) * time.Millisecond), Reason: "no_span_active", Body: body}
	}
	a := drill.Explanation{TraceID: "a", Services: []string{"x"}, Start: t0.Add(10 * time.Millisecond), End: t0.Add(20 * time.Millisecond), SpanCount: 1,
		LogCount: 2, LogLinks: correlate.LogLinks{Present: 2}, Pods: []drill.PodExplanation{
			{Pod: "p", History: true, UnlinkedComplete: true, Unlinked: []drill.UnlinkedLine{line(15, "late")}},
		}}
	b := drill.Explanation{TraceID: "a", Services: []string{"y", "x"}, Start: t0, End: t0.Add(15 * time.Millisecond), SpanCount: 2,
		LogCount: 1, LogLinks: correlate.LogLinks{Inferred: 1}, InferredExemplars: 3, Pods: []drill.PodExplanation{
			{Pod: "p", History: false, UnlinkedComplete: false, Unlinked: []drill.UnlinkedLine{line(5, "early"), line(15, "late")}},
			{Pod: "q", History: true},
		}}
	got := drill.MergeExplanations([]drill.Explanation{a, b})
	assert.Equal(t, []string{"x", "y"}, got.Services)
	assert.Equal(t, t0, got.Start)
	assert.Equal(t, t0.Add(20*time.Millisecond), got.End)
	assert.Equal(t, 3, got.SpanCount)
	assert.Equal(t, correlate.LogLinks{Present: 2, Inferred: 1}, got.LogLinks)
	assert.Equal(t, 3, got.InferredExemplars)
	require.Len(t, got.Pods, 2)
	assert.Equal(t, []drill.UnlinkedLine{line(5, "early"), line(15, "late")}, got.Pods[0].Unlinked, "union, by time")
	assert.True(t, got.Pods[0].History)
	assert.False(t, got.Pods[0].UnlinkedComplete, "complete only if every part is")
	assert.Len(t, a.Pods[0].Unlinked, 1, "the parts are left as they were")
}
