package loadbalancingexporter

import (
	"context"
	"net"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configcompression"
	"go.opentelemetry.io/collector/config/configgrpc"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/otlpexporter"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Type is the exporter's component type.
var Type = component.MustNewType("loadbalancing")

// NewFactory returns the factory of the loadbalancing exporter.
func NewFactory() exporter.Factory {
	return exporter.NewFactory(Type, createDefaultConfig,
		exporter.WithTraces(createTraces, component.StabilityLevelAlpha),
		exporter.WithLogs(createLogs, component.StabilityLevelAlpha),
		exporter.WithMetrics(createMetrics, component.StabilityLevelAlpha),
	)
}

func createDefaultConfig() component.Config {
	client := configgrpc.NewDefaultClientConfig()
	client.Compression = configcompression.TypeGzip
	cfg := &Config{
		RoutingKey: RouteTraceID,
		Queue:      configoptional.Some(exporterhelper.NewDefaultQueueConfig()),
		Retry:      configretry.NewDefaultBackOffConfig(),
		Cooldown:   5 * time.Second,
	}
	cfg.Protocol.OTLP.TimeoutConfig = exporterhelper.NewDefaultTimeoutConfig()
	cfg.Protocol.OTLP.ClientConfig = client
	return cfg
}

var defaultLookup lookupFunc = net.DefaultResolver.LookupHost

func helperOptions(cfg *Config, start component.StartFunc, shutdown component.ShutdownFunc) []exporterhelper.Option {
	return []exporterhelper.Option{
		exporterhelper.WithStart(start),
		exporterhelper.WithShutdown(shutdown),
		exporterhelper.WithCapabilities(consumer.Capabilities{MutatesData: true}),
		// Each backend's exporter bounds its attempt (protocol::otlp::timeout).
		exporterhelper.WithTimeout(exporterhelper.TimeoutConfig{Timeout: 0}),
		exporterhelper.WithRetry(cfg.Retry),
		exporterhelper.WithQueue(cfg.Queue),
	}
}

func createTraces(ctx context.Context, set exporter.Settings, c component.Config) (exporter.Traces, error) {
	cfg := c.(*Config)
	byTrace := cfg.RoutingKey == RouteTraceID
	r := newRouter(signal[ptrace.Traces]{
		name:  "traces",
		split: func(td ptrace.Traces, o owners) map[int]ptrace.Traces { return splitTraces(td, o, byTrace) },
		create: func(ctx context.Context, set exporter.Settings, cfg *otlpexporter.Config) (func(context.Context, ptrace.Traces) error, component.Component, error) {
			e, err := otlpexporter.NewFactory().CreateTraces(ctx, set, cfg)
			if err != nil {
				return nil, nil, err
			}
			return e.ConsumeTraces, e, nil
		},
		failed: func(err error, td ptrace.Traces) error { return consumererror.NewTraces(err, td) },
		merge:  func(dst, src ptrace.Traces) { src.ResourceSpans().MoveAndAppendTo(dst.ResourceSpans()) },
	}, cfg, set, defaultLookup)
	return exporterhelper.NewTraces(ctx, set, cfg, r.push, helperOptions(cfg, r.start, r.shutdown)...)
}

func createLogs(ctx context.Context, set exporter.Settings, c component.Config) (exporter.Logs, error) {
	cfg := c.(*Config)
	byTrace := cfg.RoutingKey == RouteTraceID
	r := newRouter(signal[plog.Logs]{
		name:  "logs",
		split: func(ld plog.Logs, o owners) map[int]plog.Logs { return splitLogs(ld, o, byTrace) },
		create: func(ctx context.Context, set exporter.Settings, cfg *otlpexporter.Config) (func(context.Context, plog.Logs) error, component.Component, error) {
			e, err := otlpexporter.NewFactory().CreateLogs(ctx, set, cfg)
			if err != nil {
				return nil, nil, err
			}
			return e.ConsumeLogs, e, nil
		},
		failed: func(err error, ld plog.Logs) error { return consumererror.NewLogs(err, ld) },
		merge:  func(dst, src plog.Logs) { src.ResourceLogs().MoveAndAppendTo(dst.ResourceLogs()) },
	}, cfg, set, defaultLookup)
	return exporterhelper.NewLogs(ctx, set, cfg, r.push, helperOptions(cfg, r.start, r.shutdown)...)
}

func createMetrics(ctx context.Context, set exporter.Settings, c component.Config) (exporter.Metrics, error) {
	cfg := c.(*Config)
	r := newRouter(signal[pmetric.Metrics]{
		name:  "metrics",
		split: splitMetrics,
		create: func(ctx context.Context, set exporter.Settings, cfg *otlpexporter.Config) (func(context.Context, pmetric.Metrics) error, component.Component, error) {
			e, err := otlpexporter.NewFactory().CreateMetrics(ctx, set, cfg)
			if err != nil {
				return nil, nil, err
			}
			return e.ConsumeMetrics, e, nil
		},
		failed: func(err error, md pmetric.Metrics) error { return consumererror.NewMetrics(err, md) },
		merge:  func(dst, src pmetric.Metrics) { src.ResourceMetrics().MoveAndAppendTo(dst.ResourceMetrics()) },
	}, cfg, set, defaultLookup)
	return exporterhelper.NewMetrics(ctx, set, cfg, r.push, helperOptions(cfg, r.start, r.shutdown)...)
}
