package remotewriteexporter

import (
	"context"
	"strings"

	prw "github.com/open-telemetry/opentelemetry-collector-contrib/exporter/prometheusremotewriteexporter"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/otel/metric/noop"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// NewFactory returns the factory of prometheus_remote_write, the contrib
// exporter's type, so that configurations written for it keep working.
func NewFactory() exporter.Factory {
	inner := prw.NewFactory()
	return exporter.NewFactory(inner.Type(), func() component.Config {
		return &Config{Config: *inner.CreateDefaultConfig().(*prw.Config)}
	}, exporter.WithMetrics(func(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Metrics, error) {
		return createMetrics(ctx, inner, set, cfg.(*Config))
	}, inner.MetricsStability()))
}

func createMetrics(ctx context.Context, inner exporter.Factory, set exporter.Settings, cfg *Config) (exporter.Metrics, error) {
	if !cfg.Queue.HasValue() {
		// As the contrib exporter is.
		return inner.CreateMetrics(ctx, set, &cfg.Config)
	}
	// The contrib exporter makes one attempt at each batch it is given;
	// retry_on_failure applies around it, in the collector's retry, which
	// leaves a batch on disk when a shutdown interrupts its retries. The
	// contrib exporter's own exporter telemetry would count every item a
	// second time under the same ID, so it reports to nowhere; the queue's
	// counts (sent, failed, queue size) are this exporter's.
	once := cfg.Config
	once.BackOffConfig.Enabled = false
	innerSet := set
	innerSet.MeterProvider = noop.NewMeterProvider()
	innerSet.Logger = set.Logger.WithOptions(zap.WrapCore(func(c zapcore.Core) zapcore.Core { return outcomeFilter{c} }))
	send, err := inner.CreateMetrics(ctx, innerSet, &once)
	if err != nil {
		return nil, err
	}
	return exporterhelper.NewMetrics(ctx, set, cfg,
		func(ctx context.Context, md pmetric.Metrics) error { return send.ConsumeMetrics(ctx, md) },
		exporterhelper.WithStart(send.Start),
		exporterhelper.WithShutdown(send.Shutdown),
		exporterhelper.WithCapabilities(consumer.Capabilities{MutatesData: false}),
		// The contrib exporter bounds each attempt itself (timeout).
		exporterhelper.WithTimeout(exporterhelper.TimeoutConfig{Timeout: 0}),
		exporterhelper.WithRetry(cfg.BackOffConfig),
		exporterhelper.WithQueue(cfg.Queue),
	)
}

// outcomeFilter drops the contrib exporter's own "Exporting failed." lines:
// the queue around it logs each failure once, with what happens next
// (retry, or kept on disk).
type outcomeFilter struct{ zapcore.Core }

func (f outcomeFilter) With(fields []zapcore.Field) zapcore.Core {
	return outcomeFilter{f.Core.With(fields)}
}

func (f outcomeFilter) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if strings.HasPrefix(e.Message, "Exporting failed.") {
		return ce
	}
	return f.Core.Check(e, ce)
}
