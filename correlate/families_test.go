package correlate_test

import (
	"encoding/binary"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/braidobs/braid/correlate"
)

const (
	// Datadog's decimal IDs.
	ddTrace = "1234567890123456789"
	ddSpan  = "987654321098765432"
	// An X-Ray trace ID, the W3C ID OpenTelemetry gives the same trace, and
	// a segment ID.
	xrayID  = "1-5759e988-bd862e3fe1be46a994272793"
	xrayW3C = "5759e988bd862e3fe1be46a994272793"
	xraySeg = "53995c3f42cd8ad8"
	// 64 hex digits, as container IDs and sha256 digests are.
	hex64 = tHex + tHex
)

func decTID(s string) pcommon.TraceID {
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		panic(err)
	}
	var t pcommon.TraceID
	binary.BigEndian.PutUint64(t[8:], n)
	return t
}

func decSID(s string) pcommon.SpanID {
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		panic(err)
	}
	var t pcommon.SpanID
	binary.BigEndian.PutUint64(t[:], n)
	return t
}

var (
	fromDatadog    = want{correlate.SourceBody, decTID(ddTrace), decSID(ddSpan)}
	fromDatadog128 = want{correlate.SourceBody, wantTID, decSID(ddSpan)}
	fromXRay       = want{source: correlate.SourceBody, trace: mustTID(xrayW3C)}
	fromXRaySeg    = want{correlate.SourceBody, mustTID(xrayW3C), mustSID(xraySeg)}
	fromBody64     = want{correlate.SourceBody, wantTID64, wantSID}
)

