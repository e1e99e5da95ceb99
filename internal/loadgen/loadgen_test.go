package loadgen_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/grafana/loki/pkg/push"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.uber.org/goleak"

	"github.com/braidobs/braid/internal/loadgen"
)

func TestMain(m *testing.M) {
	loadgen.RunFakeCollector()
	goleak.VerifyTestMain(m)
}

func TestGeneratorProducesExactlyTheItemsAskedFor(t *testing.T) {
	for _, n := range []int{1, 7, 100, 1000} {
		g := loadgen.NewGenerator(loadgen.DefaultShape, 1)
		assert.Equal(t, n, g.Traces(n).SpanCount(), "spans")
		assert.Equal(t, n, g.Logs(n).LogRecordCount(), "log records")
		assert.Equal(t, n, g.Metrics(n).DataPointCount(), "data points")
	}
}

func TestGeneratedLogsMixTracedAndUntracedLines(t *testing.T) {
	g := loadgen.NewGenerator(loadgen.DefaultShape, 1)
	ld := g.Logs(5000)
	var inRecord, inBody, none int
	rls := ld.ResourceLogs()
	for i := range rls.Len() {
		rl := rls.At(i)
		_, hasPod := rl.Resource().Attributes().Get("k8s.pod.uid")
		require.True(t, hasPod, "every resource carries pod identity")
		lrs := rl.ScopeLogs().At(0).LogRecords()
		for j := range lrs.Len() {
			lr := lrs.At(j)
			switch {
			case !lr.TraceID().IsEmpty():
				inRecord++
			case strings.Contains(lr.Body().Str(), "trace_id"):
				inBody++
			default:
				none++
			}
		}
	}
	// 60% traced, split three ways; loose bounds, the mix matters, not the digits.
	assert.InDelta(t, 0.4, float64(none)/5000, 0.05)
	assert.InDelta(t, 0.4, float64(inBody)/5000, 0.05)
	assert.InDelta(t, 0.2, float64(inRecord)/5000, 0.05)
}

// traceOf returns the trace ID a generated line carries, in its record or
// after trace_id in its body, as hex; "" when it carries none.
func traceOf(lr plog.LogRecord) string {
	if tid := lr.TraceID(); !tid.IsEmpty() {
		return tid.String()
	}
	body := lr.Body().Str()
	i := strings.Index(body, "trace_id")
	if i < 0 {
		return ""
	}
	// trace_id=<hex> or "trace_id":"<hex>"
	rest := strings.TrimLeft(body[i+len("trace_id"):], `"=:`)
	return rest[:32]
}

func TestGeneratedLogsShareTraceIDsInRunsOfLogsPerTrace(t *testing.T) {
	for _, perTrace := range []int{1, 4} {
		t.Run(fmt.Sprintf("logs_per_trace=%d", perTrace), func(t *testing.T) {
			shape := loadgen.DefaultShape
			shape.LogsPerTrace = perTrace
			ld := loadgen.NewGenerator(shape, 1).Logs(5000)
			seen := map[string]bool{}
			traced, longest := 0, 0
			rls := ld.ResourceLogs()
			for i := range rls.Len() {
				lrs := rls.At(i).ScopeLogs().At(0).LogRecords()
				prev, run := "", 0
				for j := range lrs.Len() {
					tid := traceOf(lrs.At(j))
					if tid == "" {
						continue
					}
					traced++
					if tid == prev {
						run++
					} else {
						require.False(t, seen[tid], "trace %s comes back after another trace's lines", tid)
						seen[tid], prev, run = true, tid, 1
					}
					longest = max(longest, run)
				}
			}
			assert.Equal(t, perTrace, longest, "longest run of lines of one trace")
			// A pod's resource holds 10 lines, about 6 of them traced.
			if perTrace == 1 {
				assert.Equal(t, traced, len(seen), "every traced line has a trace of its own")
			} else {
				assert.Less(t, float64(len(seen))/float64(traced), 0.45, "traces per traced line")
			}
		})
	}
}

