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
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/braidobs/braid/internal/lokilabels"
)

const (
	typeStr   = "loki"
	stability = component.StabilityLevelAlpha
)

// Type is the component type of the Loki exporter.
var Type = component.MustNewType(typeStr)

// Pushed counts what the exporter's push requests carried, per input
// resource.
type Pushed interface {
	// Count counts one resource of one push request: its entries and
	// their bytes in the request's protobuf encoding before compression,
	// and the push's outcome (nil: Loki answered 2xx).
	Count(resource pcommon.Map, entries, bytes int, err error)
	// Close stops counting, at the exporter's shutdown.
	Close() error
}

// Option configures the factory.
type Option func(*factoryOptions)

type factoryOptions struct {
	pushed func(exporter.Settings) Pushed
}

// WithPushed makes each exporter count what it pushes with what pushed
// returns for it (nil: nothing counted). Braid's usage accounting plugs in
// here, so that the Loki exporter's bytes are the ones Loki receives.
func WithPushed(pushed func(exporter.Settings) Pushed) Option {
	return func(o *factoryOptions) { o.pushed = pushed }
}

// NewFactory returns the factory of the Loki exporter.
func NewFactory(opts ...Option) exporter.Factory {
	var o factoryOptions
	for _, opt := range opts {
		opt(&o)
	}
	return exporter.NewFactory(Type, createDefaultConfig, exporter.WithLogs(func(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Logs, error) {
		var pushed Pushed
		if o.pushed != nil {
			pushed = o.pushed(set)
		}
		return createLogs(ctx, set, cfg, pushed)
	}, stability))
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

func createLogs(ctx context.Context, set exporter.Settings, cfg component.Config, pushed Pushed) (exporter.Logs, error) {
	c := cfg.(*Config)
	exp, err := newLokiExporter(c, set, pushed)
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
