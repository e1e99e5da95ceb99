package lokireceiver

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/grafana/loki/pkg/push"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/braidobs/braid/internal/lokilabels"
)

var (
	ts0         = time.Date(2026, 11, 26, 12, 0, 0, 123456789, time.UTC)
	traceHex    = "5b8efff798038103d269b633813fc60c"
	spanHex     = "eee19b7ec3c1b174"
	wantTraceID = pcommon.TraceID{0x5b, 0x8e, 0xff, 0xf7, 0x98, 0x03, 0x81, 0x03, 0xd2, 0x69, 0xb6, 0x33, 0x81, 0x3f, 0xc6, 0x0c}
	wantSpanID  = pcommon.SpanID{0xee, 0xe1, 0x9b, 0x7e, 0xc3, 0xc1, 0xb1, 0x74}
)

func attrsOf(m pcommon.Map) map[string]any { return m.AsRaw() }

func onlyLogs(t *testing.T, sink *consumertest.LogsSink) plog.Logs {
	t.Helper()
	all := sink.AllLogs()
	require.Len(t, all, 1)
	return all[0]
}

func TestPushProtobuf(t *testing.T) {
	sink := new(consumertest.LogsSink)
	url := startReceiver(t, nil, sink)
	body := protobufBody(t, push.Stream{
		Labels: `{service_name="checkout", k8s_pod_name="checkout-7d9f", job="shop/checkout"}`,
		Entries: []push.Entry{
			{Timestamp: ts0, Line: "order placed", StructuredMetadata: push.LabelsAdapter{
				{Name: "trace_id", Value: traceHex}, {Name: "span_id", Value: spanHex},
				{Name: "severity_text", Value: "WARN"}, {Name: "http_method", Value: "GET"},
			}},
			{Timestamp: ts0.Add(time.Second), Line: "no metadata"},
		},
	})
	status, msg := post(t, url, body, "Content-Type", "application/x-protobuf", "X-Scope-OrgID", "team-a")
	require.Equal(t, http.StatusNoContent, status, msg)

	ld := onlyLogs(t, sink)
	require.Equal(t, 1, ld.ResourceLogs().Len())
	rl := ld.ResourceLogs().At(0)
	assert.Equal(t, map[string]any{
		"service.name": "checkout", "k8s.pod.name": "checkout-7d9f", "job": "shop/checkout",
		lokilabels.TenantAttribute:     "team-a",
		lokilabels.LabelsHintAttribute: "job,k8s.pod.name,service.name",
	}, attrsOf(rl.Resource().Attributes()))
	lrs := rl.ScopeLogs().At(0).LogRecords()
	require.Equal(t, 2, lrs.Len())
	first := lrs.At(0)
	assert.Equal(t, "order placed", first.Body().Str())
	assert.Equal(t, ts0, first.Timestamp().AsTime())
	assert.NotZero(t, first.ObservedTimestamp())
	assert.Equal(t, wantTraceID, first.TraceID())
	assert.Equal(t, wantSpanID, first.SpanID())
	assert.Equal(t, "WARN", first.SeverityText())
	assert.Equal(t, plog.SeverityNumberWarn, first.SeverityNumber())
	assert.Equal(t, map[string]any{"http_method": "GET"}, attrsOf(first.Attributes()))
	assert.Equal(t, 0, lrs.At(1).Attributes().Len())
}

