package usageprocessor

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/braidobs/braid/usage"
)

// Names of the self-metrics and their labels (without a type suffix, as
// Braid's telemetry settings expose them; _total where a suffix is added).
const (
	MetricReceivedItems     = "braid_usage_received_items"
	MetricReceivedBytes     = "braid_usage_received_bytes"
	MetricRefusedItems      = "braid_usage_refused_items"
	MetricRefusedBytes      = "braid_usage_refused_bytes"
	MetricDroppedItems      = "braid_usage_dropped_items"
	MetricDroppedBytes      = "braid_usage_dropped_bytes"
	MetricExportedItems     = "braid_usage_exported_items"
	MetricExportedBytes     = "braid_usage_exported_bytes"
	MetricExportFailedItems = "braid_usage_export_failed_items"
	MetricExportFailedBytes = "braid_usage_export_failed_bytes"

	LabelSignal    = "signal"
	LabelExporter  = "exporter"
	LabelNamespace = "k8s_namespace_name"
	LabelWorkload  = "k8s_workload_name"
	LabelService   = "service_name"
)

const scopeName = "github.com/braidobs/braid/processors/usageprocessor"

// stage is one counted outcome (received, exported, ...) of one signal (and
// one exporter): a ledger, and the two counters it is reported as.
type stage struct {
	ledger       *usage.Ledger
	items, bytes metric.Int64ObservableCounter
	base         []attribute.KeyValue
}

// stages are the counted outcomes of one component, reported by one
// callback, which also ranks their ledgers every rank interval.
type stages struct {
	all      []*stage
	interval time.Duration
	now      func() time.Time

	// mu guards lastRank; held by the callback only.
	mu       sync.Mutex
	lastRank time.Time

	reg metric.Registration
}

// stageSpec names a stage's counters.
type stageSpec struct {
	items, bytes, itemsDesc, bytesDesc string
}

var (
	received = stageSpec{MetricReceivedItems, MetricReceivedBytes,
		"Items the pipeline accepted after the usage processor, by signal and sender (namespace, workload, service; the top keys by volume, the rest as other).",
		"OTLP-encoded bytes of the items the pipeline accepted after the usage processor, by signal and sender."}
	refused = stageSpec{MetricRefusedItems, MetricRefusedBytes,
		"Items the pipeline refused after the usage processor with a retryable error (the sender retries them), by signal and sender.",
		"OTLP-encoded bytes of the items refused with a retryable error, by signal and sender."}
	dropped = stageSpec{MetricDroppedItems, MetricDroppedBytes,
		"Items the pipeline refused after the usage processor with a permanent error (lost unless the sender keeps them), by signal and sender.",
		"OTLP-encoded bytes of the items refused with a permanent error, by signal and sender."}
	exported = stageSpec{MetricExportedItems, MetricExportedBytes,
		"Items an exporter accepted (on its sending queue, or delivered when it has none), by signal, exporter and sender.",
		"Encoded bytes of the items an exporter accepted, by signal, exporter and sender: OTLP-encoded, but for the loki exporter the bytes of its entries in the push requests Loki answered 2xx (protobuf, before compression)."}
	exportFailed = stageSpec{MetricExportFailedItems, MetricExportFailedBytes,
		"Items an exporter returned an error for, by signal, exporter and sender.",
		"Encoded bytes of the items an exporter returned an error for, by signal, exporter and sender (for loki: whose push failed)."}
)

func newStages(interval time.Duration, now func() time.Time) *stages {
	return &stages{interval: interval, now: now, lastRank: now()}
}

// add creates the counters of spec with base labels and a ledger.
func (s *stages) add(m metric.Meter, spec stageSpec, limits usage.Limits, base ...attribute.KeyValue) (*stage, error) {
	l, err := usage.NewLedger(limits)
	if err != nil {
		return nil, err
	}
	st := &stage{ledger: l, base: base}
	if st.items, err = m.Int64ObservableCounter(spec.items, metric.WithDescription(spec.itemsDesc), metric.WithUnit("{item}")); err != nil {
		return nil, fmt.Errorf("create self-metrics: %w", err)
	}
	if st.bytes, err = m.Int64ObservableCounter(spec.bytes, metric.WithDescription(spec.bytesDesc), metric.WithUnit("By")); err != nil {
		return nil, fmt.Errorf("create self-metrics: %w", err)
	}
	s.all = append(s.all, st)
	return st, nil
}

// register reports every stage in one callback on m.
func (s *stages) register(m metric.Meter) error {
	var insts []metric.Observable
	for _, st := range s.all {
		insts = append(insts, st.items, st.bytes)
	}
	reg, err := m.RegisterCallback(s.observe, insts...)
	if err != nil {
		return fmt.Errorf("register self-metrics callback: %w", err)
	}
	s.reg = reg
	return nil
}

func (s *stages) observe(_ context.Context, o metric.Observer) error {
	s.mu.Lock()
	if now := s.now(); now.Sub(s.lastRank) >= s.interval {
		for _, st := range s.all {
			st.ledger.Rank()
		}
		s.lastRank = now
	}
	s.mu.Unlock()
	for _, st := range s.all {
		st.ledger.Each(func(k usage.Key, c usage.Counts) {
			kv := make([]attribute.KeyValue, 0, len(st.base)+3)
			kv = append(kv, st.base...)
			kv = append(kv, attribute.String(LabelNamespace, k.Namespace),
				attribute.String(LabelWorkload, k.Workload), attribute.String(LabelService, k.Service))
			attrs := metric.WithAttributeSet(attribute.NewSet(kv...))
			o.ObserveInt64(st.items, c.Items, attrs)
			o.ObserveInt64(st.bytes, c.Bytes, attrs)
		})
	}
	return nil
}

// unregister stops reporting; safe to call more than once.
func (s *stages) unregister() error {
	if s == nil || s.reg == nil {
		return nil
	}
	err := s.reg.Unregister()
	s.reg = nil
	return err
}
