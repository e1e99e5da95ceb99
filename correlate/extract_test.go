package correlate_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/braidobs/braid/correlate"
)

const (
	tHex  = "4bf92f3577b34da6a3ce929d0e0e4736"
	sHex  = "00f067aa0ba902b7"
	t64   = "a3ce929d0e0e4736"
	tpVal = "00-" + tHex + "-" + sHex + "-01"
)

var (
	wantTID   = mustTID(tHex)
	wantSID   = mustSID(sHex)
	wantTID64 = mustTID("0000000000000000" + t64)
)

func mustTID(s string) pcommon.TraceID {
	var t pcommon.TraceID
	for i := range t {
		t[i] = unhex(s[2*i])<<4 | unhex(s[2*i+1])
	}
	return t
}

func mustSID(s string) pcommon.SpanID {
	var t pcommon.SpanID
	for i := range t {
		t[i] = unhex(s[2*i])<<4 | unhex(s[2*i+1])
	}
	return t
}

func unhex(c byte) byte {
	if c >= 'a' {
		return c - 'a' + 10
	}
	return c - '0'
}

type want struct {
	source correlate.Source
	trace  pcommon.TraceID
	span   pcommon.SpanID
}

var (
	fromBody      = want{correlate.SourceBody, wantTID, wantSID}
	fromBodyTrace = want{source: correlate.SourceBody, trace: wantTID}
	fromAttr      = want{correlate.SourceAttribute, wantTID, wantSID}
	none          = want{}
)

