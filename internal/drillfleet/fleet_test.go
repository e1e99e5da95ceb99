package drillfleet_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/braidobs/braid/drill"
	"github.com/braidobs/braid/internal/faults"
)

// config is one gateway replica: OTLP in, the trace index, the drill-down
// API with the other replicas as static peers.
const config = `
extensions:
  health_check:
    endpoint: %[1]s
  drill:
    endpoint: %[2]s
    peers:
      static: [%[3]s]
      timeout: 500ms
receivers:
  otlp:
    protocols:
      http:
        endpoint: %[4]s
processors:
  correlation: {}
exporters:
  debug:
    verbosity: basic
service:
  extensions: [health_check, drill]
  telemetry:
    metrics:
      level: none
  pipelines:
    traces:
      receivers: [otlp]
      processors: [correlation]
      exporters: [debug]
    logs:
      receivers: [otlp]
      processors: [correlation]
      exporters: [debug]
`

type gateway struct {
	proc        *faults.Braid
	drill, otlp string
}

var traceID = pcommon.TraceID{0xd1, 0x11, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}

// part is the span one replica gets: the root on the first, a failed child
// on the second, a child and a log line on the third.
func part(i int) (ptrace.Traces, plog.Logs) {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	services := []string{"checkout", "payments", "orders-db"}
	rs.Resource().Attributes().PutStr("service.name", services[i])
	s := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	s.SetTraceID(traceID)
	s.SetSpanID(pcommon.SpanID{byte(i + 1)})
	s.SetName("POST /" + services[i])
	if i > 0 {
		s.SetParentSpanID(pcommon.SpanID{byte(i)})
	}
	now := time.Now()
	s.SetStartTimestamp(pcommon.NewTimestampFromTime(now.Add(-time.Duration(300-i*100) * time.Millisecond)))
	s.SetEndTimestamp(pcommon.NewTimestampFromTime(now.Add(-time.Duration(i*10) * time.Millisecond)))
	if i == 1 {
		s.Status().SetCode(ptrace.StatusCodeError)
	}
	ld := plog.NewLogs()
	if i == 2 {
		rl := ld.ResourceLogs().AppendEmpty()
		rl.Resource().Attributes().PutStr("service.name", services[i])
		lr := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
		lr.Body().SetStr("slow query")
		lr.SetTraceID(traceID)
		lr.SetTimestamp(pcommon.NewTimestampFromTime(now))
	}
	return td, ld
}

func post(t *testing.T, url string, body []byte) {
	t.Helper()
	resp, err := http.Post(url, "application/x-protobuf", bytes.NewReader(body))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, url)
}

func getTrace(t *testing.T, addr string) (int, drill.TraceAnswer) {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/api/v1/traces/" + traceID.String())
	require.NoError(t, err)
	defer resp.Body.Close()
	var a drill.TraceAnswer
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&a))
	return resp.StatusCode, a
}

func TestThreeGatewaysAnswerTogether(t *testing.T) {
	bin := os.Getenv("BRAID_BIN")
	if bin == "" {
		t.Skip("BRAID_BIN is not set: make drill-fleet builds bin/braid and runs this")
	}
	bin, err := filepath.Abs(bin)
	require.NoError(t, err)
	dir := t.TempDir()
	gws := make([]gateway, 3)
	var peers []string
	for i := range gws {
		health, err := faults.FreeAddr()
		require.NoError(t, err)
		gws[i].drill, err = faults.FreeAddr()
		require.NoError(t, err)
		gws[i].otlp, err = faults.FreeAddr()
		require.NoError(t, err)
		gws[i].proc = &faults.Braid{Binary: bin, Health: health, LogPath: filepath.Join(dir, fmt.Sprintf("braid-%d.log", i))}
		peers = append(peers, gws[i].drill)
	}
	for i := range gws {
		// Every replica has the same peer list, itself included, as a
		// static list for a Deployment would.
		path := filepath.Join(dir, fmt.Sprintf("gateway-%d.yaml", i))
		require.NoError(t, os.WriteFile(path,
			fmt.Appendf(nil, config, gws[i].proc.Health, gws[i].drill, strings.Join(peers, ", "), gws[i].otlp), 0o600))
		gws[i].proc.Configs = []string{"file:" + path}
		require.NoError(t, gws[i].proc.Start(context.Background()))
		defer gws[i].proc.Kill()
	}

	for i, g := range gws {
		td, ld := part(i)
		b, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
		require.NoError(t, err)
		post(t, "http://"+g.otlp+"/v1/traces", b)
		if ld.LogRecordCount() > 0 {
			b, err := plogotlp.NewExportRequestFromLogs(ld).MarshalProto()
			require.NoError(t, err)
			post(t, "http://"+g.otlp+"/v1/logs", b)
		}
	}

	for i, g := range gws {
		var a drill.TraceAnswer
		require.Eventually(t, func() bool {
			var status int
			status, a = getTrace(t, g.drill)
			return status == http.StatusOK && a.SpanCount == 3 && a.LogCount == 1
		}, 10*time.Second, 50*time.Millisecond, "replica %d: %+v", i, a)
		assert.False(t, a.Partial, "replica %d", i)
		assert.ElementsMatch(t, []string{"checkout", "payments", "orders-db"}, a.Services, "replica %d", i)
		assert.Equal(t, "POST /checkout", a.RootOperation, "replica %d", i)
		assert.True(t, a.Error, "replica %d", i)
	}

	// A list by a service only the second replica saw: the trace is listed
	// with every replica's part.
	resp, err := http.Get("http://" + gws[0].drill + "/api/v1/services/payments/traces")
	require.NoError(t, err)
	var l drill.TraceList
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&l))
	resp.Body.Close()
	require.Len(t, l.Traces, 1)
	assert.Equal(t, 3, l.Traces[0].SpanCount)
	assert.Equal(t, 1, l.Traces[0].LogCount)
	assert.False(t, l.Partial)

	// What a fan-out costs, for the README: the answer of one replica alone
	// against that of three.
	lat := func(addr string, local bool) time.Duration {
		var ds []time.Duration
		for range 50 {
			req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/api/v1/services/payments/traces", nil)
			if local {
				req.Header.Set(drill.LocalHeader, "1")
			}
			start := time.Now()
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			ds = append(ds, time.Since(start))
		}
		slices.Sort(ds)
		return ds[len(ds)/2]
	}
	t.Logf("median answer: one replica %s, three replicas %s", lat(gws[0].drill, true), lat(gws[0].drill, false))

	out, err := exec.Command(bin, "drill", "--endpoint", gws[0].drill, "--trace", traceID.String()).CombinedOutput()
	require.NoError(t, err, string(out))
	assert.NotContains(t, string(out), "warning")
	assert.Contains(t, string(out), traceID.String())

	// The third replica dies: the others still answer, partial, naming it.
	gws[2].proc.Kill()
	status, a := getTrace(t, gws[0].drill)
	require.Equal(t, http.StatusOK, status)
	assert.True(t, a.Partial)
	assert.Equal(t, []string{gws[2].drill}, a.MissingPeers)
	assert.Equal(t, 2, a.SpanCount)
	assert.Equal(t, 0, a.LogCount, "the log line was on the dead replica")

	out, err = exec.Command(bin, "drill", "--endpoint", gws[1].drill, "--trace", traceID.String()).CombinedOutput()
	require.NoError(t, err, string(out))
	assert.Contains(t, string(out), "warning: partial answer: gateway replicas "+gws[2].drill+" did not answer")
	t.Logf("braid drill with one replica down:\n%s", out)
}
