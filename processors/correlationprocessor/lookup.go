package correlationprocessor

import (
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/processor"

	"github.com/braidobs/braid/correlate"
)

// IndexLookup finds the trace index of the running correlation processor
// with the given ID; ok is false while none runs.
type IndexLookup func(id component.ID) (idx *correlate.TraceIndex, ok bool)

// NewFactoryWithIndexLookup is NewFactory, plus a lookup of the trace index
// of every processor the factory builds: Braid's drill-down API reads the
// index through it.
func NewFactoryWithIndexLookup(opts ...Option) (processor.Factory, IndexLookup) {
	f := newFactory(opts...)
	return f.processorFactory(), func(id component.ID) (*correlate.TraceIndex, bool) {
		if e := f.registry.get(id); e != nil {
			return e.index, true
		}
		return nil, false
	}
}
