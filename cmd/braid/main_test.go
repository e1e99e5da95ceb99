package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/otelcol"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/braidobs/braid/internal/testcollector"
	"github.com/braidobs/braid/internal/testnet"
)

// defaultEndpoints moves every listener of the embedded default to a free
// loopback port, through the same BRAID_* variables users set.
type defaultEndpoints struct {
	grpc, http, prometheus, health, telemetry, loki, drill string
}

func useFreePorts(t *testing.T) defaultEndpoints {
	t.Helper()
	e := defaultEndpoints{
		grpc:       testnet.FreeAddr(t),
		http:       testnet.FreeAddr(t),
		prometheus: testnet.FreeAddr(t),
		health:     testnet.FreeAddr(t),
		telemetry:  testnet.FreeAddr(t),
		loki:       testnet.FreeAddr(t),
		drill:      testnet.FreeAddr(t),
	}
	_, telemetryPort, err := net.SplitHostPort(e.telemetry)
	require.NoError(t, err)
	t.Setenv("BRAID_OTLP_GRPC_ENDPOINT", e.grpc)
	t.Setenv("BRAID_OTLP_HTTP_ENDPOINT", e.http)
	t.Setenv("BRAID_PROMETHEUS_ENDPOINT", e.prometheus)
	t.Setenv("BRAID_HEALTH_ENDPOINT", e.health)
	t.Setenv("BRAID_LOKI_RECEIVER_ENDPOINT", e.loki)
	t.Setenv("BRAID_DRILL_ENDPOINT", e.drill)
	t.Setenv("BRAID_TELEMETRY_HOST", "127.0.0.1")
	t.Setenv("BRAID_TELEMETRY_PORT", telemetryPort)
	t.Setenv("BRAID_SPAN_METRICS_FLUSH_INTERVAL", "200ms")
	t.Setenv("BRAID_DEBUG_VERBOSITY", "basic")
	t.Setenv("BRAID_LOG_LEVEL", "warn")
	return e
}

// startDefault runs the embedded default in-process on free loopback ports,
// until the test ends. A port
// picked as free can be taken by a test of another package before the
// collector binds it; then it tries again with new ports.
func startDefault(t *testing.T) defaultEndpoints {
	t.Helper()
	for attempt := 1; ; attempt++ {
		e := useFreePorts(t)
		_, err := testcollector.Run(t, settings())
		if err == nil {
			return e
		}
		if attempt == 5 || !strings.Contains(err.Error(), "address already in use") {
			require.NoError(t, err)
		}
		t.Logf("attempt %d: %v; trying other ports", attempt, err)
	}
}

func testTraces(traceID pcommon.TraceID, service string) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", service)
	span := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	span.SetTraceID(traceID)
	span.SetSpanID(pcommon.SpanID{1, 2, 3, 4, 5, 6, 7, 8})
	span.SetName("GET /checkout")
	span.SetKind(ptrace.SpanKindServer)
	now := time.Now()
	span.SetStartTimestamp(pcommon.NewTimestampFromTime(now.Add(-42 * time.Millisecond)))
	span.SetEndTimestamp(pcommon.NewTimestampFromTime(now))
	return td
}

func testLogs(traceID pcommon.TraceID) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "checkout")
	lr := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.Body().SetStr("payment accepted")
	lr.SetTraceID(traceID)
	lr.SetTimestamp(pcommon.NewTimestampFromTime(time.Now()))
	return ld
}

func testMetrics(name string) pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", "checkout")
	m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName(name)
	sum := m.SetEmptySum()
	sum.SetIsMonotonic(true)
	sum.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	dp := sum.DataPoints().AppendEmpty()
	dp.SetIntValue(7)
	dp.SetTimestamp(pcommon.NewTimestampFromTime(time.Now()))
	return md
}

func postOTLP(t *testing.T, url, contentType string, body []byte) *http.Response {
	t.Helper()
	resp, err := http.Post(url, contentType, bytes.NewReader(body))
	require.NoError(t, err)
	return resp
}