// Lines as the log integrations of tracing systems other than OpenTelemetry
// print them by default, and lookalikes that must never link.
var familyCases = []struct {
	name string
	body string
	want want
}{
	// Zipkin, Brave, Spring Cloud Sleuth
	{"sleuth 2 pattern with exportable", `2024-05-01 10:00:00.123  INFO [orders,` + t64 + `,` + sHex + `,true] 1 --- [nio-8080-exec-1] c.e.orders.OrderController : Order placed`, fromBody64},
	{"sleuth 3 pattern 128-bit", `2024-05-01 10:00:00.123  INFO [orders,` + tHex + `,` + sHex + `] 1 --- [nio-8080-exec-1] c.e.orders.OrderController : Order placed`, fromBody},
	{"sleuth pattern without app name", `2024-05-01 10:00:00.123  INFO [,` + t64 + `,` + sHex + `,false] 1 --- [main] c.e.orders.Job : tick`, fromBody64},
	{"sleuth pattern outside a span", `2024-05-01 10:00:00.123  INFO [orders,,] 1 --- [main] c.e.orders.App : Started`, none},
	{"sleuth logstash json", `{"@timestamp":"2024-05-01T10:00:00.123Z","@version":"1","message":"Order placed","logger_name":"c.e.orders.OrderController","thread_name":"nio-8080-exec-1","level":"INFO","traceId":"` + t64 + `","spanId":"` + sHex + `","spanExportable":"true","X-Span-Export":"true","X-B3-SpanId":"` + sHex + `","X-B3-TraceId":"` + t64 + `"}`, fromBody64},
	{"brave mdc in logback pattern", `2024-05-01 10:00:00.123 INFO [nio-8080-exec-1] traceId=` + tHex + ` spanId=` + sHex + ` parentId=1111111111111111 c.e.OrderService - Order placed`, fromBody},
	// Jaeger clients
	{"jaeger header 128-bit", `inject uber-trace-id: ` + tHex + `:` + sHex + `:0:1 into outgoing request`, fromBody},
	{"jaeger header 64-bit", `uber-trace-id=` + t64 + `:` + sHex + `:0000000000000000:1`, fromBody64},
	{"jaeger header url-encoded", `GET /orders uber-trace-id=` + t64 + `%3A` + sHex + `%3A0%3A1 200`, fromBody64},
	{"jaeger header in json", `{"level":"info","msg":"outgoing request","uber-trace-id":"` + tHex + `:` + sHex + `:0:1"}`, fromBody},
	{"jaeger span id without leading zeros", `uber-trace-id: ` + tHex + `:f067aa0ba902b7:0:1`, fromBody},
	{"jaeger all zeros", `uber-trace-id: 0000000000000000:0000000000000000:0:0`, none},
	{"jaeger shape under another key", `ctx=` + tHex + `:` + sHex + `:0:1`, none},
	// Datadog
	{"datadog python default", `2024-05-01 10:00:00,123 INFO [app] [app.py:42] [dd.service=orders dd.env=prod dd.version=1.4.2 dd.trace_id=` + ddTrace + ` dd.span_id=` + ddSpan + `] - Order placed`, fromDatadog},
	{"datadog java logstash json", `{"@timestamp":"2024-05-01T10:00:00.123Z","message":"Order placed","logger_name":"c.e.OrderService","level":"INFO","dd.service":"orders","dd.env":"prod","dd.version":"1.4.2","dd.trace_id":"` + ddTrace + `","dd.span_id":"` + ddSpan + `"}`, fromDatadog},
	{"datadog node pino nested", `{"level":30,"time":1714557600123,"pid":1,"hostname":"orders-7d9c","dd":{"trace_id":"` + ddTrace + `","span_id":"` + ddSpan + `","service":"orders","version":"1.4.2","env":"prod"},"msg":"Order placed"}`, fromDatadog},
	{"datadog 128-bit hex", `[dd.service=orders dd.env=prod dd.version=1.4.2 dd.trace_id=` + tHex + ` dd.span_id=` + ddSpan + `] Order placed`, fromDatadog128},
	{"datadog json numbers", `{"message":"Order placed","dd.trace_id":` + ddTrace + `,"dd.span_id":` + ddSpan + `}`, fromDatadog},
	{"datadog ruby lograge", `method=GET path=/orders format=json controller=OrdersController action=index status=200 duration=12.34 dd.env=prod dd.service=orders dd.version=1.4.2 dd.trace_id=` + ddTrace + ` dd.span_id=` + ddSpan, fromDatadog},
	{"datadog php monolog", `[2024-05-01T10:00:00.123456+00:00] app.INFO: Order placed [dd.trace_id="` + ddTrace + `" dd.span_id="` + ddSpan + `"] {"order_id":1042} []`, fromDatadog},
	{"datadog outside a span prints zeros", `[dd.service=orders dd.env=prod dd.version=1.4.2 dd.trace_id=0 dd.span_id=0] - startup`, none},
	{"datadog decimal above 64 bits", `dd.trace_id=18446744073709551616 dd.span_id=` + ddSpan, none},
	{"datadog decimal too short to tell", `dd.trace_id=123456789012345 dd.span_id=` + ddSpan, none},
	{"datadog short span id not read", `dd.trace_id=` + ddTrace + ` dd.span_id=42`, want{source: correlate.SourceBody, trace: decTID(ddTrace)}},
	{"datadog nested decimal not read as hex", `{"dd":{"trace_id":"1234567890123456"},"trace_id":"` + tHex + `"}`, want{source: correlate.SourceBody, trace: decTID("1234567890123456")}},
	// AWS X-Ray
	{"powertools python json", `{"level":"INFO","location":"handler:12","message":"Order placed","timestamp":"2024-05-01 10:00:00,123+0000","service":"orders","cold_start":true,"function_name":"orders","function_memory_size":"128","function_arn":"arn:aws:lambda:eu-west-1:123456789012:function:orders","function_request_id":"c6af9ac6-7b61-11e6-9a41-93e812345678","xray_trace_id":"` + xrayID + `"}`, fromXRay},
	{"powertools dotnet pascal case", `{"ColdStart":true,"XrayTraceId":"` + xrayID + `","FunctionName":"orders","Level":"Information","Service":"orders","Message":"Order placed"}`, fromXRay},
	{"x-ray sdk java mdc", `2024-05-01 10:00:00.123 INFO [main] c.e.Orders - AWS-XRAY-TRACE-ID: ` + xrayID + `@` + xraySeg + ` Order placed`, fromXRaySeg},
	{"x-ray header", `upstream X-Amzn-Trace-Id: Root=` + xrayID + `;Parent=` + xraySeg + `;Sampled=1`, fromXRaySeg},
	{"lambda environment", `_X_AMZN_TRACE_ID=Root=` + xrayID + `;Parent=` + xraySeg + `;Sampled=0;Lineage=a87bd80c:1`, fromXRaySeg},
	{"x-ray header with self first", `X-Amzn-Trace-Id: Self=1-67891234-12456789abcdef012345678;Root=` + xrayID, fromXRay},
	{"x-ray header in json", `{"msg":"request","headers":"x","x-amzn-trace-id":"Root=` + xrayID + `;Parent=` + xraySeg + `;Sampled=1"}`, fromXRaySeg},
	{"x-ray all zeros", `xray_trace_id=1-00000000-000000000000000000000000`, none},
	{"x-ray shape under another key", `id=` + xrayID, none},
	{"x-ray wrong version", `xray_trace_id=2-5759e988-bd862e3fe1be46a994272793`, none},
	// Google Cloud structured logging
	{"cloud logging json", `{"severity":"INFO","message":"Order placed","logging.googleapis.com/trace":"projects/my-project/traces/` + tHex + `","logging.googleapis.com/spanId":"` + sHex + `","logging.googleapis.com/trace_sampled":true}`, fromBody},
	{"cloud logging bad trace", `{"logging.googleapis.com/trace":"projects/my-project/traces/zz` + tHex[2:] + `"}`, none},
	{"cloud logging no project", `{"logging.googleapis.com/trace":"projects//traces/` + tHex + `"}`, none},
	// Azure Application Insights
	{"application insights json", `{"time":"2024-05-01T10:00:00.123Z","message":"Order placed","severityLevel":"Information","operation_Name":"GET /orders","operation_Id":"` + tHex + `","operation_ParentId":"` + sHex + `"}`, fromBody},
	{"application insights hierarchical parent", `{"operation_Id":"` + tHex + `","operation_ParentId":"|` + tHex + `.` + sHex + `."}`, fromBodyTrace},
	{"application insights tags", `{"ai.operation.id":"` + tHex + `","ai.operation.parentId":"` + sHex + `","message":"Order placed"}`, fromBody},
	{"application insights uuid", `{"operation_Id":"4bf92f35-77b3-4da6-a3ce-929d0e0e4736"}`, none},
	// Elastic APM and ECS
	{"ecs nested", `{"@timestamp":"2024-05-01T10:00:00.123Z","log.level":"info","message":"Order placed","ecs":{"version":"1.6.0"},"trace":{"id":"` + tHex + `"},"transaction":{"id":"1111111111111111"},"span":{"id":"` + sHex + `"}}`, fromBody},
	{"ecs nested transaction only", `{"@timestamp":"2024-05-01T10:00:00.123Z","message":"Order placed","trace":{"id":"` + tHex + `"},"transaction":{"id":"` + sHex + `"}}`, fromBody},
	{"elastic dotted transaction only", `{"message":"Order placed","trace.id":"` + tHex + `","transaction.id":"` + sHex + `"}`, fromBody},
	{"elastic span before transaction", `{"transaction.id":"1111111111111111","trace.id":"` + tHex + `","span.id":"` + sHex + `"}`, fromBody},
	{"elastic mdc text", `2024-05-01 10:00:00.123 INFO [main] trace.id=` + tHex + ` transaction.id=` + sHex + ` c.e.OrderService - Order placed`, fromBody},
	{"ecs id under another object", `{"service":{"id":"` + tHex + `"},"host":{"id":"` + tHex + `"}}`, none},
	// New Relic
	{"new relic json", `{"timestamp":1714557600123,"message":"Order placed","log.level":"INFO","trace.id":"` + tHex + `","span.id":"` + sHex + `","entity.name":"orders","entity.type":"SERVICE","entity.guid":"MTIzNDU2fEFQTXxBUFBMSUNBVElPTnwxMjM0NTY3OA","hostname":"orders-7d9c"}`, fromBody},
	{"new relic local decoration", `2024-05-01 10:00:00 INFO Order placed NR-LINKING|MTIzNDU2fEFQTXxBUFBMSUNBVElPTnwxMjM0NTY3OA|orders-7d9c|` + tHex + `|` + sHex + `|orders|`, fromBody},
	{"new relic decoration in json message", `{"level":"info","message":"Order placed NR-LINKING|MTIzNDU2fEFQTXxBUFBMSUNBVElPTnwxMjM0NTY3OA|orders-7d9c|` + tHex + `|` + sHex + `|orders|"}`, fromBody},
	{"new relic decoration outside a transaction", `Started NR-LINKING|MTIzNDU2fEFQTXxBUFBMSUNBVElPTnwxMjM0NTY3OA|orders-7d9c|||orders|`, none},
	// Dynatrace
	{"dynatrace text enrichment", `2024-05-01 10:00:00.123 INFO [main] c.e.OrderService - Order placed [!dt dt.trace_id=` + tHex + `,dt.span_id=` + sHex + `,dt.trace_sampled=true]`, fromBody},
	{"dynatrace json enrichment", `{"level":"info","message":"Order placed","dt.trace_id":"` + tHex + `","dt.span_id":"` + sHex + `","dt.trace_sampled":"true"}`, fromBody},
	{"dynatrace all zeros", `[!dt dt.trace_id=00000000000000000000000000000000,dt.span_id=0000000000000000]`, none},
	// OpenTelemetry in more languages
	{"php monolog line formatter", `[2024-05-01T10:00:00.123456+00:00] app.INFO: Order placed {"order_id":1042} {"trace_id":"` + tHex + `","span_id":"` + sHex + `"}`, fromBody},
	{"php monolog json formatter extra", `{"message":"Order placed","context":{"order_id":1042},"level":200,"level_name":"INFO","channel":"app","datetime":"2024-05-01T10:00:00.123456+00:00","extra":{"trace_id":"` + tHex + `","span_id":"` + sHex + `"}}`, fromBody},
	{"ruby rails tagged logger", `I, [2024-05-01T10:00:00.123456 #1]  INFO -- : [trace_id=` + tHex + ` span_id=` + sHex + `] Completed 200 OK in 12ms`, fromBody},
	{"ruby lograge", `method=GET path=/orders format=html controller=OrdersController action=index status=200 duration=12.34 view=3.21 db=1.02 trace_id=` + tHex + ` span_id=` + sHex, fromBody},
	{"rust tracing json", `{"timestamp":"2024-05-01T10:00:00.123456Z","level":"INFO","fields":{"message":"Order placed","trace_id":"` + tHex + `","span_id":"` + sHex + `"},"target":"orders::api"}`, fromBody},
	{"rust tracing text", `2024-05-01T10:00:00.123456Z  INFO request{method=GET uri=/orders}: orders::api: Order placed trace_id=` + tHex + ` span_id=` + sHex, fromBody},
	{"elixir logger metadata", `10:00:00.123 [info] otel_trace_id=` + tHex + ` otel_span_id=` + sHex + ` otel_trace_flags=01 Order placed`, fromBody},
	{"elixir logger json", `{"time":"2024-05-01T10:00:00.123Z","severity":"info","message":"Order placed","metadata":{},"otel_trace_id":"` + tHex + `","otel_span_id":"` + sHex + `"}`, fromBody},
	// Hex that is not a trace ID
	{"container id", `{"log":"started","container_id":"` + hex64 + `","pod":"orders-7d9c"}`, none},
	{"containerd text", `time="2024-05-01T10:00:00Z" level=info msg="StartContainer for \"` + hex64 + `\" returns successfully"`, none},
	{"image digest", `Pulled image "ghcr.io/acme/orders@sha256:` + hex64 + `" in 1.2s`, none},
	{"image digest as a pair", `image=ghcr.io/acme/orders@sha256:` + hex64 + ` trace_id=none`, none},
	{"etag", `HTTP/1.1 200 OK ETag: "` + tHex + `" Content-Length: 1042`, none},
	{"weak etag", `{"etag":"W/\"` + tHex + `\"","status":200}`, none},
	{"session token", `login ok session=` + tHex + ` user=77`, none},
	{"request id header", `x-request-id: ` + tHex + ` GET /orders 200`, none},
	{"request uuid", `request_id=4bf92f35-77b3-4da6-a3ce-929d0e0e4736 GET /orders`, none},
	{"json array of microsecond timestamps", `{"msg":"window","bounds":[1,1714557600123456,1714557600123999]}`, none},
	{"text list of numbers", `retrying ids [7,1714557600123456,1714557600123999] later`, none},
	{"bracketed lookalike", `[orders,hello,world] [a,b,c,d] [x,` + t64 + `,` + sHex + `,maybe]`, none},
	{"all-zero dynatrace and azure", `{"dt.trace_id":"00000000000000000000000000000000","operation_Id":"00000000000000000000000000000000"}`, none},
}

