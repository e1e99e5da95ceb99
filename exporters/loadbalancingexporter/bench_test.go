package loadbalancingexporter

import (
	"context"
	"fmt"
	"testing"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/exporter/otlpexporter"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// nopBackends is a signal whose backends take every part at once, so that
// the benchmark measures the routing (ring lookups, the split, the parallel
// sends) and not the network.
func nopBackends() signal[ptrace.Traces] {
	return signal[ptrace.Traces]{
		split: func(td ptrace.Traces, o owners) map[int]ptrace.Traces { return splitTraces(td, o, true) },
		create: func(context.Context, exporter.Settings, *otlpexporter.Config) (func(context.Context, ptrace.Traces) error, component.Component, error) {
			return func(context.Context, ptrace.Traces) error { return nil }, nopComponent{}, nil
		},
	}
}

type nopComponent struct{}

func (nopComponent) Start(context.Context, component.Host) error { return nil }
func (nopComponent) Shutdown(context.Context) error              { return nil }

// BenchmarkRoute routes batches of 8,192 spans (the agents' batch size) in
// traces of 8 over N backends. Compare with BenchmarkRoute/backends=1, where
// every batch goes through whole.
func BenchmarkRoute(b *testing.B) {
	ids := make([]int, 1024)
	for i := range ids {
		ids[i] = i
	}
	for _, n := range []int{1, 3, 10} {
		b.Run(fmt.Sprint("backends=", n), func(b *testing.B) {
			sig := nopBackends()
			cfg := createDefaultConfig().(*Config)
			cfg.Resolver.Static = configoptional.Some(StaticResolver{Hostnames: endpoints(n)})
			r := newRouter(sig, cfg, exportertest.NewNopSettings(Type), nil)
			r.host = componenttest.NewNopHost()
			r.update(endpoints(n))
			batches := make([]ptrace.Traces, 64)
			for i := range batches {
				batches[i] = tracesOf(ids, 4) // 2 resources x 1024 traces x 4 spans
			}
			spans := batches[0].SpanCount()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if i%len(batches) == 0 && i > 0 {
					b.StopTimer()
					for j := range batches {
						batches[j] = tracesOf(ids, 4)
					}
					b.StartTimer()
				}
				if err := r.push(context.Background(), batches[i%len(batches)]); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(spans), "ns/span")
		})
	}
}
