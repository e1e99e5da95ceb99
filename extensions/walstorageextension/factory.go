package walstorageextension

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension"
)

// Type is the extension's component type.
var Type = component.MustNewType("wal_storage")

// NewFactory returns the wal_storage extension's factory.
func NewFactory() extension.Factory {
	return extension.NewFactory(Type, createDefaultConfig,
		func(_ context.Context, set extension.Settings, cfg component.Config) (extension.Extension, error) {
			return newExtension(cfg.(*Config), set)
		},
		component.StabilityLevelAlpha)
}
