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
	registry *Registry
	id       component.ID
	once     sync.Once
}

func newBase(e *engine, r *Registry, id component.ID) *base {
	return &base{e: e, registry: r, id: id}
}

func (b *base) start(_ context.Context, host component.Host) error {
	return b.e.start(host)
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
// the index, one resource at a time.
func (p *tracesProcessor) process(ctx context.Context, td ptrace.Traces) (ptrace.Traces, error) {
	var lc correlate.PodLookups
	bufp := spanBufs.Get().(*[]correlate.SpanRecord)
	recs := (*bufp)[:0]
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		id := p.e.identify(ctx, rs.Resource().Attributes(), "", &lc)
		recs = recs[:0]
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				s := spans.At(k)
				recs = append(recs, correlate.SpanRecord{
					TraceID:      s.TraceID(),
					SpanID:       s.SpanID(),
					ParentSpanID: s.ParentSpanID(),
					Name:         s.Name(),
					Service:      id.Service,
					PodKey:       id.Key,
					PodAltKey:    id.AltKey,
					Start:        s.StartTimestamp(),
					End:          s.EndTimestamp(),
					Error:        s.Status().Code() == ptrace.StatusCodeError,
				})
			}
		}
		p.e.index.AddSpans(recs)
	}
	clear(recs)
	*bufp = recs[:0]
	spanBufs.Put(bufp)
	p.e.tel.recordLookups(ctx, &lc)
	return td, nil
}

// spanBufs recycles the per-batch span buffers.
var spanBufs = sync.Pool{New: func() any { s := make([]correlate.SpanRecord, 0, 1024); return &s }}

// logTime is when a log record happened: its timestamp, or when it was
// observed.
func logTime(ts, observed pcommon.Timestamp) pcommon.Timestamp {
	if ts != 0 {
		return ts
	}
	return observed
}