func TestRunDeliversEverythingAcceptedToTheSink(t *testing.T) {
	sink, err := loadgen.StartSink("127.0.0.1:0", "127.0.0.1:0")
	require.NoError(t, err)
	defer func() { require.NoError(t, sink.Close(context.Background())) }()

	for _, sig := range []loadgen.Signal{loadgen.Traces, loadgen.Logs, loadgen.Metrics} {
		t.Run(string(sig), func(t *testing.T) {
			before := sink.Counts()
			var ticks int
			res, err := loadgen.Run(context.Background(), loadgen.LoadConfig{
				Endpoint: sink.GRPCAddr(), Signal: sig, Rate: 5000, Connections: 2, BatchSize: 50,
				Duration: 1500 * time.Millisecond, Shape: loadgen.DefaultShape, Seed: 3,
			}, func(loadgen.Tick) { ticks++ })
			require.NoError(t, err)
			require.Empty(t, res.FirstError)
			assert.Positive(t, res.Accepted)
			assert.Equal(t, res.Sent, res.Accepted)
			assert.Zero(t, res.Refused)
			assert.Positive(t, ticks)
			after := sink.Counts()
			got := map[loadgen.Signal]int64{
				loadgen.Traces:  after.Spans - before.Spans,
				loadgen.Logs:    after.LogRecords - before.LogRecords,
				loadgen.Metrics: after.DataPoints - before.DataPoints,
			}[sig]
			assert.Equal(t, res.Accepted, got)
		})
	}
}

func TestRunWithReusedBatchesCountsAnswersByCode(t *testing.T) {
	sink, err := loadgen.StartSink("127.0.0.1:0", "127.0.0.1:0")
	require.NoError(t, err)
	defer func() { require.NoError(t, sink.Close(context.Background())) }()

	res, err := loadgen.Run(context.Background(), loadgen.LoadConfig{
		Endpoint: sink.GRPCAddr(), Signal: loadgen.Logs, Rate: 2000, Connections: 2, BatchSize: 20,
		Duration: 500 * time.Millisecond, Shape: loadgen.DefaultShape, Seed: 5, Reuse: 3,
	}, nil)
	require.NoError(t, err)
	require.Positive(t, res.Accepted)
	assert.Equal(t, res.Accepted, sink.Counts().LogRecords)
	assert.Equal(t, res.Sent/20, res.Codes["OK"], "every request answered OK is counted under its code")
}

func TestSendersShareAConnectionEachWithARequestInFlight(t *testing.T) {
	sink, err := loadgen.StartSink("127.0.0.1:0", "127.0.0.1:0")
	require.NoError(t, err)
	defer func() { require.NoError(t, sink.Close(context.Background())) }()
	const delay, duration = 200 * time.Millisecond, time.Second
	sink.SetDelay(delay)

	res, err := loadgen.Run(context.Background(), loadgen.LoadConfig{
		Endpoint: sink.GRPCAddr(), Signal: loadgen.Traces, Connections: 1, SendersPerConnection: 4, BatchSize: 10,
		Duration: duration, Shape: loadgen.DefaultShape, Seed: 7,
	}, nil)
	require.NoError(t, err)
	// One sender waiting 200ms for each answer gets at most 6 in a second;
	// four on the one connection get more.
	assert.Greater(t, res.Codes["OK"], int64(duration/delay)+1)
}

func TestRunRefusesBadSettings(t *testing.T) {
	tests := []struct {
		name string
		cfg  loadgen.LoadConfig
		want string
	}{
		{"no endpoint", loadgen.LoadConfig{Signal: loadgen.Traces, Connections: 1, BatchSize: 1, Duration: time.Second}, "endpoint"},
		{"zero connections", loadgen.LoadConfig{Endpoint: "x:1", Signal: loadgen.Traces, BatchSize: 1, Duration: time.Second}, "connections"},
		{"bad signal", loadgen.LoadConfig{Endpoint: "x:1", Signal: "profiles", Connections: 1, BatchSize: 1, Duration: time.Second}, "profiles"},
		{"negative rate", loadgen.LoadConfig{Endpoint: "x:1", Signal: loadgen.Logs, Rate: -1, Connections: 1, BatchSize: 1, Duration: time.Second}, "rate"},
		{"negative reuse", loadgen.LoadConfig{Endpoint: "x:1", Signal: loadgen.Logs, Connections: 1, BatchSize: 1, Duration: time.Second, Reuse: -1}, "reuse"},
		{"negative senders", loadgen.LoadConfig{Endpoint: "x:1", Signal: loadgen.Logs, Connections: 1, BatchSize: 1, Duration: time.Second, SendersPerConnection: -1}, "senders"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadgen.Run(context.Background(), tt.cfg, nil)
			assert.ErrorContains(t, err, tt.want)
		})
	}
}

