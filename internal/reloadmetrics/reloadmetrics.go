// Package reloadmetrics exposes the outcome of Braid's configuration checks
// on the collector's own telemetry, with Prometheus' names for the same facts.
package reloadmetrics

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/service/telemetry"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// Status is the outcome of the last configuration check, exposed with
// Prometheus' names for the same facts (prometheus_config_last_reload_*):
//
//	braid_config_last_reload_successful               1 if the last check passed, 0 if it refused the configuration
//	braid_config_last_reload_success_timestamp_seconds when a configuration last passed, Unix seconds
//	braid_config_info{config_hash}                     1, labelled with a hash of the configuration running
//
// They are served by the collector's own telemetry (:8888/metrics by
// default), next to otelcol_* self-metrics: Braid wraps the telemetry factory
// and registers them on every meter provider it creates, so they survive a
// service rebuilt by a reload. The zero value reports a failed check and no
// success yet. Safe for concurrent use.
type Status struct {
	successful    atomic.Bool
	lastSuccessNs atomic.Int64
	hash          atomic.Pointer[string]
}

// Names of the metrics.
const (
	SuccessfulMetric       = "braid_config_last_reload_successful"
	SuccessTimestampMetric = "braid_config_last_reload_success_timestamp_seconds"
	InfoMetric             = "braid_config_info"
	HashLabel              = "config_hash"
)

// SetConfig records the configuration the collector runs, as the resolved
// map it reads (secrets included: only a hash of it is exposed). Replicas
// with the same configuration show the same hash; one that differs from the
// rest of its fleet stands out.
func (s *Status) SetConfig(resolved map[string]any) {
	b, err := json.Marshal(resolved)
	if err != nil {
		return
	}
	sum := sha256.Sum256(b)
	h := hex.EncodeToString(sum[:6])
	s.hash.Store(&h)
}

// ConfigHash is the hash SetConfig recorded, or "".
func (s *Status) ConfigHash() string {
	if h := s.hash.Load(); h != nil {
		return *h
	}
	return ""
}

// Succeeded records a check that passed, now.
func (s *Status) Succeeded() {
	s.successful.Store(true)
	s.lastSuccessNs.Store(time.Now().UnixNano())
}

// Failed records a check that refused the configuration.
func (s *Status) Failed() { s.successful.Store(false) }

const scope = "github.com/braidobs/braid/internal/reloadmetrics"

// TelemetryFactory wraps the collector's telemetry factory so that each meter
// provider it creates carries the reload metrics, and the other metrics of
// the process (not of one configuration) that each of also registers.
func (s *Status) TelemetryFactory(inner telemetry.Factory, also ...func(metric.MeterProvider) error) telemetry.Factory {
	return telemetry.NewFactory(inner.CreateDefaultConfig,
		telemetry.WithCreateResource(inner.CreateResource),
		telemetry.WithCreateLogger(inner.CreateLogger),
		telemetry.WithCreateTracerProvider(inner.CreateTracerProvider),
		telemetry.WithCreateMeterProvider(func(ctx context.Context, set telemetry.MeterSettings, cfg component.Config) (telemetry.MeterProvider, error) {
			mp, err := inner.CreateMeterProvider(ctx, set, cfg)
			if err != nil {
				return nil, err
			}
			if err := s.Register(mp.Meter(scope)); err != nil {
				return nil, errors.Join(err, mp.Shutdown(ctx))
			}
			for _, register := range also {
				if err := register(mp); err != nil {
					return nil, errors.Join(err, mp.Shutdown(ctx))
				}
			}
			return mp, nil
		}),
	)
}

// Register puts the reload metrics on m.
func (s *Status) Register(m metric.Meter) error {
	_, err := m.Int64ObservableGauge(SuccessfulMetric,
		metric.WithDescription("Whether the last configuration check passed (1) or refused the configuration (0)."),
		metric.WithInt64Callback(func(_ context.Context, o metric.Int64Observer) error {
			v := int64(0)
			if s.successful.Load() {
				v = 1
			}
			o.Observe(v)
			return nil
		}))
	if err != nil {
		return err
	}
	_, err = m.Int64ObservableGauge(InfoMetric,
		metric.WithDescription("1, labelled config_hash with a hash of the configuration running: replicas that should run the same configuration show the same hash."),
		metric.WithInt64Callback(func(_ context.Context, o metric.Int64Observer) error {
			if h := s.ConfigHash(); h != "" {
				o.Observe(1, metric.WithAttributes(attribute.String(HashLabel, h)))
			}
			return nil
		}))
	if err != nil {
		return err
	}
	_, err = m.Float64ObservableGauge(SuccessTimestampMetric,
		metric.WithDescription("When a configuration last passed its check and was applied, in Unix seconds."),
		metric.WithFloat64Callback(func(_ context.Context, o metric.Float64Observer) error {
			if ns := s.lastSuccessNs.Load(); ns != 0 {
				o.Observe(float64(ns) / 1e9)
			}
			return nil
		}))
	return err
}
