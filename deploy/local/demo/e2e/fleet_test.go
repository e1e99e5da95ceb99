//go:build e2e

package e2e

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// fleetProcess is one braid process of the fleet test.
type fleetProcess struct {
	name   string
	cmd    *exec.Cmd
	health string
	log    string
}

// freeAddr returns a loopback address free at the time, its port picked
// below the kernel's ephemeral range (32768 and up by default): a port the
// kernel gives for port 0 is one any of the many processes here may take
// as the local port of a connection before the process meant for it binds.
func freeAddr(t *testing.T) string {
	t.Helper()
	for range 100 {
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", 10000+mrand.IntN(22000)))
		if err != nil {
			continue
		}
		defer l.Close()
		return l.Addr().String()
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startFleetProcess runs braid on the shipped config plus an overlay, with
// env added to the stack's (which points the backends at the real ones).
func startFleetProcess(t *testing.T, name string, configs []string, env []string, health string) *fleetProcess {
	t.Helper()
	root := filepath.Join(filepath.Dir(st.script), "..", "..")
	bin := os.Getenv("BRAID_BIN")
	if bin == "" {
		bin = filepath.Join(root, "bin", "braid")
	}
	var args []string
	for _, c := range configs {
		args = append(args, "--config", c)
	}
	p := &fleetProcess{name: name, health: health, log: filepath.Join(t.TempDir(), name+".log")}
	out, err := os.Create(p.log)
	if err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout, p.cmd.Stderr = out, out
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		_, _ = p.cmd.Process.Wait()
		out.Close()
		if t.Failed() {
			b, _ := os.ReadFile(p.log)
			if len(b) > 3000 {
				b = b[len(b)-3000:]
			}
			t.Logf("%s log (end):\n%s", name, b)
		}
	})
	eventually(t, 60*time.Second, name+" healthy", func() error {
		_, code, err := get("http://" + health + "/")
		if err == nil && code != http.StatusOK {
			err = fmt.Errorf("health %d", code)
		}
		return err
	})
	return p
}

func writeYAML(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v) // JSON is YAML
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "overlay.yaml")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func postJSON(u string, body any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	resp, err := http.Post(u, "application/json", bytes.NewReader(b))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", u, resp.Status)
	}
	return nil
}

// traceLogs waits for at least n log lines of trace tr in VictoriaLogs and
// returns them.
func traceLogs(t *testing.T, tr string, n int) []logEntry {
	t.Helper()
	var entries []logEntry
	eventually(t, 90*time.Second, "log lines of "+tr+" in VictoriaLogs", func() error {
		var err error
		if entries, err = st.logsQuery("trace_id:" + tr); err != nil {
			return err
		}
		if len(entries) < n {
			return fmt.Errorf("%d of %d lines", len(entries), n)
		}
		return nil
	})
	return entries
}

// sendHalf sends two spans and one log record of each trace to one agent,
// from pod, as that pod's SDK would.
func sendHalf(agentHTTP, service, pod string, traces []string, half int) error {
	now := time.Now()
	var spans, logs []any
	for _, tr := range traces {
		for i := range 2 {
			start := now.Add(-time.Duration(30+i) * time.Millisecond).UnixNano()
			spans = append(spans, map[string]any{
				"traceId": tr, "spanId": randomHex(8), "name": fmt.Sprintf("fleet op %d.%d", half, i), "kind": 2,
				"startTimeUnixNano": fmt.Sprint(start), "endTimeUnixNano": fmt.Sprint(now.UnixNano()),
			})
		}
		logs = append(logs, map[string]any{
			"timeUnixNano": fmt.Sprint(now.UnixNano()), "traceId": tr,
			"body": map[string]any{"stringValue": fmt.Sprintf("fleet line %d of %s", half, tr)},
		})
	}
	resource := map[string]any{"attributes": []any{
		map[string]any{"key": "service.name", "value": map[string]any{"stringValue": service}},
		map[string]any{"key": "k8s.namespace.name", "value": map[string]any{"stringValue": "fleet"}},
		map[string]any{"key": "k8s.pod.name", "value": map[string]any{"stringValue": pod}},
	}}
	if err := postJSON(agentHTTP+"/v1/traces", map[string]any{"resourceSpans": []any{map[string]any{
		"resource": resource, "scopeSpans": []any{map[string]any{"spans": spans}}}}}); err != nil {
		return err
	}
	return postJSON(agentHTTP+"/v1/logs", map[string]any{"resourceLogs": []any{map[string]any{
		"resource": resource, "scopeLogs": []any{map[string]any{"logRecords": logs}}}}})
}

