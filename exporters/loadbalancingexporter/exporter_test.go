package loadbalancingexporter

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/grafana/loki/pkg/push"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/braidobs/braid/internal/loadgen"
	"github.com/braidobs/braid/internal/testnet"
)

// replica is one backend on loopback that records which trace IDs (and
// untraced resources) it received.
type replica struct {
	addr string
	sink *loadgen.Sink
	mu   sync.Mutex
	// spans and logs by trace ID; untraced logs and metrics by pod.
	traces map[pcommon.TraceID]int
	pods   map[string]int
}

func (r *replica) Traces(td ptrace.Traces) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		sss := rss.At(i).ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			for k := 0; k < sss.At(j).Spans().Len(); k++ {
				r.traces[sss.At(j).Spans().At(k).TraceID()]++
			}
		}
	}
}

func (r *replica) Logs(ld plog.Logs) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		pod, _ := rls.At(i).Resource().Attributes().Get("k8s.pod.uid")
		sls := rls.At(i).ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			for k := 0; k < sls.At(j).LogRecords().Len(); k++ {
				if id := sls.At(j).LogRecords().At(k).TraceID(); !id.IsEmpty() {
					r.traces[id]++
				} else {
					r.pods[pod.Str()]++
				}
			}
		}
	}
}

func (r *replica) Metrics(md pmetric.Metrics) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := 0; i < md.ResourceMetrics().Len(); i++ {
		pod, _ := md.ResourceMetrics().At(i).Resource().Attributes().Get("k8s.pod.uid")
		r.pods[pod.Str()] += md.ResourceMetrics().At(i).ScopeMetrics().At(0).Metrics().Len()
	}
}
func (*replica) LokiPush(*push.PushRequest)   {}
func (*replica) RemoteWrite(raw []byte) error { return nil }

