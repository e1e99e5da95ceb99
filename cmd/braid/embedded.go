package main

import (
	"context"
	_ "embed"
	"fmt"

	"go.opentelemetry.io/collector/confmap"
)

// defaultConfig is the configuration braid runs when no --config is given.
// It listens on localhost only and needs no backend.
//
//go:embed default.yaml
var defaultConfig []byte

const (
	embeddedScheme   = "braid"
	defaultConfigURI = embeddedScheme + ":default"
)

// embeddedProvider serves configurations compiled into the binary under the
// "braid:" scheme, so the default can be named like any other location and
// combined with --set overrides or further --config files.
type embeddedProvider struct{}

func newEmbeddedProviderFactory() confmap.ProviderFactory {
	return confmap.NewProviderFactory(func(confmap.ProviderSettings) confmap.Provider {
		return embeddedProvider{}
	})
}

func (embeddedProvider) Retrieve(_ context.Context, uri string, _ confmap.WatcherFunc) (*confmap.Retrieved, error) {
	if uri != defaultConfigURI {
		return nil, fmt.Errorf("unknown embedded configuration %q: the only one is %q", uri, defaultConfigURI)
	}
	return confmap.NewRetrievedFromYAML(defaultConfig)
}

func (embeddedProvider) Scheme() string { return embeddedScheme }

func (embeddedProvider) Shutdown(context.Context) error { return nil }