// Realistic lines that services print with their OpenTelemetry logging
// integration switched on, per language family.
var bodyCases = []struct {
	name string
	body string
	want want
}{
	// Go
	{"go/slog json", `{"time":"2024-05-01T10:00:00.123456789Z","level":"INFO","msg":"order placed","order_id":1042,"trace_id":"` + tHex + `","span_id":"` + sHex + `"}`, fromBody},
	{"go/zap json", `{"level":"info","ts":1714557600.123,"caller":"api/handler.go:42","msg":"order placed","traceID":"` + tHex + `","spanID":"` + sHex + `"}`, fromBody},
	{"go/logrus text", `time="2024-05-01T10:00:00Z" level=info msg="order placed" span_id=` + sHex + ` trace_id=` + tHex, fromBody},
	{"go/zerolog json", `{"level":"info","trace_id":"` + tHex + `","span_id":"` + sHex + `","time":"2024-05-01T10:00:00Z","message":"order placed"}`, fromBody},
	// Java
	{"java/logstash-logback json", `{"@timestamp":"2024-05-01T10:00:00.123Z","@version":"1","message":"Order placed","logger_name":"com.example.OrderService","thread_name":"http-nio-8080-exec-1","level":"INFO","level_value":20000,"trace_id":"` + tHex + `","span_id":"` + sHex + `","trace_flags":"01"}`, fromBody},
	{"java/log4j2 JsonLayout contextMap", `{"instant":{"epochSecond":1714557600,"nanoOfSecond":123000000},"thread":"main","level":"INFO","loggerName":"com.example.OrderService","message":"Order placed","endOfBatch":false,"contextMap":{"span_id":"` + sHex + `","trace_flags":"01","trace_id":"` + tHex + `"},"threadId":1,"threadPriority":5}`, fromBody},
	{"java/ecs json", `{"@timestamp":"2024-05-01T10:00:00.123Z","log.level":"INFO","message":"Order placed","ecs.version":"1.2.0","service.name":"orders","trace.id":"` + tHex + `","span.id":"` + sHex + `"}`, fromBody},
	{"java/logback pattern with MDC", `2024-05-01 10:00:00.123 INFO  [http-nio-8080-exec-1] c.e.OrderService trace_id=` + tHex + ` span_id=` + sHex + ` trace_flags=01 - Order placed`, fromBody},
	{"java/spring boot 3 default", `2024-05-01T10:00:00.123Z  INFO 1 --- [orders] [nio-8080-exec-1] [` + tHex + `-` + sHex + `] c.e.orders.OrderController       : Order placed`, fromBody},
	// Python
	{"python/logging instrumentation default format", `2024-05-01 10:00:00,123 INFO [app] [app.py:42] [trace_id=` + tHex + ` span_id=` + sHex + ` resource.service.name=orders trace_sampled=True] - Order placed`, fromBody},
	{"python/json logger", `{"asctime": "2024-05-01 10:00:00,123", "levelname": "INFO", "message": "Order placed", "otelSpanID": "` + sHex + `", "otelTraceID": "` + tHex + `", "otelTraceSampled": true, "otelServiceName": "orders"}`, fromBody},
	{"python/no active span prints zeros", `2024-05-01 10:00:00,123 INFO [app] [app.py:42] [trace_id=0 span_id=0 resource.service.name=orders trace_sampled=False] - startup`, none},
	{"python/structlog", `{"event": "Order placed", "level": "info", "timestamp": "2024-05-01T10:00:00Z", "trace_id": "` + tHex + `", "span_id": "` + sHex + `"}`, fromBody},
	// Node.js
	{"node/pino", `{"level":30,"time":1714557600123,"pid":1,"hostname":"orders-7d9c","trace_id":"` + tHex + `","span_id":"` + sHex + `","trace_flags":"01","msg":"Order placed"}`, fromBody},
	{"node/winston", `{"level":"info","message":"Order placed","trace_id":"` + tHex + `","span_id":"` + sHex + `","trace_flags":"01"}`, fromBody},
	{"node/bunyan", `{"name":"orders","hostname":"orders-7d9c","pid":1,"level":30,"msg":"Order placed","trace_id":"` + tHex + `","span_id":"` + sHex + `","trace_flags":"01","time":"2024-05-01T10:00:00.123Z","v":0}`, fromBody},
	// .NET
	{".net/ILogger json console with scopes", `{"EventId":0,"LogLevel":"Information","Category":"Orders.Controllers.OrderController","Message":"Order placed","State":{"Message":"Order placed","{OriginalFormat}":"Order placed"},"Scopes":[{"Message":"SpanId:` + sHex + `, TraceId:` + tHex + `, ParentId:0000000000000000","SpanId":"` + sHex + `","TraceId":"` + tHex + `","ParentId":"0000000000000000"},{"Message":"ConnectionId:0HMPL","ConnectionId":"0HMPL"}]}`, fromBody},
	{".net/simple console with scopes", "info: Orders.Controllers.OrderController[0]\n      => SpanId:" + sHex + ", TraceId:" + tHex + ", ParentId:0000000000000000 => ConnectionId:0HMPL => RequestPath:/orders RequestId:0HMPL:00000001\n      Order placed", fromBody},
	{".net/serilog compact json", `{"@t":"2024-05-01T10:00:00.1230000Z","@mt":"Order {OrderId} placed","OrderId":1042,"@tr":"` + tHex + `","@sp":"` + sHex + `"}`, fromBody},
	{".net/serilog json properties", `{"Timestamp":"2024-05-01T10:00:00.123+00:00","Level":"Information","MessageTemplate":"Order placed","Properties":{"TraceId":"` + tHex + `","SpanId":"` + sHex + `"}}`, fromBody},
	// Propagation headers printed in a line
	{"w3c traceparent as key", `GET /orders 200 traceparent: ` + tpVal + ` 12ms`, fromBody},
	{"w3c traceparent anywhere", `proxied request with header ` + tpVal + ` upstream=orders:8080`, fromBody},
	{"w3c traceparent in json message", `{"msg":"incoming headers ` + tpVal + `","level":"debug"}`, fromBody},
	{"b3 single header", `forwarding b3=` + tHex + `-` + sHex + `-1 to payments`, fromBody},
	{"b3 single header 64-bit", `b3: ` + t64 + `-` + sHex, want{correlate.SourceBody, wantTID64, wantSID}},
	{"b3 multi header 64-bit", `X-B3-TraceId=` + t64 + ` X-B3-SpanId=` + sHex + ` X-B3-Sampled=1`, want{correlate.SourceBody, wantTID64, wantSID}},
	{"json with escaped quotes", `{"msg":"say \"trace_id\":\"x\" now","trace_id":"` + tHex + `","span_id":"` + sHex + `"}`, fromBody},
	{"json with escaped backslash before a quote", `{"path":"C:\\","trace_id":"` + tHex + `","span_id":"` + sHex + `"}`, fromBody},
	{"two traceparent lookalikes", `00-zz 00-` + tHex + `-` + sHex + `-01`, fromBody},
	{"trace only", `level=info trace_id=` + tHex + ` msg=hello`, fromBodyTrace},
	{"quoted logfmt", `level=info trace_id="` + tHex + `" span_id="` + sHex + `"`, fromBody},
	{"uppercase hex", `trace_id=` + "4BF92F3577B34DA6A3CE929D0E0E4736" + ` span_id=` + "00F067AA0BA902B7", fromBody},
	// Never taken for a trace ID
	{"request id", `level=info request_id=` + tHex + ` msg=hello`, none},
	{"checksum", `sha256=` + tHex + tHex + ` file=report.pdf`, none},
	{"commit hash", `deployed commit ` + tHex + `abcd1234 to prod`, none},
	{"bare 32 hex", `cache key ` + tHex + ` missed`, none},
	{"json request id", `{"request_id":"` + tHex + `","msg":"hello"}`, none},
	{"json trace id outside configured paths", `{"upstream":{"trace_id":"` + tHex + `"},"msg":"hello"}`, none},
	{"suffix key", `mytrace_id=` + tHex, none},
	{"not hex", `trace_id=` + "zzf92f3577b34da6a3ce929d0e0e4736", none},
	{"all zeros", `trace_id=00000000000000000000000000000000 span_id=0000000000000000`, none},
	{"wrong length", `trace_id=` + tHex + `ab`, none},
	{"uuid", `trace_id=4bf92f35-77b3-4da6-a3ce-929d0e0e4736`, none},
	{"traceparent glued to a word", `x00-` + tHex + `-` + sHex + `-01`, none},
	{"traceparent version ff", `traceparent=ff-` + tHex + `-` + sHex + `-01`, none},
	{"empty", ``, none},
	{"short", `GET /healthz 200`, none},
	{"truncated json after the id", `{"trace_id":"` + tHex, fromBodyTrace},
	{"truncated json inside the id", `{"trace_id":"4bf92f35`, none},
}

