package lokireceiver

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/grafana/loki/pkg/push"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/braidobs/braid/processors/correlationprocessor"
)

// Payloads shaped as the four shippers send them, from their documented
// formats: Promtail and Alloy push snappy protobuf; Fluent Bit pushes JSON
// (gzip with `compress gzip`); Vector pushes snappy protobuf by default and
// JSON with `compression: gzip` or `none`, structured metadata as the third
// element of a value. In each, one line carries a trace ID (in structured
// metadata or in the line) and must come out linked.
func TestShipperPayloads(t *testing.T) {
	ns := fmt.Sprint(ts0.UnixNano())
	traceparent := "00-" + traceHex + "-" + spanHex + "-01"
	tests := []struct {
		name     string
		body     []byte
		headers  []string
		resource map[string]any // expected resource attributes, routing hints left out
	}{
		{
			name: "promtail kubernetes_sd",
			body: protobufBody(t, push.Stream{
				Labels: `{container="app", filename="/var/log/pods/shop_checkout-7d9f_8a1c/app/0.log", job="shop/checkout", namespace="shop", pod="checkout-7d9f", stream="stdout"}`,
				Entries: []push.Entry{
					{Timestamp: ts0, Line: `level=info msg="cart loaded"`},
					{Timestamp: ts0, Line: `level=error msg="payment failed" trace_id=` + traceHex + ` span_id=` + spanHex},
				},
			}),
			headers: []string{"Content-Type", "application/x-protobuf", "User-Agent", "promtail/3.0.0"},
			resource: map[string]any{
				"container": "app", "filename": "/var/log/pods/shop_checkout-7d9f_8a1c/app/0.log", "job": "shop/checkout",
				"namespace": "shop", "pod": "checkout-7d9f", "stream": "stdout",
			},
		},
		{
			name: "alloy loki.write with structured metadata",
			body: protobufBody(t, push.Stream{
				Labels: `{k8s_namespace_name="shop", k8s_pod_name="checkout-7d9f", service_name="checkout"}`,
				Entries: []push.Entry{
					{Timestamp: ts0, Line: "no context here"},
					{Timestamp: ts0, Line: "payment failed", StructuredMetadata: push.LabelsAdapter{{Name: "trace_id", Value: traceHex}, {Name: "span_id", Value: spanHex}}},
				},
			}),
			headers:  []string{"Content-Type", "application/x-protobuf", "User-Agent", "Alloy/v1.5.0", "X-Scope-OrgID", "shop"},
			resource: map[string]any{"k8s.namespace.name": "shop", "k8s.pod.name": "checkout-7d9f", "service.name": "checkout"},
		},
		{
			name: "fluent-bit json gzip with line_format json",
			body: gzipBytes(t, []byte(`{"streams":[{"stream":{"job":"fluent-bit","namespace_name":"shop"},"values":[`+
				`["`+ns+`","{\"log\":\"cart loaded\",\"stream\":\"stdout\"}"],`+
				`["`+ns+`","{\"log\":\"payment failed\",\"trace_id\":\"`+traceHex+`\",\"span_id\":\"`+spanHex+`\"}"]]}]}`)),
			headers:  []string{"Content-Type", "application/json", "Content-Encoding", "gzip", "User-Agent", "Fluent-Bit"},
			resource: map[string]any{"job": "fluent-bit", "namespace_name": "shop"},
		},
		{
			name: "vector json with structured metadata",
			body: []byte(`{"streams":[{"stream":{"service_name":"checkout","source_type":"kubernetes_logs"},"values":[` +
				`["` + ns + `","cart loaded"],` +
				`["` + ns + `","payment failed",{"trace_id":"` + traceHex + `","span_id":"` + spanHex + `","pod_uid":"8a1c"}]]}]}`),
			headers:  []string{"Content-Type", "application/json"},
			resource: map[string]any{"service.name": "checkout", "source_type": "kubernetes_logs"},
		},
		{
			name: "vector snappy protobuf with traceparent in the line",
			body: protobufBody(t, push.Stream{
				Labels: `{service_name="checkout"}`,
				Entries: []push.Entry{
					{Timestamp: ts0, Line: "cart loaded"},
					{Timestamp: ts0, Line: "payment failed traceparent=" + traceparent},
				},
			}),
			headers:  []string{"Content-Type", "application/x-protobuf"},
			resource: map[string]any{"service.name": "checkout"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Shipper → Loki receiver → Braid's correlation processor → sink.
			sink := new(consumertest.LogsSink)
			url := startReceiver(t, nil, startCorrelation(t, sink))
			status, msg := post(t, url, tt.body, tt.headers...)
			require.Equal(t, http.StatusNoContent, status, msg)

			rl := onlyLogs(t, sink).ResourceLogs().At(0)
			res := rl.Resource().Attributes().AsRaw()
			delete(res, "loki.resource.labels")
			delete(res, "loki.tenant")
			assert.Equal(t, tt.resource, res)

			lrs := rl.ScopeLogs().At(0).LogRecords()
			require.Equal(t, 2, lrs.Len())
			assert.True(t, lrs.At(0).TraceID().IsEmpty(), "the line without trace context stays unlinked")
			linked := lrs.At(1)
			assert.Equal(t, wantTraceID, linked.TraceID(), "the line with trace context comes out linked")
			assert.Equal(t, wantSpanID, linked.SpanID())
		})
	}
}

// startCorrelation starts Braid's correlation processor (default settings)
// in front of next.
func startCorrelation(t *testing.T, next consumer.Logs) consumer.Logs {
	t.Helper()
	f := correlationprocessor.NewFactory()
	p, err := f.CreateLogs(context.Background(), processortest.NewNopSettings(f.Type()), f.CreateDefaultConfig(), next)
	require.NoError(t, err)
	require.NoError(t, p.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, p.Shutdown(context.Background())) })
	return p
}
