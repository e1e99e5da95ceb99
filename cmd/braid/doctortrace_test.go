package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/braidobs/braid/correlate"
	"github.com/braidobs/braid/drill"
)

// TestDoctorTraceExplainsItsLines runs the braid binary on its embedded
// default with inferred links on, sends two overlapping traces of one pod
// and lines of that pod, and asks `braid doctor --trace` (the binary too)
// about the first trace: it names the line linked from the record, the one
// linked from its body, the inferred one, and the one left unlinked because
// both traces were active, with what to change.
func TestDoctorTraceExplainsItsLines(t *testing.T) {
	override := `
processors:
  correlation:
    infer_log_links:
      enabled: true
      delay: 0s
connectors:
  braid_span_metrics:
    metrics_flush_interval: 1s
`
	_, e := startBraidOnDefault(t, plainFile{file: filepath.Join(t.TempDir(), "override.yaml")}, override)
	const (
		traceT = "5b8efff798038103d269b633813fc60c"
		traceU = "6c9f00a8a9149214e37ac744924ad71d"
	)
	t0 := time.Now().Add(-10 * time.Second).Truncate(time.Millisecond)
	at := func(ms int) string { return fmt.Sprint(t0.Add(time.Duration(ms) * time.Millisecond).UnixNano()) }
	resource := `{"attributes":[{"key":"service.name","value":{"stringValue":"checkout"}},` +
		`{"key":"k8s.pod.uid","value":{"stringValue":"0e5c2a8e-3d1b-4f7a-9c6d-2b8e4f1a7c3d"}},` +
		`{"key":"k8s.pod.name","value":{"stringValue":"checkout-7d9f8b6c5-abcde"}},` +
		`{"key":"k8s.namespace.name","value":{"stringValue":"shop"}}]}`
	spans := `{"resourceSpans":[{"resource":` + resource + `,"scopeSpans":[{"spans":[` +
		`{"traceId":"` + traceT + `","spanId":"a1a1a1a1a1a1a1a1","name":"POST /pay","kind":2,"startTimeUnixNano":"` + at(0) + `","endTimeUnixNano":"` + at(100) + `"},` +
		`{"traceId":"` + traceU + `","spanId":"b2b2b2b2b2b2b2b2","name":"GET /cart","kind":2,"startTimeUnixNano":"` + at(50) + `","endTimeUnixNano":"` + at(150) + `"}]}]}]}`
	post(t, "http://"+e.http+"/v1/traces", spans)
	logs := `{"resourceLogs":[{"resource":` + resource + `,"scopeLogs":[{"logRecords":[` +
		`{"timeUnixNano":"` + at(10) + `","traceId":"` + traceT + `","spanId":"a1a1a1a1a1a1a1a1","body":{"stringValue":"payment accepted"}},` +
		`{"timeUnixNano":"` + at(15) + `","body":{"stringValue":"trace_id=` + traceT + ` card charged"}},` +
		`{"timeUnixNano":"` + at(20) + `","body":{"stringValue":"calling the bank"}},` +
		`{"timeUnixNano":"` + at(70) + `","body":{"stringValue":"bank answered slowly"}}]}]}]}`
	post(t, "http://"+e.http+"/v1/logs", logs)

	run := func(args ...string) (string, string, error) {
		cmd := exec.Command(braidBinary(t), append([]string{"doctor", "--endpoint", e.drill, "--span-metrics", "http://" + e.prometheus + "/metrics"}, args...)...)
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		return out.String(), errOut.String(), err
	}

	text, stderr, err := run("--trace", traceT)
	require.NoError(t, err, stderr)
	assert.Contains(t, text, "Trace "+traceT)
	assert.Contains(t, text, "Spans: 1 seen from "+t0.UTC().Format(time.RFC3339Nano))
	assert.Contains(t, text, "Log records linked: 3")
	assert.Contains(t, text, "1 carried the trace ID in the record's own field")
	assert.Contains(t, text, "1 had it in the body")
	assert.Contains(t, text, "1 had none: inferred from the only span active in their pod")
	assert.Contains(t, text, "\n  shop/checkout-7d9f8b6c5-abcde\n", "the pod, by the name its spans gave")
	assert.Contains(t, text, "span a1a1a1a1a1a1a1a1")
	assert.Contains(t, text, `unlinked `+t0.Add(70*time.Millisecond).UTC().Format("15:04:05.000")+`  ambiguous  "bank answered slowly"`)
	assert.Contains(t, text, "ambiguous: spans of more than one trace were active in this pod")
	assert.NotContains(t, text, "calling the bank", "the inferred line is linked, not listed as unlinked")
	assert.Contains(t, text, "0 added by Braid to metric points")

	// The span metrics' exemplar of the trace shows while it is on the
	// endpoint (until the next flush).
	require.Eventually(t, func() bool {
		out, _, err := run("--trace", traceT, "--json")
		if err != nil {
			return false
		}
		var rep traceReport
		return json.Unmarshal([]byte(out), &rep) == nil && len(rep.SpanMetricExemplars) > 0 &&
			strings.Contains(rep.SpanMetricExemplars[0], "checkout")
	}, 20*time.Second, 100*time.Millisecond)

	out, _, err := run("--trace", traceT, "--json")
	require.NoError(t, err)
	var rep traceReport
	require.NoError(t, json.Unmarshal([]byte(out), &rep))
	assert.Equal(t, correlate.LogLinks{Present: 1, Body: 1, Inferred: 1}, rep.LogLinks)
	require.Len(t, rep.Pods, 1)
	require.Len(t, rep.Pods[0].Unlinked, 1)
	assert.Equal(t, "ambiguous", rep.Pods[0].Unlinked[0].Reason)

	_, stderr, err = run("--trace", "not-a-trace")
	require.Error(t, err)
	assert.Contains(t, stderr, `--trace: trace id "not-a-trace": want 32 hex digits`)
	_, stderr, err = run("--trace", "0102030405060708090a0b0c0d0e0f10")
	require.Error(t, err)
	assert.Contains(t, stderr, "is not in Braid's index")
}