func TestExtractBody(t *testing.T) {
	for _, tc := range bodyCases {
		t.Run(tc.name, func(t *testing.T) {
			lr := plog.NewLogRecord()
			lr.Body().SetStr(tc.body)
			got := correlate.ExtractTraceContext(lr)
			assert.Equal(t, tc.want.source, got.Source, "source")
			assert.Equal(t, tc.want.trace, got.TraceID, "trace ID")
			assert.Equal(t, tc.want.span, got.SpanID, "span ID")
		})
	}
}

func TestExtractAttributes(t *testing.T) {
	tests := []struct {
		name  string
		attrs map[string]any
		want  want
	}{
		{"otel snake case", map[string]any{"trace_id": tHex, "span_id": sHex}, fromAttr},
		{"camel case", map[string]any{"traceId": tHex, "spanId": sHex}, fromAttr},
		{"go style", map[string]any{"traceID": tHex, "spanID": sHex}, fromAttr},
		{"dotnet style", map[string]any{"TraceId": tHex, "SpanId": sHex}, fromAttr},
		{"ecs dotted", map[string]any{"trace.id": tHex, "span.id": sHex}, fromAttr},
		{"python record attributes", map[string]any{"otelTraceID": tHex, "otelSpanID": sHex, "otelServiceName": "orders"}, fromAttr},
		{"traceparent", map[string]any{"traceparent": tpVal}, fromAttr},
		{"b3 single", map[string]any{"b3": tHex + "-" + sHex + "-1-0000000000000001"}, fromAttr},
		{"b3 multi 64-bit", map[string]any{"X-B3-TraceId": t64, "X-B3-SpanId": sHex}, want{correlate.SourceAttribute, wantTID64, wantSID}},
		{"trace without span", map[string]any{"trace_id": tHex}, want{source: correlate.SourceAttribute, trace: wantTID}},
		{"bad span kept out", map[string]any{"trace_id": tHex, "span_id": "xyz"}, want{source: correlate.SourceAttribute, trace: wantTID}},
		{"request id is not a trace id", map[string]any{"request_id": tHex, "x-request-id": tHex}, none},
		{"integer value", map[string]any{"trace_id": int64(42)}, none},
		{"all zeros", map[string]any{"trace_id": "00000000000000000000000000000000"}, none},
		{"no attributes", map[string]any{}, none},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lr := plog.NewLogRecord()
			require.NoError(t, lr.Attributes().FromRaw(tc.attrs))
			got := correlate.ExtractTraceContext(lr)
			assert.Equal(t, tc.want.source, got.Source, "source")
			assert.Equal(t, tc.want.trace, got.TraceID, "trace ID")
			assert.Equal(t, tc.want.span, got.SpanID, "span ID")
		})
	}
}

