package usageprocessor

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/braidobs/braid/exporters/lokiexporter"
	"github.com/braidobs/braid/internal/loadgen"
	"github.com/braidobs/braid/processors/correlationprocessor"
)

// marshalExporter is what an OTLP exporter does with every request of spans
// at least: encode it.
type marshalExporter struct {
	component.StartFunc
	component.ShutdownFunc
}

var benchBytes int

func (marshalExporter) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

func (marshalExporter) ConsumeTraces(_ context.Context, td ptrace.Traces) error {
	b, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(td)
	benchBytes += len(b)
	return err
}

func marshalFactory() exporter.Factory {
	return exporter.NewFactory(component.MustNewType("marshal"), func() component.Config { return &struct{}{} },
		exporter.WithTraces(func(context.Context, exporter.Settings, component.Config) (exporter.Traces, error) {
			return marshalExporter{}, nil
		}, component.StabilityLevelAlpha))
}

// BenchmarkPipeline measures what usage accounting adds to the least a
// pipeline does with a request: decode it (the receiver) and hand it to its
// exporter. Spans are encoded as an OTLP exporter does; log records go
// through Braid's Loki exporter (no sending queue, so the push is part of
// the call) to a loopback server that reads and discards each push, as the
// shipped gateway's logs go to Loki. "plain" is that alone; "usage" adds the
// usage processor and the exporter's count (for spans the wrapper, which
// takes the processor's sizes of the request it is given unchanged, for logs
// the Loki exporter's own count of its encoded entries), as the shipped configs run them; "correlation" and
// "correlation+usage" are the same with the correlation processor (its
// default settings) before them, as in every shipped pipeline. Requests are
// the load generator's: 500 items over 100 pods of 20 services in 4
// namespaces.
//
//	go test -run '^$' -bench BenchmarkPipeline -count 10 ./processors/usageprocessor/ | tee usage.txt
//	benchstat -col /pipeline usage.txt
//
// cpu-ns/item is the process's CPU time (user and system, the garbage
// collector's included) per item.
func BenchmarkPipeline(b *testing.B) {
	ctx := context.Background()
	gen := loadgen.NewGenerator(loadgen.DefaultShape, 1)
	traces, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(gen.Traces(500))
	require.NoError(b, err)
	logs, err := (&plog.ProtoMarshaler{}).MarshalLogs(gen.Logs(500))
	require.NoError(b, err)

	for _, signal := range []string{"traces", "logs"} {
		for _, pipeline := range []string{"plain", "usage", "correlation", "correlation+usage"} {
			b.Run(fmt.Sprintf("signal=%s/pipeline=%s", signal, pipeline), func(b *testing.B) {
				shared := NewShared()
				withUsage := strings.HasSuffix(pipeline, "usage")
				withCorrelation := strings.HasPrefix(pipeline, "correlation")
				pset := processortest.NewNopSettings(Type)
				cfg := createDefaultConfig()
				start := cpuTime()
				switch signal {
				case "traces":
					ef := marshalFactory()
					if withUsage {
						ef = WrapExporter(ef, shared)
					}
					exp, err := ef.CreateTraces(ctx, exportertest.NewNopSettings(ef.Type()), ef.CreateDefaultConfig())
					require.NoError(b, err)
					var next consumer.Traces = exp
					if withUsage {
						next, err = NewFactory(WithShared(shared)).CreateTraces(ctx, pset, cfg, next)
						require.NoError(b, err)
					}
					if withCorrelation {
						next = correlationTraces(b, next)
					}
					b.ReportAllocs()
					b.SetBytes(int64(len(traces)))
					start = cpuTime()
					for b.Loop() {
						td, err := (&ptrace.ProtoUnmarshaler{}).UnmarshalTraces(traces)
						if err != nil {
							b.Fatal(err)
						}
						if err := next.ConsumeTraces(ctx, td); err != nil {
							b.Fatal(err)
						}
					}
				case "logs":
					exp := lokiExporter(b, withUsage, shared)
					var next consumer.Logs = exp
					if withUsage {
						next, err = NewFactory(WithShared(shared)).CreateLogs(ctx, pset, cfg, next)
						require.NoError(b, err)
					}
					if withCorrelation {
						next = correlationLogs(b, next)
					}
					b.ReportAllocs()
					b.SetBytes(int64(len(logs)))
					start = cpuTime()
					for b.Loop() {
						ld, err := (&plog.ProtoUnmarshaler{}).UnmarshalLogs(logs)
						if err != nil {
							b.Fatal(err)
						}
						if err := next.ConsumeLogs(ctx, ld); err != nil {
							b.Fatal(err)
						}
					}
				}
				b.ReportMetric(float64(cpuTime()-start)/float64(b.N)/500, "cpu-ns/item")
			})
		}
	}
}

