//go:build e2e

// Package e2e checks Braid end to end against the real backends of the local
// stack, through each backend's own query API: Jaeger's, Prometheus' and
// VictoriaLogs'. Run it with `make e2e` (deploy/local/stack.sh e2e), which
// starts the stack, exports where everything listens, and stops it all after.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/braidobs/braid/deploy/local/demo/shop"
)

// stack is where the backends listen; stack.sh exports all of it.
type stack struct {
	script, prometheus, jaeger, vlogs, otlp, logDir string
	telemetry                                       string // Braid's own metrics
	frontendAddr, paymentAddr                       string
}

var (
	st stack
	// requests is the workload every test but the outage test looks at.
	requests []shop.Request
)

func TestMain(m *testing.M) {
	need := func(name string) string {
		v := os.Getenv(name)
		if v == "" {
			fmt.Fprintf(os.Stderr, "e2e: %s is not set: run these tests through `make e2e` (deploy/local/stack.sh e2e)\n", name)
			os.Exit(2)
		}
		return v
	}
	st = stack{
		script:       need("STACK_SH"),
		prometheus:   need("PROMETHEUS_URL"),
		jaeger:       need("JAEGER_URL"),
		vlogs:        need("VLOGS_URL"),
		otlp:         need("BRAID_OTLP_HTTP_URL"),
		telemetry:    need("BRAID_TELEMETRY_URL"),
		logDir:       need("BRAID_LOG_DIR"),
		frontendAddr: "127.0.0.1:" + need("DEMO_FRONTEND_PORT"),
		paymentAddr:  "127.0.0.1:" + need("DEMO_PAYMENT_PORT"),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	var err error
	requests, err = shop.Run(ctx, st.config("e2e", 40, 7))
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: demo workload: %v\n", err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

func (s stack) config(prefix string, n int, seed uint64) shop.Config {
	return shop.Config{
		OTLPEndpoint: s.otlp, LogDir: s.logDir,
		FrontendAddr: s.frontendAddr, PaymentAddr: s.paymentAddr,
		Requests: n, Interval: 50 * time.Millisecond, ErrorRate: 0.2, Seed: seed,
		Prefix: fmt.Sprintf("%s%d", prefix, time.Now().UnixNano()%1e6),
	}
}

// eventually calls f until it returns nil, for at most timeout; then the
// test fails with f's last error.
func eventually(t *testing.T, timeout time.Duration, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still failing after %s: %v", what, timeout, err)
		}
		time.Sleep(time.Second)
	}
}

var client = &http.Client{Timeout: 10 * time.Second}

func get(u string) ([]byte, int, error) { return getWithToken(u, "") }

// getWithToken is get with "Authorization: Bearer token" when token is set.
func getWithToken(u, token string) ([]byte, int, error) {
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return nil, 0, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return b, resp.StatusCode, err
}

func getJSON(u string, v any) error { return getJSONWithToken(u, "", v) }

func getJSONWithToken(u, token string, v any) error {
	b, code, err := getWithToken(u, token)
	if err != nil {
		return err
	}
	if code != http.StatusOK {
		return fmt.Errorf("GET %s: %d %s", u, code, bytes.TrimSpace(b))
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("GET %s: decode: %w", u, err)
	}
	return nil
}

// --- Jaeger ---

type jaegerTrace struct {
	TraceID string `json:"traceID"`
	Spans   []struct {
		SpanID        string     `json:"spanID"`
		OperationName string     `json:"operationName"`
		ProcessID     string     `json:"processID"`
		Tags          []jaegerKV `json:"tags"`
	} `json:"spans"`
	Processes map[string]struct {
		ServiceName string     `json:"serviceName"`
		Tags        []jaegerKV `json:"tags"`
	} `json:"processes"`
}

type jaegerKV struct {
	Key   string `json:"key"`
	Value any    `json:"value"`
}

// jaegerTraceByID fetches a trace from Jaeger's query API; found is false
// when Jaeger does not know it.
func (s stack) jaegerTraceByID(id string) (tr jaegerTrace, found bool, err error) {
	b, code, err := get(s.jaeger + "/api/traces/" + id)
	if err != nil {
		return tr, false, err
	}
	if code == http.StatusNotFound {
		return tr, false, nil
	}
	if code != http.StatusOK {
		return tr, false, fmt.Errorf("jaeger: trace %s: %d %s", id, code, bytes.TrimSpace(b))
	}
	var out struct{ Data []jaegerTrace }
	if err := json.Unmarshal(b, &out); err != nil {
		return tr, false, err
	}
	if len(out.Data) == 0 {
		return tr, false, nil
	}
	return out.Data[0], true, nil
}