func TestExtractMapBody(t *testing.T) {
	tests := []struct {
		name string
		body map[string]any
		want want
	}{
		{"top level", map[string]any{"msg": "hi", "trace_id": tHex, "span_id": sHex}, fromBody},
		{"nested mdc", map[string]any{"msg": "hi", "mdc": map[string]any{"traceId": tHex, "spanId": sHex}}, fromBody},
		{"scopes array", map[string]any{"Scopes": []any{map[string]any{"TraceId": tHex, "SpanId": sHex}}}, fromBody},
		{"nested elsewhere", map[string]any{"upstream": map[string]any{"trace_id": tHex}}, none},
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

func TestExtractPrecedence(t *testing.T) {
	other := "11111111111111111111111111111111"
	lr := plog.NewLogRecord()
	lr.Attributes().PutStr("trace_id", tHex)
	lr.Body().SetStr("trace_id=" + other)

	got := correlate.ExtractTraceContext(lr)
	assert.Equal(t, correlate.SourceAttribute, got.Source, "attributes come first by default")
	assert.Equal(t, wantTID, got.TraceID)

	cfg := correlate.DefaultExtractorConfig()
	cfg.Sources = []string{correlate.ExtractFromBody, correlate.ExtractFromAttributes}
	x, err := correlate.NewExtractor(cfg)
	require.NoError(t, err)
	got = x.Extract(lr)
	assert.Equal(t, correlate.SourceBody, got.Source)
	assert.Equal(t, mustTID(other), got.TraceID)

	cfg.Sources = []string{correlate.ExtractFromAttributes}
	x, err = correlate.NewExtractor(cfg)
	require.NoError(t, err)
	lr.Attributes().Clear()
	assert.Equal(t, correlate.SourceNone, x.Extract(lr).Source, "body not searched")

	// A record that already has a trace ID keeps it.
	lr.SetTraceID(mustTID(other))
	got = correlate.ExtractTraceContext(lr)
	assert.Equal(t, correlate.SourcePresent, got.Source)
	assert.Equal(t, mustTID(other), got.TraceID)
}

func TestNewExtractorErrors(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(*correlate.ExtractorConfig)
		wantErr string
	}{
		{"unknown source", func(c *correlate.ExtractorConfig) { c.Sources = []string{"headers"} }, `sources[0]: unknown extraction source "headers"`},
		{"empty key", func(c *correlate.ExtractorConfig) { c.TraceIDKeys = append(c.TraceIDKeys, "") }, "trace_id_keys"},
		{"key in two lists", func(c *correlate.ExtractorConfig) { c.SpanIDKeys = append(c.SpanIDKeys, "TRACE_ID") }, `span_id_keys: key "TRACE_ID" is listed for two purposes`},
		{"empty path segment", func(c *correlate.ExtractorConfig) { c.BodyPaths = []string{"mdc..x"} }, "body_paths[0]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := correlate.DefaultExtractorConfig()
			tc.mutate(&cfg)
			_, err := correlate.NewExtractor(cfg)
			require.ErrorContains(t, err, tc.wantErr)
		})
	}
}

