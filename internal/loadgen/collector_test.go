package loadgen

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// fakeCollectorEnv, set in a test, makes the test binary that Measure and
// Overload start act as a collector (see RunFakeCollector).
const fakeCollectorEnv = "BRAID_LOADGEN_TEST_FAKE_COLLECTOR"

// RunFakeCollector, called first in TestMain, turns the test binary into a
// stand-in collector when the test that started it asked for one: it takes
// OTLP traces and logs on the addresses startCollector gives a collector,
// passes them on to the sink, answers the health check, reports its Go heap
// as the collector's telemetry does and serves CPU profiles, until SIGTERM.
// It never returns then.
func RunFakeCollector() {
	if os.Getenv(fakeCollectorEnv) == "" {
		return
	}
	if err := fakeCollector(); err != nil {
		fmt.Fprintln(os.Stderr, "fake collector:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

func fakeCollector() error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	next, err := grpc.NewClient(os.Getenv("BENCH_SINK_OTLP"), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer next.Close()
	otlp, err := net.Listen("tcp", os.Getenv("BRAID_OTLP_GRPC_ENDPOINT"))
	if err != nil {
		return err
	}
	srv := grpc.NewServer()
	ptraceotlp.RegisterGRPCServer(srv, &forwardTraces{next: ptraceotlp.NewGRPCClient(next)})
	plogotlp.RegisterGRPCServer(srv, &forwardLogs{next: plogotlp.NewGRPCClient(next)})
	go func() { _ = srv.Serve(otlp) }()
	defer srv.Stop()

	serve := func(addr string, mux *http.ServeMux) error {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return err
		}
		go func() { _ = http.Serve(l, mux) }()
		return nil
	}
	health := http.NewServeMux()
	health.HandleFunc("/", func(http.ResponseWriter, *http.Request) {})
	telemetry := http.NewServeMux()
	telemetry.HandleFunc("/metrics", func(w http.ResponseWriter, _ *http.Request) {
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		fmt.Fprintf(w, "otelcol_process_runtime_heap_alloc_bytes{service_name=\"fake\"} %d\n", m.HeapAlloc)
	})
	profiles := http.NewServeMux()
	profiles.HandleFunc("/debug/pprof/profile", pprof.Profile)
	for addr, mux := range map[string]*http.ServeMux{
		os.Getenv("BRAID_HEALTH_ENDPOINT"): health,
		net.JoinHostPort(os.Getenv("BRAID_TELEMETRY_HOST"), os.Getenv("BRAID_TELEMETRY_PORT")): telemetry,
		os.Getenv("BRAID_PPROF_ENDPOINT"): profiles,
	} {
		if err := serve(addr, mux); err != nil {
			return err
		}
	}
	<-ctx.Done()
	return nil
}

// forwardTraces and forwardLogs pass every request on to the next hop and
// answer with its answer.
type forwardTraces struct {
	ptraceotlp.UnimplementedGRPCServer
	next ptraceotlp.GRPCClient
}

func (f *forwardTraces) Export(ctx context.Context, req ptraceotlp.ExportRequest) (ptraceotlp.ExportResponse, error) {
	return f.next.Export(ctx, req)
}

type forwardLogs struct {
	plogotlp.UnimplementedGRPCServer
	next plogotlp.GRPCClient
}

func (f *forwardLogs) Export(ctx context.Context, req plogotlp.ExportRequest) (plogotlp.ExportResponse, error) {
	return f.next.Export(ctx, req)
}

// TestMeasureRunsAPipelineThroughItsLadder runs Measure against the test
// binary as the collector, named by Binaries (Braid does not exist): the CPU
// step with its profile, the ladder from above the CPU step's rate, every
// step's items delivered.
func TestMeasureRunsAPipelineThroughItsLadder(t *testing.T) {
	t.Setenv(fakeCollectorEnv, "1")
	profiles := t.TempDir()
	s := CompareSettings{
		Braid: filepath.Join(t.TempDir(), "no-such-braid"), Binaries: map[string]string{"fake-1": os.Args[0]},
		CPURate: 1000, Rates: []float64{500, 2000}, Step: 2 * time.Second, Connections: 1, Batch: 100,
		WorkDir: t.TempDir(), ProfileDir: profiles,
	}
	rep, err := Measure(context.Background(), s, Pipeline{Name: "fake-1", Configs: []string{"unread.yaml"}}, Logs)
	require.NoError(t, err)

	assert.Equal(t, "fake-1", rep.Pipeline)
	assert.Equal(t, "logs", rep.Signal)
	var targets []float64
	for _, st := range rep.Steps {
		targets = append(targets, st.Load.Target)
		assert.True(t, st.Sustained, "%g/s: %s", st.Load.Target, st.Why)
		assert.Positive(t, st.Load.Accepted)
		assert.Equal(t, st.Load.Accepted, st.Delivered, "everything accepted reached the sink")
	}
	assert.Equal(t, []float64{1000, 2000}, targets, "500/s is below the sustained CPU step")
	assert.InDelta(t, 2000, rep.MaxSustained, 0)
	assert.Positive(t, rep.PeakRSSMiB)
	assert.FileExists(t, filepath.Join(profiles, "fake-1-logs.pprof"))

	s.Binaries = nil
	_, err = Measure(context.Background(), s, Pipeline{Name: "fake-1", Configs: []string{"unread.yaml"}}, Logs)
	assert.ErrorContains(t, err, "no-such-braid", "without Binaries, Braid runs")
}

// TestOverloadChecksALiveCollector runs Overload against the test binary as
// the collector: it answers, stays small and lives, so every check passes,
// and the memory it reports is what was sampled.
func TestOverloadChecksALiveCollector(t *testing.T) {
	t.Setenv(fakeCollectorEnv, "1")
	s := OverloadSettings{
		Braid: os.Args[0], Config: "unread.yaml", MemoryLimitMiB: 400, SpikeLimitMiB: 80, GoMemLimitMiB: 320,
		Load:    LoadConfig{Rate: 4000, Connections: 2, BatchSize: 100, Duration: 2 * time.Second, Shape: DefaultShape, Seed: 1, Reuse: 2},
		WorkDir: t.TempDir(),
	}
	rep, err := Overload(context.Background(), s, Traces)
	require.NoError(t, err)
	assert.True(t, rep.Passed(), "%+v", rep)
	assert.True(t, rep.Alive)
	assert.Positive(t, rep.Load.Accepted)
	assert.Zero(t, rep.Load.Failed)
	assert.Positive(t, rep.OfferedPerSecond)
	assert.Positive(t, rep.PeakAnonMiB)
	assert.Positive(t, rep.PeakHeapMiB, "read from the collector's telemetry")
	assert.Less(t, rep.PeakAnonMiB, 400.0)
	assert.Equal(t, 320, rep.GoMemLimitMiB)

	s.SpikeLimitMiB = 400
	_, err = Overload(context.Background(), s, Traces)
	assert.ErrorContains(t, err, "spike-limit-mib", "settings are checked before anything starts")
}
