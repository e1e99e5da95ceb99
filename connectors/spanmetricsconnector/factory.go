package spanmetricsconnector

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/consumer"
)

// Type is the connector's component type.
var Type = component.MustNewType("braid_span_metrics")

const stability = component.StabilityLevelAlpha

// Option configures the factory.
type Option func(*factory)

// WithAggregates makes the connectors leave their series in a when they shut
// down and take them back when rebuilt (see [Aggregates]).
func WithAggregates(a *Aggregates) Option {
	return func(f *factory) { f.aggregates = a }
}

type factory struct {
	aggregates *Aggregates
}

// NewFactory returns the factory of Braid's span-metrics connector.
func NewFactory(opts ...Option) connector.Factory {
	f := &factory{}
	for _, o := range opts {
		o(f)
	}
	return connector.NewFactory(Type, createDefaultConfig,
		connector.WithTracesToMetrics(f.createTracesToMetrics, stability))
}

func (f *factory) createTracesToMetrics(_ context.Context, set connector.Settings, cfg component.Config, next consumer.Metrics) (connector.Traces, error) {
	// The collector gives every component its own service.instance.id;
	// the series carry it as collector.instance.id, so that the replicas of
	// a gateway write distinct series.
	var instanceID string
	if v, ok := set.Resource.Attributes().Get("service.instance.id"); ok {
		instanceID = v.AsString()
	}
	c, err := newConnector(set.TelemetrySettings, cfg.(*Config), instanceID, next)
	if err != nil || f.aggregates == nil {
		return c, err
	}
	if agg := f.aggregates.take(set.ID, cfg.(*Config), instanceID); agg != nil {
		c.agg = agg
	}
	c.keep = func(agg *aggregator) { f.aggregates.keep(set.ID, cfg.(*Config), instanceID, agg) }
	return c, nil
}