func TestApplyTraceContext(t *testing.T) {
	lr := plog.NewLogRecord()
	lr.Body().SetStr("trace_id=" + tHex + " span_id=" + sHex)
	correlate.ApplyTraceContext(lr, correlate.ExtractTraceContext(lr))
	assert.Equal(t, wantTID, lr.TraceID())
	assert.Equal(t, wantSID, lr.SpanID())
	v, ok := lr.Attributes().Get(correlate.SourceAttributeKey)
	require.True(t, ok)
	assert.Equal(t, "body", v.Str())

	// Present and none change nothing.
	lr2 := plog.NewLogRecord()
	correlate.ApplyTraceContext(lr2, correlate.TraceContext{})
	assert.Equal(t, 0, lr2.Attributes().Len())
	assert.True(t, lr2.TraceID().IsEmpty())
}

func TestWriteTraceIDs(t *testing.T) {
	for _, tc := range []struct {
		name      string
		source    correlate.Source
		spanOnRec pcommon.SpanID
		wantWrite bool
		wantSpan  pcommon.SpanID
	}{
		{"from the body", correlate.SourceBody, pcommon.SpanID{}, true, wantSID},
		{"from an attribute", correlate.SourceAttribute, pcommon.SpanID{}, true, wantSID},
		{"inferred", correlate.SourceInferred, pcommon.SpanID{}, true, wantSID},
		{"a span ID on the record stays", correlate.SourceBody, pcommon.SpanID{9}, true, pcommon.SpanID{9}},
		{"present", correlate.SourcePresent, pcommon.SpanID{}, false, pcommon.SpanID{}},
		{"none", correlate.SourceNone, pcommon.SpanID{}, false, pcommon.SpanID{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lr := plog.NewLogRecord()
			lr.SetSpanID(tc.spanOnRec)
			got := correlate.WriteTraceIDs(lr, correlate.TraceContext{TraceID: wantTID, SpanID: wantSID, Source: tc.source})
			assert.Equal(t, tc.wantWrite, got)
			if tc.wantWrite {
				assert.Equal(t, wantTID, lr.TraceID())
			} else {
				assert.True(t, lr.TraceID().IsEmpty())
			}
			assert.Equal(t, tc.wantSpan, lr.SpanID())
			assert.Zero(t, lr.Attributes().Len(), "no source attribute")
		})
	}
}

// The hot paths must not allocate: records that carry IDs, short bodies
// without IDs, and JSON bodies.
func TestExtractAllocations(t *testing.T) {
	withID := plog.NewLogRecord()
	withID.SetTraceID(wantTID)
	withID.Body().SetStr("GET /orders 200")
	short := plog.NewLogRecord()
	short.Body().SetStr("GET /healthz 200 1.2ms")
	short.Attributes().PutStr("http.method", "GET")
	jsonBody := plog.NewLogRecord()
	jsonBody.Body().SetStr(bodyCases[0].body)
	logfmt := plog.NewLogRecord()
	logfmt.Body().SetStr(bodyCases[2].body)
	attrs := plog.NewLogRecord()
	attrs.Attributes().PutStr("trace_id", tHex)
	attrs.Attributes().PutStr("span_id", sHex)

	for name, lr := range map[string]plog.LogRecord{"with id": withID, "short": short, "json": jsonBody, "logfmt": logfmt, "attributes": attrs} {
		allocs := testing.AllocsPerRun(100, func() { correlate.ExtractTraceContext(lr) })
		assert.Zero(t, allocs, name)
	}
}