func TestExtractFamilies(t *testing.T) {
	for _, tc := range familyCases {
		t.Run(tc.name, func(t *testing.T) {
			lr := plog.NewLogRecord()
			lr.Body().SetStr(tc.body)
			got := correlate.ExtractTraceContext(lr)
			assert.Equal(t, tc.want, want{got.Source, got.TraceID, got.SpanID})
			assert.Zero(t, testing.AllocsPerRun(10, func() { correlate.ExtractTraceContext(lr) }), "allocations")
		})
	}
}

func TestExtractFamiliesMapBody(t *testing.T) {
	tests := []struct {
		name string
		body map[string]any
		want want
	}{
		{"datadog nested strings", map[string]any{"msg": "hi", "dd": map[string]any{"trace_id": ddTrace, "span_id": ddSpan}}, fromDatadog},
		{"datadog nested integers", map[string]any{"msg": "hi", "dd": map[string]any{"trace_id": int64(1234567890123456789), "span_id": int64(987654321098765432)}}, fromDatadog},
		{"datadog dotted", map[string]any{"dd.trace_id": ddTrace, "dd.span_id": ddSpan}, fromDatadog},
		{"datadog float is not exact", map[string]any{"dd.trace_id": 1234567890123456789.0}, none},
		{"ecs nested", map[string]any{"trace": map[string]any{"id": tHex}, "span": map[string]any{"id": sHex}}, fromBody},
		{"ecs transaction", map[string]any{"trace": map[string]any{"id": tHex}, "transaction": map[string]any{"id": sHex}}, fromBody},
		{"cloud logging", map[string]any{"logging.googleapis.com/trace": "projects/p/traces/" + tHex, "logging.googleapis.com/spanId": sHex}, fromBody},
		{"x-ray", map[string]any{"xray_trace_id": xrayID}, fromXRay},
		{"jaeger", map[string]any{"uber-trace-id": tHex + ":" + sHex + ":0:1"}, fromBody},
		{"azure", map[string]any{"operation_Id": tHex, "operation_ParentId": sHex}, fromBody},
		{"dynatrace", map[string]any{"dt.trace_id": tHex, "dt.span_id": sHex}, fromBody},
		{"id elsewhere", map[string]any{"host": map[string]any{"id": tHex}}, none},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lr := plog.NewLogRecord()
			require.NoError(t, lr.Body().SetEmptyMap().FromRaw(tc.body))
			got := correlate.ExtractTraceContext(lr)
			assert.Equal(t, tc.want, want{got.Source, got.TraceID, got.SpanID})
		})
	}
}