func startReplica(t *testing.T, addr string) *replica {
	t.Helper()
	r := &replica{traces: map[pcommon.TraceID]int{}, pods: map[string]int{}}
	if addr == "" {
		addr = testnet.FreeAddr(t)
	}
	var err error
	for range 50 {
		if r.sink, err = loadgen.StartObservedSink(addr, "127.0.0.1:0", r); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	require.NoError(t, err)
	r.addr = addr
	t.Cleanup(func() { r.stop() })
	return r
}

func (r *replica) stop() {
	if r.sink != nil {
		_ = r.sink.Close(context.Background())
		r.sink = nil
	}
}

func (r *replica) snapshot() (map[pcommon.TraceID]int, map[string]int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, p := map[pcommon.TraceID]int{}, map[string]int{}
	for k, v := range r.traces {
		t[k] = v
	}
	for k, v := range r.pods {
		p[k] = v
	}
	return t, p
}

func tid(n int) pcommon.TraceID {
	var id pcommon.TraceID
	binary.BigEndian.PutUint64(id[8:], uint64(n)*0x9e3779b97f4a7c15)
	id[0] = 1
	return id
}

// tracesOf builds one request with spansPerTrace spans of each trace, from
// two pods (two resources), as an agent's batch would hold them.
func tracesOf(ids []int, spansPerTrace int) ptrace.Traces {
	td := ptrace.NewTraces()
	for pod := range 2 {
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("k8s.pod.uid", fmt.Sprint("pod-", pod))
		ss := rs.ScopeSpans().AppendEmpty()
		for _, n := range ids {
			for s := range spansPerTrace {
				sp := ss.Spans().AppendEmpty()
				sp.SetTraceID(tid(n))
				sp.SetSpanID(pcommon.SpanID{byte(pod), byte(s), 1})
				sp.SetName("op")
			}
		}
	}
	return td
}

func newTestConfig(t *testing.T, hostnames []string) *Config {
	t.Helper()
	cfg := createDefaultConfig().(*Config)
	require.NoError(t, confmap.NewFromStringMap(map[string]any{
		"resolver":         map[string]any{"static": map[string]any{"hostnames": hostnames}},
		"protocol":         map[string]any{"otlp": map[string]any{"tls": map[string]any{"insecure": true}, "timeout": "2s"}},
		"retry_on_failure": map[string]any{"initial_interval": "10ms", "max_interval": "50ms", "max_elapsed_time": "30s"},
		"cooldown":         "1s",
	}).Unmarshal(cfg))
	cfg.Queue = configoptional.None[exporterhelper.QueueBatchConfig]()
	require.NoError(t, confmap.Validate(cfg))
	return cfg
}

func TestEveryTraceReachesOneReplica(t *testing.T) {
	replicas := []*replica{startReplica(t, ""), startReplica(t, ""), startReplica(t, "")}
	cfg := newTestConfig(t, []string{replicas[0].addr, replicas[1].addr, replicas[2].addr})
	exp, err := NewFactory().CreateTraces(context.Background(), exportertest.NewNopSettings(Type), cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(context.Background(), componenttest.NewNopHost()))
	defer func() { require.NoError(t, exp.Shutdown(context.Background())) }()

	// The spans of each trace come in two requests, as from two agents.
	const traces = 300
	ids := make([]int, traces)
	for i := range ids {
		ids[i] = i
	}
	require.NoError(t, exp.ConsumeTraces(context.Background(), tracesOf(ids, 2)))
	require.NoError(t, exp.ConsumeTraces(context.Background(), tracesOf(ids, 1)))

	seen := map[pcommon.TraceID]int{}
	for i, r := range replicas {
		got, _ := r.snapshot()
		assert.InDelta(t, traces/3, len(got), traces/6, "replica %d holds about a third of the traces", i)
		for id, n := range got {
			assert.Zero(t, seen[id], "trace %s on two replicas", id)
			seen[id] = n
		}
	}
	require.Len(t, seen, traces)
	for id, n := range seen {
		assert.Equal(t, 6, n, "every span of %s on its replica", id)
	}
}

func TestAReplicaGoneLosesNothingAndOnlyItsTracesMove(t *testing.T) {
	replicas := []*replica{startReplica(t, ""), startReplica(t, ""), startReplica(t, "")}
	cfg := newTestConfig(t, []string{replicas[0].addr, replicas[1].addr, replicas[2].addr})
	exp, err := NewFactory().CreateTraces(context.Background(), exportertest.NewNopSettings(Type), cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(context.Background(), componenttest.NewNopHost()))
	defer func() { require.NoError(t, exp.Shutdown(context.Background())) }()

	ids := make([]int, 300)
	for i := range ids {
		ids[i] = i
	}
	require.NoError(t, exp.ConsumeTraces(context.Background(), tracesOf(ids, 1)))
	before := map[pcommon.TraceID]int{}
	for i, r := range replicas {
		got, _ := r.snapshot()
		for id := range got {
			before[id] = i
		}
	}
	replicas[2].stop()
	require.NoError(t, exp.ConsumeTraces(context.Background(), tracesOf(ids, 1)), "the part for the replica gone is routed again")

	total := map[pcommon.TraceID]int{}
	for i, r := range replicas[:2] {
		got, _ := r.snapshot()
		for id, n := range got {
			total[id] += n
			if before[id] != 2 {
				assert.Equal(t, i, before[id], "trace %s of a replica still up moved", id)
			}
		}
	}
	got2, _ := replicas[2].snapshot()
	for id, n := range got2 {
		total[id] += n
	}
	for _, n := range ids {
		assert.Equal(t, 4, total[tid(n)], "every span of trace %d arrived", n)
	}
}

func TestUntracedLogsAndMetricsStayWithTheirPod(t *testing.T) {
	replicas := []*replica{startReplica(t, ""), startReplica(t, ""), startReplica(t, "")}
	cfg := newTestConfig(t, []string{replicas[0].addr, replicas[1].addr, replicas[2].addr})
	logs, err := NewFactory().CreateLogs(context.Background(), exportertest.NewNopSettings(Type), cfg)
	require.NoError(t, err)
	metrics, err := NewFactory().CreateMetrics(context.Background(), exportertest.NewNopSettings(Type), cfg)
	require.NoError(t, err)
	for _, c := range []component.Component{logs, metrics} {
		require.NoError(t, c.Start(context.Background(), componenttest.NewNopHost()))
		defer func() { require.NoError(t, c.Shutdown(context.Background())) }()
	}
	for round := range 3 {
		ld := plog.NewLogs()
		md := pmetric.NewMetrics()
		for pod := range 20 {
			rl := ld.ResourceLogs().AppendEmpty()
			rl.Resource().Attributes().PutStr("k8s.pod.uid", fmt.Sprint("pod-", pod))
			lrs := rl.ScopeLogs().AppendEmpty().LogRecords()
			lrs.AppendEmpty().Body().SetStr("untraced")
			lrs.AppendEmpty().SetTraceID(tid(pod*10 + round))
			rm := md.ResourceMetrics().AppendEmpty()
			rm.Resource().Attributes().PutStr("k8s.pod.uid", fmt.Sprint("pod-", pod))
			rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty().SetName("m")
		}
		require.NoError(t, logs.ConsumeLogs(context.Background(), ld))
		require.NoError(t, metrics.ConsumeMetrics(context.Background(), md))
	}
	podAt := map[string]int{}
	traced := 0
	for i, r := range replicas {
		traces, pods := r.snapshot()
		traced += len(traces)
		for pod, n := range pods {
			_, dup := podAt[pod]
			assert.False(t, dup, "pod %s on two replicas", pod)
			podAt[pod] = i
			assert.Equal(t, 6, n, "3 untraced records and 3 metrics of %s", pod)
		}
	}
	assert.Len(t, podAt, 20)
	assert.Equal(t, 60, traced, "traced records go by their trace")
}

func TestNoBackendsIsRetryable(t *testing.T) {
	cfg := newTestConfig(t, []string{"127.0.0.1:1"})
	set := exportertest.NewNopSettings(Type)
	r := newRouter(signal[ptrace.Traces]{split: func(td ptrace.Traces, o owners) map[int]ptrace.Traces { return splitTraces(td, o, true) }}, cfg, set, nil)
	err := r.push(context.Background(), tracesOf([]int{1}, 1))
	assert.ErrorIs(t, err, errNoBackends)
}

func TestDNSResolverFollowsTheName(t *testing.T) {
	var mu sync.Mutex
	answer := []string{"10.0.0.2", "10.0.0.1"}
	var fail error
	lookup := func(context.Context, string) ([]string, error) {
		mu.Lock()
		defer mu.Unlock()
		return answer, fail
	}
	changes := make(chan []string, 10)
	d := &dnsResolver{cfg: DNSResolver{Hostname: "gw", Port: "4317", Interval: 10 * time.Millisecond, Timeout: time.Second}, lookup: lookup, logger: exportertest.NewNopSettings(Type).Logger}
	require.NoError(t, d.start(context.Background(), func(eps []string) { changes <- eps }))
	defer d.stop()
	assert.Equal(t, []string{"10.0.0.1:4317", "10.0.0.2:4317"}, <-changes)

	mu.Lock()
	fail = errors.New("SERVFAIL")
	mu.Unlock()
	time.Sleep(50 * time.Millisecond)
	assert.Empty(t, changes, "a failed lookup keeps the last set")

	mu.Lock()
	answer, fail = []string{"10.0.0.1", "10.0.0.3", "10.0.0.2"}, nil
	mu.Unlock()
	select {
	case got := <-changes:
		assert.Equal(t, []string{"10.0.0.1:4317", "10.0.0.2:4317", "10.0.0.3:4317"}, got)
	case <-time.After(5 * time.Second):
		t.Fatal("no change seen")
	}
}

func TestConfig(t *testing.T) {
	tests := []struct {
		name    string
		conf    map[string]any
		wantErr string
	}{
		{"static", map[string]any{"resolver": map[string]any{"static": map[string]any{"hostnames": []any{"a:4317"}}}}, ""},
		{"dns", map[string]any{"resolver": map[string]any{"dns": map[string]any{"hostname": "gw-headless", "port": "4317", "interval": "5s", "timeout": "1s"}}}, ""},
		{"no resolver", map[string]any{}, "resolver: set static::hostnames or dns::hostname"},
		{"both resolvers", map[string]any{"resolver": map[string]any{"static": map[string]any{"hostnames": []any{"a:1"}}, "dns": map[string]any{"hostname": "x", "interval": "1s", "timeout": "1s"}}}, "not both"},
		{"empty static list", map[string]any{"resolver": map[string]any{"static": map[string]any{"hostnames": []any{}}}}, "resolver::static::hostnames must not be empty"},
		{"dns without interval", map[string]any{"resolver": map[string]any{"dns": map[string]any{"hostname": "x", "interval": "0s", "timeout": "1s"}}}, "resolver::dns::interval must be positive"},
		{"bad routing key", map[string]any{"routing_key": "spanID", "resolver": map[string]any{"static": map[string]any{"hostnames": []any{"a:1"}}}}, `routing_key must be "traceID" or "service"`},
		{"an endpoint in protocol", map[string]any{"resolver": map[string]any{"static": map[string]any{"hostnames": []any{"a:1"}}}, "protocol": map[string]any{"otlp": map[string]any{"endpoint": "a:1"}}}, "protocol::otlp::endpoint must not be set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := createDefaultConfig()
			require.NoError(t, confmap.NewFromStringMap(tt.conf).Unmarshal(cfg))
			err := confmap.Validate(cfg)
			if tt.wantErr == "" {
				assert.NoError(t, err)
				return
			}
			assert.ErrorContains(t, err, tt.wantErr)
		})
	}
}