func FuzzExtractString(f *testing.F) {
	for _, tc := range bodyCases {
		f.Add(tc.body)
	}
	for _, tc := range familyCases {
		f.Add(tc.body)
	}
	f.Add(`{"Scopes":[[[[[[{"TraceId":"` + tHex + `"}]]]]]]}`)
	f.Add(`{"a":{"b":{"c":{"d":{"e":{"f":{"g":{"h":{"i":{"j":{"k":{"l":{"m":{"n":{"o":{"p":{"q":1}}}}}}}}}}}}}}}}}`)
	f.Add(`"trace_id":`)
	f.Add(`trace_id=`)
	f.Add(`b3=` + tHex + `-`)
	x, err := correlate.NewExtractor(correlate.DefaultExtractorConfig())
	require.NoError(f, err)
	f.Fuzz(func(t *testing.T, s string) {
		got := x.ExtractString(s)
		if got.Found() && got.TraceID.IsEmpty() {
			t.Fatalf("found an all-zero trace ID in %q", s)
		}
		if !got.Found() && (!got.TraceID.IsEmpty() || !got.SpanID.IsEmpty()) {
			t.Fatalf("IDs without a source in %q", s)
		}
		// The same line as a record body gives the same answer, without
		// allocating whatever the input.
		lr := plog.NewLogRecord()
		lr.Body().SetStr(s)
		assert.Equal(t, got, x.Extract(lr))
		if allocs := testing.AllocsPerRun(1, func() { x.Extract(lr) }); allocs > 0 {
			t.Fatalf("%v allocations extracting from %q", allocs, s)
		}
	})
}

// FuzzExtractMapBody holds map bodies, built from JSON objects, to the same
// rules as text: no all-zero ID, no IDs without a source, no allocation.
func FuzzExtractMapBody(f *testing.F) {
	for _, tc := range bodyCases {
		f.Add(tc.body)
	}
	for _, tc := range familyCases {
		f.Add(tc.body)
	}
	f.Add(`{"dd":{"trace_id":1234567890123456789,"span_id":42}}`)
	f.Add(`{"trace":[{"id":"` + tHex + `"}],"span":{"id":"` + sHex + `","trace_id":"` + tHex + `"}}`)
	x, err := correlate.NewExtractor(correlate.DefaultExtractorConfig())
	require.NoError(f, err)
	f.Fuzz(func(t *testing.T, s string) {
		dec := json.NewDecoder(strings.NewReader(s))
		dec.UseNumber()
		var raw map[string]any
		if dec.Decode(&raw) != nil {
			return
		}
		lr := plog.NewLogRecord()
		if lr.Body().SetEmptyMap().FromRaw(numbersToInts(raw).(map[string]any)) != nil {
			return
		}
		got := x.Extract(lr)
		if got.Found() && got.TraceID.IsEmpty() {
			t.Fatalf("found an all-zero trace ID in %q", s)
		}
		if !got.Found() && (!got.TraceID.IsEmpty() || !got.SpanID.IsEmpty()) {
			t.Fatalf("IDs without a source in %q", s)
		}
		if allocs := testing.AllocsPerRun(1, func() { x.Extract(lr) }); allocs > 0 {
			t.Fatalf("%v allocations extracting from %q", allocs, s)
		}
	})
}

// numbersToInts turns JSON numbers into int64 where they fit, float64
// otherwise, as a receiver that parses JSON bodies does.
func numbersToInts(v any) any {
	switch v := v.(type) {
	case json.Number:
		if n, err := v.Int64(); err == nil {
			return n
		}
		f, _ := v.Float64()
		return f
	case map[string]any:
		for k, e := range v {
			v[k] = numbersToInts(e)
		}
	case []any:
		for i, e := range v {
			v[i] = numbersToInts(e)
		}
	}
	return v
}
