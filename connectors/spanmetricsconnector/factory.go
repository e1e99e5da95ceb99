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

// NewFactory returns the factory of Braid's span-metrics connector.
func NewFactory() connector.Factory {
	return connector.NewFactory(Type, createDefaultConfig,
		connector.WithTracesToMetrics(createTracesToMetrics, stability))
}

func createTracesToMetrics(_ context.Context, set connector.Settings, cfg component.Config, next consumer.Metrics) (connector.Traces, error) {
	// The collector gives every component its own service.instance.id;
	// the series carry it as collector.instance.id, so that the replicas of
	// a gateway write distinct series.
	var instanceID string
	if v, ok := set.Resource.Attributes().Get("service.instance.id"); ok {
		instanceID = v.AsString()
	}
	return newConnector(set.TelemetrySettings, cfg.(*Config), instanceID, next)
}
