package main

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/braidobs/braid/internal/cpuquota"
	"github.com/braidobs/braid/internal/loadgen"
	"github.com/braidobs/braid/internal/testnet"
)

// TestFairShareHoldsUnderACPUQuota runs the braid binary on
// bench/fairness-cpu.yaml held to a quarter of a core by a cgroup, so that
// CPU, not the backend, runs short. It first measures what braid takes
// there from four senders, then sends from ten namespaces one and a half
// times that: nine at the same rate with one sender each, backing off as
// OpenTelemetry's exporters do, and flood-0 at ten times their rate from 20
// senders that send again at once. The nine keep at least 99% of their
// spans accepted, the flood is refused with retryable codes only, and
// the usage metrics count each namespace's accepted spans exactly, the
// flood on top in proportion. `make fairness` runs it with
// BRAID_REQUIRE_CGROUP=1: where no quota can be set it fails there and is
// skipped elsewhere.
func TestFairShareHoldsUnderACPUQuota(t *testing.T) {
	if testing.Short() {
		t.Skip("runs braid under load for about 15 s")
	}
	sink, err := loadgen.StartSink("127.0.0.1:0", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = sink.Close(context.Background()) })

	// Registered before braid starts, so that it runs after launchBraid's
	// cleanup has stopped braid: a cgroup goes once its processes have.
	var remove func()
	t.Cleanup(func() {
		if remove != nil {
			remove()
		}
	})
	var grpcAddr string
	b := launchBraid(t, func(b *braidProcess) []string {
		grpcAddr, b.telemetry = testnet.FreeAddr(t), testnet.FreeAddr(t)
		b.otlpHTTP = grpcAddr // what ready dials: the config has OTLP gRPC only
		_, port, _ := net.SplitHostPort(b.telemetry)
		t.Setenv("BRAID_OTLP_GRPC_ENDPOINT", grpcAddr)
		t.Setenv("BRAID_HEALTH_ENDPOINT", testnet.FreeAddr(t))
		t.Setenv("BRAID_TELEMETRY_PORT", port)
		t.Setenv("BENCH_SINK_OTLP", sink.GRPCAddr())
		return []string{"--config=file:../../bench/fairness-cpu.yaml", "--watch-config=false"}
	}, nil)
	remove, err = cpuquota.Limit(b.cmd.Process.Pid, 0.25)
	if err != nil {
		cpuquota.SkipUnlessRequired(t, err)
	}

	base := loadgen.LoadConfig{
		Endpoint: grpcAddr, Signal: loadgen.Traces, BatchSize: 500,
		// Two services a namespace: every sender fits in the usage
		// processor's top_n, none is counted as other.
		Shape: loadgen.Shape{Services: 2, PodsPerService: 5, SpansPerTrace: 5}, Reuse: 10,
	}
	// What braid takes under the quota: four requests in flight at most,
	// 2,000 spans, never near the admission limit.
	probe := base
	probe.Connections, probe.Duration, probe.Shape.Namespace = 4, 2*time.Second, "probe"
	took, err := loadgen.Run(context.Background(), probe, nil)
	require.NoError(t, err)
	require.Zero(t, took.Refused+took.Failed, "the probe is not refused: %v", took.Codes)
	capacity := took.AcceptedPerSecond()
	t.Logf("braid takes %.0f spans/s under a quarter of a core", capacity)
	require.Positive(t, capacity)

	loads, err := loadgen.FloodLoads(10, 10, 1.5*capacity, 20)
	require.NoError(t, err)
	base.Duration, base.Seed = 6*time.Second, 1
	results, err := loadgen.RunNamespaces(context.Background(), base, loads)
	require.NoError(t, err)
	metrics := b.selfMetrics(t)
	received := usageByNamespace(t, metrics, "braid_usage_received_items")
	bytes := usageByNamespace(t, metrics, "braid_usage_received_bytes")

	flood := results["flood-0"]
	t.Logf("flood-0: sent %d, accepted %d, refused %d, codes %v", flood.Sent, flood.Accepted, flood.Refused, flood.Codes)
	outcomes := loadgen.NamespaceOutcomes(loads, results, received, bytes, nil)
	for _, o := range outcomes[1:] {
		t.Logf("%s: sent %d (%.0f/s), accepted %d (%.2f%%), p99 %v", o.Namespace, o.Load.Sent, float64(o.Load.Sent)/o.Load.Elapsed.Seconds(), o.Load.Accepted, 100*o.Accepted, o.Load.P99)
	}
	// The judgement braid-loadgen fairness makes of a run.
	for _, c := range loadgen.FairnessChecks(outcomes, 0.99) {
		assert.True(t, c.OK, "%s: %s", c.Check, c.Detail)
		t.Logf("%s: %s", c.Check, c.Detail)
	}
	assert.Positive(t, flood.Codes["ResourceExhausted"], "the admission processor refuses with RESOURCE_EXHAUSTED")
}
