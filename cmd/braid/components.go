package main

import (
	contribspanmetrics "github.com/open-telemetry/opentelemetry-collector-contrib/connector/spanmetricsconnector"
	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/kafkaexporter"
	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/prometheusexporter"
	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/bearertokenauthextension"
	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/healthcheckextension"
	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/pprofextension"
	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/filestorage"
	"github.com/open-telemetry/opentelemetry-collector-contrib/processor/resourceprocessor"
	"github.com/open-telemetry/opentelemetry-collector-contrib/receiver/filelogreceiver"
	"github.com/open-telemetry/opentelemetry-collector-contrib/receiver/jaegerreceiver"
	"github.com/open-telemetry/opentelemetry-collector-contrib/receiver/kafkareceiver"
	"github.com/open-telemetry/opentelemetry-collector-contrib/receiver/prometheusreceiver"
	"github.com/open-telemetry/opentelemetry-collector-contrib/receiver/zipkinreceiver"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/debugexporter"
	"go.opentelemetry.io/collector/exporter/otlpexporter"
	"go.opentelemetry.io/collector/exporter/otlphttpexporter"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/extension/zpagesextension"
	"go.opentelemetry.io/collector/otelcol"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/batchprocessor"
	"go.opentelemetry.io/collector/processor/memorylimiterprocessor"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
	"go.opentelemetry.io/collector/service/telemetry/otelconftelemetry"

	"github.com/braidobs/braid/connectors/spanmetricsconnector"
	"github.com/braidobs/braid/drill"
	"github.com/braidobs/braid/exporters/loadbalancingexporter"
	"github.com/braidobs/braid/exporters/lokiexporter"
	"github.com/braidobs/braid/exporters/remotewriteexporter"
	"github.com/braidobs/braid/extensions/drillextension"
	"github.com/braidobs/braid/extensions/k8spodsextension"
	"github.com/braidobs/braid/extensions/walstorageextension"
	"github.com/braidobs/braid/internal/authmetrics"
	"github.com/braidobs/braid/processors/admissionprocessor"
	"github.com/braidobs/braid/processors/correlationprocessor"
	"github.com/braidobs/braid/processors/usageprocessor"
	"github.com/braidobs/braid/receivers/lokireceiver"
)

// components returns every factory compiled into Braid. Adding a component
// to the distribution means adding it here and nowhere else.
func components() (otelcol.Factories, error) {
	return componentsWith(keptState{})
}

// keptState is what the running gateway keeps across the rebuilds of a
// configuration reload; a nil field is kept by nobody.
type keptState struct {
	// engines are the correlation processors' engines (and their trace
	// indexes, with correlationprocessor.KeepIndexes).
	engines *correlationprocessor.Registry
	// spans are the span-metrics connectors' series.
	spans *spanmetricsconnector.Aggregates
	// alerts are the drill-down API's alert enrichments.
	alerts *drillextension.AlertStores
}

// componentsWith is components with their state kept in kept.
func componentsWith(kept keptState) (otelcol.Factories, error) {
	var err error
	factories := otelcol.Factories{Telemetry: otelconftelemetry.NewFactory()}
	engines := kept.engines
	if engines == nil {
		engines = correlationprocessor.NewRegistry()
	}

	// The drill-down API reads the trace index of the correlation processors
	// that this same set of factories builds.
	correlation := correlationprocessor.NewFactory(correlationprocessor.WithRegistry(engines))
	drillIndex := func(id component.ID) (drill.Index, bool) {
		if idx, ok := engines.TraceIndex(id); ok {
			return idx, true
		}
		return nil, false
	}

	factories.Receivers, err = otelcol.MakeFactoryMap[receiver.Factory](
		otlpreceiver.NewFactory(),
		prometheusreceiver.NewFactory(),
		filelogreceiver.NewFactory(),
		jaegerreceiver.NewFactory(),
		zipkinreceiver.NewFactory(),
		kafkareceiver.NewFactory(),
		lokireceiver.NewFactory(),
	)
	if err != nil {
		return otelcol.Factories{}, err
	}

	// The usage processor's limits are the wrapped exporters' too: they
	// count what each backend took, per sender, once a usage processor is
	// in a pipeline.
	usage := usageprocessor.NewShared()
	processors := []processor.Factory{
		batchprocessor.NewFactory(),
		memorylimiterprocessor.NewFactory(),
		resourceprocessor.NewFactory(),
		correlation,
		admissionprocessor.NewFactory(),
	}
	for i, f := range processors {
		// A processor that may change data tells the exporters after it
		// to size what they get rather than take the usage processor's sizes.
		processors[i] = usageprocessor.WrapProcessor(f)
	}
	processors = append(processors, usageprocessor.NewFactory(usageprocessor.WithShared(usage)))
	factories.Processors, err = otelcol.MakeFactoryMap(processors...)
	if err != nil {
		return otelcol.Factories{}, err
	}

	exporters := []exporter.Factory{
		debugexporter.NewFactory(),
		otlpexporter.NewFactory(),
		otlphttpexporter.NewFactory(),
		prometheusexporter.NewFactory(),
		// Contrib's prometheus_remote_write with a sending queue.
		remotewriteexporter.NewFactory(),
		kafkaexporter.NewFactory(),
		loadbalancingexporter.NewFactory(),
	}
	for i, f := range exporters {
		// Counted: braid_usage_exported_* by exporter and sender.
		exporters[i] = usageprocessor.WrapExporter(f, usage)
	}
	// The Loki exporter counts itself, with the bytes of its push requests.
	exporters = append(exporters, lokiexporter.NewFactory(lokiexporter.WithPushed(func(set exporter.Settings) lokiexporter.Pushed {
		return usage.ExporterCounter(set, "logs")
	})))
	factories.Exporters, err = otelcol.MakeFactoryMap(exporters...)
	if err != nil {
		return otelcol.Factories{}, err
	}

	var spanMetricsOptions []spanmetricsconnector.Option
	if kept.spans != nil {
		spanMetricsOptions = append(spanMetricsOptions, spanmetricsconnector.WithAggregates(kept.spans))
	}
	var drillOptions []drillextension.Option
	if kept.alerts != nil {
		drillOptions = append(drillOptions, drillextension.WithAlertStores(kept.alerts))
	}
	factories.Connectors, err = otelcol.MakeFactoryMap[connector.Factory](
		contribspanmetrics.NewFactory(),
		spanmetricsconnector.NewFactory(spanMetricsOptions...),
	)
	if err != nil {
		return otelcol.Factories{}, err
	}

	factories.Extensions, err = otelcol.MakeFactoryMap[extension.Factory](
		healthcheckextension.NewFactory(),
		pprofextension.NewFactory(),
		zpagesextension.NewFactory(),
		filestorage.NewFactory(),
		walstorageextension.NewFactory(),
		// Counted: braid_auth_requests by authenticator and outcome.
		authmetrics.Wrap(bearertokenauthextension.NewFactory()),
		k8spodsextension.NewFactory(),
		drillextension.NewFactory(drillIndex, drillOptions...),
	)
	if err != nil {
		return otelcol.Factories{}, err
	}

	return factories, nil
}
