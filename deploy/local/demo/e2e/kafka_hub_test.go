//go:build e2e

package e2e

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startBroker runs a Kafka-protocol broker (braid-loadgen kafka: franz-go's
// kfake) as a process of its own on loopback and returns its address.
func startBroker(t *testing.T, root string) string {
	t.Helper()
	bin := os.Getenv("BRAID_LOADGEN_BIN")
	if bin == "" {
		bin = filepath.Join(root, "bin", "braid-loadgen")
	}
	addr := freeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	logPath := filepath.Join(t.TempDir(), "kafka.log")
	out, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "kafka", "--ports", port, "--partitions", "6")
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start the broker (%s; make loadgen builds it): %v", bin, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_, _ = cmd.Process.Wait()
		out.Close()
	})
	eventually(t, 15*time.Second, "broker listening", func() error {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err
	})
	return addr
}

// kafkaLag sums the consumer lag a Braid reports on its self-metrics, over
// the partitions it reads; n is how many it reports.
func kafkaLag(telemetry string) (lag float64, n int, err error) {
	b, code, err := get("http://" + telemetry + "/metrics")
	if err != nil || code != 200 {
		return 0, 0, fmt.Errorf("scrape %s: %d %v", telemetry, code, err)
	}
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "otelcol_kafka_receiver_offset_lag{") {
			continue
		}
		f := strings.Fields(line[strings.LastIndexByte(line, '}')+1:])
		if len(f) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			return 0, 0, err
		}
		lag += v
		n++
	}
	return lag, n, nil
}