func tag(kvs []jaegerKV, key string) string {
	for _, kv := range kvs {
		if kv.Key == key {
			return fmt.Sprint(kv.Value)
		}
	}
	return ""
}

// distinctSpans counts spans by ID: retries deliver at least once, so a span
// may come twice; what was sent is the set of IDs.
func (tr jaegerTrace) distinctSpans() int {
	ids := map[string]bool{}
	for _, sp := range tr.Spans {
		ids[sp.SpanID] = true
	}
	return len(ids)
}

// spansPerRequest: frontend's server and client spans, payment's server span
// and its "charge card" span.
const spansPerRequest = 4

func traceInJaegerWithPodIdentity(t *testing.T) {
	var failed *shop.Request
	for i := range requests {
		if requests[i].Status >= 500 {
			failed = &requests[i]
			break
		}
	}
	if failed == nil {
		t.Fatal("the workload produced no failed request; it is meant to (error rate 0.2)")
	}
	for _, r := range []shop.Request{requests[0], *failed} {
		var tr jaegerTrace
		eventually(t, time.Minute, "trace "+r.TraceID+" in Jaeger", func() error {
			var found bool
			var err error
			tr, found, err = st.jaegerTraceByID(r.TraceID)
			if err != nil {
				return err
			}
			if !found || tr.distinctSpans() < spansPerRequest {
				return fmt.Errorf("found=%v with %d spans, want %d", found, tr.distinctSpans(), spansPerRequest)
			}
			return nil
		})
		want := map[string]shop.Pod{"frontend": shop.FrontendPod, "payment": shop.PaymentPod}
		seen := map[string]bool{}
		for _, p := range tr.Processes {
			pod, ok := want[p.ServiceName]
			if !ok {
				t.Errorf("trace %s: unexpected service %q", r.TraceID, p.ServiceName)
				continue
			}
			seen[p.ServiceName] = true
			for key, v := range map[string]string{
				"k8s.pod.name": pod.Name, "k8s.pod.uid": pod.UID, "k8s.namespace.name": pod.Namespace,
				"k8s.cluster.name": "local",
			} {
				if got := tag(p.Tags, key); got != v {
					t.Errorf("trace %s, service %s: %s = %q, want %q", r.TraceID, p.ServiceName, key, got, v)
				}
			}
		}
		if len(seen) != 2 {
			t.Errorf("trace %s: services %v, want frontend and payment", r.TraceID, seen)
		}
		if r.Status >= 500 {
			errSpan := false
			for _, sp := range tr.Spans {
				if tag(sp.Tags, "error") == "true" || tag(sp.Tags, "otel.status_code") == "ERROR" {
					errSpan = true
				}
			}
			if !errSpan {
				t.Errorf("failed request %s: trace %s has no span marked as error", r.ID, r.TraceID)
			}
		}
	}
}

// --- Prometheus ---

type promVector struct {
	Status string `json:"status"`
	Error  string `json:"error"`
	Data   struct {
		Result []struct {
			Metric map[string]string `json:"metric"`
			Value  [2]any            `json:"value"`
		} `json:"result"`
	} `json:"data"`
}

func (s stack) promQuery(q string) (promVector, error) {
	var v promVector
	err := getJSON(s.prometheus+"/api/v1/query?query="+url.QueryEscape(q), &v)
	if err == nil && v.Status != "success" {
		err = fmt.Errorf("query %q: %s", q, v.Error)
	}
	return v, err
}

func spanMetricsCountEveryRequest(t *testing.T) {
	// Cumulative counters: once two flushes have passed the count of
	// frontend's server spans equals the number of requests sent.
	q := `sum(traces_span_metrics_calls_total{service_name="frontend",span_name="GET /checkout",span_kind="SPAN_KIND_SERVER",k8s_pod_name="` + shop.FrontendPod.Name + `"})`
	want := fmt.Sprint(len(requests))
	// Remote write goes through the exporter's WAL, which lags by up to a minute.
	eventually(t, 3*time.Minute, q, func() error {
		v, err := st.promQuery(q)
		if err != nil {
			return err
		}
		if len(v.Data.Result) == 0 {
			names, _ := st.promQuery(`count by (__name__) ({__name__=~"traces_span_metrics.*"})`)
			return fmt.Errorf("no data (span metric names present: %v)", names.Data.Result)
		}
		if got := fmt.Sprint(v.Data.Result[0].Value[1]); got != want {
			return fmt.Errorf("got %s, want %s", got, want)
		}
		return nil
	})
}

