package spanmetricsconnector

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"
)

type spanMetrics struct {
	logger   *zap.Logger
	next     consumer.Metrics
	interval time.Duration

	mu  sync.Mutex
	agg *aggregator

	stop chan struct{}
	done chan struct{}

	registration metric.Registration
	// keep, if set, takes the series at shutdown (Aggregates).
	keep func(*aggregator)
}

func newConnector(set component.TelemetrySettings, cfg *Config, instanceID string, next consumer.Metrics) (*spanMetrics, error) {
	c := &spanMetrics{
		logger:   set.Logger,
		next:     next,
		interval: cfg.MetricsFlushInterval,
		agg:      newAggregator(cfg, instanceID),
	}
	if err := c.registerTelemetry(set); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *spanMetrics) registerTelemetry(set component.TelemetrySettings) error {
	m := set.MeterProvider.Meter(scopeName)
	series, err1 := m.Int64ObservableGauge("braid_span_metrics_series",
		metric.WithDescription("Series held by the span-metrics connector."),
		metric.WithUnit("{series}"))
	overflow, err2 := m.Int64ObservableCounter("braid_span_metrics_overflow_spans",
		metric.WithDescription("Spans counted in the overflow series because max_series series were held."),
		metric.WithUnit("{span}"))
	if err := errors.Join(err1, err2); err != nil {
		return fmt.Errorf("create self-metrics: %w", err)
	}
	var err error
	c.registration, err = m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		c.mu.Lock()
		n, spans := c.agg.nseries, c.agg.overflowSpans
		c.mu.Unlock()
		o.ObserveInt64(series, int64(n))
		o.ObserveInt64(overflow, int64(spans))
		return nil
	}, series, overflow)
	if err != nil {
		return fmt.Errorf("register self-metrics callback: %w", err)
	}
	return nil
}

func (c *spanMetrics) Capabilities() consumer.Capabilities {
	return consumer.Capabilities{MutatesData: false}
}

func (c *spanMetrics) ConsumeTraces(_ context.Context, td ptrace.Traces) error {
	now := time.Now()
	c.mu.Lock()
	c.agg.add(td, now)
	c.mu.Unlock()
	return nil
}

func (c *spanMetrics) Start(context.Context, component.Host) error {
	c.stop = make(chan struct{})
	c.done = make(chan struct{})
	go c.loop()
	return nil
}

func (c *spanMetrics) loop() {
	defer close(c.done)
	t := time.NewTicker(c.interval)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
			c.flush(context.Background())
		}
	}
}

// flush sends every series on. A refusal downstream is logged: the series
// are cumulative, so the next flush carries the counts again.
func (c *spanMetrics) flush(ctx context.Context) {
	c.mu.Lock()
	md := c.agg.flush(time.Now())
	c.mu.Unlock()
	if md.ResourceMetrics().Len() == 0 {
		return
	}
	if err := c.next.ConsumeMetrics(ctx, md); err != nil {
		c.logger.Warn("Span metrics not sent; the next flush carries them again", zap.Error(err))
	}
}

func (c *spanMetrics) Shutdown(context.Context) error {
	if c.stop != nil {
		close(c.stop)
		<-c.done
		c.stop = nil
	}
	if c.keep != nil {
		c.mu.Lock()
		c.keep(c.agg)
		c.mu.Unlock()
		c.keep = nil
	}
	if c.registration != nil {
		err := c.registration.Unregister()
		c.registration = nil
		return err
	}
	return nil
}