// TestAGoneReplicaStaysPassedOverPastTheCooldown: the retry waits longer
// than the cooldown, yet the part for a replica that is gone is not sent to
// it again (it does not accept connections), so the retry reaches another.
func TestAGoneReplicaStaysPassedOverPastTheCooldown(t *testing.T) {
	replicas := []*replica{startReplica(t, ""), startReplica(t, ""), startReplica(t, "")}
	cfg := newTestConfig(t, []string{replicas[0].addr, replicas[1].addr, replicas[2].addr})
	cfg.Cooldown = time.Millisecond
	cfg.Retry.InitialInterval = 300 * time.Millisecond
	cfg.Retry.MaxInterval = 300 * time.Millisecond
	cfg.Retry.MaxElapsedTime = 10 * time.Second
	exp, err := NewFactory().CreateTraces(context.Background(), exportertest.NewNopSettings(Type), cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(context.Background(), componenttest.NewNopHost()))
	defer func() { require.NoError(t, exp.Shutdown(context.Background())) }()

	replicas[1].stop()
	ids := make([]int, 300)
	for i := range ids {
		ids[i] = i
	}
	require.NoError(t, exp.ConsumeTraces(context.Background(), tracesOf(ids, 1)))
	total := 0
	for _, r := range replicas {
		got, _ := r.snapshot()
		for _, n := range got {
			total += n
		}
	}
	assert.Equal(t, 600, total, "every span of every trace arrived, at the two replicas up")
}
