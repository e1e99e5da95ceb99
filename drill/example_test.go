package drill_test

import (
	"fmt"
	"time"

	"github.com/braidobs/braid/drill"
)

// Two gateway replicas each saw part of trace a: the merged list has it
// once, with both parts counted, ranked first for its error.
func ExampleMergeTraceLists() {
	t0 := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	replicaA := []drill.Trace{
		{TraceID: "a", Services: []string{"checkout"}, Start: t0, End: t0.Add(100 * time.Millisecond), DurationMS: 100, SpanCount: 3},
		{TraceID: "b", Services: []string{"checkout"}, Start: t0, End: t0.Add(400 * time.Millisecond), DurationMS: 400, SpanCount: 1},
	}
	replicaB := []drill.Trace{
		{TraceID: "a", Services: []string{"payments"}, Start: t0.Add(10 * time.Millisecond), End: t0.Add(250 * time.Millisecond),
			DurationMS: 240, SpanCount: 2, LogCount: 4, Error: true},
	}
	for _, t := range drill.MergeTraceLists([][]drill.Trace{replicaA, replicaB}, 10) {
		fmt.Printf("%s %v %.0fms spans=%d logs=%d error=%v\n", t.TraceID, t.Services, t.DurationMS, t.SpanCount, t.LogCount, t.Error)
	}
	// Output:
	// a [checkout payments] 250ms spans=5 logs=4 error=true
	// b [checkout] 400ms spans=1 logs=0 error=false
}
