package lokiexporter

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/grafana/loki/pkg/push"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/braidobs/braid/internal/lokilabels"
)

var (
	testTraceID = pcommon.TraceID{0x5b, 0x8e, 0xff, 0xf7, 0x98, 0x03, 0x81, 0x03, 0xd2, 0x69, 0xb6, 0x33, 0x81, 0x3f, 0xc6, 0x0c}
	testSpanID  = pcommon.SpanID{0xee, 0xe1, 0x9b, 0x7e, 0xc3, 0xc1, 0xb1, 0x74}
	baseTime    = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
)

// addResource appends a resource with the given attributes and returns its
// log record slice.
func addResource(ld plog.Logs, attrs map[string]string) plog.LogRecordSlice {
	rl := ld.ResourceLogs().AppendEmpty()
	for k, v := range attrs {
		rl.Resource().Attributes().PutStr(k, v)
	}
	return rl.ScopeLogs().AppendEmpty().LogRecords()
}

func addRecord(lrs plog.LogRecordSlice, line string, at time.Time) plog.LogRecord {
	lr := lrs.AppendEmpty()
	lr.Body().SetStr(line)
	lr.SetTimestamp(pcommon.NewTimestampFromTime(at))
	return lr
}

func streamByLabels(t *testing.T, req push.PushRequest, labels string) push.Stream {
	t.Helper()
	for _, s := range req.Streams {
		if s.Labels == labels {
			return s
		}
	}
	require.Failf(t, "stream not found", "no stream %s in %v", labels, streamLabels(req))
	return push.Stream{}
}

func streamLabels(req push.PushRequest) []string {
	var out []string
	for _, s := range req.Streams {
		out = append(out, s.Labels)
	}
	return out
}

func metadata(e push.Entry) map[string]string {
	out := map[string]string{}
	for _, l := range e.StructuredMetadata {
		out[l.Name] = l.Value
	}
	return out
}

func TestPushLabelsMetadataAndOrdering(t *testing.T) {
	loki := newFakeLoki(t)
	exp := startExporter(t, testConfig(loki.url()), nil, nil)

	ld := plog.NewLogs()
	lrs := addResource(ld, map[string]string{
		"service.name": "checkout", "k8s.namespace.name": "shop", "k8s.pod.name": "checkout-7d9f",
		"k8s.pod.uid": "8a1c", "host.name": "node-1",
	})
	// Out of order on purpose: the stream must come out sorted by time.
	late := addRecord(lrs, "second", baseTime.Add(time.Second))
	late.SetTraceID(testTraceID)
	late.SetSpanID(testSpanID)
	late.SetSeverityText("ERROR")
	late.Attributes().PutStr("http.method", "GET")
	late.Attributes().PutInt("retries", 3)
	early := addRecord(lrs, "first", baseTime)
	early.SetSeverityNumber(plog.SeverityNumberWarn)
	mapBody := lrs.AppendEmpty()
	mapBody.SetObservedTimestamp(pcommon.NewTimestampFromTime(baseTime.Add(2 * time.Second)))
	mapBody.Body().SetEmptyMap().PutStr("msg", "json \"line\"")
	mapBody.Body().Map().PutInt("code", 500)

	other := addResource(ld, map[string]string{"service.name": "cart", "deployment.environment.name": "prod"})
	addRecord(other, "cart line", baseTime)

	require.NoError(t, exp.ConsumeLogs(context.Background(), ld))

	reqs := loki.received()
	require.Len(t, reqs, 1, "one tenant, one request")
	r := reqs[0]
	assert.Equal(t, "application/x-protobuf", r.header.Get("Content-Type"))
	assert.Empty(t, r.header.Get("X-Scope-OrgID"), "no tenant configured, no header")
	assert.NotEmpty(t, r.header.Get("User-Agent"))
	require.Len(t, r.req.Streams, 2)

	s := streamByLabels(t, r.req, `{k8s_namespace_name="shop", k8s_pod_name="checkout-7d9f", service_name="checkout"}`)
	require.Len(t, s.Entries, 3)
	assert.Equal(t, []string{"first", "second", `{"msg":"json \"line\"","code":500}`},
		[]string{s.Entries[0].Line, s.Entries[1].Line, s.Entries[2].Line})
	assert.True(t, s.Entries[0].Timestamp.Equal(baseTime))
	assert.True(t, s.Entries[2].Timestamp.Equal(baseTime.Add(2*time.Second)), "observed time when the record has none")
	assert.Equal(t, map[string]string{
		"trace_id": "5b8efff798038103d269b633813fc60c", "span_id": "eee19b7ec3c1b174", "severity_text": "ERROR",
		"http_method": "GET", "retries": "3", "k8s_pod_uid": "8a1c", "host_name": "node-1",
	}, metadata(s.Entries[1]))
	assert.Equal(t, map[string]string{"severity_text": "Warn", "k8s_pod_uid": "8a1c", "host_name": "node-1"}, metadata(s.Entries[0]))

	cart := streamByLabels(t, r.req, `{deployment_environment_name="prod", service_name="cart"}`)
	require.Len(t, cart.Entries, 1)
	assert.Nil(t, cart.Entries[0].StructuredMetadata)
}

