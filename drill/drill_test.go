package drill_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/braidobs/braid/correlate"
	"github.com/braidobs/braid/correlate/links"
	"github.com/braidobs/braid/drill"
)

// alertTime is when the fixtures' first alert started.
var alertTime = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

var (
	errTrace  = pcommon.TraceID{0xe1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}
	slowTrace = pcommon.TraceID{0x51, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}
	fastTrace = pcommon.TraceID{0xfa, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}
	cartTrace = pcommon.TraceID{0xca, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}
)

const checkoutPodUID = "6f1c1a52-3c4e-4d5f-9a8b-0c1d2e3f4a5b"

func ts(t time.Time) pcommon.Timestamp { return pcommon.NewTimestampFromTime(t) }

// newIndex holds four traces seen a minute before alertTime: on the checkout
// pod a failed one (120ms), a slow one (300ms) and a fast one (20ms); on cart
// one of 50ms.
func newIndex(t *testing.T) *correlate.TraceIndex {
	t.Helper()
	cfg := correlate.DefaultIndexConfig()
	cfg.Now = func() time.Time { return alertTime }
	idx, err := correlate.NewTraceIndex(cfg)
	require.NoError(t, err)
	start := alertTime.Add(-time.Minute)
	add := func(id pcommon.TraceID, service, podKey, podAlt string, d time.Duration, failed bool) {
		idx.AddSpan(&correlate.SpanRecord{
			TraceID: id, SpanID: pcommon.SpanID{id[0], 1}, Name: "POST /" + service, Service: service,
			PodKey: podKey, PodAltKey: podAlt, Start: ts(start), End: ts(start.Add(d)), Error: failed,
		})
	}
	add(errTrace, "checkout", checkoutPodUID, "shop/checkout-7d9f8b6c5-abcde", 120*time.Millisecond, true)
	add(slowTrace, "checkout", checkoutPodUID, "shop/checkout-7d9f8b6c5-abcde", 300*time.Millisecond, false)
	add(fastTrace, "checkout", checkoutPodUID, "shop/checkout-7d9f8b6c5-abcde", 20*time.Millisecond, false)
	add(cartTrace, "cart", "", "", 50*time.Millisecond, false)
	idx.AddLog(errTrace, checkoutPodUID, "checkout")
	return idx
}

func newServer(t *testing.T, idx drill.Index, jaegerURL string) *httptest.Server {
	t.Helper()
	lb, err := links.NewLinkBuilder("http://grafana.example:3000", links.DefaultDatasources())
	require.NoError(t, err)
	cfg := drill.Config{Index: idx, Links: lb, Now: func() time.Time { return alertTime }, ServiceDashboardUID: links.DashboardServiceOverview}
	if jaegerURL != "" {
		cfg.Jaeger, err = drill.NewJaegerClient(jaegerURL, nil)
		require.NoError(t, err)
	}
	s, err := drill.NewServer(cfg)
	require.NoError(t, err)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return srv
}

func getJSON(t *testing.T, u string, into any) int {
	t.Helper()
	resp, err := http.Get(u)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	require.NoError(t, json.Unmarshal(body, into), string(body))
	return resp.StatusCode
}

func ids(ts []drill.Trace) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.TraceID
	}
	return out
}