func exemplarsPointAtTracesInJaeger(t *testing.T) {
	sent := map[string]bool{}
	for _, r := range requests {
		sent[r.TraceID] = true
	}
	q := `traces_span_metrics_duration_milliseconds_bucket{k8s_namespace_name="shop"}`
	now := time.Now()
	u := fmt.Sprintf("%s/api/v1/query_exemplars?query=%s&start=%d&end=%d", st.prometheus, url.QueryEscape(q),
		now.Add(-time.Hour).Unix(), now.Add(time.Hour).Unix())
	var ids []string
	eventually(t, 3*time.Minute, "exemplars of "+q, func() error {
		var out struct {
			Status string
			Data   []struct {
				SeriesLabels map[string]string `json:"seriesLabels"`
				Exemplars    []struct {
					Labels map[string]string `json:"labels"`
				} `json:"exemplars"`
			}
		}
		if err := getJSON(u, &out); err != nil {
			return err
		}
		ids = ids[:0]
		fromRun := 0
		seen := map[string]bool{}
		for _, series := range out.Data {
			for _, ex := range series.Exemplars {
				id := ex.Labels["trace_id"]
				if id == "" {
					return fmt.Errorf("exemplar without trace_id on %v: %v", series.SeriesLabels, ex.Labels)
				}
				if !seen[id] {
					seen[id] = true
					ids = append(ids, id)
				}
				if sent[id] {
					fromRun++
				}
			}
		}
		if fromRun == 0 {
			return fmt.Errorf("%d exemplars, none with a trace ID of this run's workload", len(ids))
		}
		return nil
	})
	for _, id := range ids {
		tr, found, err := st.jaegerTraceByID(id)
		if err != nil {
			t.Fatal(err)
		}
		if !found || len(tr.Spans) == 0 {
			t.Errorf("exemplar trace_id %s is not in Jaeger", id)
		}
	}
	t.Logf("%d exemplar trace IDs, every one found in Jaeger", len(ids))
}

// --- VictoriaLogs (behind the Loki push API) ---

// logEntry is one entry as VictoriaLogs' LogsQL API returns it: _msg, _time,
// _stream and one field per label and structured-metadata item.
type logEntry map[string]string

func (s stack) logsQuery(q string) ([]logEntry, error) {
	u := s.vlogs + "/select/logsql/query?limit=1000&query=" + url.QueryEscape(q)
	b, code, err := get(u)
	if err != nil {
		return nil, err
	}
	if code != http.StatusOK {
		return nil, fmt.Errorf("logsql %q: %d %s", q, code, bytes.TrimSpace(b))
	}
	var out []logEntry
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var e logEntry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return nil, fmt.Errorf("logsql %q: decode %q: %w", q, sc.Text(), err)
		}
		out = append(out, e)
	}
	return out, sc.Err()
}

// sourceField is where Braid records how a record got its trace context
// (the correlation processor's braid.trace_context.source attribute, as the
// Loki exporter names structured metadata).
const sourceField = "braid_trace_context_source"

func logsCarryTheirTraceID(t *testing.T) {
	r := requests[0]
	var entries []logEntry
	// Three roads, each must have landed under trace_id:<id>:
	//   frontend's OTLP records (trace context from the SDK),
	//   payment's JSON line with trace_id in its body (extracted by Braid),
	//   payment's line with no trace context (linked by inference).
	want := map[string]func(logEntry) bool{
		"frontend OTLP record with trace context": func(e logEntry) bool {
			return e["service_name"] == "frontend" && strings.Contains(e["_msg"], "checkout started")
		},
		"payment file line with trace_id in its JSON": func(e logEntry) bool {
			return e["k8s_pod_name"] == shop.PaymentPod.Name && strings.Contains(e["_msg"], `"trace_id":"`+r.TraceID)
		},
		"payment file line with no trace context, linked by inference": func(e logEntry) bool {
			return e["k8s_pod_name"] == shop.PaymentPod.Name && strings.Contains(e["_msg"], shop.UntracedLine(r.ID))
		},
	}
	eventually(t, 90*time.Second, "logs of trace "+r.TraceID+" in VictoriaLogs", func() error {
		var err error
		entries, err = st.logsQuery("trace_id:" + r.TraceID)
		if err != nil {
			return err
		}
		var missing []string
		for name, match := range want {
			found := false
			for _, e := range entries {
				if match(e) {
					found = true
				}
			}
			if !found {
				missing = append(missing, name)
			}
		}
		if len(missing) > 0 {
			return fmt.Errorf("%d entries, missing: %s", len(entries), strings.Join(missing, "; "))
		}
		return nil
	})
	for _, e := range entries {
		if e["trace_id"] != r.TraceID {
			t.Errorf("entry selected by trace_id:%s carries trace_id %q: %v", r.TraceID, e["trace_id"], e)
		}
		inferred := e[sourceField] == "inferred"
		untraced := strings.Contains(e["_msg"], shop.UntracedLine(r.ID))
		if inferred != untraced {
			t.Errorf("%s = %q on %q: only the line with no trace context may be marked inferred", sourceField, e[sourceField], e["_msg"])
		}
		if untraced && e["span_id"] == "" {
			t.Errorf("inferred link without span_id: %v", e)
		}
	}
}