func TestPushTenants(t *testing.T) {
	loki := newFakeLoki(t)
	cfg := testConfig(loki.url())
	cfg.Tenant.Value = "default-team"
	exp := startExporter(t, cfg, nil, nil)

	ld := plog.NewLogs()
	addRecord(addResource(ld, map[string]string{"service.name": "a", lokilabels.TenantAttribute: "team-a"}), "a1", baseTime)
	addRecord(addResource(ld, map[string]string{"service.name": "b"}), "b1", baseTime)
	addRecord(addResource(ld, map[string]string{"service.name": "a2", lokilabels.TenantAttribute: "team-a"}), "a2", baseTime)
	require.NoError(t, exp.ConsumeLogs(context.Background(), ld))

	reqs := loki.received()
	require.Len(t, reqs, 2, "one request per tenant")
	byTenant := map[string]push.PushRequest{}
	for _, r := range reqs {
		byTenant[r.header.Get("X-Scope-OrgID")] = r.req
	}
	require.Contains(t, byTenant, "team-a")
	require.Contains(t, byTenant, "default-team")
	assert.ElementsMatch(t, []string{`{service_name="a"}`, `{service_name="a2"}`}, streamLabels(byTenant["team-a"]))
	assert.Equal(t, []string{`{service_name="b"}`}, streamLabels(byTenant["default-team"]))
	for _, req := range reqs {
		for _, s := range req.req.Streams {
			for _, e := range s.Entries {
				assert.NotContains(t, metadata(e), "loki_tenant", "the tenant attribute is routing, not data")
			}
		}
	}
}

func TestPushRecordLabelsHintsAndFallback(t *testing.T) {
	loki := newFakeLoki(t)
	cfg := testConfig(loki.url())
	cfg.Labels.Attributes = []string{"level"}
	exp := startExporter(t, cfg, nil, nil)

	ld := plog.NewLogs()
	lrs := addResource(ld, map[string]string{
		"service.name": "api", "job": "varlogs", lokilabels.LabelsHintAttribute: "job, missing",
	})
	addRecord(lrs, "info line", baseTime).Attributes().PutStr("level", "info")
	addRecord(lrs, "error line", baseTime).Attributes().PutStr("level", "error")
	addRecord(lrs, "no level", baseTime)
	addRecord(addResource(ld, map[string]string{"host.name": "n1", "service.name": ""}), "nothing to label", baseTime)
	require.NoError(t, exp.ConsumeLogs(context.Background(), ld))

	req := loki.received()[0].req
	assert.ElementsMatch(t, []string{
		`{job="varlogs", level="info", service_name="api"}`,
		`{job="varlogs", level="error", service_name="api"}`,
		`{job="varlogs", service_name="api"}`,
		`{service_name="unknown_service"}`,
	}, streamLabels(req))
	info := streamByLabels(t, req, `{job="varlogs", level="info", service_name="api"}`)
	assert.Empty(t, metadata(info.Entries[0]), "labels and hints are not repeated as metadata")
}

