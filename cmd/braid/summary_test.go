package main

import (
	"bytes"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap"
)

// TestStartSummaryNamesEveryListener runs the braid binary on its embedded
// default (ports moved by the BRAID_* variables) and reads the summary it
// prints once it runs.
func TestStartSummaryNamesEveryListener(t *testing.T) {
	b, e := startBraidOnDefault(t, plainFile{file: filepath.Join(t.TempDir(), "override.yaml")}, "{}\n")
	require.Eventually(t, b.logged("is running."), 10*time.Second, 20*time.Millisecond)
	require.Eventually(t, b.logged("exporters:"), 10*time.Second, 20*time.Millisecond)
	out := b.output.String()
	_, telemetryPort, _ := net.SplitHostPort(e.telemetry)
	for what, where := range map[string]string{
		"OTLP gRPC":      e.grpc,
		"OTLP HTTP":      "http://" + e.http,
		"Loki push":      "http://" + e.loki,
		"span metrics":   "http://" + e.prometheus + "/metrics",
		"drill-down API": "http://" + e.drill,
		"health":         "http://" + e.health + "/",
		"self-metrics":   "http://127.0.0.1:" + telemetryPort + "/metrics",
		"admin":          "http://" + b.admin,
	} {
		line := lineWith(out, what)
		assert.Contains(t, line, where, "%s in:\n%s", what, out)
	}
	assert.Contains(t, lineWith(out, "debug"), "debug")
}

func lineWith(out, s string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, s) && strings.HasPrefix(l, "  ") {
			return l
		}
	}
	return ""
}

func TestSummaryOfTheGatewayConfig(t *testing.T) {
	answering, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer answering.Close()
	conf := confmap.NewFromStringMap(map[string]any{
		"receivers": map[string]any{
			"otlp":     map[string]any{"protocols": map[string]any{"grpc": map[string]any{"endpoint": "0.0.0.0:4317"}}},
			"loki":     map[string]any{"endpoint": "0.0.0.0:3500"},
			"file_log": map[string]any{"include": []any{"/var/log/pods/*/*/*.log"}},
			"zipkin":   map[string]any{"endpoint": "0.0.0.0:9411"}, // not in a pipeline
		},
		"exporters": map[string]any{
			"otlp_grpc/jaeger":        map[string]any{"endpoint": answering.Addr().String()},
			"prometheus_remote_write": map[string]any{"endpoint": "http://127.0.0.1:1/api/v1/write"},
			"prometheus":              map[string]any{"endpoint": "0.0.0.0:8889"},
			"loadbalancing/gateway":   map[string]any{"resolver": map[string]any{"dns": map[string]any{"hostname": "braid-gateway-headless", "port": "4317"}}},
		},
		"service": map[string]any{"pipelines": map[string]any{
			"traces":  map[string]any{"receivers": []any{"otlp"}, "exporters": []any{"otlp_grpc/jaeger", "loadbalancing/gateway"}},
			"metrics": map[string]any{"receivers": []any{"otlp"}, "exporters": []any{"prometheus_remote_write", "prometheus"}},
			"logs":    map[string]any{"receivers": []any{"otlp", "loki", "file_log"}, "exporters": []any{"otlp_grpc/jaeger"}},
		}},
	})
	var buf bytes.Buffer
	describe(conf, false).print(&buf, "test")
	out := buf.String()
	assert.Contains(t, lineWith(out, "OTLP gRPC"), "0.0.0.0:4317")
	assert.Contains(t, lineWith(out, "Loki push"), "http://0.0.0.0:3500")
	assert.Contains(t, lineWith(out, "log files"), "/var/log/pods/*/*/*.log")
	assert.Contains(t, lineWith(out, "span metrics"), "http://0.0.0.0:8889/metrics")
	assert.NotContains(t, out, "9411", "a receiver in no pipeline is not listed")
	assert.Contains(t, lineWith(out, "otlp_grpc/jaeger"), "answers")
	assert.Contains(t, lineWith(out, "prometheus_remote_write"), "not answering")
	assert.Contains(t, lineWith(out, "loadbalancing/gateway"), "braid-gateway-headless:4317")
	assert.NotContains(t, out, "A first span", "only the embedded default shows the first span")
}

func TestDialable(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:4317":                  "127.0.0.1:4317",
		"http://prometheus:9090/api/v1/w": "prometheus:9090",
		"https://loki.example.com/push":   "loki.example.com:443",
		"http://loki/push":                "loki:80",
		"jaeger-collector":                "",
	} {
		assert.Equal(t, want, dialable(in), in)
	}
}
