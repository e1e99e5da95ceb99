package loadbalancingexporter

import (
	"context"
	"fmt"
	"testing"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/exporter/otlpexporter"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/braidobs/braid/internal/loadgen"
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

// BenchmarkExport sends batches of 8,192 spans over real gRPC to loopback
// sinks: the collector's OTLP exporter to one, and this exporter over the
// same OTLP client to three, in one run, so that the routing's share of
// the whole cost shows.
func BenchmarkExport(b *testing.B) {
	ids := make([]int, 1024)
	for i := range ids {
		ids[i] = i
	}
	sinks := make([]string, 3)
	for i := range sinks {
		s, err := loadgen.StartSink("127.0.0.1:0", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = s.Close(context.Background()) })
		sinks[i] = s.GRPCAddr()
	}
	run := func(b *testing.B, exp exporter.Traces) {
		if err := exp.Start(context.Background(), componenttest.NewNopHost()); err != nil {
			b.Fatal(err)
		}
		defer func() { _ = exp.Shutdown(context.Background()) }()
		batch := tracesOf(ids, 4)
		spans := batch.SpanCount()
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			td := ptrace.NewTraces()
			batch.CopyTo(td)
			b.StartTimer()
			if err := exp.ConsumeTraces(context.Background(), td); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(spans), "ns/span")
	}
	b.Run("otlp_grpc to 1", func(b *testing.B) {
		f := otlpexporter.NewFactory()
		cfg := f.CreateDefaultConfig().(*otlpexporter.Config)
		cfg.ClientConfig.Endpoint = sinks[0]
		cfg.ClientConfig.TLS.Insecure = true
		cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
		exp, err := f.CreateTraces(context.Background(), exportertest.NewNopSettings(f.Type()), cfg)
		if err != nil {
			b.Fatal(err)
		}
		run(b, exp)
	})
	b.Run("loadbalancing to 3", func(b *testing.B) {
		cfg := createDefaultConfig().(*Config)
		cfg.Resolver.Static = configoptional.Some(StaticResolver{Hostnames: sinks})
		cfg.Protocol.OTLP.ClientConfig.TLS.Insecure = true
		cfg.Queue = configoptional.None[exporterhelper.QueueBatchConfig]()
		exp, err := NewFactory().CreateTraces(context.Background(), exportertest.NewNopSettings(Type), cfg)
		if err != nil {
			b.Fatal(err)
		}
		run(b, exp)
	})
}