func TestPushLineMode(t *testing.T) {
	loki := newFakeLoki(t)
	cfg := testConfig(loki.url())
	cfg.StructuredMetadata = false
	exp := startExporter(t, cfg, nil, nil)

	ld := plog.NewLogs()
	lrs := addResource(ld, map[string]string{"service.name": "api"})
	lr := addRecord(lrs, "GET /cart done", baseTime)
	lr.SetTraceID(testTraceID)
	lr.Attributes().PutStr("user", "jane doe")
	js := lrs.AppendEmpty()
	js.SetTimestamp(pcommon.NewTimestampFromTime(baseTime.Add(time.Second)))
	js.Body().SetEmptyMap().PutStr("msg", "hi")
	js.SetSpanID(testSpanID)
	require.NoError(t, exp.ConsumeLogs(context.Background(), ld))

	entries := loki.received()[0].req.Streams[0].Entries
	require.Len(t, entries, 2)
	assert.Equal(t, `GET /cart done trace_id=5b8efff798038103d269b633813fc60c user="jane doe"`, entries[0].Line)
	assert.Equal(t, `{"msg":"hi","span_id":"eee19b7ec3c1b174"}`, entries[1].Line)
	assert.Nil(t, entries[0].StructuredMetadata)
}

func TestErrorClassification(t *testing.T) {
	tests := []struct {
		code       int
		permanent  bool
		dropReason string
		requests   map[string]int64 // when not the single request of the default
	}{
		{code: http.StatusBadRequest, permanent: true, dropReason: "bad_request"},
		{code: http.StatusUnauthorized, permanent: true, dropReason: "unauthorized"},
		{code: http.StatusForbidden, permanent: true, dropReason: "unauthorized"},
		{code: http.StatusNotFound, permanent: true, dropReason: "not_found"},
		// Split in two single entries, each still too large.
		{code: http.StatusRequestEntityTooLarge, permanent: true, dropReason: "too_large", requests: map[string]int64{"retryable": 1, "permanent": 2}},
		{code: http.StatusUnprocessableEntity, permanent: true, dropReason: "http_422"},
		{code: http.StatusTooManyRequests},
		{code: http.StatusInternalServerError},
		{code: http.StatusBadGateway},
		{code: http.StatusServiceUnavailable},
		{code: http.StatusGatewayTimeout},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.code), func(t *testing.T) {
			loki := newFakeLoki(t)
			msg := fmt.Sprintf("entry for stream '{service_name=\"api\"}' has timestamp too old (status %d)", tt.code)
			loki.setAnswer(func(int, received) (int, string) { return tt.code, msg })
			tel := componenttest.NewTelemetry()
			t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
			exp := startExporter(t, testConfig(loki.url()), nil, tel)

			ld := plog.NewLogs()
			lrs := addResource(ld, map[string]string{"service.name": "api"})
			addRecord(lrs, "one", baseTime)
			addRecord(lrs, "two", baseTime)
			err := exp.ConsumeLogs(context.Background(), ld)
			require.Error(t, err)
			assert.Contains(t, err.Error(), msg, "Loki's own message is kept")
			assert.Equal(t, tt.permanent, consumererror.IsPermanent(err))
			requests := counterValues(t, tel, "braid_loki_requests", "status")
			dropped := counterValues(t, tel, "braid_loki_dropped_entries", "reason")
			if tt.requests != nil {
				assert.Equal(t, tt.requests, requests)
			}
			if tt.permanent {
				if tt.requests == nil {
					assert.Equal(t, map[string]int64{"permanent": 1}, requests)
				}
				assert.Equal(t, map[string]int64{tt.dropReason: 2}, dropped)
			} else {
				assert.Equal(t, map[string]int64{"retryable": 1}, requests)
				assert.Empty(t, dropped)
			}
		})
	}
}

// TestTooLargeIsSplit answers 413 to any request of more than two entries,
// as a proxy's body limit would: the exporter halves requests until they
// pass, and nothing is lost.
func TestTooLargeIsSplit(t *testing.T) {
	loki := newFakeLoki(t)
	loki.setAnswer(func(_ int, r received) (int, string) {
		n := 0
		for _, s := range r.req.Streams {
			n += len(s.Entries)
		}
		if n > 2 {
			return http.StatusRequestEntityTooLarge, "request body too large"
		}
		return http.StatusNoContent, ""
	})
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	exp := startExporter(t, testConfig(loki.url()), nil, tel)

	ld := plog.NewLogs()
	var want []string
	for _, svc := range []string{"a", "b"} {
		lrs := addResource(ld, map[string]string{"service.name": svc})
		for i := range 5 {
			line := fmt.Sprintf("%s-%d", svc, i)
			addRecord(lrs, line, baseTime.Add(time.Duration(i)*time.Second))
			want = append(want, line)
		}
	}
	require.NoError(t, exp.ConsumeLogs(context.Background(), ld))
	assert.ElementsMatch(t, want, loki.acceptedLines())
	assert.Empty(t, counterValues(t, tel, "braid_loki_dropped_entries", "reason"))
	requests := counterValues(t, tel, "braid_loki_requests", "status")
	assert.Positive(t, requests["retryable"], "the 413s were split")
	assert.Zero(t, requests["permanent"])
}

