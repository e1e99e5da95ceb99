package spanmetricsconnector

import (
	"reflect"
	"sync"

	"go.opentelemetry.io/collector/component"
)

// Aggregates keeps the series of span-metrics connectors across a rebuild of
// the pipelines (a configuration reload): a connector that shuts down leaves
// its series here, and the next connector built for the same ID, with an
// equal configuration and collector.instance.id, takes them over, so its
// cumulative counters and exemplars go on instead of starting again. At most
// one set of series is kept per ID, bounded by its max_series. Give it to
// the factory with [WithAggregates]. Safe for concurrent use.
type Aggregates struct {
	// mu guards kept.
	mu   sync.Mutex
	kept map[component.ID]keptAggregate
}

type keptAggregate struct {
	cfg        Config
	instanceID string
	agg        *aggregator
}

// NewAggregates returns an empty keeper.
func NewAggregates() *Aggregates {
	return &Aggregates{kept: map[component.ID]keptAggregate{}}
}

// take returns, and forgets, the series kept for id if they were made with
// cfg and instanceID.
func (a *Aggregates) take(id component.ID, cfg *Config, instanceID string) *aggregator {
	a.mu.Lock()
	defer a.mu.Unlock()
	k, ok := a.kept[id]
	delete(a.kept, id)
	if !ok || k.instanceID != instanceID || !reflect.DeepEqual(k.cfg, *cfg) {
		return nil
	}
	return k.agg
}

func (a *Aggregates) keep(id component.ID, cfg *Config, instanceID string, agg *aggregator) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.kept[id] = keptAggregate{cfg: *cfg, instanceID: instanceID, agg: agg}
}
