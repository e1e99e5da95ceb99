package usageprocessor

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/xexporter"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"

	"github.com/braidobs/braid/usage"
)

// WrapExporter returns f with what each exporter it creates accepts counted
// per sender (braid_usage_exported_*, braid_usage_export_failed_*), with the
// limits of the usage processor built by a factory made WithShared(s). Until
// such a processor exists, nothing is counted. Each resource of a request is
// sized, unless the request is the one a usage processor passed on and
// nothing that may change data has held it since (see handoff), when that
// processor's sizes are taken. The type, configuration and behaviour are
// f's own.
func WrapExporter(f exporter.Factory, s *Shared, opts ...Option) exporter.Factory {
	o := newOptions(opts)
	var wrapped []xexporter.FactoryOption
	// Keep the old type name working (otlp for otlp_grpc) where f has one.
	if a, ok := f.(interface{ DeprecatedAlias() component.Type }); ok && a.DeprecatedAlias().String() != "" {
		wrapped = append(wrapped, xexporter.WithDeprecatedTypeAlias(a.DeprecatedAlias()))
	}
	if st := f.TracesStability(); st != component.StabilityLevelUndefined {
		wrapped = append(wrapped, xexporter.WithTraces(func(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Traces, error) {
			e, err := f.CreateTraces(ctx, set, cfg)
			if err != nil {
				return nil, err
			}
			return tracesExporter{Traces: e, exportCounter: newExportCounter(set, "traces", s, o), onDisk: queueOnDisk(f.Type(), cfg)}, nil
		}, st))
	}
	if st := f.LogsStability(); st != component.StabilityLevelUndefined {
		wrapped = append(wrapped, xexporter.WithLogs(func(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Logs, error) {
			e, err := f.CreateLogs(ctx, set, cfg)
			if err != nil {
				return nil, err
			}
			return logsExporter{Logs: e, exportCounter: newExportCounter(set, "logs", s, o), onDisk: queueOnDisk(f.Type(), cfg)}, nil
		}, st))
	}
	if st := f.MetricsStability(); st != component.StabilityLevelUndefined {
		wrapped = append(wrapped, xexporter.WithMetrics(func(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Metrics, error) {
			e, err := f.CreateMetrics(ctx, set, cfg)
			if err != nil {
				return nil, err
			}
			return metricsExporter{Metrics: e, exportCounter: newExportCounter(set, "metrics", s, o), onDisk: queueOnDisk(f.Type(), cfg)}, nil
		}, st))
	}
	return xexporter.NewFactory(f.Type(), f.CreateDefaultConfig, wrapped...)
}

// queueFirst are the exporters whose data goes, unchanged, straight into
// the collector's sending queue (exporterhelper's queue ahead of their push
// function): the only ones whose capabilities are changed below.
var queueFirst = map[string]bool{"otlp_grpc": true, "otlp_http": true, "loki": true}

// queueOnDisk reports whether an exporter of type typ is one of queueFirst
// and its configuration puts the sending queue in storage
// (sending_queue::storage set).
func queueOnDisk(typ component.Type, cfg component.Config) bool {
	if !queueFirst[typ.String()] {
		return false
	}
	conf := confmap.New()
	if err := conf.Marshal(cfg); err != nil {
		return false
	}
	id, _ := conf.Get("sending_queue::storage").(string)
	return id != ""
}

// capabilities are a wrapped exporter's, except that one whose sending
// queue is on disk says it leaves the data it is given alone. The collector
// declares every exporter that batches in its queue as changing its data, so
// a pipeline that also feeds a connector (span metrics) copies each request
// for it; but a queue on disk encodes the request to storage before the
// exporter returns and batches only what it reads back, a copy of its own,
// so the caller's data is never changed and the copy is wasted (4% of the
// gateway's CPU on traces; docs/performance.md).
func capabilities(c consumer.Capabilities, onDisk bool) consumer.Capabilities {
	if onDisk {
		c.MutatesData = false
	}
	return c
}

// exportCounter counts one exporter's accepted and failed items. Its
// counters are made at the first request after a usage processor exists
// (exporters are built before the processors that feed them).
type exportCounter struct {
	set    exporter.Settings
	signal string
	shared *Shared
	opts   *factoryOptions

	ready atomic.Pointer[exportStages]
	// mu guards the creation of ready and closed.
	mu     sync.Mutex
	closed bool
}

type exportStages struct {
	stages           *stages
	exported, failed *stage
}

func newExportCounter(set exporter.Settings, signal string, s *Shared, o *factoryOptions) *exportCounter {
	return &exportCounter{set: set, signal: signal, shared: s, opts: o}
}

