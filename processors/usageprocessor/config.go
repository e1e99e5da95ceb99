package usageprocessor

import (
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"

	"github.com/braidobs/braid/usage"
)

// Config is the usage processor's configuration. The exporters wrapped with
// [WrapExporter] use the same limits.
type Config struct {
	// TopN is how many keys (namespace, workload, service) each counter
	// reports under their own labels, per signal (and per exporter); the
	// rest are reported as "other". Default 20.
	TopN int `mapstructure:"top_n"`
	// Candidates is how many more keys are tracked, by volume only, so
	// that one that grows is noticed and gets its own series. Default 60.
	Candidates int `mapstructure:"candidates"`
	// RankInterval is how often the top keys are chosen again from their
	// recent volume (at a scrape of the self-metrics, when at least this
	// long has passed). Default 1m.
	RankInterval time.Duration `mapstructure:"rank_interval"`

	// prevent unkeyed literal initialization
	_ struct{}
}

var (
	_ component.Config  = (*Config)(nil)
	_ confmap.Validator = (*Config)(nil)
)

func createDefaultConfig() component.Config {
	return &Config{TopN: 20, Candidates: 60, RankInterval: time.Minute}
}

func (c *Config) limits() usage.Limits { return usage.Limits{TopN: c.TopN, Candidates: c.Candidates} }

// Validate names the key of every bad setting.
func (c *Config) Validate() error {
	var errs []error
	if c.TopN <= 0 {
		errs = append(errs, fmt.Errorf("top_n: must be positive, got %d", c.TopN))
	}
	if c.Candidates <= 0 {
		errs = append(errs, fmt.Errorf("candidates: must be positive, got %d", c.Candidates))
	}
	if c.RankInterval <= 0 {
		errs = append(errs, fmt.Errorf("rank_interval: must be positive, got %v", c.RankInterval))
	}
	return errors.Join(errs...)
}
