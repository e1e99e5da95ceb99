package correlationprocessor

import (
	"context"
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/braidobs/braid/correlate"
)

// base is what the three processors have in common: a reference to the
// shared engine, released once on shutdown.
type base struct {
	e        *engine
	registry *registry
	id       component.ID
	once     sync.Once
}

func newBase(e *engine, r *registry, id component.ID) *base {
	return &base{e: e, registry: r, id: id}
}

func (b *base) start(context.Context, component.Host) error {
	b.e.start()
	return nil
}

func (b *base) shutdown(context.Context) error {
	var err error
	b.once.Do(func() { err = b.registry.release(b.id) })
	return err
}

type tracesProcessor struct {
	*base
}

func (p *tracesProcessor) shutdown(ctx context.Context) error { return p.base.shutdown(ctx) }

// process gives each resource its pod identity and feeds every span into
// the index.
func (p *tracesProcessor) process(ctx context.Context, td ptrace.Traces) (ptrace.Traces, error) {
	var lc lookupCounts
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		id := p.e.identify(ctx, rs.Resource().Attributes(), "", &lc)
		rec := correlate.SpanRecord{Service: id.service, PodKey: id.key, PodAltKey: id.altKey}
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				s := spans.At(k)
				rec.TraceID = s.TraceID()
				rec.SpanID = s.SpanID()
				rec.ParentSpanID = s.ParentSpanID()
				rec.Name = s.Name()
				rec.Start = s.StartTimestamp()
				rec.End = s.EndTimestamp()
				rec.Error = s.Status().Code() == ptrace.StatusCodeError
				p.e.index.AddSpan(&rec)
			}
		}
	}
	p.e.tel.recordLookups(ctx, &lc)
	return td, nil
}

// logTime is when a log record happened: its timestamp, or when it was
// observed.
func logTime(ts, observed pcommon.Timestamp) pcommon.Timestamp {
	if ts != 0 {
		return ts
	}
	return observed
}