// fleetAcrossGateways runs the shipped topology against the real backends:
// two agents (loadbalancing/gateway), three gateways, as Kubernetes runs
// them with the token-auth component: agent → gateway over mTLS with the
// fleet's certificates and a sender token, the drill API behind a token
// (also between the gateways). Every trace's spans,
// half through each agent, reach Jaeger through one gateway; its log lines
// reach VictoriaLogs through the same one; the span metrics of the three
// gateways sum up in Prometheus without colliding; any gateway's drill-down
// API answers for every trace; and with one gateway killed, new traces
// still arrive whole.
func fleetAcrossGateways(t *testing.T) {
	root := filepath.Join(filepath.Dir(st.script), "..", "..")
	configs := filepath.Join(root, "deploy", "configs")
	service := "fleet-" + randomHex(3)
	secrets := newFleetSecrets(t)

	type gw struct{ otlp, otlpHTTP, drill, health string }
	gws := make([]gw, 3)
	for i := range gws {
		gws[i] = gw{freeAddr(t), freeAddr(t), freeAddr(t), freeAddr(t)}
	}
	var drills, otlps []any
	for _, g := range gws {
		drills = append(drills, g.drill)
		otlps = append(otlps, g.otlp)
	}
	gatewayOverlay := writeYAML(t, map[string]any{
		"extensions": map[string]any{"drill": map[string]any{"pod_resolver": "", "peers": map[string]any{"dns": nil, "static": drills}}},
		"processors": map[string]any{"correlation": map[string]any{"pod_resolver": ""}},
		"service": map[string]any{"extensions": []any{"health_check", "wal_storage", "drill",
			"bearertokenauth/senders", "bearertokenauth/drill"}},
	})
	processes := make([]*fleetProcess, 3)
	for i, g := range gws {
		_, telemetryPort, _ := net.SplitHostPort(freeAddr(t))
		name := fmt.Sprintf("fleet-gateway%d", i+1)
		processes[i] = startFleetProcess(t, name, []string{filepath.Join(configs, "gateway.yaml"),
			filepath.Join(configs, "auth", "gateway.yaml"), gatewayOverlay}, append(secrets.gatewayEnv(),
			"BRAID_OTLP_GRPC_ENDPOINT="+g.otlp, "BRAID_OTLP_HTTP_ENDPOINT="+g.otlpHTTP,
			"BRAID_LOKI_RECEIVER_ENDPOINT="+freeAddr(t), "BRAID_PROMETHEUS_ENDPOINT="+freeAddr(t),
			"BRAID_HEALTH_ENDPOINT="+g.health, "BRAID_DRILL_ENDPOINT="+g.drill,
			"BRAID_TELEMETRY_HOST=127.0.0.1", "BRAID_TELEMETRY_PORT="+telemetryPort,
			"BRAID_ADMIN_ENDPOINT="+freeAddr(t), "BRAID_STORAGE_DIR="+t.TempDir(),
			"BRAID_CLUSTER_NAME="+name,
		), g.health)
	}
	agentOverlay := writeYAML(t, map[string]any{
		"processors": map[string]any{"correlation": map[string]any{"pod_resolver": ""}},
		"exporters": map[string]any{"loadbalancing/gateway": map[string]any{
			"resolver": map[string]any{"dns": nil, "static": map[string]any{"hostnames": otlps}}}},
		"service": map[string]any{"extensions": []any{"health_check", "wal_storage", "bearertokenauth/gateway"}},
	})
	agentHTTP := make([]string, 2)
	for i := range agentHTTP {
		http, health := freeAddr(t), freeAddr(t)
		_, telemetryPort, _ := net.SplitHostPort(freeAddr(t))
		agentHTTP[i] = "http://" + http
		startFleetProcess(t, fmt.Sprintf("fleet-agent%d", i+1), []string{filepath.Join(configs, "agent.yaml"),
			filepath.Join(configs, "auth", "agent.yaml"), agentOverlay}, append(secrets.agentEnv(),
			"BRAID_OTLP_GRPC_ENDPOINT="+freeAddr(t), "BRAID_OTLP_HTTP_ENDPOINT="+http,
			"BRAID_HEALTH_ENDPOINT="+health, "BRAID_TELEMETRY_HOST=127.0.0.1", "BRAID_TELEMETRY_PORT="+telemetryPort,
			"BRAID_ADMIN_ENDPOINT="+freeAddr(t), "BRAID_STORAGE_DIR="+t.TempDir(),
			"BRAID_LOG_INCLUDE="+filepath.Join(t.TempDir(), "none", "*.log"), "K8S_NODE_NAME="+fmt.Sprint("fleet-node", i+1),
		), health)
	}

	send := func(n int) []string {
		traces := make([]string, n)
		for i := range traces {
			traces[i] = randomHex(16)
		}
		for half, a := range agentHTTP {
			if err := sendHalf(a, service, fmt.Sprintf("fleet-pod-%d", half), traces, half); err != nil {
				t.Fatalf("send through agent %d: %v", half+1, err)
			}
		}
		return traces
	}
	// gatewayOf waits for a trace to be whole in Jaeger and returns the
	// gateway its spans came through, failing when they came through two.
	gatewayOf := func(tr string) string {
		var via string
		eventually(t, 90*time.Second, "trace "+tr+" whole in Jaeger", func() error {
			j, found, err := st.jaegerTraceByID(tr)
			if err != nil || !found {
				return fmt.Errorf("not found (%v)", err)
			}
			if n := j.distinctSpans(); n != 4 {
				return fmt.Errorf("%d of 4 spans", n)
			}
			seen := map[string]bool{}
			for _, sp := range j.Spans {
				seen[tag(j.Processes[sp.ProcessID].Tags, "k8s.cluster.name")] = true
			}
			if len(seen) != 1 {
				t.Errorf("trace %s: spans came through %d gateways: %v", tr, len(seen), seen)
			}
			for g := range seen {
				via = g
			}
			return nil
		})
		return via
	}

	traces := send(30)
	per := map[string]int{}
	byTrace := map[string]string{}
	for _, tr := range traces {
		g := gatewayOf(tr)
		per[g]++
		byTrace[tr] = g
	}
	t.Logf("30 traces, through both agents, by gateway: %v", per)
	if len(per) < 2 {
		t.Errorf("every trace went through one gateway (%v): the agents do not spread traces", per)
	}

	// Log lines: with their trace, through the trace's gateway.
	for _, tr := range traces[:10] {
		for _, e := range traceLogs(t, tr, 2) {
			if e["k8s_cluster_name"] != byTrace[tr] {
				t.Errorf("trace %s: a log line came through %q, its spans through %q", tr, e["k8s_cluster_name"], byTrace[tr])
			}
		}
	}

	// Span metrics: one series set per gateway, summing to every span.
	eventually(t, 90*time.Second, "span metrics of "+service+" from every gateway", func() error {
		v, err := st.promQuery(`sum(traces_span_metrics_calls_total{service_name="` + service + `"})`)
		if err != nil || len(v.Data.Result) == 0 {
			return fmt.Errorf("no sum yet (%v)", err)
		}
		if got := fmt.Sprint(v.Data.Result[0].Value[1]); got != "120" {
			return fmt.Errorf("calls sum to %s, want 120 (30 traces x 4 spans)", got)
		}
		c, err := st.promQuery(`count(count by (collector_instance_id) (traces_span_metrics_calls_total{service_name="` + service + `"}))`)
		if err != nil || len(c.Data.Result) == 0 {
			return fmt.Errorf("no instance count (%v)", err)
		}
		if got := fmt.Sprint(c.Data.Result[0].Value[1]); got != fmt.Sprint(len(per)) {
			return fmt.Errorf("%s collector instances wrote the series, want %d (the gateways that got traces)", got, len(per))
		}
		return nil
	})

	// Any gateway's drill-down API answers for every trace.
	for _, tr := range traces[:10] {
		var a struct {
			SpanCount int  `json:"span_count"`
			LogCount  int  `json:"log_count"`
			Partial   bool `json:"partial"`
		}
		if err := getJSONWithToken("http://"+gws[0].drill+"/api/v1/traces/"+tr, secrets.drillToken, &a); err != nil {
			t.Errorf("drill %s on gateway1: %v", tr, err)
			continue
		}
		if a.SpanCount != 4 || a.LogCount != 2 || a.Partial {
			t.Errorf("drill %s on gateway1 (trace on %s): %+v, want 4 spans, 2 logs, not partial", tr, byTrace[tr], a)
		}
	}

	// Nothing gets in without the fleet's credentials: the drill API
	// without its token, OTLP in plaintext or without a certificate.
	if _, code, err := get("http://" + gws[0].drill + "/api/v1/traces/" + traces[0]); err != nil || code != http.StatusUnauthorized {
		t.Errorf("drill API without a token: %d, %v; want 401", code, err)
	}
	req, _ := http.NewRequest(http.MethodPost, "http://"+gws[0].otlpHTTP+"/v1/traces", strings.NewReader(`{"resourceSpans":[]}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+secrets.senderToken)
	if resp, err := client.Do(req); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Errorf("gateway1 took OTLP in plaintext, with the sender token but no certificate")
		}
	}

	// One gateway killed: new traces arrive whole through the others.
	_ = processes[2].cmd.Process.Kill()
	_, _ = processes[2].cmd.Process.Wait()
	after := send(20)
	perAfter := map[string]int{}
	for _, tr := range after {
		perAfter[gatewayOf(tr)]++
	}
	t.Logf("after fleet-gateway3 was killed, 20 new traces by gateway: %v", perAfter)
	if perAfter["fleet-gateway3"] > 0 {
		t.Errorf("traces came through the killed gateway: %v", perAfter)
	}
}
