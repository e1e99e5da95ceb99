package spanmetricsconnector

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
)

// Attribute keys every series carries, before the configured dimensions.
const (
	serviceNameKey        = "service.name"
	spanNameKey           = "span.name"
	spanKindKey           = "span.kind"
	statusCodeKey         = "status.code"
	collectorInstanceKey  = "collector.instance.id"
	overflowKey           = "otel.metric.overflow"
	defaultNamespace      = "traces.span.metrics"
	cumulativeTemporality = "AGGREGATION_TEMPORALITY_CUMULATIVE"
)

// defaultBuckets are the histogram bounds when none are configured.
var defaultBuckets = []time.Duration{
	2 * time.Millisecond, 4 * time.Millisecond, 6 * time.Millisecond, 8 * time.Millisecond,
	10 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond,
	400 * time.Millisecond, 800 * time.Millisecond, time.Second, 1400 * time.Millisecond,
	2 * time.Second, 5 * time.Second, 10 * time.Second, 15 * time.Second,
}

// Config is the connector's configuration. Its keys are a subset of the
// contrib span_metrics connector's, with the same meaning, so a
// configuration moves from one to the other by renaming the component.
type Config struct {
	// Dimensions are added to every series: the value is the span's
	// attribute of that name, else the resource's, else Default; without
	// any of them the dimension is left out.
	Dimensions []Dimension `mapstructure:"dimensions"`
	// Histogram configures the duration histogram.
	Histogram HistogramConfig `mapstructure:"histogram"`
	// Exemplars configures the exemplars on calls and duration points.
	Exemplars ExemplarsConfig `mapstructure:"exemplars"`
	// MetricsFlushInterval is how often the metrics are sent on. Default 60s.
	MetricsFlushInterval time.Duration `mapstructure:"metrics_flush_interval"`
	// MetricsExpiration drops a series that has seen no span for this long,
	// so that series of pods that are gone make room for new ones. 0 keeps
	// every series (up to MaxSeries). Default 10m.
	MetricsExpiration time.Duration `mapstructure:"metrics_expiration"`
	// Namespace prefixes the metric names. Default "traces.span.metrics".
	Namespace string `mapstructure:"namespace"`
	// AggregationTemporality must be cumulative (the default): Prometheus
	// remote write drops delta sums and histograms.
	AggregationTemporality string `mapstructure:"aggregation_temporality"`
	// MaxSeries bounds the series held. Spans of a new series beyond it are
	// counted in one overflow series (attribute otel.metric.overflow=true).
	// Default 20000.
	MaxSeries int `mapstructure:"max_series"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// Dimension is one extra attribute of every series.
type Dimension struct {
	Name    string  `mapstructure:"name"`
	Default *string `mapstructure:"default"`
}

// HistogramConfig configures the duration histogram.
type HistogramConfig struct {
	// Unit is ms (the default) or s.
	Unit string `mapstructure:"unit"`
	// Explicit holds the bucket bounds.
	Explicit ExplicitHistogramConfig `mapstructure:"explicit"`
}

// ExplicitHistogramConfig holds the bucket bounds of the duration histogram.
type ExplicitHistogramConfig struct {
	// Buckets are the upper bounds, increasing. Default 2ms … 15s.
	Buckets []time.Duration `mapstructure:"buckets"`
}

// ExemplarsConfig configures exemplars.
type ExemplarsConfig struct {
	// Enabled adds exemplars: per flush, the last span of every histogram
	// bucket and of every calls series. Off by default.
	Enabled bool `mapstructure:"enabled"`
}

var _ confmap.Validator = (*Config)(nil)

func createDefaultConfig() component.Config {
	return &Config{
		Histogram:              HistogramConfig{Unit: "ms", Explicit: ExplicitHistogramConfig{Buckets: slices.Clone(defaultBuckets)}},
		MetricsFlushInterval:   60 * time.Second,
		MetricsExpiration:      10 * time.Minute,
		Namespace:              defaultNamespace,
		AggregationTemporality: cumulativeTemporality,
		MaxSeries:              20000,
	}
}

// Validate names the key of every bad setting.
func (c *Config) Validate() error {
	var errs []error
	seen := map[string]bool{serviceNameKey: true, spanNameKey: true, spanKindKey: true, statusCodeKey: true, collectorInstanceKey: true}
	for i, d := range c.Dimensions {
		switch {
		case d.Name == "":
			errs = append(errs, fmt.Errorf("dimensions[%d]::name: must not be empty", i))
		case seen[d.Name]:
			errs = append(errs, fmt.Errorf("dimensions[%d]::name: %q is already a dimension", i, d.Name))
		}
		seen[d.Name] = true
	}
	switch c.Histogram.Unit {
	case "ms", "s":
	default:
		errs = append(errs, fmt.Errorf("histogram::unit: %q is not ms or s", c.Histogram.Unit))
	}
	b := c.Histogram.Explicit.Buckets
	if len(b) == 0 {
		errs = append(errs, errors.New("histogram::explicit::buckets: must not be empty"))
	}
	for i := range b {
		if b[i] <= 0 || (i > 0 && b[i] <= b[i-1]) {
			errs = append(errs, fmt.Errorf("histogram::explicit::buckets: must be positive and increasing, %v at index %d is not", b[i], i))
			break
		}
	}
	if c.MetricsFlushInterval <= 0 {
		errs = append(errs, fmt.Errorf("metrics_flush_interval: must be positive, got %v", c.MetricsFlushInterval))
	}
	if c.MetricsExpiration < 0 {
		errs = append(errs, fmt.Errorf("metrics_expiration: must not be negative, got %v", c.MetricsExpiration))
	}
	if c.AggregationTemporality != cumulativeTemporality {
		errs = append(errs, fmt.Errorf("aggregation_temporality: only %s is supported (remote write drops delta sums and histograms), got %q",
			cumulativeTemporality, c.AggregationTemporality))
	}
	if c.MaxSeries <= 0 {
		errs = append(errs, fmt.Errorf("max_series: must be positive, got %d", c.MaxSeries))
	}
	return errors.Join(errs...)
}
