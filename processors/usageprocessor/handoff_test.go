package usageprocessor

import (
	"context"
	"testing"

	"github.com/open-telemetry/opentelemetry-collector-contrib/processor/resourceprocessor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor/processortest"
)

// sizes is what an exporter given td should count as bytes, per series.
func sizes(exporterID string, td ptrace.Traces) map[string]int64 {
	t := getTally()
	defer putTally(t)
	tallyTraces(t, td)
	out := map[string]int64{}
	for i, k := range t.keys {
		out["traces "+exporterID+" "+k.Namespace+"/"+k.Workload+"/"+k.Service] += t.counts[i].Bytes
	}
	return out
}

// addCluster changes every resource as resource/cluster does.
func addCluster(td ptrace.Traces) {
	for i := range td.ResourceSpans().Len() {
		td.ResourceSpans().At(i).Resource().Attributes().PutStr("k8s.cluster.name", "eu-west-prod")
	}
}

func newResourceProcessor(t *testing.T, next consumer.Traces) consumer.Traces {
	t.Helper()
	f := WrapProcessor(resourceprocessor.NewFactory())
	cfg := f.CreateDefaultConfig()
	require.NoError(t, confmap.NewFromStringMap(map[string]any{
		"attributes": []any{map[string]any{"key": "k8s.cluster.name", "value": "eu-west-prod", "action": "insert"}},
	}).Unmarshal(cfg))
	p, err := f.CreateTraces(context.Background(), processortest.NewNopSettings(f.Type()), cfg, next)
	require.NoError(t, err)
	require.NoError(t, p.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { assert.NoError(t, p.Shutdown(context.Background())) })
	return p
}

// An exporter counts the bytes of what it is given whether it takes the
// usage processor's sizes or sizes the request itself.
func TestExportersCountWhatTheyAreGivenAfterTheProcessor(t *testing.T) {
	type pipeline struct {
		// between is what the usage processor's output goes through to the
		// exporter.
		between func(t *testing.T, exp consumer.Traces) consumer.Traces
		// later, when set, runs after the processor has returned.
		later func()
	}
	for _, tc := range []struct {
		name string
		pipe func(exp consumer.Traces) pipeline
		// changed: what the exporter got differs from what was received.
		changed bool
	}{
		{
			name: "the request the processor passed on",
			pipe: func(exp consumer.Traces) pipeline {
				return pipeline{between: func(*testing.T, consumer.Traces) consumer.Traces { return exp }}
			},
		},
		{
			name: "after a resource processor that adds an attribute",
			pipe: func(exp consumer.Traces) pipeline {
				return pipeline{between: func(t *testing.T, exp consumer.Traces) consumer.Traces { return newResourceProcessor(t, exp) }}
			},
			changed: true,
		},
		{
			name: "a changed copy, as a fanout gives a consumer that changes data",
			pipe: func(exp consumer.Traces) pipeline {
				return pipeline{between: func(*testing.T, consumer.Traces) consumer.Traces {
					next, _ := consumer.NewTraces(func(ctx context.Context, td ptrace.Traces) error {
						c := ptrace.NewTraces()
						td.CopyTo(c)
						addCluster(c)
						return exp.ConsumeTraces(ctx, c)
					})
					return next
				}}
			},
			changed: true,
		},
		{
			name: "changed and exported after the processor returned",
			pipe: func(exp consumer.Traces) pipeline {
				var held func()
				return pipeline{
					between: func(*testing.T, consumer.Traces) consumer.Traces {
						next, _ := consumer.NewTraces(func(ctx context.Context, td ptrace.Traces) error {
							held = func() {
								addCluster(td)
								_ = exp.ConsumeTraces(ctx, td)
							}
							return nil
						})
						return next
					},
					later: func() { held() },
				}
			},
			changed: true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			ctx := context.Background()
			sink := new(consumertest.TracesSink)
			ef := fakeExporterFactory(sink, nil)
			set := exportertest.NewNopSettings(ef.Type())
			set.ID = component.MustNewID("fake")
			set.TelemetrySettings = f.tel.NewTelemetrySettings()
			exp, err := WrapExporter(ef, f.shared, withClock(f.clock)).CreateTraces(ctx, set, ef.CreateDefaultConfig())
			require.NoError(t, err)

			pipe := tc.pipe(exp)
			p := f.traces(t, createDefaultConfig().(*Config), pipe.between(t, exp))
			td := traces(sender{"shop", "cart", "cart-api", 30}, sender{"billing", "invoices", "invoices", 7})
			received := sizes("fake", td)
			require.NoError(t, p.ConsumeTraces(ctx, td))
			if pipe.later != nil {
				pipe.later()
			}

			require.Len(t, sink.AllTraces(), 1)
			got := sink.AllTraces()[0]
			assert.Equal(t, sizes("fake", got), series(t, f.tel, MetricExportedBytes))
			if tc.changed {
				assert.NotEqual(t, received, series(t, f.tel, MetricExportedBytes), "the change shows in the bytes")
			}
		})
	}
}

// A consumer that changes data while it declares it leaves data alone goes
// unseen: the exporter after it takes the usage processor's sizes. This is
// the case the wrapper of every processor that may change data rules out,
// and it shows that the exporter does take them.
func TestAnExporterTakesTheProcessorsSizes(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	sink := new(consumertest.TracesSink)
	ef := fakeExporterFactory(sink, nil)
	set := exportertest.NewNopSettings(ef.Type())
	set.ID = component.MustNewID("fake")
	set.TelemetrySettings = f.tel.NewTelemetrySettings()
	exp, err := WrapExporter(ef, f.shared, withClock(f.clock)).CreateTraces(ctx, set, ef.CreateDefaultConfig())
	require.NoError(t, err)
	undeclared, err := consumer.NewTraces(func(ctx context.Context, td ptrace.Traces) error {
		addCluster(td)
		return exp.ConsumeTraces(ctx, td)
	})
	require.NoError(t, err)
	p := f.traces(t, createDefaultConfig().(*Config), undeclared)
	td := traces(sender{"shop", "cart", "cart-api", 30})
	received := sizes("fake", td)
	require.NoError(t, p.ConsumeTraces(ctx, td))
	assert.Equal(t, received, series(t, f.tel, MetricExportedBytes))
	assert.NotEqual(t, sizes("fake", sink.AllTraces()[0]), received)
}

func TestWrapProcessorKeepsTheFactorysSignalsAndLeavesNonMutatingProcessorsAlone(t *testing.T) {
	f := resourceprocessor.NewFactory()
	w := WrapProcessor(f)
	assert.Equal(t, f.Type(), w.Type())
	assert.Equal(t, f.TracesStability(), w.TracesStability())
	assert.Equal(t, f.LogsStability(), w.LogsStability())
	assert.Equal(t, f.MetricsStability(), w.MetricsStability())

	// The usage processor leaves data alone: returned as created.
	u := WrapProcessor(NewFactory())
	p, err := u.CreateTraces(context.Background(), processortest.NewNopSettings(Type), createDefaultConfig(), consumertest.NewNop())
	require.NoError(t, err)
	assert.IsType(t, tracesCounter{}, p)
}
