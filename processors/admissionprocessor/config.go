package admissionprocessor

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
)

// Config is the admission processor's configuration.
type Config struct {
	// MaxInFlightItems bounds the spans, log records or metric data points
	// the pipeline holds at once, counted from when a request enters this
	// processor until everything after it has returned. A request that
	// would go over it is refused, unless nothing else is in flight.
	// Default 50000.
	MaxInFlightItems int64 `mapstructure:"max_in_flight_items"`
	// RetryAfter is the delay a refusal asks senders to wait (gRPC
	// RetryInfo). Default 5s, the initial backoff of OpenTelemetry's OTLP
	// exporters.
	RetryAfter time.Duration `mapstructure:"retry_after"`

	// FairShare, when true, refuses first the namespaces (k8s.namespace.name
	// of a request's resources) that hold more than their share of
	// max_in_flight_items: from half of the limit on, a namespace over its
	// share is refused while the others are still admitted. A namespace's
	// share is the limit times its weight over the weights of the
	// namespaces that sent within share_window. Default true.
	FairShare bool `mapstructure:"fair_share"`
	// DefaultWeight is the weight of a namespace without one in
	// namespaces. Default 1.
	DefaultWeight float64 `mapstructure:"default_weight"`
	// DefaultRateLimit is the items per second a namespace without its own
	// rate_limit may send; 0 is no limit. Default 0.
	DefaultRateLimit float64 `mapstructure:"default_rate_limit"`
	// Namespaces are the weights and rate limits of namespaces by name.
	Namespaces map[string]NamespaceConfig `mapstructure:"namespaces"`
	// MaxNamespaces bounds the namespaces tracked for shares and rate
	// limits; past it, new ones share one entry. Default 1000.
	MaxNamespaces int `mapstructure:"max_namespaces"`
	// ShareWindow is how long a namespace that sent counts for the shares
	// of the others, and how long an idle one is remembered. Default 10s.
	ShareWindow time.Duration `mapstructure:"share_window"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// NamespaceConfig is one namespace's weight and rate limit.
type NamespaceConfig struct {
	// Weight is the namespace's weight in fair shares; 0 is default_weight.
	Weight float64 `mapstructure:"weight"`
	// RateLimit is the items per second the namespace may send, with a
	// burst of one second's worth; 0 is default_rate_limit.
	RateLimit float64 `mapstructure:"rate_limit"`
}

var _ confmap.Validator = (*Config)(nil)

func createDefaultConfig() component.Config {
	return &Config{
		MaxInFlightItems: 50000, RetryAfter: 5 * time.Second,
		FairShare: true, DefaultWeight: 1, MaxNamespaces: 1000, ShareWindow: 10 * time.Second,
	}
}

// Validate names the key of every bad setting.
func (c *Config) Validate() error {
	var errs []error
	if c.MaxInFlightItems <= 0 {
		errs = append(errs, fmt.Errorf("max_in_flight_items: must be positive, got %d", c.MaxInFlightItems))
	}
	if c.RetryAfter <= 0 {
		errs = append(errs, fmt.Errorf("retry_after: must be positive, got %v", c.RetryAfter))
	}
	if !(c.DefaultWeight > 0) || math.IsInf(c.DefaultWeight, 0) {
		errs = append(errs, fmt.Errorf("default_weight: must be positive, got %v", c.DefaultWeight))
	}
	if !(c.DefaultRateLimit >= 0) || math.IsInf(c.DefaultRateLimit, 0) {
		errs = append(errs, fmt.Errorf("default_rate_limit: must be zero (no limit) or positive, got %v", c.DefaultRateLimit))
	}
	if c.MaxNamespaces <= 0 {
		errs = append(errs, fmt.Errorf("max_namespaces: must be positive, got %d", c.MaxNamespaces))
	}
	if c.ShareWindow <= 0 {
		errs = append(errs, fmt.Errorf("share_window: must be positive, got %v", c.ShareWindow))
	}
	names := make([]string, 0, len(c.Namespaces))
	for name := range c.Namespaces {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		ns := c.Namespaces[name]
		if name == "" {
			errs = append(errs, errors.New("namespaces: a namespace name is empty"))
		}
		if !(ns.Weight >= 0) || math.IsInf(ns.Weight, 0) {
			errs = append(errs, fmt.Errorf("namespaces::%s::weight: must be zero (default_weight) or positive, got %v", name, ns.Weight))
		}
		if !(ns.RateLimit >= 0) || math.IsInf(ns.RateLimit, 0) {
			errs = append(errs, fmt.Errorf("namespaces::%s::rate_limit: must be zero (default_rate_limit) or positive, got %v", name, ns.RateLimit))
		}
	}
	if len(c.Namespaces) > c.MaxNamespaces && c.MaxNamespaces > 0 {
		errs = append(errs, fmt.Errorf("namespaces: %d configured, more than max_namespaces %d", len(c.Namespaces), c.MaxNamespaces))
	}
	return errors.Join(errs...)
}

// weight returns the weight and rate limit of namespace name.
func (c *Config) namespace(name string) (weight, rateLimit float64) {
	weight, rateLimit = c.DefaultWeight, c.DefaultRateLimit
	if ns, ok := c.Namespaces[name]; ok {
		if ns.Weight > 0 {
			weight = ns.Weight
		}
		if ns.RateLimit > 0 {
			rateLimit = ns.RateLimit
		}
	}
	return weight, rateLimit
}
