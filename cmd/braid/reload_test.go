package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/braidobs/braid/internal/testnet"
)

// The reload tests run the real braid binary: what they check (signals, a
// process that must not exit, files watched) belongs to the process.

var (
	braidBinOnce sync.Once
	braidBin     string
	braidBinErr  error
)

// braidBinary builds bin/braid once per test run, into a directory of its own.
func braidBinary(t *testing.T) string {
	t.Helper()
	braidBinOnce.Do(func() {
		dir, err := os.MkdirTemp("", "braid-reload-test")
		if err != nil {
			braidBinErr = err
			return
		}
		braidBin = filepath.Join(dir, "braid")
		out, err := exec.Command("go", "build", "-o", braidBin, ".").CombinedOutput()
		if err != nil {
			braidBinErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	require.NoError(t, braidBinErr)
	return braidBin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if braidBin != "" {
		os.RemoveAll(filepath.Dir(braidBin))
	}
	os.Exit(code)
}

// reloadConfig is a small gateway configuration: OTLP/HTTP in, the debug
// exporter out, self-metrics on telemetry.
func reloadConfig(otlpHTTP, telemetry, verbosity string) string {
	host, port, _ := net.SplitHostPort(telemetry)
	return fmt.Sprintf(`receivers:
  otlp:
    protocols:
      http:
        endpoint: %s
exporters:
  debug:
    verbosity: %s
service:
  pipelines:
    traces: {receivers: [otlp], exporters: [debug]}
  telemetry:
    logs:
      level: info
    metrics:
      readers:
        - pull:
            exporter:
              prometheus:
                host: %s
                port: %s
                without_scope_info: true
                without_units: true
                without_type_suffix: true
`, otlpHTTP, verbosity, host, port)
}

// configWriter replaces the content of the configuration file braid reads.
type configWriter interface {
	path() string
	write(t *testing.T, content string)
}

// plainFile is a file rewritten in place.
type plainFile struct{ file string }

func (f plainFile) path() string { return f.file }

func (f plainFile) write(t *testing.T, content string) {
	t.Helper()
	require.NoError(t, os.WriteFile(f.file, []byte(content), 0o600))
}

// configMapVolume lays files out as the kubelet does in a ConfigMap volume:
// config.yaml → ..data/config.yaml, ..data → a timestamped directory that an
// update replaces by renaming a new ..data symlink over the old one.
type configMapVolume struct {
	dir     string
	version *int
}

func newConfigMapVolume(t *testing.T) configMapVolume {
	dir := t.TempDir()
	require.NoError(t, os.Symlink(filepath.Join("..data", "config.yaml"), filepath.Join(dir, "config.yaml")))
	return configMapVolume{dir: dir, version: new(int)}
}

func (v configMapVolume) path() string { return filepath.Join(v.dir, "config.yaml") }

func (v configMapVolume) write(t *testing.T, content string) {
	t.Helper()
	*v.version++
	version := fmt.Sprintf("..2026_12_02_%d", *v.version)
	require.NoError(t, os.Mkdir(filepath.Join(v.dir, version), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(v.dir, version, "config.yaml"), []byte(content), 0o600))
	require.NoError(t, os.Symlink(version, filepath.Join(v.dir, "..data_tmp")))
	require.NoError(t, os.Rename(filepath.Join(v.dir, "..data_tmp"), filepath.Join(v.dir, "..data")))
}

// syncBuffer collects a process's output while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex // guards buf
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// braidProcess is a running braid binary and the addresses it listens on.
type braidProcess struct {
	cmd                        *exec.Cmd
	output                     *syncBuffer
	exited                     chan struct{}
	otlpHTTP, telemetry, admin string
	config                     configWriter
}

// startBraid runs the braid binary on a config written through w, on free
// loopback ports, until the test ends.
func startBraid(t *testing.T, w configWriter, watchConfig bool) *braidProcess {
	t.Helper()
	return launchBraid(t, func(b *braidProcess) []string {
		b.otlpHTTP, b.telemetry = testnet.FreeAddr(t), testnet.FreeAddr(t)
		w.write(t, reloadConfig(b.otlpHTTP, b.telemetry, "basic"))
		return []string{"--config=file:" + w.path(), fmt.Sprintf("--watch-config=%t", watchConfig)}
	}, w)
}

// startBraidOnDefault runs the braid binary on its embedded default, with the
// file of w merged over it, on free loopback ports, until the test ends.
func startBraidOnDefault(t *testing.T, w configWriter, override string) (*braidProcess, defaultEndpoints) {
	t.Helper()
	var e defaultEndpoints
	b := launchBraid(t, func(b *braidProcess) []string {
		e = useFreePorts(t)
		b.otlpHTTP, b.telemetry = e.http, e.telemetry
		w.write(t, override)
		return []string{"--config=" + defaultConfigURI, "--config=file:" + w.path(), "--watch-config=false"}
	}, w)
	return b, e
}

// launchBraid starts braid with the arguments that setup returns (after it
// picked the addresses) and waits for it to be ready. A port picked as free
// can be taken before braid binds it: then it tries again with other ports.
func launchBraid(t *testing.T, setup func(b *braidProcess) []string, w configWriter) *braidProcess {
	t.Helper()
	bin := braidBinary(t)
	for attempt := 1; ; attempt++ {
		b := &braidProcess{
			output: &syncBuffer{},
			exited: make(chan struct{}),
			admin:  testnet.FreeAddr(t),
			config: w,
		}
		args := append(setup(b), "--admin-endpoint="+b.admin)
		b.cmd = exec.Command(bin, args...)
		b.cmd.Stdout = b.output
		b.cmd.Stderr = b.output
		require.NoError(t, b.cmd.Start())
		go func() {
			_ = b.cmd.Wait()
			close(b.exited)
		}()
		t.Cleanup(func() {
			_ = b.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-b.exited:
			case <-time.After(30 * time.Second):
				_ = b.cmd.Process.Kill()
			}
			if t.Failed() {
				t.Logf("braid output:\n%s", b.output.String())
			}
		})
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) && !b.hasExited() && !b.ready(t) {
			time.Sleep(50 * time.Millisecond)
		}
		if !b.hasExited() {
			require.Equal(t, 1, b.reloadSuccessful(t), "braid did not start")
			return b
		}
		if attempt == 5 || !strings.Contains(b.output.String(), "address already in use") {
			t.Fatalf("braid exited:\n%s", b.output.String())
		}
		t.Logf("attempt %d: a port was taken; trying other ports", attempt)
	}
}

// ready is true once braid reports a good configuration and listens for
// OTLP (its self-metrics come up before its receivers).
func (b *braidProcess) ready(t *testing.T) bool {
	if b.reloadSuccessful(t) != 1 {
		return false
	}
	conn, err := net.Dial("tcp", b.otlpHTTP)
	if err != nil {
		return false
	}
	conn.Close()
	return true
}

// logged waits for braid to write want.
func (b *braidProcess) logged(want string) func() bool {
	return func() bool { return strings.Contains(b.output.String(), want) }
}

func (b *braidProcess) hasExited() bool {
	select {
	case <-b.exited:
		return true
	default:
		return false
	}
}

func (b *braidProcess) selfMetrics(t *testing.T) string {
	return scrape(t, "http://"+b.telemetry+"/metrics", false)
}

// reloadSuccessful is braid_config_last_reload_successful, -1 when absent.
func (b *braidProcess) reloadSuccessful(t *testing.T) int {
	body := b.selfMetrics(t)
	if !strings.Contains(body, "\nbraid_config_last_reload_successful") {
		return -1
	}
	return int(metricValue(body, "braid_config_last_reload_successful"))
}

var instanceIDLabel = regexp.MustCompile(`target_info\{[^}]*service_instance_id="([^"]+)"`)

func (b *braidProcess) instanceID(t *testing.T) string {
	t.Helper()
	m := instanceIDLabel.FindStringSubmatch(b.selfMetrics(t))
	require.NotNil(t, m, "target_info with service_instance_id")
	return m[1]
}

// sendSpan posts one span over OTLP/HTTP to addr and returns the status.
func sendSpan(t *testing.T, addr string) (int, error) {
	t.Helper()
	body, err := ptraceotlp.NewExportRequestFromTraces(testTraces(pcommon.TraceID{7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7}, "reload")).MarshalProto()
	require.NoError(t, err)
	resp, err := http.Post("http://"+addr+"/v1/traces", "application/x-protobuf", bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// postReload calls POST /-/reload and returns the status and body.
func (b *braidProcess) postReload(t *testing.T) (int, string) {
	t.Helper()
	resp, err := http.Post("http://"+b.admin+"/-/reload", "", nil)
	require.NoError(t, err)
	defer resp.Body.Close()
	msg, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(msg)
}

type reloadTrigger struct {
	name        string
	watchConfig bool
	volume      bool // the file is in a ConfigMap-like volume
	// reload triggers a reload after the file was written and returns the
	// admin endpoint's answer, if it was asked.
	reload func(t *testing.T, b *braidProcess) (status int, body string)
}

var reloadTriggers = []reloadTrigger{
	{name: "SIGHUP", reload: func(t *testing.T, b *braidProcess) (int, string) {
		require.NoError(t, b.cmd.Process.Signal(syscall.SIGHUP))
		return 0, ""
	}},
	{name: "POST /-/reload", reload: func(t *testing.T, b *braidProcess) (int, string) {
		return b.postReload(t)
	}},
	{name: "file change", watchConfig: true, reload: func(*testing.T, *braidProcess) (int, string) { return 0, "" }},
	{name: "ConfigMap update", watchConfig: true, volume: true, reload: func(*testing.T, *braidProcess) (int, string) { return 0, "" }},
}

func (tr reloadTrigger) start(t *testing.T) *braidProcess {
	t.Helper()
	var w configWriter = plainFile{file: filepath.Join(t.TempDir(), "config.yaml")}
	if tr.volume {
		w = newConfigMapVolume(t)
	}
	return startBraid(t, w, tr.watchConfig)
}

func TestReloadRefusesABadConfigAndKeepsRunning(t *testing.T) {
	for _, tr := range reloadTriggers {
		t.Run(tr.name, func(t *testing.T) {
			b := tr.start(t)
			status, err := sendSpan(t, b.otlpHTTP)
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, status)
			require.Eventually(t, func() bool {
				return metricValue(b.selfMetrics(t), "otelcol_receiver_accepted_spans") == 1
			}, 30*time.Second, 50*time.Millisecond)
			before := b.selfMetrics(t)

			b.config.write(t, reloadConfig(b.otlpHTTP, b.telemetry, "basicx"))
			code, msg := tr.reload(t, b)
			if code != 0 {
				assert.Equal(t, http.StatusBadRequest, code)
				assert.Contains(t, msg, "verbosity")
				assert.Contains(t, msg, "basicx")
			}
			require.Eventually(t, func() bool { return b.reloadSuccessful(t) == 0 }, 30*time.Second, 50*time.Millisecond,
				"braid_config_last_reload_successful never dropped to 0")

			assert.False(t, b.hasExited(), "braid exited on a bad config")
			assert.Eventually(t, b.logged("Configuration refused, the last good one keeps running"), 10*time.Second, 20*time.Millisecond)
			out := b.output.String()
			assert.Regexp(t, `'verbosity'[^\n]*basicx`, out, "the log names the key and the value")
			assert.NotContains(t, out, "restart service", "the running pipelines are not rebuilt")
			assert.Equal(t, metricValue(before, "braid_config_last_reload_success_timestamp_seconds"),
				metricValue(b.selfMetrics(t), "braid_config_last_reload_success_timestamp_seconds"),
				"the last success is the start")

			// Still accepting, and the self-metrics counted since the start:
			// nothing was rebuilt.
			status, err = sendSpan(t, b.otlpHTTP)
			require.NoError(t, err)
			assert.Equal(t, http.StatusOK, status)
			assert.Eventually(t, func() bool {
				return metricValue(b.selfMetrics(t), "otelcol_receiver_accepted_spans") == 2
			}, 30*time.Second, 50*time.Millisecond)
		})
	}
}

func TestReloadAppliesAGoodConfigAfterABadOne(t *testing.T) {
	for _, tr := range reloadTriggers {
		t.Run(tr.name, func(t *testing.T) {
			b := tr.start(t)
			id := b.instanceID(t)

			b.config.write(t, reloadConfig(b.otlpHTTP, b.telemetry, "basicx"))
			tr.reload(t, b)
			require.Eventually(t, func() bool { return b.reloadSuccessful(t) == 0 }, 30*time.Second, 50*time.Millisecond)
			firstSuccess := metricValue(b.selfMetrics(t), "braid_config_last_reload_success_timestamp_seconds")

			// A new listener and another verbosity: otelcol rebuilds every
			// component for it.
			moved := testnet.FreeAddr(t)
			b.config.write(t, reloadConfig(moved, b.telemetry, "detailed"))
			code, msg := tr.reload(t, b)
			if code != 0 {
				require.Equal(t, http.StatusOK, code, msg)
				// 200 comes once the rebuilt service runs.
				status, err := sendSpan(t, moved)
				require.NoError(t, err, "the new listener is up when POST /-/reload answers")
				assert.Equal(t, http.StatusOK, status)
			}
			require.Eventually(t, func() bool { return b.reloadSuccessful(t) == 1 }, 30*time.Second, 50*time.Millisecond,
				"braid_config_last_reload_successful never came back to 1")
			require.Eventually(t, func() bool {
				status, err := sendSpan(t, moved)
				return err == nil && status == http.StatusOK
			}, 30*time.Second, 50*time.Millisecond, "the new listener never accepted OTLP")
			_, err := sendSpan(t, b.otlpHTTP)
			assert.Error(t, err, "the old listener is closed")
			assert.Eventually(t, func() bool { return strings.Contains(b.output.String(), "ResourceSpans #0") },
				30*time.Second, 50*time.Millisecond, "the debug exporter prints in detail")

			assert.Greater(t, metricValue(b.selfMetrics(t), "braid_config_last_reload_success_timestamp_seconds"), firstSuccess)
			assert.Equal(t, id, b.instanceID(t), "service.instance.id survives the rebuild")
			assert.False(t, b.hasExited())
		})
	}
}

func TestReloadOfReceiversOnlyKeepsTheRestRunning(t *testing.T) {
	b := startBraid(t, plainFile{file: filepath.Join(t.TempDir(), "config.yaml")}, false)
	status, err := sendSpan(t, b.otlpHTTP)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status)
	require.Eventually(t, func() bool {
		return metricValue(b.selfMetrics(t), "otelcol_exporter_sent_spans") == 1
	}, 30*time.Second, 50*time.Millisecond)

	moved := testnet.FreeAddr(t)
	b.config.write(t, reloadConfig(moved, b.telemetry, "basic"))
	code, msg := b.postReload(t)
	require.Equal(t, http.StatusOK, code, msg)
	require.Eventually(t, func() bool {
		status, err := sendSpan(t, moved)
		return err == nil && status == http.StatusOK
	}, 30*time.Second, 50*time.Millisecond, "the new listener never accepted OTLP")
	// The exporter's count goes on from before the reload: only the
	// receiver was restarted.
	assert.Eventually(t, func() bool {
		return metricValue(b.selfMetrics(t), "otelcol_exporter_sent_spans") == 2
	}, 30*time.Second, 50*time.Millisecond)
	assert.NotContains(t, b.output.String(), "restart service")
}

func TestReloadOfAnUnchangedConfigDoesNothing(t *testing.T) {
	b := startBraid(t, plainFile{file: filepath.Join(t.TempDir(), "config.yaml")}, false)
	code, msg := b.postReload(t)
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "configuration reloaded\n", msg)
	assert.Eventually(t, b.logged("Configuration unchanged"), 10*time.Second, 20*time.Millisecond)
	assert.NotContains(t, b.output.String(), "Config updated")
}

