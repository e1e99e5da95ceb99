package lokireceiver

import (
	"fmt"
	"testing"
	"time"

	"github.com/grafana/loki/pkg/push"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// benchStreams is pods streams of perPod entries, shaped like Alloy's
// Kubernetes pushes with trace context in structured metadata.
func benchStreams(pods, perPod int) []push.Stream {
	streams := make([]push.Stream, pods)
	for p := range streams {
		streams[p].Labels = fmt.Sprintf(`{k8s_cluster_name="prod", k8s_container_name="app", k8s_namespace_name="shop", k8s_pod_name="checkout-7d9f8c6b5-%05d", service_name="checkout"}`, p)
		for i := range perPod {
			streams[p].Entries = append(streams[p].Entries, push.Entry{
				Timestamp: ts0.Add(time.Duration(i) * time.Millisecond),
				Line:      `level=info msg="order placed" order_id=8812 duration_ms=12`,
				StructuredMetadata: push.LabelsAdapter{
					{Name: "trace_id", Value: traceHex}, {Name: "span_id", Value: spanHex}, {Name: "severity_text", Value: "info"},
				},
			})
		}
	}
	return streams
}

var sinkLogs plog.Logs

// BenchmarkDecode measures a push body to pdata logs (decompression,
// decoding, label parsing, conversion); entries/s is the figure to compare.
func BenchmarkDecode(b *testing.B) {
	c := &converter{}
	for _, size := range []struct{ pods, perPod int }{{1, 1000}, {100, 10}} {
		streams := benchStreams(size.pods, size.perPod)
		entries := size.pods * size.perPod
		bodies := []struct {
			name   string
			body   []byte
			decode func([]byte) ([]stream, error)
		}{
			{"protobuf", protobufBody(b, streams...), func(body []byte) ([]stream, error) { return decodeProtobuf(body, 64<<20) }},
			{"json", jsonBodyTB(b, streams), decodeJSON},
		}
		for _, bb := range bodies {
			b.Run(fmt.Sprintf("%s/pods=%d/entries=%d", bb.name, size.pods, entries), func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(bb.body)))
				for b.Loop() {
					s, err := bb.decode(bb.body)
					if err != nil {
						b.Fatal(err)
					}
					sinkLogs, _ = c.toLogs(s, "", pcommon.Timestamp(1))
				}
				b.ReportMetric(float64(b.N*entries)/b.Elapsed().Seconds(), "entries/s")
				b.ReportMetric(testing.AllocsPerRun(1, func() {
					s, _ := bb.decode(bb.body)
					sinkLogs, _ = c.toLogs(s, "", pcommon.Timestamp(1))
				})/float64(entries), "allocs/entry")
			})
		}
	}
}
