package dashboards

import (
	"fmt"
	"math"
	"net/url"
	"slices"
	"strings"

	"github.com/braidobs/braid/correlate/links"
)

// SpanMetricsBucketsMs are the histogram bounds (milliseconds) of the
// span-metrics connectors' default duration histogram (braid_span_metrics
// and span_metrics have the same). A latency SLO
// threshold must be one of them: the SLO query reads the bucket with that
// exact le label.
var SpanMetricsBucketsMs = []float64{2, 4, 6, 8, 10, 50, 100, 200, 400, 800, 1000, 1400, 2000, 5000, 10000, 15000}

// Config is what the generated files depend on.
type Config struct {
	// Datasources are the UIDs, names and URLs of the provisioned datasources.
	Datasources links.Datasources
	// GrafanaURL is where Grafana is reached; alert annotations link there.
	GrafanaURL string
	// AvailabilitySLO is the target ratio of calls without error (default 0.999).
	AvailabilitySLO float64
	// LatencySLO is the target ratio of calls faster than LatencyThresholdMs (default 0.99).
	LatencySLO float64
	// LatencyThresholdMs is the latency SLO's threshold; one of SpanMetricsBucketsMs (default 400).
	LatencyThresholdMs float64
	// MemoryLimitMiB is Braid's memory_limiter limit_mib, drawn on the
	// memory panel (default 512, as in the embedded configuration).
	MemoryLimitMiB float64
	// CostPerGB is the price of a GB (10^9 OTLP-encoded bytes) per
	// exporter ID (otlp_grpc/jaeger, loki); when set, the usage dashboard
	// shows what each namespace costs on each. Empty by default.
	CostPerGB map[string]float64
}

// DefaultConfig returns the configuration for the local stack.
func DefaultConfig() Config {
	return Config{
		Datasources:        links.DefaultDatasources(),
		GrafanaURL:         links.DefaultGrafanaURL,
		AvailabilitySLO:    0.999,
		LatencySLO:         0.99,
		LatencyThresholdMs: 400,
		MemoryLimitMiB:     512,
	}
}

// Validate names the first field that cannot produce working output.
func (c Config) Validate() error {
	if err := c.Datasources.Validate(); err != nil {
		return err
	}
	if u, err := url.Parse(c.GrafanaURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("grafana url %q is not an absolute http(s) URL", c.GrafanaURL)
	}
	for _, slo := range []struct {
		name string
		v    float64
	}{{"availability slo", c.AvailabilitySLO}, {"latency slo", c.LatencySLO}} {
		// Below 0.9 the fast-burn threshold (14.4 × budget) exceeds 100%.
		if !(slo.v >= 0.9 && slo.v < 1) {
			return fmt.Errorf("%s must be in [0.9, 1), got %v", slo.name, slo.v)
		}
	}
	if !slices.Contains(SpanMetricsBucketsMs, c.LatencyThresholdMs) {
		return fmt.Errorf("latency threshold must be a span metrics bucket bound %v (ms), got %v", SpanMetricsBucketsMs, c.LatencyThresholdMs)
	}
	if c.MemoryLimitMiB <= 0 {
		return fmt.Errorf("memory limit must be positive, got %v MiB", c.MemoryLimitMiB)
	}
	for exporter, price := range c.CostPerGB {
		if exporter == "" || strings.ContainsAny(exporter, `"\`) {
			return fmt.Errorf("cost per gb: %q is not an exporter ID", exporter)
		}
		if !(price >= 0) || math.IsInf(price, 0) {
			return fmt.Errorf("cost per gb of %s must be zero or positive, got %v", exporter, price)
		}
	}
	return nil
}
