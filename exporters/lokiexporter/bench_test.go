package lokiexporter

import (
	"fmt"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// benchLogs builds pods resources of perPod records each, shaped like
// container logs with Kubernetes identity and trace context.
func benchLogs(pods, perPod int) plog.Logs {
	ld := plog.NewLogs()
	for p := range pods {
		rl := ld.ResourceLogs().AppendEmpty()
		res := rl.Resource().Attributes()
		res.PutStr("service.name", "checkout")
		res.PutStr("k8s.cluster.name", "prod")
		res.PutStr("k8s.namespace.name", "shop")
		res.PutStr("k8s.pod.name", fmt.Sprintf("checkout-7d9f8c6b5-%05d", p))
		res.PutStr("k8s.pod.uid", "0b1e7c8a-5d2f-4f0e-9d3c-2a6b8e1f4c7d")
		res.PutStr("k8s.container.name", "app")
		res.PutStr("k8s.node.name", "node-1")
		lrs := rl.ScopeLogs().AppendEmpty().LogRecords()
		for i := range perPod {
			lr := lrs.AppendEmpty()
			lr.SetTimestamp(pcommon.NewTimestampFromTime(baseTime.Add(time.Duration(i) * time.Millisecond)))
			lr.Body().SetStr(`level=info msg="order placed" order_id=8812 duration_ms=12`)
			lr.SetSeverityText("INFO")
			lr.SetTraceID(testTraceID)
			lr.SetSpanID(testSpanID)
			lr.Attributes().PutStr("log.file.path", "/var/log/pods/shop_checkout_0b1e/app/0.log")
			lr.Attributes().PutStr("log.iostream", "stdout")
		}
	}
	return ld
}

var sinkBody []byte

// BenchmarkEncode measures pdata to push request, protobuf marshalling
// included (into a reused buffer, as the exporter does); entries/s is the
// figure to compare.
func BenchmarkEncode(b *testing.B) {
	for _, size := range []struct{ pods, perPod int }{{1, 100}, {10, 100}, {100, 10}} {
		ld := benchLogs(size.pods, size.perPod)
		entries := size.pods * size.perPod
		cfg := createDefaultConfig().(*Config)
		for _, sized := range []bool{false, true} {
			enc := newEncoder(cfg)
			// sized is what usage accounting adds: every entry's size, per
			// resource.
			enc.sizes = sized
			b.Run(fmt.Sprintf("pods=%d/entries=%d/sized=%t", size.pods, entries, sized), func(b *testing.B) {
				b.ReportAllocs()
				var buf []byte
				for b.Loop() {
					out := enc.encode(ld)
					for _, tr := range out.tenants {
						buf, _ = marshalRequest(buf, &tr.req, tr.size())
					}
				}
				sinkBody = buf
				b.ReportMetric(float64(b.N*entries)/b.Elapsed().Seconds(), "entries/s")
				b.ReportMetric(float64(testing.AllocsPerRun(1, func() {
					out := enc.encode(ld)
					sinkBody, _ = marshalRequest(sinkBody, &out.tenants[0].req, out.tenants[0].size())
				}))/float64(entries), "allocs/entry")
			})
		}
	}
}