// kafkaHubAcrossSpokes runs the Kafka tier as a hub and its spokes, with the
// shipped configs and the real backends: the agents of two spoke clusters
// write to a Kafka-protocol broker process (kafka-agent.yaml, each with its
// cluster's name), and three hub gateways read it as one consumer group
// (kafka-gateway.yaml). Every trace's spans and log lines go through one
// gateway and keep their spoke's k8s.cluster.name; the hub's drill-down
// answers for the traces of both clusters; one gateway killed with SIGKILL
// hands its partitions to the others, and what was sent meanwhile arrives
// whole once it is back on its storage; the consumer lag drains.
func kafkaHubAcrossSpokes(t *testing.T) {
	root := filepath.Join(filepath.Dir(st.script), "..", "..")
	configs := filepath.Join(root, "deploy", "configs")
	broker := startBroker(t, root)
	brokers := "BRAID_KAFKA_BROKERS=[" + broker + "]"
	service := "hub-" + randomHex(3)
	group := "hub-" + randomHex(3)

	type gw struct{ drill, health, telemetry, storage string }
	gws := make([]gw, 3)
	var drills []any
	for i := range gws {
		gws[i] = gw{freeAddr(t), freeAddr(t), freeAddr(t), t.TempDir()}
		drills = append(drills, gws[i].drill)
	}
	// The test marks each item with the gateway it went through
	// (braid.e2e.gateway), next to what the shipped resource/cluster does;
	// the rest is the shipped hub gateway.
	gatewayOverlay := writeYAML(t, map[string]any{
		"extensions": map[string]any{"drill": map[string]any{"pod_resolver": "", "peers": map[string]any{"dns": nil, "static": drills}}},
		"processors": map[string]any{
			"correlation": map[string]any{"pod_resolver": ""},
			"resource/cluster": map[string]any{"attributes": []any{
				map[string]any{"key": "k8s.cluster.name", "value": "${env:BRAID_CLUSTER_NAME}", "action": "insert"},
				map[string]any{"key": "braid.e2e.gateway", "value": "${env:E2E_GATEWAY}", "action": "upsert"},
			}},
		},
		"service": map[string]any{"extensions": []any{"health_check", "wal_storage", "drill"}},
	})
	startGateway := func(i int) *fleetProcess {
		g := gws[i]
		name := fmt.Sprintf("hub-gateway%d", i+1)
		_, telemetryPort, _ := net.SplitHostPort(g.telemetry)
		return startFleetProcess(t, name, []string{filepath.Join(configs, "gateway.yaml"),
			filepath.Join(configs, "kafka-gateway.yaml"), gatewayOverlay}, []string{
			brokers, "BRAID_KAFKA_GROUP=" + group, "BRAID_KAFKA_INSTANCE_ID=" + name,
			"BRAID_CLUSTER_NAME=hub", "E2E_GATEWAY=" + name,
			"BRAID_OTLP_GRPC_ENDPOINT=" + freeAddr(t), "BRAID_OTLP_HTTP_ENDPOINT=" + freeAddr(t),
			"BRAID_LOKI_RECEIVER_ENDPOINT=" + freeAddr(t), "BRAID_PROMETHEUS_ENDPOINT=" + freeAddr(t),
			"BRAID_HEALTH_ENDPOINT=" + g.health, "BRAID_DRILL_ENDPOINT=" + g.drill,
			"BRAID_TELEMETRY_HOST=127.0.0.1", "BRAID_TELEMETRY_PORT=" + telemetryPort,
			"BRAID_ADMIN_ENDPOINT=" + freeAddr(t), "BRAID_STORAGE_DIR=" + g.storage,
		}, g.health)
	}
	processes := make([]*fleetProcess, len(gws))
	for i := range gws {
		processes[i] = startGateway(i)
	}

	spokes := []string{"spoke-a", "spoke-b"}
	agentOverlay := writeYAML(t, map[string]any{
		"processors": map[string]any{"correlation": map[string]any{"pod_resolver": ""}},
		"service":    map[string]any{"extensions": []any{"health_check", "wal_storage"}},
	})
	agentHTTP := make([]string, len(spokes))
	for i, cluster := range spokes {
		http, health := freeAddr(t), freeAddr(t)
		_, telemetryPort, _ := net.SplitHostPort(freeAddr(t))
		agentHTTP[i] = "http://" + http
		startFleetProcess(t, cluster+"-agent", []string{filepath.Join(configs, "agent.yaml"),
			filepath.Join(configs, "kafka-agent.yaml"), agentOverlay}, []string{
			brokers, "BRAID_CLUSTER_NAME=" + cluster,
			"BRAID_OTLP_GRPC_ENDPOINT=" + freeAddr(t), "BRAID_OTLP_HTTP_ENDPOINT=" + http,
			"BRAID_HEALTH_ENDPOINT=" + health, "BRAID_TELEMETRY_HOST=127.0.0.1", "BRAID_TELEMETRY_PORT=" + telemetryPort,
			"BRAID_ADMIN_ENDPOINT=" + freeAddr(t), "BRAID_STORAGE_DIR=" + t.TempDir(),
			"BRAID_LOG_INCLUDE=" + filepath.Join(t.TempDir(), "none", "*.log"), "K8S_NODE_NAME=" + cluster + "-node",
		}, health)
	}
	// The three gateways joining the group rebalance the partitions.
	time.Sleep(3 * time.Second)

	// send sends n whole traces from each spoke (4 spans and 2 log lines a
	// trace, in two requests) and returns each trace's cluster.
	send := func(n int) map[string]string {
		clusterOf := map[string]string{}
		for i, a := range agentHTTP {
			traces := make([]string, n)
			for j := range traces {
				traces[j] = randomHex(16)
				clusterOf[traces[j]] = spokes[i]
			}
			for half := range 2 {
				if err := sendHalf(a, service, spokes[i]+"-pod", traces, half); err != nil {
					t.Fatalf("send through %s's agent: %v", spokes[i], err)
				}
			}
		}
		return clusterOf
	}
	// gatewayOf waits for a trace to be whole in Jaeger with its spoke's
	// cluster name and returns the gateway it came through. A trace in
	// flight when a gateway dies may come through two (its first request
	// taken by the one killed, its second read again by another once the
	// partition moved): splitOK says so, and they are returned as "split".
	gatewayOf := func(tr, cluster string, timeout time.Duration, splitOK bool) string {
		var via string
		eventually(t, timeout, "trace "+tr+" whole in Jaeger", func() error {
			j, found, err := st.jaegerTraceByID(tr)
			if err != nil || !found {
				return fmt.Errorf("not found (%v)", err)
			}
			if n := j.distinctSpans(); n != 4 {
				return fmt.Errorf("%d of 4 spans", n)
			}
			seen := map[string]bool{}
			for _, sp := range j.Spans {
				p := j.Processes[sp.ProcessID]
				seen[tag(p.Tags, "braid.e2e.gateway")] = true
				if c := tag(p.Tags, "k8s.cluster.name"); c != cluster {
					t.Errorf("trace %s from %s: a span carries k8s.cluster.name %q", tr, cluster, c)
				}
			}
			if len(seen) != 1 && !splitOK {
				t.Errorf("trace %s: spans came through %d gateways: %v", tr, len(seen), seen)
			}
			for g := range seen {
				via = g
			}
			if len(seen) > 1 {
				via = "split"
			}
			return nil
		})
		return via
	}

	first := send(15)
	per := map[string]int{}
	byTrace := map[string]string{}
	for tr, cluster := range first {
		g := gatewayOf(tr, cluster, 90*time.Second, false)
		per[g]++
		byTrace[tr] = g
	}
	t.Logf("30 traces from 2 spokes, by hub gateway: %v", per)
	if len(per) < 2 {
		t.Errorf("every trace went through one gateway (%v): the group does not share the partitions", per)
	}

	// Log lines: with their trace's gateway and their spoke's cluster.
	for tr, cluster := range first {
		for _, e := range traceLogs(t, tr, 2) {
			if e["braid_e2e_gateway"] != byTrace[tr] {
				t.Errorf("trace %s: a log line came through %q, its spans through %q", tr, e["braid_e2e_gateway"], byTrace[tr])
			}
			if e["k8s_cluster_name"] != cluster {
				t.Errorf("trace %s from %s: a log line carries k8s_cluster_name %q", tr, cluster, e["k8s_cluster_name"])
			}
		}
	}

	// The hub's drill-down answers for the traces of both clusters, from
	// any gateway.
	bySpoke := map[string]int{}
	for tr, cluster := range first {
		var a struct {
			SpanCount int  `json:"span_count"`
			LogCount  int  `json:"log_count"`
			Partial   bool `json:"partial"`
		}
		if err := getJSON("http://"+gws[0].drill+"/api/v1/traces/"+tr, &a); err != nil {
			t.Errorf("drill %s (%s) on hub-gateway1: %v", tr, cluster, err)
			continue
		}
		if a.SpanCount != 4 || a.LogCount != 2 || a.Partial {
			t.Errorf("drill %s (%s, through %s) on hub-gateway1: %+v, want 4 spans, 2 logs, not partial", tr, cluster, byTrace[tr], a)
			continue
		}
		bySpoke[cluster]++
	}
	t.Logf("drill-down at the hub: %v traces answered whole per spoke", bySpoke)

	// hub-gateway3 killed with SIGKILL just after more traces were sent:
	// what it had taken of them is in its disk queues, the rest the others
	// read once its partitions move to them. Traces sent after the kill go
	// through the other two; back on its storage, it delivers what it held.
	during := send(10)
	killed := time.Now()
	_ = processes[2].cmd.Process.Kill()
	_, _ = processes[2].cmd.Process.Wait()
	after := send(10)
	perAfter := map[string]int{}
	for tr, cluster := range after {
		perAfter[gatewayOf(tr, cluster, 120*time.Second, false)]++
	}
	// Those in hub-gateway3's partitions wait for the group to hand them
	// on (the session timeout, then a rebalance).
	t.Logf("after hub-gateway3 was killed, 20 new traces by gateway: %v; all whole in Jaeger %s after the kill",
		perAfter, time.Since(killed).Round(100*time.Millisecond))
	if perAfter["hub-gateway3"] > 0 {
		t.Errorf("traces sent after the kill came through the killed gateway: %v", perAfter)
	}
	processes[2] = startGateway(2)
	perDuring := map[string]int{}
	for tr, cluster := range during {
		perDuring[gatewayOf(tr, cluster, 120*time.Second, true)]++
	}
	t.Logf("the 20 traces sent just before the kill, by gateway: %v (hub-gateway3's from its disk queue, after its restart)", perDuring)

	// The lag drains: every gateway has read what was written.
	eventually(t, 60*time.Second, "consumer lag drained", func() error {
		total, partitions := 0.0, 0
		for i, g := range gws {
			lag, n, err := kafkaLag(g.telemetry)
			if err != nil {
				return fmt.Errorf("hub-gateway%d: %w", i+1, err)
			}
			total += lag
			partitions += n
		}
		if partitions == 0 {
			return fmt.Errorf("no gateway reports its consumer lag")
		}
		if total > 0 {
			return fmt.Errorf("lag %.0f records over %d partitions", total, partitions)
		}
		return nil
	})
}
