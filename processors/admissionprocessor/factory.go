package admissionprocessor

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/processor"
)

// Type is the processor's component type.
var Type = component.MustNewType("admission")

const stability = component.StabilityLevelAlpha

// NewFactory returns the admission processor's factory. Each pipeline that
// lists the processor gets its own limit.
func NewFactory() processor.Factory {
	return processor.NewFactory(Type, createDefaultConfig,
		processor.WithTraces(createTraces, stability),
		processor.WithLogs(createLogs, stability),
		processor.WithMetrics(createMetrics, stability))
}

func createTraces(_ context.Context, set processor.Settings, cfg component.Config, next consumer.Traces) (processor.Traces, error) {
	g, err := newGate(set.TelemetrySettings, cfg.(*Config), "traces", time.Now)
	if err != nil {
		return nil, err
	}
	return tracesGate{gate: g, next: next}, nil
}

func createLogs(_ context.Context, set processor.Settings, cfg component.Config, next consumer.Logs) (processor.Logs, error) {
	g, err := newGate(set.TelemetrySettings, cfg.(*Config), "logs", time.Now)
	if err != nil {
		return nil, err
	}
	return logsGate{gate: g, next: next}, nil
}

func createMetrics(_ context.Context, set processor.Settings, cfg component.Config, next consumer.Metrics) (processor.Metrics, error) {
	g, err := newGate(set.TelemetrySettings, cfg.(*Config), "metrics", time.Now)
	if err != nil {
		return nil, err
	}
	return metricsGate{gate: g, next: next}, nil
}
