package drill_test

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"

	"github.com/braidobs/braid/drill"
)

func FuzzDecodeWebhook(f *testing.F) {
	for _, p := range []string{"testdata/alert_pod.json", "testdata/alert_no_scope.json"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"version":"4","alerts":[{"startsAt":"2026-11-26T12:00:00Z","labels":null}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := drill.DecodeWebhook(bytes.NewReader(b))
		if err == nil && len(p.Alerts) == 0 {
			t.Fatal("a payload without alerts was accepted")
		}
	})
}

func FuzzParseTraceID(f *testing.F) {
	for _, s := range []string{"4bf92f3577b34da6a3ce929d0e0e4736", "a3ce929d0e0e4736", "", "00000000000000000000000000000000", "zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := drill.ParseTraceID(s)
		if err == nil && id.IsEmpty() {
			t.Fatal("an all-zero trace id was accepted")
		}
	})
}

// FuzzPeerTraceList feeds a peer's answer, as it arrives, to the merge: an
// answer from another replica is outside input.
func FuzzPeerTraceList(f *testing.F) {
	f.Add([]byte(`{"traces":[{"trace_id":"a","services":["checkout"],"pods":[],"start":"2026-11-26T11:59:00Z","end":"2026-11-26T11:59:01Z","duration_ms":1000,"span_count":2}]}`))
	f.Add([]byte(`{"traces":[{"trace_id":"a"},{"trace_id":"a","error":true,"start":"0001-01-01T00:00:00Z"}]}`))
	f.Add([]byte(`{"traces":null}`))
	local := []drill.Trace{{TraceID: "a", Services: []string{"cart"}, SpanCount: 1, Source: "braid"}}
	f.Fuzz(func(t *testing.T, b []byte) {
		var l drill.TraceList
		if json.Unmarshal(b, &l) != nil {
			return
		}
		got := drill.MergeTraceLists([][]drill.Trace{local, l.Traces}, 3)
		if len(got) > 3 {
			t.Fatalf("limit 3, got %d traces", len(got))
		}
		seen := map[string]bool{}
		for _, tr := range got {
			if seen[tr.TraceID] {
				t.Fatalf("trace %q twice in a merged list", tr.TraceID)
			}
			seen[tr.TraceID] = true
		}
	})
}

// FuzzPeerExplanation feeds a peer's explain answer, as it arrives, to the
// merge.
func FuzzPeerExplanation(f *testing.F) {
	f.Add([]byte(`{"trace_id":"a","span_count":1,"log_links":{"present":1},"pods":[{"pod":"shop/a","history":true,"unlinked":[{"time":"2026-11-26T11:59:00Z","reason":"ambiguous","body":"x"}],"unlinked_complete":true}]}`))
	f.Add([]byte(`{"trace_id":"a","pods":[{"pod":"shop/a"},{"pod":"shop/a","spans":[{"span_id":"1"}]}]}`))
	f.Add([]byte(`{"pods":null}`))
	local := drill.Explanation{TraceID: "a", SpanCount: 2, LogCount: 1, Pods: []drill.PodExplanation{{Pod: "shop/a", History: true, UnlinkedComplete: true}}}
	f.Fuzz(func(t *testing.T, b []byte) {
		var x drill.Explanation
		if json.Unmarshal(b, &x) != nil {
			return
		}
		got := drill.MergeExplanations([]drill.Explanation{local, x})
		if got.SpanCount != local.SpanCount+x.SpanCount {
			t.Fatalf("span counts %d + %d merged to %d", local.SpanCount, x.SpanCount, got.SpanCount)
		}
		if len(local.Pods) != 1 || len(local.Pods[0].Unlinked) != 0 {
			t.Fatal("the merge changed its first part")
		}
		if got.Pods[0].Pod != "shop/a" {
			t.Fatalf("the first part's pod is not first: %q", got.Pods[0].Pod)
		}
	})
}
