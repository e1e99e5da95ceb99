package usageprocessor

import (
	"context"
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/xprocessor"
)

// A handoff is the usage processor's tally of the request it passed on,
// carried in the request's context, so that a wrapped exporter that is
// given that very request, unchanged, counts it without sizing every
// resource again (pdata's sizer was two thirds of the accounting's cost a
// span).
//
// The request is unchanged as long as only consumers that declare they
// leave data alone have held it: a fanout clones a request for a consumer
// that changes data (a different request, never matched), and every
// processor of the collector's factories that may change data is wrapped
// with [WrapProcessor], which voids the handoff before it runs. The
// connectors of Braid's build turn spans into metrics, new data that never
// matches. A handoff is also void once the processor's call returns, as its
// tally is then reused.
type handoff struct {
	mu    sync.Mutex
	data  any // the ptrace.Traces, plog.Logs or pmetric.Metrics passed on
	t     *tally
	valid bool
}

type handoffKey struct{}

// handOn returns ctx carrying t as the tally of data.
func handOn(ctx context.Context, data any, t *tally) (context.Context, *handoff) {
	h := &handoff{data: data, t: t, valid: true}
	return context.WithValue(ctx, handoffKey{}, h), h
}

func (h *handoff) void() {
	h.mu.Lock()
	h.valid = false
	h.mu.Unlock()
}

// voidHandoff voids the handoff in ctx, if any.
func voidHandoff(ctx context.Context) {
	if h, ok := ctx.Value(handoffKey{}).(*handoff); ok {
		h.void()
	}
}

// takeHandoff adds to t the tally handed on in ctx and reports true when
// that tally is of data and still valid; otherwise it leaves t alone.
func takeHandoff(ctx context.Context, data any, t *tally) bool {
	h, ok := ctx.Value(handoffKey{}).(*handoff)
	if !ok {
		return false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.valid || h.data != data {
		return false
	}
	t.keys = append(t.keys, h.t.keys...)
	t.hashes = append(t.hashes, h.t.hashes...)
	t.counts = append(t.counts, h.t.counts...)
	return true
}

// WrapProcessor returns f with every processor it creates that may change
// the data it is given voiding the usage processor's handoff before it runs,
// so that the exporters after it size what they are given themselves. Wrap
// every processor factory of a collector that has a usage processor, except
// the usage processor's own. Type, configuration and behaviour are f's own.
func WrapProcessor(f processor.Factory) processor.Factory {
	var opts []xprocessor.FactoryOption
	if st := f.TracesStability(); st != component.StabilityLevelUndefined {
		opts = append(opts, xprocessor.WithTraces(func(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Traces) (processor.Traces, error) {
			p, err := f.CreateTraces(ctx, set, cfg, next)
			if err != nil || !p.Capabilities().MutatesData {
				return p, err
			}
			return voidingTraces{p}, nil
		}, st))
	}
	if st := f.LogsStability(); st != component.StabilityLevelUndefined {
		opts = append(opts, xprocessor.WithLogs(func(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Logs) (processor.Logs, error) {
			p, err := f.CreateLogs(ctx, set, cfg, next)
			if err != nil || !p.Capabilities().MutatesData {
				return p, err
			}
			return voidingLogs{p}, nil
		}, st))
	}
	if st := f.MetricsStability(); st != component.StabilityLevelUndefined {
		opts = append(opts, xprocessor.WithMetrics(func(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Metrics) (processor.Metrics, error) {
			p, err := f.CreateMetrics(ctx, set, cfg, next)
			if err != nil || !p.Capabilities().MutatesData {
				return p, err
			}
			return voidingMetrics{p}, nil
		}, st))
	}
	// Profiles are not counted: a profiles processor is f's own.
	if xf, ok := f.(xprocessor.Factory); ok {
		if st := xf.ProfilesStability(); st != component.StabilityLevelUndefined {
			opts = append(opts, xprocessor.WithProfiles(xf.CreateProfiles, st))
		}
	}
	return xprocessor.NewFactory(f.Type(), f.CreateDefaultConfig, opts...)
}

type voidingTraces struct{ processor.Traces }

func (p voidingTraces) ConsumeTraces(ctx context.Context, td ptrace.Traces) error {
	voidHandoff(ctx)
	return p.Traces.ConsumeTraces(ctx, td)
}

type voidingLogs struct{ processor.Logs }

func (p voidingLogs) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	voidHandoff(ctx)
	return p.Logs.ConsumeLogs(ctx, ld)
}

type voidingMetrics struct{ processor.Metrics }

func (p voidingMetrics) ConsumeMetrics(ctx context.Context, md pmetric.Metrics) error {
	voidHandoff(ctx)
	return p.Metrics.ConsumeMetrics(ctx, md)
}