func TestNetworkErrorIsRetryable(t *testing.T) {
	loki := newFakeLoki(t)
	url := loki.url()
	loki.srv.Close() // nothing listens there any more
	exp := startExporter(t, testConfig(url), nil, nil)
	ld := plog.NewLogs()
	addRecord(addResource(ld, map[string]string{"service.name": "api"}), "x", baseTime)
	err := exp.ConsumeLogs(context.Background(), ld)
	require.Error(t, err)
	assert.False(t, consumererror.IsPermanent(err))
}

func TestPartialTenantFailureRetriesOnlyThatTenant(t *testing.T) {
	loki := newFakeLoki(t)
	loki.setAnswer(func(_ int, r received) (int, string) {
		if r.header.Get("X-Scope-OrgID") == "flaky" {
			return http.StatusServiceUnavailable, "ingester unavailable"
		}
		return http.StatusNoContent, ""
	})
	exp := startExporter(t, testConfig(loki.url()), nil, nil)
	ld := plog.NewLogs()
	addRecord(addResource(ld, map[string]string{"service.name": "a", lokilabels.TenantAttribute: "steady"}), "a", baseTime)
	addRecord(addResource(ld, map[string]string{"service.name": "b", lokilabels.TenantAttribute: "flaky"}), "b", baseTime)
	err := exp.ConsumeLogs(context.Background(), ld)
	require.Error(t, err)
	var logsErr consumererror.Logs
	require.ErrorAs(t, err, &logsErr)
	failed := logsErr.Data()
	require.Equal(t, 1, failed.ResourceLogs().Len(), "only the flaky tenant is handed back")
	v, _ := failed.ResourceLogs().At(0).Resource().Attributes().Get(lokilabels.TenantAttribute)
	assert.Equal(t, "flaky", v.Str())
}

func TestInvalidTenantIsDroppedNotRetried(t *testing.T) {
	loki := newFakeLoki(t)
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	exp := startExporter(t, testConfig(loki.url()), nil, tel)
	ld := plog.NewLogs()
	addRecord(addResource(ld, map[string]string{"service.name": "a", lokilabels.TenantAttribute: "good"}), "kept", baseTime)
	bad := addResource(ld, map[string]string{"service.name": "b", lokilabels.TenantAttribute: "bad\ntenant"})
	addRecord(bad, "dropped 1", baseTime)
	addRecord(bad, "dropped 2", baseTime)
	err := exp.ConsumeLogs(context.Background(), ld)
	require.Error(t, err)
	assert.True(t, consumererror.IsPermanent(err), "no retry can fix a tenant ID")
	assert.Equal(t, []string{"kept"}, loki.acceptedLines(), "the valid tenant is still sent")
	assert.Equal(t, map[string]int64{"invalid_tenant": 2}, counterValues(t, tel, "braid_loki_dropped_entries", "reason"))
}

func TestRetryUntilSuccess(t *testing.T) {
	loki := newFakeLoki(t)
	loki.setAnswer(func(n int, _ received) (int, string) {
		switch {
		case n < 2:
			return http.StatusServiceUnavailable, "not ready"
		case n < 4:
			return http.StatusTooManyRequests, "rate limited"
		}
		return http.StatusNoContent, ""
	})
	cfg := testConfig(loki.url())
	cfg.RetryConfig.Enabled = true
	cfg.RetryConfig.InitialInterval = time.Millisecond
	cfg.RetryConfig.MaxInterval = 5 * time.Millisecond
	cfg.RetryConfig.MaxElapsedTime = 0
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	exp := startExporter(t, cfg, nil, tel)

	ld := plog.NewLogs()
	addRecord(addResource(ld, map[string]string{"service.name": "api"}), "survives", baseTime)
	require.NoError(t, exp.ConsumeLogs(context.Background(), ld))
	assert.Equal(t, []string{"survives"}, loki.acceptedLines())
	assert.Len(t, loki.received(), 5)
	assert.Equal(t, map[string]int64{"retryable": 4, "ok": 1}, counterValues(t, tel, "braid_loki_requests", "status"))
}

