package main

import (
	"bytes"
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDoctorNamesAFailingExporterAndUnlinkedLogs runs the braid binary on
// its embedded default with an exporter whose backend is not there, sends
// log lines without trace context, and asks doctor: it names both, with
// what to change.
func TestDoctorNamesAFailingExporterAndUnlinkedLogs(t *testing.T) {
	override := `
exporters:
  otlp_grpc/nowhere:
    endpoint: 127.0.0.1:1
    tls:
      insecure: true
    retry_on_failure:
      enabled: false
    sending_queue:
      enabled: false
service:
  pipelines:
    logs:
      exporters: [debug, otlp_grpc/nowhere]
`
	b, e := startBraidOnDefault(t, plainFile{file: filepath.Join(t.TempDir(), "override.yaml")}, override)
	body := `{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"checkout"}}]},` +
		`"scopeLogs":[{"logRecords":[{"body":{"stringValue":"cart emptied"}},{"body":{"stringValue":"order placed"}}]}]}]}`
	resp, err := http.Post("http://"+e.http+"/v1/logs", "application/json", strings.NewReader(body))
	require.NoError(t, err)
	resp.Body.Close() // refused: the nowhere exporter fails, which is the point

	o := doctorOptions{metrics: "http://" + b.telemetry + "/metrics", spanMetrics: "http://" + e.prometheus + "/metrics", timeout: 5 * time.Second}
	var rep doctorReport
	failing := func() bool {
		for _, e := range rep.Exporters {
			if e.Exporter == "otlp_grpc/nowhere" && e.SendFailed > 0 {
				return true
			}
		}
		return false
	}
	require.Eventually(t, func() bool {
		rep, err = diagnose(context.Background(), o)
		return err == nil && failing() && rep.Logs["none"] > 0
	}, 15*time.Second, 200*time.Millisecond)
	var out bytes.Buffer
	rep.print(&out)
	text := out.String()
	assert.Contains(t, text, "Exporter otlp_grpc/nowhere (logs) gave up on", text)
	assert.Contains(t, text, "check the exporter's endpoint")
	assert.Contains(t, text, "of log records carry no trace context")
	assert.Contains(t, text, "infer_log_links")
	require.NotNil(t, rep.Reload)
	assert.True(t, rep.Reload.Successful)
	assert.NotEmpty(t, rep.Reload.ConfigHash)
}

func TestDoctorFindings(t *testing.T) {
	tests := []struct {
		name string
		rep  doctorReport
		want []string // parts of the problems found, in order
	}{
		{"all well", doctorReport{
			Reload:    &reloadState{Successful: true},
			Exporters: []exporterState{{Exporter: "otlp_grpc/jaeger", DataType: "traces", Sent: 10, QueueCapacity: 1000}},
			Logs:      map[string]int64{"present": 90, "none": 10},
			Pods:      map[string]int64{"hit": 95, "miss": 5},
		}, nil},
		{"a refused configuration", doctorReport{Reload: &reloadState{}}, []string{"was refused"}},
		{"a queue nearly full and refusing", doctorReport{
			Exporters: []exporterState{{Exporter: "loki", DataType: "logs", QueueSize: 900, QueueCapacity: 1000, EnqueueFailed: 7}},
		}, []string{"refused 7 items", "90% full"}},
		{"unlinked logs with inference on", doctorReport{
			Logs: map[string]int64{"inferred": 10, "none": 40},
		}, []string{"80% of log records"}},
		{"pods not found", doctorReport{Pods: map[string]int64{"hit": 1, "miss": 3}}, []string{"75% of pod lookups"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.rep.findings()
			require.Len(t, got, len(tt.want))
			for i, w := range tt.want {
				assert.Contains(t, got[i].Problem, w)
				assert.NotEmpty(t, got[i].Fix)
			}
		})
	}
	inferOn := doctorReport{Logs: map[string]int64{"inferred": 10, "none": 40}}.findings()
	assert.Contains(t, inferOn[0].Fix, "Inference is on")
}