// cpuTime is the CPU the process used: what the benchmark compares, as the
// wall clock of a shared machine varies with its neighbours.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// lokiExporter starts Braid's Loki exporter without a sending queue or
// retries, pushing to a loopback server that discards what it reads; with
// usage it counts what it pushes as the shipped Braid has it.
func lokiExporter(b *testing.B, withUsage bool, shared *Shared) exporter.Logs {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	b.Cleanup(srv.Close)
	var opts []lokiexporter.Option
	if withUsage {
		opts = append(opts, lokiexporter.WithPushed(func(set exporter.Settings) lokiexporter.Pushed {
			return shared.ExporterCounter(set, "logs")
		}))
	}
	f := lokiexporter.NewFactory(opts...)
	cfg := f.CreateDefaultConfig().(*lokiexporter.Config)
	cfg.ClientConfig.Endpoint = srv.URL + "/loki/api/v1/push"
	cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
	cfg.RetryConfig.Enabled = false
	exp, err := f.CreateLogs(context.Background(), exportertest.NewNopSettings(f.Type()), cfg)
	require.NoError(b, err)
	require.NoError(b, exp.Start(context.Background(), componenttest.NewNopHost()))
	b.Cleanup(func() { require.NoError(b, exp.Shutdown(context.Background())) })
	return exp
}

func correlationTraces(b *testing.B, next consumer.Traces) consumer.Traces {
	f := correlationprocessor.NewFactory()
	p, err := f.CreateTraces(context.Background(), processortest.NewNopSettings(f.Type()), f.CreateDefaultConfig(), next)
	require.NoError(b, err)
	require.NoError(b, p.Start(context.Background(), componenttest.NewNopHost()))
	b.Cleanup(func() { require.NoError(b, p.Shutdown(context.Background())) })
	return p
}

func correlationLogs(b *testing.B, next consumer.Logs) consumer.Logs {
	f := correlationprocessor.NewFactory()
	p, err := f.CreateLogs(context.Background(), processortest.NewNopSettings(f.Type()), f.CreateDefaultConfig(), next)
	require.NoError(b, err)
	require.NoError(b, p.Start(context.Background(), componenttest.NewNopHost()))
	b.Cleanup(func() { require.NoError(b, p.Shutdown(context.Background())) })
	return p
}

// BenchmarkCount measures usage accounting alone, per item: for spans the
// usage processor's count and an exporter's (the wrapper's, given the
// request the processor passed on, so that it takes the processor's sizes),
// for log records the processor's count and the Loki
// exporter's per-resource count of the bytes it encoded anyway
// (BenchmarkEncode in exporters/lokiexporter shows the sizing itself costs it
// nothing measurable). The next consumer does nothing, so that what is
// measured is the accounting; set against a pipeline's CPU per item it is
// the share usage accounting adds.
//
//	go test -run '^$' -bench BenchmarkCount -count 10 ./processors/usageprocessor/
func BenchmarkCount(b *testing.B) {
	ctx := context.Background()
	gen := loadgen.NewGenerator(loadgen.DefaultShape, 1)
	shared := NewShared()
	pf := NewFactory(WithShared(shared))
	pset := processortest.NewNopSettings(Type)

	b.Run("signal=traces", func(b *testing.B) {
		td := gen.Traces(500)
		ef := WrapExporter(exporter.NewFactory(component.MustNewType("nop"), func() component.Config { return &struct{}{} },
			exporter.WithTraces(func(context.Context, exporter.Settings, component.Config) (exporter.Traces, error) {
				return nopTraces{}, nil
			}, component.StabilityLevelAlpha)), shared)
		exp, err := ef.CreateTraces(ctx, exportertest.NewNopSettings(ef.Type()), ef.CreateDefaultConfig())
		require.NoError(b, err)
		p, err := pf.CreateTraces(ctx, pset, createDefaultConfig(), exp)
		require.NoError(b, err)
		b.ReportAllocs()
		for b.Loop() {
			if err := p.ConsumeTraces(ctx, td); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/500, "ns/item")
	})
	b.Run("signal=logs", func(b *testing.B) {
		ld := gen.Logs(500)
		pushed := shared.ExporterCounter(exportertest.NewNopSettings(component.MustNewType("loki")), "logs")
		p, err := pf.CreateLogs(ctx, pset, createDefaultConfig(), countingLogs{pushed})
		require.NoError(b, err)
		b.ReportAllocs()
		for b.Loop() {
			if err := p.ConsumeLogs(ctx, ld); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/500, "ns/item")
	})
}

type nopTraces struct {
	component.StartFunc
	component.ShutdownFunc
}

func (nopTraces) Capabilities() consumer.Capabilities                { return consumer.Capabilities{} }
func (nopTraces) ConsumeTraces(context.Context, ptrace.Traces) error { return nil }

// countingLogs counts each resource as the Loki exporter does after a push,
// with the entries and bytes its encoder took.
type countingLogs struct{ pushed *SelfCounted }

func (countingLogs) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

func (c countingLogs) ConsumeLogs(_ context.Context, ld plog.Logs) error {
	for i := range ld.ResourceLogs().Len() {
		rl := ld.ResourceLogs().At(i)
		c.pushed.Count(rl.Resource().Attributes(), rl.ScopeLogs().At(0).LogRecords().Len(), 1000, nil)
	}
	return nil
}