func TestBearerTokenAuth(t *testing.T) {
	loki := newFakeLoki(t)
	ext, id := newBearerAuth(t, "s3cret")
	cfg := testConfig(loki.url())
	cfg.ClientConfig.Auth = authConfig(id)
	exp := startExporter(t, cfg, hostWithExtensions{id: ext}, nil)
	ld := plog.NewLogs()
	addRecord(addResource(ld, map[string]string{"service.name": "api"}), "x", baseTime)
	require.NoError(t, exp.ConsumeLogs(context.Background(), ld))
	assert.Equal(t, "Bearer s3cret", loki.received()[0].header.Get("Authorization"))
}

func TestBadInput(t *testing.T) {
	loki := newFakeLoki(t)
	cfg := testConfig(loki.url())
	cfg.MaxLabelValueLength = 16
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	exp := startExporter(t, cfg, nil, tel)

	ld := plog.NewLogs()
	lrs := addResource(ld, map[string]string{"service.name": "api", "k8s.pod.name": "éééééééééééé-long-pod-name"})
	empty := lrs.AppendEmpty() // no body, no timestamp at all
	empty.Attributes().PutStr("note", "empty")
	bad := addRecord(lrs, "bad \xff\xfe utf8", baseTime)
	bad.Attributes().PutStr("field", "x\xffy")
	require.NoError(t, exp.ConsumeLogs(context.Background(), ld))

	req := loki.received()[0].req
	require.Len(t, req.Streams, 1)
	// 12 two-byte characters: cut at 16 bytes, on a character boundary.
	assert.Equal(t, `{k8s_pod_name="éééééééé", service_name="api"}`, req.Streams[0].Labels)
	assert.Equal(t, map[string]int64{"": 1}, counterValues(t, tel, "braid_loki_truncated_labels", "none"))
	entries := req.Streams[0].Entries
	require.Len(t, entries, 2)
	var lines []string
	for _, e := range entries {
		lines = append(lines, e.Line)
	}
	assert.ElementsMatch(t, []string{"", "bad \uFFFD utf8"}, lines, "empty body sent as an empty line, invalid UTF-8 replaced")
	for _, e := range entries {
		assert.False(t, e.Timestamp.IsZero(), "a record without any timestamp gets the time of export")
		if e.Line != "" {
			assert.Equal(t, "x\uFFFDy", metadata(e)["field"])
		}
	}
}

func TestManyDistinctLabelSets(t *testing.T) {
	loki := newFakeLoki(t)
	exp := startExporter(t, testConfig(loki.url()), nil, nil)
	const n = 5000
	ld := plog.NewLogs()
	for i := range n {
		addRecord(addResource(ld, map[string]string{"service.name": "svc", "k8s.pod.name": fmt.Sprintf("pod-%d", i)}), "line", baseTime)
	}
	require.NoError(t, exp.ConsumeLogs(context.Background(), ld))
	reqs := loki.received()
	require.Len(t, reqs, 1)
	assert.Len(t, reqs[0].req.Streams, n, "one stream per label set, all in one request")
}

func TestUnmarshalledRequestKeepsEveryEntry(t *testing.T) {
	// Several resources with the same labels share one stream.
	loki := newFakeLoki(t)
	exp := startExporter(t, testConfig(loki.url()), nil, nil)
	ld := plog.NewLogs()
	for i := range 3 {
		addRecord(addResource(ld, map[string]string{"service.name": "same"}), fmt.Sprint(i), baseTime.Add(time.Duration(3-i)*time.Second))
	}
	require.NoError(t, exp.ConsumeLogs(context.Background(), ld))
	req := loki.received()[0].req
	require.Len(t, req.Streams, 1)
	var lines []string
	for _, e := range req.Streams[0].Entries {
		lines = append(lines, e.Line)
	}
	assert.Equal(t, []string{"2", "1", "0"}, lines, "ordered by time across resources")
}