func TestPushJSONAndCompression(t *testing.T) {
	ns := fmt.Sprint(ts0.UnixNano())
	jsonBody := []byte(`{"streams":[{"stream":{"service_name":"api","level":"info"},"values":[["` + ns + `","hello \"json\"",{"trace_id":"` + traceHex + `","user":"jane"}],["` + ns + `","second"]]}]}`)
	pbBody := protobufBody(t, push.Stream{Labels: `{service_name="api", level="info"}`, Entries: []push.Entry{
		{Timestamp: ts0, Line: `hello "json"`, StructuredMetadata: push.LabelsAdapter{{Name: "trace_id", Value: traceHex}, {Name: "user", Value: "jane"}}},
		{Timestamp: ts0, Line: "second"},
	}})
	tests := []struct {
		name    string
		body    []byte
		headers []string
	}{
		{"json", jsonBody, []string{"Content-Type", "application/json"}},
		{"json with charset", jsonBody, []string{"Content-Type", "application/json; charset=utf-8"}},
		{"json gzip", gzipBytes(t, jsonBody), []string{"Content-Type", "application/json", "Content-Encoding", "gzip"}},
		{"protobuf", pbBody, []string{"Content-Type", "application/x-protobuf"}},
		{"protobuf without content type", pbBody, nil},
		{"protobuf with content-encoding snappy", pbBody, []string{"Content-Type", "application/x-protobuf", "Content-Encoding", "snappy"}},
		{"protobuf gzip", gzipBytes(t, pbBody), []string{"Content-Type", "application/x-protobuf", "Content-Encoding", "gzip"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink := new(consumertest.LogsSink)
			url := startReceiver(t, nil, sink)
			status, msg := post(t, url, tt.body, tt.headers...)
			require.Equal(t, http.StatusNoContent, status, msg)
			ld := onlyLogs(t, sink)
			rl := ld.ResourceLogs().At(0)
			assert.Equal(t, map[string]any{"service.name": "api", "level": "info", lokilabels.LabelsHintAttribute: "level,service.name"},
				attrsOf(rl.Resource().Attributes()))
			lrs := rl.ScopeLogs().At(0).LogRecords()
			require.Equal(t, 2, lrs.Len())
			assert.Equal(t, `hello "json"`, lrs.At(0).Body().Str())
			assert.Equal(t, ts0, lrs.At(0).Timestamp().AsTime())
			assert.Equal(t, wantTraceID, lrs.At(0).TraceID())
			assert.Equal(t, map[string]any{"user": "jane"}, attrsOf(lrs.At(0).Attributes()))
			assert.Equal(t, "second", lrs.At(1).Body().Str())
		})
	}
}

func TestLabelAttributes(t *testing.T) {
	sink := new(consumertest.LogsSink)
	cfg := createDefaultConfig().(*Config)
	cfg.LabelAttributes = map[string]string{"namespace": "k8s.namespace.name", "pod": "k8s.pod.name"}
	url := startReceiver(t, cfg, sink)
	status, msg := post(t, url, protobufBody(t, push.Stream{Labels: `{namespace="shop", pod="cart-1", app="cart"}`, Entries: []push.Entry{{Timestamp: ts0, Line: "x"}}}))
	require.Equal(t, http.StatusNoContent, status, msg)
	res := onlyLogs(t, sink).ResourceLogs().At(0).Resource().Attributes()
	assert.Equal(t, map[string]any{
		"k8s.namespace.name": "shop", "k8s.pod.name": "cart-1", "app": "cart",
		lokilabels.LabelsHintAttribute: "app,k8s.namespace.name,k8s.pod.name",
	}, attrsOf(res))
}

