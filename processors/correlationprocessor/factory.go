package correlationprocessor

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processorhelper"

	"github.com/braidobs/braid/correlate"
)

// Type is the processor's component type.
var Type = component.MustNewType("correlation")

const stability = component.StabilityLevelAlpha

// ResolverProvider builds the pod resolver of one processor ID. Braid's
// Kubernetes pod cache plugs in through [WithPodResolver].
type ResolverProvider func(set processor.Settings, cfg *Config) (correlate.PodResolver, error)

// Option configures the factory.
type Option func(*factoryOptions)

type factoryOptions struct {
	resolver ResolverProvider
	registry *Registry
	now      func() time.Time
}

// WithRegistry makes the factory keep its engines in r, so that code outside
// the pipelines (the drill-down API) can read their trace indexes.
func WithRegistry(r *Registry) Option {
	return func(o *factoryOptions) { o.registry = r }
}

// WithPodResolver adds a pod resolver, asked after the static pods of the
// configuration. The provider is called once per processor ID, when its
// engine is built.
func WithPodResolver(p ResolverProvider) Option {
	return func(o *factoryOptions) { o.resolver = p }
}

// withClock replaces the index clock (tests).
func withClock(now func() time.Time) Option {
	return func(o *factoryOptions) { o.now = now }
}

type factory struct {
	opts     factoryOptions
	registry *Registry
}

// NewFactory returns the correlation processor's factory. Each factory owns
// the registry of engines, so the pipelines of one collector share an
// engine per processor ID.
func NewFactory(opts ...Option) processor.Factory {
	return newFactory(opts...).processorFactory()
}

func newFactory(opts ...Option) *factory {
	f := &factory{opts: factoryOptions{now: time.Now}}
	for _, o := range opts {
		o(&f.opts)
	}
	f.registry = f.opts.registry
	if f.registry == nil {
		f.registry = newRegistry()
	}
	return f
}

func (f *factory) processorFactory() processor.Factory {
	return processor.NewFactory(Type, createDefaultConfig,
		processor.WithTraces(f.createTraces, stability),
		processor.WithLogs(f.createLogs, stability),
		processor.WithMetrics(f.createMetrics, stability),
	)
}

func (f *factory) acquire(set processor.Settings, cfg *Config) (*engine, error) {
	return f.registry.acquire(set.ID, indexConfig(cfg), func(kept *correlate.TraceIndex) (*engine, error) {
		var chain chainResolver
		if len(cfg.Pods) > 0 {
			chain = append(chain, correlate.NewStaticPodResolver(cfg.Pods))
		}
		if f.opts.resolver != nil {
			r, err := f.opts.resolver(set, cfg)
			if err != nil {
				return nil, err
			}
			if r != nil {
				chain = append(chain, r)
			}
		}
		var resolver correlate.PodResolver
		switch len(chain) {
		case 0:
		case 1:
			resolver = chain[0]
		default:
			resolver = chain
		}
		return newEngine(cfg, set.TelemetrySettings, resolver, f.opts.now, kept)
	})
}

var capabilities = processorhelper.WithCapabilities(consumer.Capabilities{MutatesData: true})

func (f *factory) createTraces(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Traces) (processor.Traces, error) {
	c := cfg.(*Config)
	e, err := f.acquire(set, c)
	if err != nil {
		return nil, err
	}
	p := &tracesProcessor{base: newBase(e, f.registry, set.ID)}
	proc, err := processorhelper.NewTraces(ctx, set, cfg, next, p.process,
		capabilities, processorhelper.WithStart(p.start), processorhelper.WithShutdown(p.shutdown))
	if err != nil {
		_ = f.registry.release(set.ID)
		return nil, err
	}
	return proc, nil
}

func (f *factory) createMetrics(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Metrics) (processor.Metrics, error) {
	c := cfg.(*Config)
	e, err := f.acquire(set, c)
	if err != nil {
		return nil, err
	}
	p := &metricsProcessor{base: newBase(e, f.registry, set.ID)}
	proc, err := processorhelper.NewMetrics(ctx, set, cfg, next, p.process,
		capabilities, processorhelper.WithStart(p.start), processorhelper.WithShutdown(p.shutdown))
	if err != nil {
		_ = f.registry.release(set.ID)
		return nil, err
	}
	return proc, nil
}

func (f *factory) createLogs(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Logs) (processor.Logs, error) {
	c := cfg.(*Config)
	e, err := f.acquire(set, c)
	if err != nil {
		return nil, err
	}
	p := newLogsProcessor(newBase(e, f.registry, set.ID))
	proc, err := processorhelper.NewLogs(ctx, set, cfg, next, p.process,
		capabilities, processorhelper.WithStart(p.start), processorhelper.WithShutdown(p.shutdown))
	if err != nil {
		_ = f.registry.release(set.ID)
		return nil, err
	}
	return proc, nil
}