func TestGetTraceFromIndex(t *testing.T) {
	srv := newServer(t, newIndex(t), "")
	var got drill.Trace
	require.Equal(t, http.StatusOK, getJSON(t, srv.URL+"/api/v1/traces/"+errTrace.String(), &got))
	assert.Equal(t, errTrace.String(), got.TraceID)
	assert.Equal(t, "braid", got.Source)
	assert.True(t, got.Error)
	assert.Equal(t, []string{"checkout"}, got.Services)
	assert.Equal(t, []string{checkoutPodUID}, got.Pods)
	assert.Equal(t, 1, got.SpanCount)
	assert.Equal(t, 1, got.LogCount)
	assert.InDelta(t, 120, got.DurationMS, 0.001)
	assert.Equal(t, "POST /checkout", got.RootOperation)

	// Links open the right datasources on the right trace.
	for name, link := range map[string]string{"trace": got.Links.Trace, "logs": got.Links.Logs, "metrics": got.Links.Metrics} {
		u, err := url.Parse(link)
		require.NoError(t, err, name)
		assert.Equal(t, "grafana.example:3000", u.Host, name)
		assert.Equal(t, "/explore", u.Path, name)
	}
	assert.Contains(t, got.Links.Trace, links.DefaultJaegerUID)
	assert.Contains(t, got.Links.Trace, errTrace.String())
	assert.Contains(t, got.Links.Logs, links.DefaultLokiUID)
	logsURL, _ := url.QueryUnescape(got.Links.Logs)
	assert.Contains(t, logsURL, `trace_id=\"`+errTrace.String())
	assert.Contains(t, logsURL, `service_name=\"checkout\"`)
	assert.Contains(t, got.Links.Metrics, links.DefaultPrometheusUID)
}

func TestGetTraceRefusesBadIDs(t *testing.T) {
	srv := newServer(t, newIndex(t), "")
	for name, id := range map[string]string{"not hex": "zz" + strings.Repeat("0", 30), "too short": "abc", "all zeros": strings.Repeat("0", 32)} {
		t.Run(name, func(t *testing.T) {
			var e drill.Error
			assert.Equal(t, http.StatusBadRequest, getJSON(t, srv.URL+"/api/v1/traces/"+id, &e))
			assert.Contains(t, e.Error, "trace id")
		})
	}
	var e drill.Error
	assert.Equal(t, http.StatusNotFound, getJSON(t, srv.URL+"/api/v1/traces/"+strings.Repeat("ab", 16), &e))
	assert.Contains(t, e.Error, "neither in Braid's index nor in Jaeger")
}

func TestServiceAndPodTraces(t *testing.T) {
	srv := newServer(t, newIndex(t), "")
	tests := []struct {
		name, path string
		want       []string
	}{
		{"service: errors first, then slowest", "/api/v1/services/checkout/traces", []string{errTrace.String(), slowTrace.String(), fastTrace.String()}},
		{"errors only", "/api/v1/services/checkout/traces?errors_only=true", []string{errTrace.String()}},
		{"min duration", "/api/v1/services/checkout/traces?min_duration=100ms", []string{errTrace.String(), slowTrace.String()}},
		{"limit", "/api/v1/services/checkout/traces?limit=1", []string{errTrace.String()}},
		{"since excludes older traces", "/api/v1/services/checkout/traces?since=30s", []string{}},
		{"since as a time", "/api/v1/services/checkout/traces?since=2026-11-26T11:50:00Z&limit=2", []string{errTrace.String(), slowTrace.String()}},
		{"other service", "/api/v1/services/cart/traces", []string{cartTrace.String()}},
		{"unknown service", "/api/v1/services/nope/traces", []string{}},
		{"pod by uid", "/api/v1/pods/" + checkoutPodUID + "/traces?limit=2", []string{errTrace.String(), slowTrace.String()}},
		{"pod by namespace/name", "/api/v1/pods/" + url.PathEscape("shop/checkout-7d9f8b6c5-abcde") + "/traces?errors_only=1", []string{errTrace.String()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got drill.TraceList
			require.Equal(t, http.StatusOK, getJSON(t, srv.URL+tt.path, &got))
			assert.Equal(t, tt.want, ids(got.Traces))
		})
	}
}

func TestTraceQueriesRefuseBadParameters(t *testing.T) {
	srv := newServer(t, newIndex(t), "")
	for _, tt := range []struct{ query, want string }{
		{"since=yesterday", "since"},
		{"since=-5m", "since"},
		{"errors_only=maybe", "errors_only"},
		{"min_duration=fast", "min_duration"},
		{"limit=0", "limit"},
		{"limit=1000000", "limit"},
	} {
		t.Run(tt.query, func(t *testing.T) {
			var e drill.Error
			assert.Equal(t, http.StatusBadRequest, getJSON(t, srv.URL+"/api/v1/services/checkout/traces?"+tt.query, &e))
			assert.Contains(t, e.Error, tt.want)
		})
	}
}