func TestExtractFamiliesAttributes(t *testing.T) {
	tests := []struct {
		name  string
		attrs map[string]any
		want  want
	}{
		{"datadog", map[string]any{"dd.trace_id": ddTrace, "dd.span_id": ddSpan}, want{correlate.SourceAttribute, decTID(ddTrace), decSID(ddSpan)}},
		{"x-ray", map[string]any{"aws-xray-trace-id": xrayID + "@" + xraySeg}, want{correlate.SourceAttribute, mustTID(xrayW3C), mustSID(xraySeg)}},
		{"dynatrace", map[string]any{"dt.trace_id": tHex, "dt.span_id": sHex}, fromAttr},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lr := plog.NewLogRecord()
			require.NoError(t, lr.Attributes().FromRaw(tc.attrs))
			got := correlate.ExtractTraceContext(lr)
			assert.Equal(t, tc.want, want{got.Source, got.TraceID, got.SpanID})
		})
	}
}

// A configuration that names a family's key keeps the role it gives it.
func TestExtractFamilyKeyConfigured(t *testing.T) {
	cfg := correlate.DefaultExtractorConfig()
	cfg.TraceIDKeys = append(cfg.TraceIDKeys, "dd.trace_id")
	x, err := correlate.NewExtractor(cfg)
	require.NoError(t, err)
	got := x.ExtractString(`dd.trace_id=` + tHex)
	assert.Equal(t, wantTID, got.TraceID)
	got = x.ExtractString(`dd.trace_id=` + ddTrace)
	assert.False(t, got.Found())
}
