package usageprocessor

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/processor"
)

// Type is the processor's component type.
var Type = component.MustNewType("usage")

const stability = component.StabilityLevelAlpha

// Shared is what one set of factories shares: the usage processor's
// configuration, which the exporters wrapped with [WrapExporter] count with.
// Exporters count nothing until a usage processor of the same collector has
// been built. The zero value is ready; safe for concurrent use.
type Shared struct {
	// mu serializes set; cfg is read without it.
	mu  sync.Mutex
	cfg atomic.Pointer[Config]
}

// NewShared returns an empty Shared.
func NewShared() *Shared { return new(Shared) }

func (s *Shared) set(cfg *Config) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// With several usage processors, the largest top_n and candidates and
	// the shortest rank_interval win.
	c := *cfg
	if old := s.cfg.Load(); old != nil {
		c.TopN = max(old.TopN, c.TopN)
		c.Candidates = max(old.Candidates, c.Candidates)
		c.RankInterval = min(old.RankInterval, c.RankInterval)
	}
	s.cfg.Store(&c)
}

func (s *Shared) config() *Config {
	if s == nil {
		return nil
	}
	return s.cfg.Load()
}

// Option configures the factory.
type Option func(*factoryOptions)

type factoryOptions struct {
	shared *Shared
	now    func() time.Time
}

// WithShared makes the factory publish its configuration to s, for the
// exporters wrapped with WrapExporter(f, s).
func WithShared(s *Shared) Option { return func(o *factoryOptions) { o.shared = s } }

// withClock replaces the clock that times ranking (tests).
func withClock(now func() time.Time) Option { return func(o *factoryOptions) { o.now = now } }

func newOptions(opts []Option) *factoryOptions {
	o := &factoryOptions{now: time.Now}
	for _, opt := range opts {
		opt(o)
	}
	return o
}

// NewFactory returns the usage processor's factory.
func NewFactory(opts ...Option) processor.Factory {
	o := newOptions(opts)
	return processor.NewFactory(Type, createDefaultConfig,
		processor.WithTraces(func(_ context.Context, set processor.Settings, cfg component.Config, next consumer.Traces) (processor.Traces, error) {
			c, err := o.counter(set, cfg.(*Config), "traces")
			if err != nil {
				return nil, err
			}
			return tracesCounter{counter: c, next: next}, nil
		}, stability),
		processor.WithLogs(func(_ context.Context, set processor.Settings, cfg component.Config, next consumer.Logs) (processor.Logs, error) {
			c, err := o.counter(set, cfg.(*Config), "logs")
			if err != nil {
				return nil, err
			}
			return logsCounter{counter: c, next: next}, nil
		}, stability),
		processor.WithMetrics(func(_ context.Context, set processor.Settings, cfg component.Config, next consumer.Metrics) (processor.Metrics, error) {
			c, err := o.counter(set, cfg.(*Config), "metrics")
			if err != nil {
				return nil, err
			}
			return metricsCounter{counter: c, next: next}, nil
		}, stability))
}

func (o *factoryOptions) counter(set processor.Settings, cfg *Config, signal string) (*counter, error) {
	c, err := newCounter(set.TelemetrySettings, cfg, signal, o)
	if err != nil {
		return nil, err
	}
	o.shared.set(cfg)
	return c, nil
}
