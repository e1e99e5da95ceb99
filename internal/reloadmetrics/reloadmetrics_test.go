package reloadmetrics_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/service/telemetry"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/braidobs/braid/internal/reloadmetrics"
)

// gauges reads the reload metrics of a meter provider made by the wrapped
// factory from reader: name → value; absent names were not observed.
func gauges(t *testing.T, reader *sdkmetric.ManualReader) map[string]float64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, reader.Collect(context.Background(), &rm))
	out := map[string]float64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Gauge[int64]:
				for _, p := range d.DataPoints {
					out[m.Name] = float64(p.Value)
				}
			case metricdata.Gauge[float64]:
				for _, p := range d.DataPoints {
					out[m.Name] = p.Value
				}
			}
		}
	}
	return out
}

func TestTelemetryFactoryExposesTheLastCheck(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	inner := telemetry.NewFactory(func() component.Config { return nil },
		telemetry.WithCreateMeterProvider(func(context.Context, telemetry.MeterSettings, component.Config) (telemetry.MeterProvider, error) {
			return sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)), nil
		}))
	var status reloadmetrics.Status
	f := status.TelemetryFactory(inner)
	mp, err := f.CreateMeterProvider(context.Background(), telemetry.MeterSettings{}, nil)
	require.NoError(t, err)
	defer mp.Shutdown(context.Background())

	assert.Equal(t, map[string]float64{reloadmetrics.SuccessfulMetric: 0}, gauges(t, reader),
		"before any check: not successful, no success time")

	status.Succeeded()
	got := gauges(t, reader)
	assert.Equal(t, 1.0, got[reloadmetrics.SuccessfulMetric])
	success := got[reloadmetrics.SuccessTimestampMetric]
	assert.Positive(t, success)

	status.Failed()
	got = gauges(t, reader)
	assert.Equal(t, 0.0, got[reloadmetrics.SuccessfulMetric])
	assert.Equal(t, success, got[reloadmetrics.SuccessTimestampMetric], "a refusal keeps the last success")
}

func TestConfigHashTellsConfigurationsApart(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	inner := telemetry.NewFactory(func() component.Config { return nil },
		telemetry.WithCreateMeterProvider(func(context.Context, telemetry.MeterSettings, component.Config) (telemetry.MeterProvider, error) {
			return sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)), nil
		}))
	var status reloadmetrics.Status
	mp, err := status.TelemetryFactory(inner).CreateMeterProvider(context.Background(), telemetry.MeterSettings{}, nil)
	require.NoError(t, err)
	defer mp.Shutdown(context.Background())

	hashLabel := func() string {
		var rm metricdata.ResourceMetrics
		require.NoError(t, reader.Collect(context.Background(), &rm))
		for _, sm := range rm.ScopeMetrics {
			for _, m := range sm.Metrics {
				if m.Name != reloadmetrics.InfoMetric {
					continue
				}
				for _, p := range m.Data.(metricdata.Gauge[int64]).DataPoints {
					v, _ := p.Attributes.Value(reloadmetrics.HashLabel)
					assert.Equal(t, int64(1), p.Value)
					return v.AsString()
				}
			}
		}
		return ""
	}
	assert.Empty(t, hashLabel(), "no configuration yet: no info series")

	a := map[string]any{"receivers": map[string]any{"otlp": map[string]any{"protocols": map[string]any{"grpc": nil}}}}
	status.SetConfig(a)
	first := hashLabel()
	assert.Len(t, first, 12)
	status.SetConfig(map[string]any{"receivers": map[string]any{"otlp": map[string]any{"protocols": map[string]any{"grpc": nil}}}})
	assert.Equal(t, first, hashLabel(), "the same configuration, the same hash")
	status.SetConfig(map[string]any{"receivers": map[string]any{"otlp": map[string]any{"protocols": map[string]any{"http": nil}}}})
	assert.NotEqual(t, first, hashLabel(), "another configuration, another hash")
}
