package usageprocessor

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
)

// counter counts one pipeline's requests by outcome.
type counter struct {
	stages                     *stages
	received, refused, dropped *stage
}

func newCounter(set component.TelemetrySettings, cfg *Config, signal string, o *factoryOptions) (*counter, error) {
	m := set.MeterProvider.Meter(scopeName)
	c := &counter{stages: newStages(cfg.RankInterval, o.now)}
	sig := attribute.String(LabelSignal, signal)
	var err error
	if c.received, err = c.stages.add(m, received, cfg.limits(), sig); err != nil {
		return nil, err
	}
	if c.refused, err = c.stages.add(m, refused, cfg.limits(), sig); err != nil {
		return nil, err
	}
	if c.dropped, err = c.stages.add(m, dropped, cfg.limits(), sig); err != nil {
		return nil, err
	}
	if err := c.stages.register(m); err != nil {
		return nil, err
	}
	return c, nil
}

// count counts t by the outcome err of handing its request on.
func (c *counter) count(t *tally, err error) {
	switch {
	case err == nil:
		t.into(c.received.ledger)
	case consumererror.IsPermanent(err):
		t.into(c.dropped.ledger)
	default:
		t.into(c.refused.ledger)
	}
	putTally(t)
}

func (c *counter) Start(context.Context, component.Host) error { return nil }

func (c *counter) Shutdown(context.Context) error { return c.stages.unregister() }

func (c *counter) Capabilities() consumer.Capabilities {
	return consumer.Capabilities{MutatesData: false}
}

type tracesCounter struct {
	*counter
	next consumer.Traces
}

func (p tracesCounter) ConsumeTraces(ctx context.Context, td ptrace.Traces) error {
	t := getTally()
	tallyTraces(t, td)
	ctx, h := handOn(ctx, td, t)
	err := p.next.ConsumeTraces(ctx, td)
	h.void()
	p.count(t, err)
	return err
}

type logsCounter struct {
	*counter
	next consumer.Logs
}

func (p logsCounter) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	t := getTally()
	tallyLogs(t, ld)
	ctx, h := handOn(ctx, ld, t)
	err := p.next.ConsumeLogs(ctx, ld)
	h.void()
	p.count(t, err)
	return err
}

type metricsCounter struct {
	*counter
	next consumer.Metrics
}

func (p metricsCounter) ConsumeMetrics(ctx context.Context, md pmetric.Metrics) error {
	t := getTally()
	tallyMetrics(t, md)
	ctx, h := handOn(ctx, md, t)
	err := p.next.ConsumeMetrics(ctx, md)
	h.void()
	p.count(t, err)
	return err
}
