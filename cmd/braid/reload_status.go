package main

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/service/telemetry"
	"go.opentelemetry.io/otel/metric"
)

// reloadStatus is the outcome of the last configuration check, exposed with
// Prometheus' names for the same facts (prometheus_config_last_reload_*):
//
//	braid_config_last_reload_successful               1 if the last check passed, 0 if it refused the configuration
//	braid_config_last_reload_success_timestamp_seconds when a configuration last passed, Unix seconds
//
// They are served by the collector's own telemetry (:8888/metrics by
// default), next to otelcol_* self-metrics: Braid wraps the telemetry factory
// and registers them on every meter provider it creates, so they survive a
// service rebuilt by a reload. Safe for concurrent use.
type reloadStatus struct {
	successful    atomic.Bool
	lastSuccessNs atomic.Int64
}

func newReloadStatus() *reloadStatus { return &reloadStatus{} }

func (s *reloadStatus) succeeded() {
	s.successful.Store(true)
	s.lastSuccessNs.Store(time.Now().UnixNano())
}

func (s *reloadStatus) failed() { s.successful.Store(false) }

const selfMetricsScope = "github.com/braidobs/braid/cmd/braid"

// telemetryFactory wraps the collector's telemetry factory so that each meter
// provider it creates carries the reload metrics.
func (s *reloadStatus) telemetryFactory(inner telemetry.Factory) telemetry.Factory {
	return telemetry.NewFactory(inner.CreateDefaultConfig,
		telemetry.WithCreateResource(inner.CreateResource),
		telemetry.WithCreateLogger(inner.CreateLogger),
		telemetry.WithCreateTracerProvider(inner.CreateTracerProvider),
		telemetry.WithCreateMeterProvider(func(ctx context.Context, set telemetry.MeterSettings, cfg component.Config) (telemetry.MeterProvider, error) {
			mp, err := inner.CreateMeterProvider(ctx, set, cfg)
			if err != nil {
				return nil, err
			}
			if err := s.register(mp.Meter(selfMetricsScope)); err != nil {
				return nil, errors.Join(err, mp.Shutdown(ctx))
			}
			return mp, nil
		}),
	)
}

func (s *reloadStatus) register(m metric.Meter) error {
	_, err := m.Int64ObservableGauge("braid_config_last_reload_successful",
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
	_, err = m.Float64ObservableGauge("braid_config_last_reload_success_timestamp_seconds",
		metric.WithDescription("When a configuration last passed its check and was applied, in Unix seconds."),
		metric.WithFloat64Callback(func(_ context.Context, o metric.Float64Observer) error {
			if ns := s.lastSuccessNs.Load(); ns != 0 {
				o.Observe(float64(ns) / 1e9)
			}
			return nil
		}))
	return err
}

// pinnedInstanceID is the service.instance.id of this process: the pod's UID
// when the Kubernetes manifests pass it (so that it survives a restart of the
// container), else a UUID drawn once. otelcol would draw a new one each time
// a reload rebuilds the service.
func pinnedInstanceID() string {
	for _, env := range []string{"BRAID_POD_UID", "POD_UID"} {
		if v := os.Getenv(env); v != "" {
			return v
		}
	}
	return uuid.NewString()
}

const (
	telemetryResourceKey = "service::telemetry::resource"
	instanceIDAttribute  = "service.instance.id"
)

// pinInstanceID sets service.instance.id in the telemetry resource of conf
// unless the user set it. otelcol reads resource attributes in two forms that
// cannot be mixed: entries of resource::attributes, and the older keys of
// resource itself; the id joins the form in use, the list by default.
func pinInstanceID(conf *confmap.Conf, id string) error {
	if conf.IsSet(telemetryResourceKey + "::" + instanceIDAttribute) {
		return nil
	}
	resource, _ := conf.Get(telemetryResourceKey).(map[string]any)
	for key := range resource {
		if !resourceSettings[key] {
			return conf.Merge(confmap.NewFromStringMap(nested(telemetryResourceKey+"::"+instanceIDAttribute, id)))
		}
	}
	attrs, _ := resource["attributes"].([]any)
	for _, a := range attrs {
		if m, ok := a.(map[string]any); ok && m["name"] == instanceIDAttribute {
			return nil
		}
	}
	attrs = append(attrs[:len(attrs):len(attrs)], map[string]any{"name": instanceIDAttribute, "value": id})
	return conf.Merge(confmap.NewFromStringMap(nested(telemetryResourceKey+"::attributes", attrs)))
}

// resourceSettings are the keys of service::telemetry::resource that are not
// attributes in the older form.
var resourceSettings = map[string]bool{
	"attributes": true, "attributes_list": true, "detectors": true, "schema_url": true, "detection/development": true,
}

// nested turns a "::"-separated key and its value into nested maps.
func nested(key string, v any) map[string]any {
	parts := strings.Split(key, confmap.KeyDelimiter)
	for i := len(parts) - 1; i > 0; i-- {
		v = map[string]any{parts[i]: v}
	}
	return map[string]any{parts[0]: v}
}