func scrape(t *testing.T, url string, openMetrics bool) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	if openMetrics {
		req.Header.Set("Accept", "application/openmetrics-text; version=1.0.0")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Logf("scrape %s: %v", url, err)
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// metricValue sums the values of every sample of metric name in a
// Prometheus text exposition.
func metricValue(exposition, name string) float64 {
	var total float64
	for line := range strings.SplitSeq(exposition, "\n") {
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		rest := line[len(name):]
		if strings.HasPrefix(rest, "{") {
			rest = rest[strings.LastIndex(rest, "}")+1:]
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err == nil {
			total += v
		}
	}
	return total
}

func TestEmbeddedDefaultAcceptsOTLPAndServesSpanMetricsWithExemplars(t *testing.T) {
	e := startDefault(t)

	grpcTrace := pcommon.TraceID{0xa1, 0xb2, 0xc3, 0xd4, 0xe5, 0xf6, 0x07, 0x18, 0x29, 0x3a, 0x4b, 0x5c, 0x6d, 0x7e, 0x8f, 0x90}
	httpTrace := pcommon.TraceID{0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x01}
	jsonTrace := pcommon.TraceID{0x5e, 0x5e, 0x5e, 0x5e, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c}

	// OTLP gRPC: one of each signal.
	conn, err := grpc.NewClient(e.grpc, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err = ptraceotlp.NewGRPCClient(conn).Export(ctx, ptraceotlp.NewExportRequestFromTraces(testTraces(grpcTrace, "checkout")))
	require.NoError(t, err)
	_, err = plogotlp.NewGRPCClient(conn).Export(ctx, plogotlp.NewExportRequestFromLogs(testLogs(grpcTrace)))
	require.NoError(t, err)
	_, err = pmetricotlp.NewGRPCClient(conn).Export(ctx, pmetricotlp.NewExportRequestFromMetrics(testMetrics("orders_grpc")))
	require.NoError(t, err)

	// OTLP HTTP: protobuf and JSON.
	base := "http://" + e.http
	tracesPB, err := ptraceotlp.NewExportRequestFromTraces(testTraces(httpTrace, "cart")).MarshalProto()
	require.NoError(t, err)
	tracesJSON, err := ptraceotlp.NewExportRequestFromTraces(testTraces(jsonTrace, "cart-json")).MarshalJSON()
	require.NoError(t, err)
	logsPB, err := plogotlp.NewExportRequestFromLogs(testLogs(httpTrace)).MarshalProto()
	require.NoError(t, err)
	metricsJSON, err := pmetricotlp.NewExportRequestFromMetrics(testMetrics("orders_http")).MarshalJSON()
	require.NoError(t, err)
	for _, post := range []struct {
		path, contentType string
		body              []byte
	}{
		{"/v1/traces", "application/x-protobuf", tracesPB},
		{"/v1/traces", "application/json", tracesJSON},
		{"/v1/logs", "application/x-protobuf", logsPB},
		{"/v1/metrics", "application/json", metricsJSON},
	} {
		resp := postOTLP(t, base+post.path, post.contentType, post.body)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s %s", post.path, post.contentType)
	}

	// Span metrics appear on the Prometheus endpoint in OpenMetrics, with
	// exemplars that carry the trace IDs just sent. Braid's span-metrics
	// connector keeps an exemplar until a newer span of its bucket replaces
	// it, so all three are there together however many flushes (every
	// 200ms here) pass before the scrape.
	metricsURL := "http://" + e.prometheus + "/metrics"
	var body string
	require.Eventually(t, func() bool {
		body = scrape(t, metricsURL, true)
		return strings.Contains(body, `trace_id="`+grpcTrace.String()+`"`) &&
			strings.Contains(body, `trace_id="`+httpTrace.String()+`"`) &&
			strings.Contains(body, `trace_id="`+jsonTrace.String()+`"`)
	}, 30*time.Second, 100*time.Millisecond, "exemplars with the sent trace IDs never appeared")
	time.Sleep(time.Second) // five more flushes
	body = scrape(t, metricsURL, true)
	for _, id := range []pcommon.TraceID{grpcTrace, httpTrace, jsonTrace} {
		assert.Contains(t, body, `trace_id="`+id.String()+`"`, "the exemplar outlives the flushes after its span")
	}
	assert.Contains(t, body, "traces_span_metrics_calls_total{")
	assert.Contains(t, body, `service_name="checkout"`)
	assert.Contains(t, body, `service_name="cart"`)
	assert.Contains(t, body, `service_name="cart-json"`)
	assert.Contains(t, body, "orders_grpc")
	assert.Contains(t, body, "orders_http")

	// The collector's own accounting agrees with what was sent.
	telemetryURL := "http://" + e.telemetry + "/metrics"
	require.Eventually(t, func() bool {
		self := scrape(t, telemetryURL, false)
		return metricValue(self, "otelcol_receiver_accepted_spans") >= 3 &&
			metricValue(self, "otelcol_receiver_accepted_log_records") >= 2 &&
			metricValue(self, "otelcol_receiver_accepted_metric_points") >= 2
	}, 30*time.Second, 100*time.Millisecond)

	resp, err := http.Get("http://" + e.health + "/")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	// The drill-down API knows the trace from the correlation processor's
	// index, its log line included, and `braid drill` finds it.
	var out bytes.Buffer
	require.Eventually(t, func() bool {
		out.Reset()
		err := runDrill(context.Background(), &out, drillOptions{
			endpoint: e.drill, trace: grpcTrace.String(), asJSON: true, since: "15m", limit: 10, timeout: 5 * time.Second})
		return err == nil && strings.Contains(out.String(), `"log_count":1`)
	}, 30*time.Second, 100*time.Millisecond, "drill never saw the trace with its log")
	assert.Contains(t, out.String(), `"root_operation":"GET /checkout"`)
	assert.Contains(t, out.String(), `"source":"braid"`)
	out.Reset()
	require.NoError(t, runDrill(context.Background(), &out, drillOptions{
		endpoint: e.drill, service: "cart", since: "15m", limit: 10, timeout: 5 * time.Second}))
	assert.Contains(t, out.String(), httpTrace.String())
}

func TestMalformedOTLPIsRefusedWithBadRequest(t *testing.T) {
	e := startDefault(t)

	tests := []struct {
		name, path, contentType string
		body                    []byte
	}{
		{"garbage protobuf traces", "/v1/traces", "application/x-protobuf", []byte{0xff, 0xff, 0xff, 0x0f, 0x01}},
		{"garbage protobuf logs", "/v1/logs", "application/x-protobuf", []byte("\x0a\xff\xff\xff\xff\x0f")},
		{"truncated JSON metrics", "/v1/metrics", "application/json", []byte(`{"resourceMetrics":[{`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := postOTLP(t, "http://"+e.http+tt.path, tt.contentType, tt.body)
			defer resp.Body.Close()
			msg, _ := io.ReadAll(resp.Body)
			assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
			assert.NotEmpty(t, msg, "a refusal must say why")
		})
	}

	// Still serving after bad input.
	td, err := ptraceotlp.NewExportRequestFromTraces(testTraces(pcommon.TraceID{9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9}, "after")).MarshalProto()
	require.NoError(t, err)
	resp := postOTLP(t, "http://"+e.http+"/v1/traces", "application/x-protobuf", td)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}

// validate runs the same check as `braid validate`.
func validate(uris ...string) error {
	col, err := otelcol.NewCollector(settings(uris...))
	if err != nil {
		return err
	}
	return col.DryRun(context.Background())
}

func TestShippedConfigsValidate(t *testing.T) {
	paths, err := filepath.Glob("../../deploy/configs/*.yaml")
	require.NoError(t, err)
	benchPaths, err := filepath.Glob("../../bench/*.yaml")
	require.NoError(t, err)
	paths = append(paths, benchPaths...)
	require.NotEmpty(t, paths)
	// An overlay (kafka-agent.yaml) is checked on top of its base
	// (agent.yaml), as it is run.
	runs := [][]string{{defaultConfigURI}}
	for _, p := range paths {
		base := filepath.Base(p)
		if over, ok := strings.CutPrefix(base, "kafka-"); ok {
			run := []string{"file:" + filepath.Join(filepath.Dir(p), over)}
			if filepath.Base(filepath.Dir(p)) == "bench" {
				// A benchmark's own layer over the shipped overlay.
				run = append(run, "file:../../deploy/configs/"+base)
			}
			runs = append(runs, append(run, "file:"+p))
			continue
		}
		runs = append(runs, []string{"file:" + p})
	}
	for _, uris := range runs {
		t.Run(filepath.Base(uris[len(uris)-1]), func(t *testing.T) {
			assert.NoError(t, validate(uris...))
		})
	}
}

func TestBadConfigsAreRefusedByName(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		wantErr []string
	}{
		{
			name: "unknown key in a component",
			yaml: `
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: localhost:4317
        max_recv_msg_size_mibb: 4
exporters:
  debug: {}
service:
  pipelines:
    traces: {receivers: [otlp], exporters: [debug]}
`,
			wantErr: []string{"max_recv_msg_size_mibb"},
		},
		{
			name: "pipeline references an undefined exporter",
			yaml: `
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: localhost:4317
exporters:
  debug: {}
service:
  pipelines:
    traces: {receivers: [otlp], exporters: [debug, otlp_grpc/jaeger]}
`,
			wantErr: []string{"otlp_grpc/jaeger"},
		},
		{
			name: "unknown component type",
			yaml: `
receivers:
  otlpp: {}
exporters:
  debug: {}
service:
  pipelines:
    traces: {receivers: [otlpp], exporters: [debug]}
`,
			wantErr: []string{"otlpp"},
		},
		{
			name: "invalid value",
			yaml: `
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: localhost:4317
processors:
  memory_limiter:
    check_interval: 0s
exporters:
  debug: {}
service:
  pipelines:
    traces: {receivers: [otlp], processors: [memory_limiter], exporters: [debug]}
`,
			wantErr: []string{"memory_limiter", "check_interval"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "config.yaml")
			require.NoError(t, os.WriteFile(path, []byte(tt.yaml), 0o600))
			err := validate("file:" + path)
			require.Error(t, err)
			for _, want := range tt.wantErr {
				assert.ErrorContains(t, err, want)
			}
		})
	}
}

func TestComponentsCommandListsEveryComponent(t *testing.T) {
	var out bytes.Buffer
	cmd := newCommand()
	cmd.SetOut(&out)
	cmd.SetArgs([]string{"components"})

	// The collector's components command prints to os.Stdout.
	r, w, err := os.Pipe()
	require.NoError(t, err)
	stdout := os.Stdout
	os.Stdout = w
	execErr := cmd.Execute()
	os.Stdout = stdout
	require.NoError(t, w.Close())
	printed, err := io.ReadAll(r)
	require.NoError(t, err)
	require.NoError(t, execErr)
	listing := out.String() + string(printed)

	want := map[string][]string{
		"receivers":  {"otlp", "prometheus", "file_log", "jaeger", "zipkin", "kafka"},
		"processors": {"batch", "memory_limiter", "resource", "correlation", "admission"},
		"exporters":  {"debug", "otlp_grpc", "otlp_http", "prometheus", "prometheus_remote_write", "kafka", "loadbalancing"},
		"connectors": {"span_metrics", "braid_span_metrics"},
		"extensions": {"health_check", "pprof", "zpages", "file_storage", "bearertokenauth"},
	}
	for kind, names := range want {
		for _, name := range names {
			assert.Contains(t, listing, "name: "+name+"\n", "%s %s missing from `braid components`", kind, name)
		}
	}
}

func TestDefaultConfigCommandPrintsTheEmbeddedDefault(t *testing.T) {
	var out bytes.Buffer
	cmd := newCommand()
	cmd.SetOut(&out)
	cmd.SetArgs([]string{"default-config"})
	require.NoError(t, cmd.Execute())
	assert.Equal(t, string(defaultConfig), out.String())
}

func TestEmbeddedProviderRefusesUnknownNames(t *testing.T) {
	err := validate("braid:nope")
	require.Error(t, err)
	assert.ErrorContains(t, err, `"braid:nope"`)
}

func TestWithDefaultConfig(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"no flags", nil, nil},
		{"config only", []string{"--config=file:a.yaml"}, []string{"--config=file:a.yaml"}},
		{"set only keeps the default", []string{"--set=processors.batch.timeout=2s"},
			[]string{"--set=processors.batch.timeout=2s", "--config=braid:default"}},
		{"set as two words", []string{"--set", "processors.batch.timeout=2s"},
			[]string{"--set", "processors.batch.timeout=2s", "--config=braid:default"}},
		{"validate with set", []string{"validate", "-set=x=1"},
			[]string{"validate", "-set=x=1", "--config=braid:default"}},
		{"config and set", []string{"--config", "file:a.yaml", "--set=x=1"},
			[]string{"--config", "file:a.yaml", "--set=x=1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, withDefaultConfig(tt.args))
		})
	}
}
