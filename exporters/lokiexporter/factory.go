package lokiexporter

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/braidobs/braid/internal/lokilabels"
)

const (
	typeStr   = "loki"
	stability = component.StabilityLevelAlpha
)

// Type is the component type of the Loki exporter.
var Type = component.MustNewType(typeStr)

// NewFactory returns the factory of the Loki exporter.
func NewFactory() exporter.Factory {
	return exporter.NewFactory(Type, createDefaultConfig, exporter.WithLogs(createLogs, stability))
}

func createDefaultConfig() component.Config {
	client := confighttp.NewDefaultClientConfig()
	client.Timeout = 30 * time.Second
	return &Config{
		ClientConfig:        client,
		QueueConfig:         configoptional.Some(exporterhelper.NewDefaultQueueConfig()),
		RetryConfig:         configretry.NewDefaultBackOffConfig(),
		Labels:              LabelsConfig{ResourceAttributes: lokilabels.DefaultResourceAttributes(), HonorHints: true},
		Tenant:              TenantConfig{FromAttribute: lokilabels.TenantAttribute},
		StructuredMetadata:  true,
		MaxLabelValueLength: 2048,
	}
}

func createLogs(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Logs, error) {
	c := cfg.(*Config)
	exp, err := newLokiExporter(c, set)
	if err != nil {
		return nil, err
	}
	return exporterhelper.NewLogs(ctx, set, cfg, exp.pushLogs,
		exporterhelper.WithStart(exp.start),
		exporterhelper.WithShutdown(exp.shutdown),
		exporterhelper.WithCapabilities(consumer.Capabilities{MutatesData: false}),
		// The HTTP client's timeout bounds each request.
		exporterhelper.WithTimeout(exporterhelper.TimeoutConfig{Timeout: 0}),
		exporterhelper.WithRetry(c.RetryConfig),
		exporterhelper.WithQueue(c.QueueConfig),
	)
}