// stackTracesAreOneRecord: payment prints a stack trace under its "charge
// declined" line, one container log line per line of it; the agent's
// multiline joining makes each one record, with the trace ID of that line.
func stackTracesAreOneRecord(t *testing.T) {
	var failed []shop.Request
	for _, r := range requests {
		if r.Status >= 500 {
			failed = append(failed, r)
		}
	}
	if len(failed) == 0 {
		t.Fatal("no request failed: the workload printed no stack trace")
	}
	var entries []logEntry
	eventually(t, 90*time.Second, "stack traces in VictoriaLogs", func() error {
		var err error
		entries, err = st.logsQuery(fmt.Sprintf(`k8s_pod_name:%q "Charger.charge"`, shop.PaymentPod.Name))
		if err != nil {
			return err
		}
		n := 0
		for _, r := range failed {
			for _, e := range entries {
				if strings.Contains(e["_msg"], shop.StackTrace(r.ID)[0]) {
					n++
				}
			}
		}
		if n < len(failed) {
			return fmt.Errorf("%d of %d stack traces stored", n, len(failed))
		}
		return nil
	})
	for _, e := range entries {
		if !strings.Contains(e["_msg"], `"msg":"charge declined"`) {
			t.Errorf("a frame stored apart from its log line: %q", e["_msg"])
		}
	}
	for _, r := range failed {
		trace := strings.Join(shop.StackTrace(r.ID), "\n")
		found := false
		for _, e := range entries {
			if !strings.Contains(e["_msg"], shop.StackTrace(r.ID)[0]) {
				continue
			}
			found = true
			if !strings.Contains(e["_msg"], trace) {
				t.Errorf("request %s: the record holds part of its stack trace: %q", r.ID, e["_msg"])
			}
			if e["trace_id"] != r.TraceID {
				t.Errorf("request %s: stack trace record has trace_id %q, want %s (its first line's)", r.ID, e["trace_id"], r.TraceID)
			}
		}
		if !found {
			t.Errorf("request %s: no record holds its stack trace", r.ID)
		}
	}
}

func inferredLinksPointAtTheirOwnRequest(t *testing.T) {
	// Every untraced payment line was written inside one request's span:
	// inference must give each the trace of that request, never another.
	byID := map[string]string{}
	for _, r := range requests {
		byID[r.ID] = r.TraceID
	}
	var entries []logEntry
	eventually(t, 90*time.Second, "inferred links in VictoriaLogs", func() error {
		var err error
		entries, err = st.logsQuery(fmt.Sprintf(`k8s_pod_name:%q "fraud score computed"`, shop.PaymentPod.Name))
		if err != nil {
			return err
		}
		n := 0
		for _, e := range entries {
			for id := range byID {
				if strings.Contains(e["_msg"], shop.UntracedLine(id)) {
					n++
				}
			}
		}
		if n < len(requests) {
			return fmt.Errorf("%d of %d untraced lines stored", n, len(requests))
		}
		return nil
	})
	linked := 0
	for _, e := range entries {
		for id, tid := range byID {
			if !strings.Contains(e["_msg"], shop.UntracedLine(id)) {
				continue
			}
			switch {
			case e["trace_id"] == "":
				t.Logf("request %s: untraced line not linked (ambiguous or unknown at that instant)", id)
			case e["trace_id"] != tid:
				t.Errorf("request %s: untraced line linked to trace %s, want %s", id, e["trace_id"], tid)
			case e[sourceField] != "inferred":
				t.Errorf("request %s: linked line not marked inferred: %s=%q", id, sourceField, e[sourceField])
			default:
				linked++
			}
		}
	}
	// Requests go one at a time, so every line is unambiguous.
	if linked != len(requests) {
		t.Errorf("%d of %d untraced lines linked by inference", linked, len(requests))
	}

	// The start-up line was written before any span: no link.
	startup, err := st.logsQuery(fmt.Sprintf(`k8s_pod_name:%q %q`, shop.PaymentPod.Name, shop.StartupLine))
	if err != nil {
		t.Fatal(err)
	}
	if len(startup) == 0 {
		t.Fatal("payment's start-up line is not in VictoriaLogs")
	}
	for _, e := range startup {
		if e["trace_id"] != "" {
			t.Errorf("start-up line, written outside any span, got trace_id %s", e["trace_id"])
		}
	}
}

// --- the stack script, for the outage test ---

func (s stack) run(t *testing.T, args ...string) {
	t.Helper()
	cmd := exec.Command(s.script, args...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v", s.script, strings.Join(args, " "), err)
	}
}