func TestReloadKeepsStateAcrossARebuild(t *testing.T) {
	override := func(verbosity string) string {
		return "exporters:\n  debug:\n    verbosity: " + verbosity + "\n"
	}
	b, e := startBraidOnDefault(t, plainFile{file: filepath.Join(t.TempDir(), "override.yaml")}, override("basic"))
	trace := pcommon.TraceID{0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14}
	body, err := ptraceotlp.NewExportRequestFromTraces(testTraces(trace, "checkout")).MarshalProto()
	require.NoError(t, err)
	resp := postOTLP(t, "http://"+e.http+"/v1/traces", "application/x-protobuf", body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	var out bytes.Buffer
	drill := func() error {
		out.Reset()
		return runDrill(context.Background(), &out, drillOptions{
			endpoint: e.drill, trace: trace.String(), asJSON: true, since: "15m", limit: 10, timeout: 5 * time.Second})
	}
	require.Eventually(t, func() bool { return drill() == nil }, 30*time.Second, 50*time.Millisecond, "drill never saw the trace")
	spanMetricsInstance := func() string {
		m := collectorInstanceLabel.FindStringSubmatch(scrape(t, "http://"+e.prometheus+"/metrics", false))
		if m == nil {
			return ""
		}
		return m[1]
	}
	var before string
	require.Eventually(t, func() bool { before = spanMetricsInstance(); return before != "" }, 30*time.Second, 50*time.Millisecond)

	alert, err := os.ReadFile("../../drill/testdata/alert_pod.json")
	require.NoError(t, err)
	resp = postOTLP(t, "http://"+e.drill+"/api/v1/alerts", "application/json", alert)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	// Another verbosity: otelcol rebuilds every component, the correlation
	// processor and the drill-down API included.
	b.config.write(t, override("detailed"))
	code, msg := b.postReload(t)
	require.Equal(t, http.StatusOK, code, msg)
	require.Eventually(t, b.logged("restart service"), 10*time.Second, 20*time.Millisecond, "no rebuild happened")

	require.NoError(t, drill(), "the rebuilt drill-down API knows the trace sent before")
	assert.Contains(t, out.String(), `"root_operation":"GET /checkout"`)
	got, err := http.Get("http://" + e.drill + "/api/v1/alerts/c0ffee0000000001")
	require.NoError(t, err)
	got.Body.Close()
	assert.Equal(t, http.StatusOK, got.StatusCode, "the rebuilt drill-down API knows the alert received before")

	// The span metrics of the rebuilt connector continue the same series,
	// from the count before the rebuild.
	resp = postOTLP(t, "http://"+e.http+"/v1/traces", "application/x-protobuf", body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Eventually(t, func() bool {
		return metricValue(scrape(t, "http://"+e.prometheus+"/metrics", false), "traces_span_metrics_calls_total") == 2
	}, 30*time.Second, 50*time.Millisecond, "the calls counter did not go on from before the rebuild")
	assert.Equal(t, before, spanMetricsInstance(), "collector.instance.id of the span metrics changed across the rebuild")
}

var collectorInstanceLabel = regexp.MustCompile(`traces_span_metrics_calls_total\{[^}]*collector_instance_id="([^"]+)"`)

func TestReloadGoesBackWhenAGoodConfigFailsToStart(t *testing.T) {
	for _, tr := range reloadTriggers[:2] { // SIGHUP, POST /-/reload
		t.Run(tr.name, func(t *testing.T) {
			b := tr.start(t)
			taken, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			defer taken.Close()

			// Valid, but its listener cannot bind; another verbosity makes
			// otelcol rebuild everything for it.
			b.config.write(t, reloadConfig(taken.Addr().String(), b.telemetry, "detailed"))
			code, msg := tr.reload(t, b)
			if code != 0 {
				assert.Equal(t, http.StatusBadRequest, code)
				assert.Contains(t, msg, "failed to start")
				assert.Contains(t, msg, "address already in use")
			}
			require.Eventually(t, b.logged("Configuration failed to start, going back to the last good one"),
				30*time.Second, 20*time.Millisecond)
			require.Eventually(t, func() bool {
				status, err := sendSpan(t, b.otlpHTTP)
				return err == nil && status == http.StatusOK
			}, 30*time.Second, 50*time.Millisecond, "the last good configuration does not run again")
			assert.False(t, b.hasExited())
			assert.Equal(t, 0, b.reloadSuccessful(t))

			// A good change afterwards is applied as usual.
			moved := testnet.FreeAddr(t)
			b.config.write(t, reloadConfig(moved, b.telemetry, "basic"))
			code, msg = b.postReload(t)
			require.Equal(t, http.StatusOK, code, msg)
			assert.Eventually(t, func() bool {
				status, err := sendSpan(t, moved)
				return err == nil && status == http.StatusOK
			}, 30*time.Second, 50*time.Millisecond, "the new listener never accepted OTLP")
			assert.Equal(t, 1, b.reloadSuccessful(t))
		})
	}
}