// stages returns the counters, nil while there is nothing to count with.
func (c *exportCounter) stages() *exportStages {
	if st := c.ready.Load(); st != nil {
		return st
	}
	cfg := c.shared.config()
	if cfg == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if st := c.ready.Load(); st != nil || c.closed {
		return st
	}
	m := c.set.MeterProvider.Meter(scopeName)
	es := &exportStages{stages: newStages(cfg.RankInterval, c.opts.now)}
	base := []attribute.KeyValue{attribute.String(LabelSignal, c.signal), attribute.String(LabelExporter, c.set.ID.String())}
	var err error
	if es.exported, err = es.stages.add(m, exported, cfg.limits(), base...); err == nil {
		if es.failed, err = es.stages.add(m, exportFailed, cfg.limits(), base...); err == nil {
			err = es.stages.register(m)
		}
	}
	if err != nil {
		// Counting is not worth failing an export for: the exporter runs
		// uncounted, and the failure is logged once.
		c.set.Logger.Warn("Usage of this exporter is not counted: " + err.Error())
		c.closed = true
		return nil
	}
	c.ready.Store(es)
	return es
}

func (c *exportCounter) count(t *tally, es *exportStages, err error) {
	if err == nil {
		t.into(es.exported.ledger)
	} else {
		t.into(es.failed.ledger)
	}
	putTally(t)
}

func (c *exportCounter) shutdown() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	if st := c.ready.Load(); st != nil {
		return st.stages.unregister()
	}
	return nil
}

type tracesExporter struct {
	exporter.Traces
	*exportCounter
	onDisk bool
}

func (e tracesExporter) Capabilities() consumer.Capabilities {
	return capabilities(e.Traces.Capabilities(), e.onDisk)
}

func (e tracesExporter) ConsumeTraces(ctx context.Context, td ptrace.Traces) error {
	es := e.stages()
	if es == nil {
		return e.Traces.ConsumeTraces(ctx, td)
	}
	t := getTally()
	if !takeHandoff(ctx, td, t) {
		tallyTraces(t, td)
	}
	err := e.Traces.ConsumeTraces(ctx, td)
	e.count(t, es, err)
	return err
}

func (e tracesExporter) Shutdown(ctx context.Context) error {
	return errors.Join(e.Traces.Shutdown(ctx), e.shutdown())
}

type logsExporter struct {
	exporter.Logs
	*exportCounter
	onDisk bool
}

func (e logsExporter) Capabilities() consumer.Capabilities {
	return capabilities(e.Logs.Capabilities(), e.onDisk)
}

func (e logsExporter) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	es := e.stages()
	if es == nil {
		return e.Logs.ConsumeLogs(ctx, ld)
	}
	t := getTally()
	if !takeHandoff(ctx, ld, t) {
		tallyLogs(t, ld)
	}
	err := e.Logs.ConsumeLogs(ctx, ld)
	e.count(t, es, err)
	return err
}

func (e logsExporter) Shutdown(ctx context.Context) error {
	return errors.Join(e.Logs.Shutdown(ctx), e.shutdown())
}

type metricsExporter struct {
	exporter.Metrics
	*exportCounter
	onDisk bool
}

func (e metricsExporter) Capabilities() consumer.Capabilities {
	return capabilities(e.Metrics.Capabilities(), e.onDisk)
}

func (e metricsExporter) ConsumeMetrics(ctx context.Context, md pmetric.Metrics) error {
	es := e.stages()
	if es == nil {
		return e.Metrics.ConsumeMetrics(ctx, md)
	}
	t := getTally()
	if !takeHandoff(ctx, md, t) {
		tallyMetrics(t, md)
	}
	err := e.Metrics.ConsumeMetrics(ctx, md)
	e.count(t, es, err)
	return err
}

func (e metricsExporter) Shutdown(ctx context.Context) error {
	return errors.Join(e.Metrics.Shutdown(ctx), e.shutdown())
}

// SelfCounted counts for an exporter that counts what it sends itself, per
// resource (Braid's loki exporter, whose bytes are then those of its push
// requests), as braid_usage_exported_* and braid_usage_export_failed_* of
// that exporter, with the limits of s. Safe for concurrent use.
type SelfCounted struct{ c *exportCounter }

// ExporterCounter returns the counter of one exporter that counts itself.
// Do not also wrap its factory with WrapExporter.
func (s *Shared) ExporterCounter(set exporter.Settings, signal string) *SelfCounted {
	return &SelfCounted{c: newExportCounter(set, signal, s, newOptions(nil))}
}

// Count counts one resource's items and encoded bytes, exported when err is
// nil and failed otherwise. Nothing is counted until a usage processor of
// the same collector has been built.
func (sc *SelfCounted) Count(resource pcommon.Map, items, bytes int, err error) {
	es := sc.c.stages()
	if es == nil {
		return
	}
	l := es.exported.ledger
	if err != nil {
		l = es.failed.ledger
	}
	l.Add(usage.KeyOf(resource), int64(items), int64(bytes))
}

// Close stops reporting; safe to call more than once.
func (sc *SelfCounted) Close() error { return sc.c.shutdown() }