func postFile(t *testing.T, u, path string) (int, []byte) {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	resp, err := http.Post(u, "application/json", f)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, body
}

func TestAlertmanagerWebhookPicksTheTracesBehindEachAlert(t *testing.T) {
	srv := newServer(t, newIndex(t), "")
	status, body := postFile(t, srv.URL+"/api/v1/alerts", "testdata/alert_pod.json")
	require.Equal(t, http.StatusOK, status, string(body))
	var resp drill.AlertResponse
	require.NoError(t, json.Unmarshal(body, &resp))
	require.Len(t, resp.Alerts, 2)

	pod := resp.Alerts[0]
	assert.Equal(t, "c0ffee0000000001", pod.Fingerprint)
	assert.Equal(t, "pod", pod.Scope)
	assert.Equal(t, "checkout", pod.Service)
	assert.Equal(t, "checkout-7d9f8b6c5-abcde", pod.Pod)
	assert.Equal(t, []string{errTrace.String(), slowTrace.String(), fastTrace.String()}, ids(pod.Traces))
	assert.Equal(t, "page", pod.Labels["severity"], "common labels are merged in")
	assert.Contains(t, pod.Dashboard, "/d/braid-service-overview")
	assert.Contains(t, pod.Dashboard, "var-service=checkout")

	svc := resp.Alerts[1]
	assert.Equal(t, "service", svc.Scope)
	assert.Equal(t, []string{cartTrace.String()}, ids(svc.Traces))

	// The enrichment can be read back by fingerprint.
	var again drill.AlertEnrichment
	require.Equal(t, http.StatusOK, getJSON(t, srv.URL+"/api/v1/alerts/c0ffee0000000001", &again))
	assert.Equal(t, ids(pod.Traces), ids(again.Traces))
	var e drill.Error
	assert.Equal(t, http.StatusNotFound, getJSON(t, srv.URL+"/api/v1/alerts/unknown", &e))
}

func TestAlertWithoutServiceOrPodGetsNoTraces(t *testing.T) {
	srv := newServer(t, newIndex(t), "")
	status, body := postFile(t, srv.URL+"/api/v1/alerts", "testdata/alert_no_scope.json")
	require.Equal(t, http.StatusOK, status)
	var resp drill.AlertResponse
	require.NoError(t, json.Unmarshal(body, &resp))
	require.Len(t, resp.Alerts, 1)
	assert.Equal(t, "none", resp.Alerts[0].Scope)
	assert.Empty(t, resp.Alerts[0].Traces)
}

