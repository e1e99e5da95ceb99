// Package testcollector runs a collector inside a test: Braid's component
// tests that need the real pipeline machinery (config resolution, the
// service graph, receivers on real ports) start one with Run.
package testcollector

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/provider/yamlprovider"
	"go.opentelemetry.io/collector/otelcol"
)

// Timeout bounds how long Run waits for the collector to start and stop.
const Timeout = 30 * time.Second

// Settings are the settings of a test collector built from factories and
// configured by the YAML document config.
func Settings(factories func() (otelcol.Factories, error), config string) otelcol.CollectorSettings {
	return otelcol.CollectorSettings{
		BuildInfo: component.BuildInfo{Command: "braid", Version: "test"},
		Factories: factories,
		ConfigProviderSettings: otelcol.ConfigProviderSettings{ResolverSettings: confmap.ResolverSettings{
			URIs:              []string{"yaml:" + config},
			ProviderFactories: []confmap.ProviderFactory{yamlprovider.NewFactory()},
		}},
	}
}

// Run starts a collector with set and waits until it runs. It returns the
// error of a collector that stopped before running (a port already taken,
// a bad config); the caller decides whether to retry. Once running, the
// collector is stopped when the test ends, or earlier by stop, which waits
// for it and reports an error from its shutdown; stop may be called more
// than once.
func Run(t testing.TB, set otelcol.CollectorSettings) (stop func(), err error) {
	t.Helper()
	col, err := otelcol.NewCollector(set)
	if err != nil {
		return nil, fmt.Errorf("new collector: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- col.Run(context.Background()) }()
	deadline := time.Now().Add(Timeout)
	for col.GetState() != otelcol.StateRunning {
		select {
		case err := <-done:
			return nil, fmt.Errorf("collector stopped early: %w", err)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			col.Shutdown()
			return nil, fmt.Errorf("collector not running after %s", Timeout)
		}
	}
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		col.Shutdown()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("collector stopped with an error: %v", err)
			}
		case <-time.After(Timeout):
			t.Errorf("collector did not stop within %s", Timeout)
		}
	}
	t.Cleanup(stop)
	return stop, nil
}
