package drillextension

import (
	"context"
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension"

	"github.com/braidobs/braid/drill"
)

// Type is the extension's component type.
var Type = component.MustNewType("drill")

// IndexLookup finds the trace index of the correlation processor with the
// given ID in this collector; ok is false while no such processor runs.
type IndexLookup func(id component.ID) (idx drill.Index, ok bool)

// Option configures the factory.
type Option func(*factoryOptions)

type factoryOptions struct {
	alerts *AlertStores
}

// WithAlertStores keeps each extension's alert enrichments in stores, for
// the extension rebuilt after it (see [AlertStores]).
func WithAlertStores(stores *AlertStores) Option {
	return func(o *factoryOptions) { o.alerts = stores }
}

// NewFactory returns the drill extension's factory; lookup connects it to
// the correlation processors of the same collector.
func NewFactory(lookup IndexLookup, opts ...Option) extension.Factory {
	var o factoryOptions
	for _, opt := range opts {
		opt(&o)
	}
	return extension.NewFactory(Type, createDefaultConfig,
		func(_ context.Context, set extension.Settings, cfg component.Config) (extension.Extension, error) {
			e, err := newExtension(cfg.(*Config), set, lookup)
			if err != nil {
				return nil, err
			}
			if o.alerts != nil {
				e.alerts = o.alerts.store(set.ID, e.cfg.AlertsRetained)
			}
			return e, nil
		},
		component.StabilityLevelAlpha)
}

// AlertStores keeps the alert enrichments of drill extensions across a
// rebuild of the collector's components (a configuration reload): the
// extension rebuilt with the same ID and alerts_retained answers
// GET /api/v1/alerts/{fingerprint} for the alerts the old one received. One
// store per ID, bounded by its alerts_retained. Safe for concurrent use.
type AlertStores struct {
	// mu guards byID.
	mu   sync.Mutex
	byID map[component.ID]*drill.AlertStore
}

// NewAlertStores returns an empty set of stores.
func NewAlertStores() *AlertStores {
	return &AlertStores{byID: map[component.ID]*drill.AlertStore{}}
}

// store returns the store of id, a new one if it has none for max entries.
func (k *AlertStores) store(id component.ID, max int) *drill.AlertStore {
	k.mu.Lock()
	defer k.mu.Unlock()
	want := drill.NewAlertStore(max)
	if s, ok := k.byID[id]; ok && s.Max() == want.Max() {
		return s
	}
	k.byID[id] = want
	return want
}