func TestBadRequests(t *testing.T) {
	valid := protobufBody(t, push.Stream{Labels: `{a="b"}`, Entries: []push.Entry{{Timestamp: ts0, Line: "x"}}})
	raw, err := (&push.PushRequest{Streams: []push.Stream{{Labels: `{a="b"}`, Entries: []push.Entry{{Timestamp: ts0, Line: strings.Repeat("x", 4096)}}}}}).Marshal()
	require.NoError(t, err)
	bomb := snappy.Encode(nil, raw) // small on the wire, 4 KiB decoded

	tests := []struct {
		name       string
		body       []byte
		headers    []string
		maxBody    int64
		wantStatus int
		wantMsg    string
	}{
		{name: "not snappy", body: []byte("hello"), wantStatus: 400, wantMsg: "decode"},
		{name: "truncated snappy", body: valid[:len(valid)/2], wantStatus: 400, wantMsg: "snappy"},
		{name: "snappy but not protobuf", body: snappy.Encode(nil, []byte("\xff\xff\xff\xff not a proto")), wantStatus: 400, wantMsg: "decode protobuf push request"},
		{name: "bad label string", body: protobufBody(t, push.Stream{Labels: `{a=b}`}), wantStatus: 400, wantMsg: "streams[0]: parse labels"},
		{name: "no labels", body: protobufBody(t, push.Stream{Labels: `{}`}), wantStatus: 400, wantMsg: "at least one label pair"},
		{name: "bad json", body: []byte(`{"streams":[`), headers: []string{"Content-Type", "application/json"}, wantStatus: 400, wantMsg: "decode JSON push request"},
		{name: "json not an object", body: []byte(`[1]`), headers: []string{"Content-Type", "application/json"}, wantStatus: 400, wantMsg: "expected an object"},
		{name: "json missing streams", body: []byte(`{}`), headers: []string{"Content-Type", "application/json"}, wantStatus: 400, wantMsg: `missing "streams"`},
		{name: "json bad timestamp", body: []byte(`{"streams":[{"stream":{"a":"b"},"values":[["yesterday","x"]]}]}`), headers: []string{"Content-Type", "application/json"}, wantStatus: 400, wantMsg: `streams[0]: values[0]: timestamp must be Unix nanoseconds, got "yesterday"`},
		{name: "json line not a string", body: []byte(`{"streams":[{"stream":{"a":"b"},"values":[["1",2]]}]}`), headers: []string{"Content-Type", "application/json"}, wantStatus: 400, wantMsg: "line must be a string"},
		{name: "json short value", body: []byte(`{"streams":[{"stream":{"a":"b"},"values":[["1"]]}]}`), headers: []string{"Content-Type", "application/json"}, wantStatus: 400, wantMsg: "got 1 elements"},
		{name: "json bad label name", body: []byte(`{"streams":[{"stream":{"a.b":"c"},"values":[]}]}`), headers: []string{"Content-Type", "application/json"}, wantStatus: 400, wantMsg: `invalid label name "a.b"`},
		{name: "json numeric label", body: []byte(`{"streams":[{"stream":{"a":1},"values":[]}]}`), headers: []string{"Content-Type", "application/json"}, wantStatus: 400, wantMsg: `value of "a" must be a string`},
		{name: "json metadata not strings", body: []byte(`{"streams":[{"stream":{"a":"b"},"values":[["1","x",{"k":[1]}]]}]}`), headers: []string{"Content-Type", "application/json"}, wantStatus: 400, wantMsg: "structured metadata"},
		{name: "bad gzip", body: []byte("not gzip"), headers: []string{"Content-Type", "application/json", "Content-Encoding", "gzip"}, wantStatus: 400},
		{name: "unknown content encoding", body: valid, headers: []string{"Content-Encoding", "br"}, wantStatus: 400, wantMsg: "unsupported Content-Encoding"},
		{name: "wire body over the limit", body: []byte(`{"streams":[],"pad":"` + strings.Repeat("x", 2048) + `"}`), headers: []string{"Content-Type", "application/json"}, maxBody: 1024, wantStatus: 413},
		{name: "gzip body over the limit once inflated", body: gzipBytes(t, []byte(`{"streams":[],"pad":"`+strings.Repeat("x", 8192)+`"}`)), headers: []string{"Content-Type", "application/json", "Content-Encoding", "gzip"}, maxBody: 1024, wantStatus: 413},
		{name: "snappy body over the limit once inflated", body: bomb, maxBody: 1024, wantStatus: 413, wantMsg: "larger than max_request_body_size"},
		{name: "invalid tenant", body: valid, headers: []string{"X-Scope-OrgID", "team a"}, wantStatus: 400, wantMsg: "X-Scope-OrgID: tenant ID has a character"},
		{name: "empty body", body: nil, wantStatus: 204},
		{name: "empty json", body: []byte(`{"streams":[]}`), headers: []string{"Content-Type", "application/json"}, wantStatus: 204},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := createDefaultConfig().(*Config)
			if tt.maxBody > 0 {
				cfg.ServerConfig.MaxRequestBodySize = tt.maxBody
			}
			sink := new(consumertest.LogsSink)
			url := startReceiver(t, cfg, sink)
			status, msg := post(t, url, tt.body, tt.headers...)
			assert.Equal(t, tt.wantStatus, status, msg)
			assert.Contains(t, msg, tt.wantMsg)
			assert.Zero(t, sink.LogRecordCount(), "nothing from a refused request reaches the pipeline")
		})
	}
}

func TestMethodNotAllowed(t *testing.T) {
	url := startReceiver(t, nil, consumertest.NewNop())
	resp, err := http.Get(url)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
}

func TestReady(t *testing.T) {
	url := strings.TrimSuffix(startReceiver(t, nil, consumertest.NewNop()), PushPath) + ReadyPath
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}

func TestPipelineRefusals(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		wantStatus int
	}{
		{"memory pressure is retryable", errors.New("data refused due to high memory usage"), http.StatusTooManyRequests},
		{"permanent is a bad request", consumererror.NewPermanent(errors.New("cannot be accepted")), http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next, err := consumer.NewLogs(func(context.Context, plog.Logs) error { return tt.err })
			require.NoError(t, err)
			url := startReceiver(t, nil, next)
			status, msg := post(t, url, protobufBody(t, push.Stream{Labels: `{a="b"}`, Entries: []push.Entry{{Timestamp: ts0, Line: "x"}}}))
			assert.Equal(t, tt.wantStatus, status)
			assert.Contains(t, msg, tt.err.Error())
		})
	}
}

func TestShutdownWithoutStart(t *testing.T) {
	r, err := NewFactory().CreateLogs(context.Background(), receivertestSettings(), createDefaultConfig(), consumertest.NewNop())
	require.NoError(t, err)
	require.NoError(t, r.Shutdown(context.Background()))
	require.NoError(t, r.Shutdown(context.Background()))
}