func TestSinkCountsLokiPushEntriesAndRefusesGarbage(t *testing.T) {
	sink, err := loadgen.StartSink("127.0.0.1:0", "127.0.0.1:0")
	require.NoError(t, err)
	defer func() { require.NoError(t, sink.Close(context.Background())) }()

	req := push.PushRequest{Streams: []push.Stream{
		{Labels: `{service_name="a"}`, Entries: []push.Entry{{Timestamp: time.Now(), Line: "one"}, {Timestamp: time.Now(), Line: "two"}}},
		{Labels: `{service_name="b"}`, Entries: []push.Entry{{Timestamp: time.Now(), Line: "three"}}},
	}}
	raw, err := req.Marshal()
	require.NoError(t, err)
	url := "http://" + sink.HTTPAddr() + "/loki/api/v1/push"
	resp, err := http.Post(url, "application/x-protobuf", bytes.NewReader(snappy.Encode(nil, raw)))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusNoContent, resp.StatusCode)

	resp, err = http.Post(url, "application/x-protobuf", strings.NewReader("not snappy"))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)

	c := sink.Counts()
	assert.Equal(t, int64(3), c.LokiEntries)
	assert.Equal(t, int64(1), c.LokiRequests)
	assert.Equal(t, int64(1), c.BadRequests)
}

var benchSink any

func BenchmarkGenerate(b *testing.B) {
	for _, n := range []int{100, 1000} {
		g := loadgen.NewGenerator(loadgen.DefaultShape, 1)
		b.Run("traces/"+itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				benchSink = g.Traces(n)
			}
		})
		b.Run("logs/"+itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				benchSink = g.Logs(n)
			}
		})
	}
}

func itoa(n int) string {
	if n >= 1000 {
		return "1000"
	}
	return "100"
}

func TestShapeNamespacePutsEveryPodInIt(t *testing.T) {
	g := loadgen.NewGenerator(loadgen.Shape{Services: 3, PodsPerService: 2, Namespace: "tenant-7"}, 1)
	namespaces := map[string]int{}
	td := g.Traces(60)
	for i := range td.ResourceSpans().Len() {
		v, _ := td.ResourceSpans().At(i).Resource().Attributes().Get("k8s.namespace.name")
		namespaces[v.Str()]++
	}
	ld := g.Logs(60)
	for i := range ld.ResourceLogs().Len() {
		v, _ := ld.ResourceLogs().At(i).Resource().Attributes().Get("k8s.namespace.name")
		namespaces[v.Str()]++
	}
	require.Len(t, namespaces, 1, "%v", namespaces)
	assert.Contains(t, namespaces, "tenant-7")

	spread := map[string]bool{}
	td = loadgen.NewGenerator(loadgen.Shape{Services: 8, PodsPerService: 1}, 1).Traces(80)
	for i := range td.ResourceSpans().Len() {
		v, _ := td.ResourceSpans().At(i).Resource().Attributes().Get("k8s.namespace.name")
		spread[v.Str()] = true
	}
	assert.Len(t, spread, 4, "without a namespace, services spread over four: %v", spread)
}

func TestFloodLoadsSplitTheRate(t *testing.T) {
	loads, err := loadgen.FloodLoads(10, 10, 1900, 20)
	require.NoError(t, err)
	require.Len(t, loads, 10)
	assert.Equal(t, loadgen.NamespaceLoad{Namespace: "flood-0", Rate: 1000, Senders: 20}, loads[0])
	var total float64
	for _, l := range loads[1:] {
		assert.InDelta(t, 100, l.Rate, 1e-9)
		assert.Equal(t, 1, l.Senders)
		assert.True(t, l.HonorRetryInfo)
		total += l.Rate
	}
	assert.InDelta(t, 1900, total+loads[0].Rate, 1e-9)
	for _, bad := range [][4]float64{{1, 10, 100, 1}, {3, 0, 100, 1}, {3, 10, 0, 1}, {3, 10, 100, 0}} {
		_, err := loadgen.FloodLoads(int(bad[0]), bad[1], bad[2], int(bad[3]))
		assert.Error(t, err, "%v", bad)
	}
}

func TestRunNamespacesSendsEachFromItsNamespace(t *testing.T) {
	sink, err := loadgen.StartSink("127.0.0.1:0", "127.0.0.1:0")
	require.NoError(t, err)
	defer sink.Close(context.Background())
	results, err := loadgen.RunNamespaces(context.Background(), loadgen.LoadConfig{
		Endpoint: sink.GRPCAddr(), Signal: loadgen.Traces, BatchSize: 10, Duration: 300 * time.Millisecond,
		Shape: loadgen.DefaultShape,
	}, []loadgen.NamespaceLoad{{Namespace: "a", Rate: 200, Senders: 1}, {Namespace: "b", Rate: 400, Senders: 2}})
	require.NoError(t, err)
	require.Len(t, results, 2)
	assert.Positive(t, results["a"].Accepted)
	assert.Greater(t, results["b"].Accepted, results["a"].Accepted)
	assert.Equal(t, results["a"].Accepted+results["b"].Accepted, sink.Counts().Spans)

	_, err = loadgen.RunNamespaces(context.Background(), loadgen.LoadConfig{}, nil)
	assert.Error(t, err)
}