func TestMalformedWebhooksAreRefused(t *testing.T) {
	srv := newServer(t, newIndex(t), "")
	for name, body := range map[string]string{
		"not json":        "{",
		"no alerts":       `{"version":"4","alerts":[]}`,
		"unknown version": `{"version":"3","alerts":[{"startsAt":"2026-11-26T12:00:00Z"}]}`,
		"no start":        `{"version":"4","alerts":[{"labels":{"service_name":"checkout"}}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			resp, err := http.Post(srv.URL+"/api/v1/alerts", "application/json", strings.NewReader(body))
			require.NoError(t, err)
			defer resp.Body.Close()
			var e drill.Error
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&e))
			assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
			assert.NotEmpty(t, e.Error)
		})
	}
}

func TestOversizedWebhookIsRefused(t *testing.T) {
	srv := newServer(t, newIndex(t), "")
	body := `{"version":"4","alerts":[{"startsAt":"2026-11-26T12:00:00Z","labels":{"x":"` + strings.Repeat("a", 5<<20) + `"}}]}`
	resp, err := http.Post(srv.URL+"/api/v1/alerts", "application/json", strings.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	var e drill.Error
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&e))
	assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
	assert.Contains(t, e.Error, "larger than")
}

// fakeJaeger answers Jaeger's query API from the fixture and records the
// search it was asked.
func fakeJaeger(t *testing.T) (*httptest.Server, *url.Values) {
	t.Helper()
	fixture, err := os.ReadFile("testdata/jaeger_trace.json")
	require.NoError(t, err)
	var lastSearch url.Values
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/traces/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") != "4bf92f3577b34da6a3ce929d0e0e4736" {
			http.Error(w, `{"data":null,"errors":[{"code":404,"msg":"trace not found"}]}`, http.StatusNotFound)
			return
		}
		_, _ = w.Write(fixture)
	})
	mux.HandleFunc("GET /api/traces", func(w http.ResponseWriter, r *http.Request) {
		lastSearch = r.URL.Query()
		_, _ = w.Write(fixture)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, &lastSearch
}

func TestJaegerFallback(t *testing.T) {
	jaeger, search := fakeJaeger(t)
	srv := newServer(t, newIndex(t), jaeger.URL)

	var got drill.Trace
	require.Equal(t, http.StatusOK, getJSON(t, srv.URL+"/api/v1/traces/4bf92f3577b34da6a3ce929d0e0e4736", &got))
	assert.Equal(t, "jaeger", got.Source)
	assert.True(t, got.Error)
	assert.Equal(t, "POST /checkout", got.RootOperation)
	assert.Equal(t, "checkout", got.RootService)
	assert.ElementsMatch(t, []string{"checkout", "orders-db"}, got.Services)
	assert.Equal(t, []string{"checkout-7d9f8b6c5-abcde"}, got.Pods)
	assert.Equal(t, 2, got.SpanCount)
	assert.InDelta(t, 250, got.DurationMS, 0.001)
	assert.Contains(t, got.Links.Trace, "4bf92f3577b34da6a3ce929d0e0e4736")

	var missing drill.Error
	assert.Equal(t, http.StatusNotFound, getJSON(t, srv.URL+"/api/v1/traces/"+strings.Repeat("cd", 16), &missing))

	// A service the index does not know is searched in Jaeger, by service,
	// time range and error tag.
	var list drill.TraceList
	require.Equal(t, http.StatusOK, getJSON(t, srv.URL+"/api/v1/services/payments/traces?since=30m&errors_only=true&limit=3", &list))
	require.Len(t, list.Traces, 1)
	assert.Equal(t, "jaeger", list.Traces[0].Source)
	assert.Equal(t, "payments", search.Get("service"))
	assert.Equal(t, `{"error":"true"}`, search.Get("tags"))
	assert.Equal(t, "3", search.Get("limit"))
	assert.Equal(t, alertTime.Add(-30*time.Minute).UnixMicro(), mustInt(t, search.Get("start")))
	assert.Equal(t, alertTime.UnixMicro(), mustInt(t, search.Get("end")))

	// The index wins when it has the service's traces.
	require.Equal(t, http.StatusOK, getJSON(t, srv.URL+"/api/v1/services/cart/traces", &list))
	assert.Equal(t, []string{cartTrace.String()}, ids(list.Traces))
}

func TestJaegerDownIsABadGateway(t *testing.T) {
	jaeger := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "storage unavailable", http.StatusInternalServerError)
	}))
	defer jaeger.Close()
	srv := newServer(t, newIndex(t), jaeger.URL)
	var e drill.Error
	assert.Equal(t, http.StatusBadGateway, getJSON(t, srv.URL+"/api/v1/traces/"+strings.Repeat("cd", 16), &e))
	assert.Contains(t, e.Error, "storage unavailable")
}

func mustInt(t *testing.T, s string) int64 {
	t.Helper()
	v, err := strconv.ParseInt(s, 10, 64)
	require.NoError(t, err)
	return v
}

func TestParseTraceID(t *testing.T) {
	id, err := drill.ParseTraceID("A3CE929D0E0E4736")
	require.NoError(t, err)
	assert.Equal(t, "0000000000000000a3ce929d0e0e4736", id.String())
}
