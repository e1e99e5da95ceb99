package correlate_test

import (
	"fmt"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/braidobs/braid/correlate"
)

func ExampleExtractTraceContext() {
	lr := plog.NewLogRecord()
	lr.Body().SetStr(`2024-05-01 10:00:00,123 INFO [app] [app.py:42] [trace_id=4bf92f3577b34da6a3ce929d0e0e4736 span_id=00f067aa0ba902b7 resource.service.name=orders trace_sampled=True] - Order placed`)

	tc := correlate.ExtractTraceContext(lr)
	correlate.ApplyTraceContext(lr, tc)

	src, _ := lr.Attributes().Get(correlate.SourceAttributeKey)
	fmt.Println(lr.TraceID(), lr.SpanID(), src.Str())
	// Output: 4bf92f3577b34da6a3ce929d0e0e4736 00f067aa0ba902b7 body
}

func ExamplePodFromLogPath() {
	pod, ok := correlate.PodFromLogPath("/var/log/pods/shop_orders-7d9c5b-x2x4k_1f2e3d4c-5b6a-4789-8a7b-6c5d4e3f2a1b/orders/0.log")
	fmt.Println(ok, pod.Namespace, pod.Name, pod.UID, pod.ContainerName)
	// Output: true shop orders-7d9c5b-x2x4k 1f2e3d4c-5b6a-4789-8a7b-6c5d4e3f2a1b orders
}

func ExampleTraceIndex() {
	idx, err := correlate.NewTraceIndex(correlate.IndexConfig{MaxTraces: 10_000, TTL: 10 * time.Minute})
	if err != nil {
		panic(err)
	}
	start := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	tid := pcommon.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36}
	idx.AddSpan(&correlate.SpanRecord{
		TraceID: tid, SpanID: pcommon.SpanID{1}, Name: "GET /orders", Service: "shop/orders", PodKey: "uid-a",
		Start: pcommon.NewTimestampFromTime(start), End: pcommon.NewTimestampFromTime(start.Add(120 * time.Millisecond)),
	})
	idx.AddLog(tid, "uid-a", "shop/orders")

	for _, s := range idx.TracesForPod("uid-a", correlate.Query{Limit: 10}) {
		fmt.Println(s.TraceID, s.RootName, s.Duration(), s.SpanCount, s.LogCount)
	}
	// A log line from that pod at 50ms, without trace context, belongs to
	// the only span active then.
	ref, ok := idx.InferSpan(pcommon.NewTimestampFromTime(start.Add(50*time.Millisecond)), "uid-a")
	fmt.Println(ok, ref.SpanID)
	// Output:
	// 4bf92f3577b34da6a3ce929d0e0e4736 GET /orders 120ms 1 1
	// true 0100000000000000
}

func ExampleStaticPodResolver() {
	r := correlate.NewStaticPodResolver([]correlate.Pod{{UID: "uid-a", Name: "orders-0", Namespace: "shop", IP: "10.0.0.7"}})
	pod, ok := r.ByIP("10.0.0.7")
	fmt.Println(ok, pod.Namespace+"/"+pod.Name)
	// Output: true shop/orders-0
}

func ExampleTraceIndex_Explain() {
	idx, err := correlate.NewTraceIndex(correlate.IndexConfig{MaxTraces: 10_000, TTL: 10 * time.Minute})
	if err != nil {
		panic(err)
	}
	start := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	at := func(ms int) pcommon.Timestamp {
		return pcommon.NewTimestampFromTime(start.Add(time.Duration(ms) * time.Millisecond))
	}
	a := pcommon.TraceID{0xa}
	b := pcommon.TraceID{0xb}
	idx.AddSpan(&correlate.SpanRecord{TraceID: a, SpanID: pcommon.SpanID{1}, PodKey: "uid-a", PodAltKey: "shop/orders-0", Start: at(0), End: at(100)})
	idx.AddSpan(&correlate.SpanRecord{TraceID: b, SpanID: pcommon.SpanID{2}, PodKey: "uid-a", PodAltKey: "shop/orders-0", Start: at(50), End: at(150)})
	// A line that carried trace a's ID, and one without at 70ms, when both
	// traces were active in the pod: no link, and the index keeps why.
	idx.AddLogFrom(correlate.SourcePresent, a, "uid-a", "orders")
	ref, why := idx.InferLink(at(70), "uid-a")
	fmt.Println(ref.TraceID.IsEmpty(), why)
	idx.AddUnlinked([]correlate.UnlinkedLine{{Time: at(70), Reason: why, Body: "reserving stock"}}, "uid-a")

	x, _ := idx.Explain(a)
	fmt.Println(x.LogLinks.Present, "present;", x.Pods[0].Name, len(x.Pods[0].Spans), "span")
	for _, l := range x.Pods[0].Unlinked {
		fmt.Println(l.Time.AsTime().Format("15:04:05.000"), l.Reason, l.Body)
	}
	// Output:
	// true ambiguous
	// 1 present; shop/orders-0 1 span
	// 10:00:00.070 ambiguous reserving stock
}
