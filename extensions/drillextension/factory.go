package drillextension

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension"

	"github.com/braidobs/braid/drill"
)

// Type is the extension's component type.
var Type = component.MustNewType("drill")

// IndexLookup finds the trace index of the correlation processor with the
// given ID in this collector; ok is false while no such processor runs.
type IndexLookup func(id component.ID) (idx drill.Index, ok bool)

// NewFactory returns the drill extension's factory; lookup connects it to
// the correlation processors of the same collector.
func NewFactory(lookup IndexLookup) extension.Factory {
	return extension.NewFactory(Type, createDefaultConfig,
		func(_ context.Context, set extension.Settings, cfg component.Config) (extension.Extension, error) {
			return newExtension(cfg.(*Config), set, lookup)
		},
		component.StabilityLevelAlpha)
}
