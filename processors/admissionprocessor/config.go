package admissionprocessor

import (
	"errors"
	"fmt"
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

	// prevent unkeyed literal initialization
	_ struct{}
}

var _ confmap.Validator = (*Config)(nil)

func createDefaultConfig() component.Config {
	return &Config{MaxInFlightItems: 50000, RetryAfter: 5 * time.Second}
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
	return errors.Join(errs...)
}
