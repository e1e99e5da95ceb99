package main

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/braidobs/braid/internal/loadgen"
	"github.com/braidobs/braid/internal/promtext"
	"github.com/braidobs/braid/internal/testnet"
)

// fairnessConfig is a gateway whose one exporter can take about 4000 spans
// a second: a single queue consumer to a backend that answers each request
// of 50 spans after 12.5 ms, the queue blocking when full, so that what
// Braid cannot send waits in flight and the admission processor refuses the
// rest, as when Braid is short of CPU.
func fairnessConfig(grpc, http, telemetry, sink string, fairShare bool) string {
	host, port, _ := net.SplitHostPort(telemetry)
	return fmt.Sprintf(`receivers:
  otlp:
    protocols:
      grpc: {endpoint: %s}
      http: {endpoint: %s}
processors:
  admission:
    max_in_flight_items: 1000
    retry_after: 1s
    fair_share: %t
  usage: {}
exporters:
  otlp_grpc/sink:
    endpoint: %s
    tls: {insecure: true}
    sending_queue:
      num_consumers: 1
      queue_size: 1
      block_on_overflow: true
    retry_on_failure: {enabled: false}
service:
  pipelines:
    traces: {receivers: [otlp], processors: [admission, usage], exporters: [otlp_grpc/sink]}
  telemetry:
    metrics:
      readers:
        - pull:
            exporter:
              prometheus: {host: %s, port: %s, without_scope_info: true, without_units: true, without_type_suffix: true}
`, grpc, http, fairShare, sink, host, port)
}

// fairnessRun runs ten namespaces against one braid for duration: nine at
// 300 spans/s with one request in flight each, and "flood" at ten times
// that from 20 senders that send again at once when refused. It returns
// the loads, what each namespace's sender saw and braid's self-metrics after.
func fairnessRun(t *testing.T, fairShare bool, duration time.Duration) ([]loadgen.NamespaceLoad, map[string]loadgen.Result, string) {
	t.Helper()
	sink, err := loadgen.StartSink("127.0.0.1:0", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = sink.Close(context.Background()) })
	sink.SetDelay(12500 * time.Microsecond)

	var grpcAddr string
	b := launchBraid(t, func(b *braidProcess) []string {
		grpcAddr, b.otlpHTTP, b.telemetry = testnet.FreeAddr(t), testnet.FreeAddr(t), testnet.FreeAddr(t)
		w := plainFile{filepath.Join(t.TempDir(), "config.yaml")}
		w.write(t, fairnessConfig(grpcAddr, b.otlpHTTP, b.telemetry, sink.GRPCAddr(), fairShare))
		return []string{"--config=file:" + w.path(), "--watch-config=false"}
	}, nil)

	loads := []loadgen.NamespaceLoad{{Namespace: "flood", Rate: 3000, Senders: 20}}
	for i := range 9 {
		// The nine back off as OpenTelemetry's exporters do; the flood
		// sends again at once.
		loads = append(loads, loadgen.NamespaceLoad{Namespace: fmt.Sprintf("team-%d", i), Rate: 300, Senders: 1, HonorRetryInfo: true})
	}
	results, err := loadgen.RunNamespaces(context.Background(), loadgen.LoadConfig{
		Endpoint: grpcAddr, Signal: loadgen.Traces, BatchSize: 50, Duration: duration,
		Shape: loadgen.Shape{Services: 1, PodsPerService: 2, SpansPerTrace: 5}, Reuse: 10,
	}, loads)
	require.NoError(t, err)
	return loads, results, b.selfMetrics(t)
}

// usageByNamespace sums one braid_usage_* counter by namespace.
func usageByNamespace(t *testing.T, metrics, name string) map[string]float64 {
	t.Helper()
	families, err := promtext.Parse(strings.NewReader(metrics))
	require.NoError(t, err)
	return promtext.SumBy(promtext.Counter(families, name), "k8s_namespace_name")
}

// TestFairShareKeepsTheQuietNamespacesWhileOneFloods runs real braid
// processes, limited to about 4000 spans/s by their backend, against ten
// namespaces: nine at 300 spans/s each and one at ten times that. With
// fair share, the nine keep at least 99% of their spans accepted, the flood
// is refused with retryable errors, and braid's usage metrics show it as the
// top sender by exactly what it got accepted. Without fair share, the same
// load costs the nine more than 1%.
func TestFairShareKeepsTheQuietNamespacesWhileOneFloods(t *testing.T) {
	if testing.Short() {
		t.Skip("runs braid under load for about 20 s")
	}
	const duration = 6 * time.Second

	loads, results, metrics := fairnessRun(t, true, duration)
	received := usageByNamespace(t, metrics, "braid_usage_received_items")
	exported := usageByNamespace(t, metrics, "braid_usage_exported_items")
	bytes := usageByNamespace(t, metrics, "braid_usage_received_bytes")
	refusedByNS := usageByNamespace(t, metrics, "braid_admission_namespace_refused_items")

	flood := results["flood"]
	t.Logf("flood: sent %d, accepted %d, refused %d, codes %v", flood.Sent, flood.Accepted, flood.Refused, flood.Codes)
	outcomes := loadgen.NamespaceOutcomes(loads, results, received, bytes, refusedByNS)
	// The judgement braid-loadgen fairness makes of a run: the nine keep
	// 99%, the flood refused retryably, usage exact and the flood on top by
	// bytes in proportion.
	for _, c := range loadgen.FairnessChecks(outcomes, 0.99) {
		assert.True(t, c.OK, "%s: %s", c.Check, c.Detail)
		t.Logf("%s: %s", c.Check, c.Detail)
	}
	// And beyond it: what the exporter took, and the admission refusals,
	// per namespace.
	for _, o := range outcomes {
		assert.Equal(t, float64(o.Load.Accepted), exported[o.Namespace], "%s: braid_usage_exported_items", o.Namespace)
	}
	assert.Positive(t, flood.Codes["ResourceExhausted"], "the flood is refused with RESOURCE_EXHAUSTED")
	assert.Equal(t, float64(flood.Refused), refusedByNS["flood"], "braid_admission_namespace_refused_items of the flood")

	// The same load without fair share: the nine lose more.
	_, results, _ = fairnessRun(t, false, duration)
	var sent, accepted int64
	for ns, r := range results {
		if ns != "flood" {
			sent += r.Sent
			accepted += r.Accepted
		}
	}
	t.Logf("without fair share: the nine got %d of %d accepted (%.2f%%)", accepted, sent, 100*float64(accepted)/float64(sent))
	assert.Less(t, float64(accepted)/float64(sent), 0.99, "without fair share the flood costs the others")
}
