package drill_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/braidobs/braid/drill"
)

func part(id string, services, pods []string, start, end time.Duration, spans, logs int, failed bool, root string) drill.Trace {
	t0 := alertTime.Add(-time.Minute)
	t := drill.Trace{
		TraceID: id, Services: services, Pods: pods,
		Start: t0.Add(start), End: t0.Add(end),
		DurationMS: float64(end-start) / float64(time.Millisecond),
		SpanCount:  spans, LogCount: logs, Error: failed, Source: "braid",
	}
	if root != "" {
		t.RootOperation, t.RootService = root, services[0]
	}
	return t
}

func TestMergeTraces(t *testing.T) {
	t0 := alertTime.Add(-time.Minute)
	tests := []struct {
		name  string
		parts []drill.Trace
		want  drill.Trace
	}{
		{
			name:  "one part is itself",
			parts: []drill.Trace{part("a", []string{"checkout"}, []string{"shop/checkout-1"}, 0, 100*time.Millisecond, 3, 2, false, "GET /")},
			want:  part("a", []string{"checkout"}, []string{"shop/checkout-1"}, 0, 100*time.Millisecond, 3, 2, false, "GET /"),
		},
		{
			name: "two replicas: union, min start, max end, sums, error if any, the root from whoever saw it",
			parts: []drill.Trace{
				part("a", []string{"cart"}, []string{"shop/cart-1"}, 10*time.Millisecond, 300*time.Millisecond, 2, 0, true, ""),
				part("a", []string{"checkout", "cart"}, []string{"shop/checkout-1"}, 0, 100*time.Millisecond, 3, 2, false, "GET /"),
			},
			want: drill.Trace{
				TraceID: "a", RootOperation: "GET /", RootService: "checkout",
				Services: []string{"cart", "checkout"}, Pods: []string{"shop/cart-1", "shop/checkout-1"},
				Start: t0, End: t0.Add(300 * time.Millisecond), DurationMS: 300,
				Error: true, SpanCount: 5, LogCount: 2, Source: "braid",
			},
		},
		{
			name: "three replicas, one with only logs (no times)",
			parts: []drill.Trace{
				part("a", []string{"checkout"}, []string{}, 0, 50*time.Millisecond, 1, 0, false, "GET /"),
				{TraceID: "a", Services: []string{"checkout"}, Pods: []string{"shop/checkout-2"}, LogCount: 4, Source: "braid"},
				part("a", []string{"db"}, []string{}, 20*time.Millisecond, 40*time.Millisecond, 1, 1, false, ""),
			},
			want: drill.Trace{
				TraceID: "a", RootOperation: "GET /", RootService: "checkout",
				Services: []string{"checkout", "db"}, Pods: []string{"shop/checkout-2"},
				Start: t0, End: t0.Add(50 * time.Millisecond), DurationMS: 50,
				SpanCount: 2, LogCount: 5, Source: "braid",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, drill.MergeTraces(tt.parts))
		})
	}
}

func TestMergeTracesDoesNotAliasItsInput(t *testing.T) {
	services := make([]string, 1, 4)
	services[0] = "checkout"
	a := part("a", services, []string{"p1"}, 0, time.Millisecond, 1, 0, false, "")
	b := part("a", []string{"cart"}, []string{"p2"}, 0, time.Millisecond, 1, 0, false, "")
	_ = drill.MergeTraces([]drill.Trace{a, b})
	assert.Equal(t, "", services[:2][1], "the caller's backing array is untouched")
}

func TestMergeTraceLists(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name  string
		lists [][]drill.Trace
		limit int
		want  []string
		spans map[string]int
	}{
		{
			name:  "no replica has any",
			lists: [][]drill.Trace{{}, nil},
			want:  []string{},
		},
		{
			name: "disjoint lists interleave: errors first, then slowest",
			lists: [][]drill.Trace{
				{part("slow", []string{"s"}, nil, 0, 300*ms, 1, 0, false, ""), part("fast", []string{"s"}, nil, 0, 10*ms, 1, 0, false, "")},
				{part("err", []string{"s"}, nil, 0, 5*ms, 1, 0, true, ""), part("mid", []string{"s"}, nil, 0, 100*ms, 1, 0, false, "")},
			},
			want: []string{"err", "slow", "mid", "fast"},
		},
		{
			name: "a trace on two replicas is merged, then ranked by its merged duration and error",
			lists: [][]drill.Trace{
				{part("split", []string{"s"}, nil, 0, 50*ms, 2, 0, false, ""), part("other", []string{"s"}, nil, 0, 200*ms, 1, 0, false, "")},
				{part("split", []string{"t"}, nil, 40*ms, 400*ms, 3, 0, false, "")},
			},
			want:  []string{"split", "other"},
			spans: map[string]int{"split": 5, "other": 1},
		},
		{
			name: "limit applies to the merged list",
			lists: [][]drill.Trace{
				{part("a", nil, nil, 0, 30*ms, 1, 0, false, ""), part("b", nil, nil, 0, 20*ms, 1, 0, false, "")},
				{part("c", nil, nil, 0, 25*ms, 1, 0, false, ""), part("a", nil, nil, 0, 30*ms, 1, 0, false, "")},
			},
			limit: 2,
			want:  []string{"a", "c"},
			spans: map[string]int{"a": 2, "c": 1},
		},
		{
			name: "equals keep the first list's order",
			lists: [][]drill.Trace{
				{part("x", nil, nil, 0, 10*ms, 1, 0, false, "")},
				{part("y", nil, nil, 0, 10*ms, 1, 0, false, "")},
			},
			want: []string{"x", "y"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := drill.MergeTraceLists(tt.lists, tt.limit)
			assert.Equal(t, tt.want, ids(got))
			for _, tr := range got {
				if want, ok := tt.spans[tr.TraceID]; ok {
					assert.Equal(t, want, tr.SpanCount, tr.TraceID)
				}
			}
		})
	}
}