func post(t *testing.T, url, body string) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, url)
}

func TestDoctorTraceSendsTheTokenAndNamesUnreachableSpanMetrics(t *testing.T) {
	var auth string
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth = r.Header.Get("Authorization")
		assert.Equal(t, "/api/v1/traces/4bf92f3577b34da6a3ce929d0e0e4736/explain", r.URL.Path)
		_ = json.NewEncoder(w).Encode(drill.Explanation{TraceID: "4bf92f3577b34da6a3ce929d0e0e4736", SpanCount: 1,
			Pods: []drill.PodExplanation{{Pod: "shop/a", History: true, UnlinkedComplete: false,
				Unlinked: []drill.UnlinkedLine{{Reason: "inference_off", Body: "hello"}}}}})
	}))
	defer api.Close()
	o := doctorOptions{trace: "4BF92F3577B34DA6A3CE929D0E0E4736", endpoint: api.URL, token: "s3cret", spanMetrics: "http://127.0.0.1:1/metrics", timeout: 5 * time.Second}
	rep, err := explainTrace(context.Background(), o)
	require.NoError(t, err)
	assert.Equal(t, "Bearer s3cret", auth)
	assert.Nil(t, rep.SpanMetricExemplars)
	assert.Contains(t, rep.ExemplarsNote, "span metrics not read")
	var out bytes.Buffer
	rep.print(&out)
	assert.Contains(t, out.String(), "their exemplars are not shown")
	assert.Contains(t, out.String(), "inference_off: inferred links are off: correlation::infer_log_links::enabled: true")
	assert.Contains(t, out.String(), "more lines of this window were unlinked than the pod's ring keeps")

	_, err = explainTrace(context.Background(), doctorOptions{trace: "abc", endpoint: api.URL, timeout: time.Second})
	assert.ErrorContains(t, err, `--trace: trace id "abc": want 32 hex digits`)
	_, err = explainTrace(context.Background(), doctorOptions{trace: "4bf92f3577b34da6a3ce929d0e0e4736", endpoint: "127.0.0.1:1", timeout: time.Second})
	assert.ErrorContains(t, err, "reach Braid's drill-down API at http://127.0.0.1:1")
}

func TestExemplarsFor(t *testing.T) {
	const id = "4bf92f3577b34da6a3ce929d0e0e4736"
	body := "# TYPE calls counter\n" +
		`calls_total{service_name="checkout"} 3 # {trace_id="` + id + `",span_id="00f067aa0ba902b7"} 1 1.7e+09` + "\n" +
		`calls_total{service_name="cart"} 1 # {trace_id="0000000000000000000000000000beef"} 1` + "\n" +
		`duration_bucket{le="0.1"} 2 # {span_id="1",trace_id="` + id + `"} 0.05` + "\n" +
		`# HELP mentions trace_id="` + id + `" # {` + "\n" +
		`bare 1 # {trace_id="` + id + `"} 1` + "\n" +
		"broken # {\n"
	assert.Equal(t, []string{`calls_total{service_name="checkout"}`, `duration_bucket{le="0.1"}`, "bare"}, exemplarsFor(body, id))
	assert.Empty(t, exemplarsFor("", id))
}

func FuzzExemplarsFor(f *testing.F) {
	f.Add(`calls_total{a="b"} 3 # {trace_id="x"} 1`, "x")
	f.Add("# {\n} # {trace_id=\"\"}", "")
	f.Fuzz(func(t *testing.T, body, id string) {
		for _, s := range exemplarsFor(body, id) {
			if !strings.Contains(body, s) {
				t.Fatalf("%q is not from the body", s)
			}
		}
	})
}
