package correlationprocessor

import (
	"context"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/braidobs/braid/correlate"
)

// logsProcessor links log records to traces. With inferred links and a
// delay configured, records that have no trace context yet wait for their
// spans inside their own request, then go on linked or not: the request is
// answered only once every one of its records has been passed on, so the
// sender never holds a success for records that exist only in memory.
type logsProcessor struct {
	*base

	// budget bounds the records waiting (max_delayed_logs).
	budget *correlate.DelayBudget

	stopOnce sync.Once
	// stop is closed at shutdown: waiting requests go on at once.
	stop chan struct{}
}

func newLogsProcessor(b *base) *logsProcessor {
	return &logsProcessor{base: b, budget: correlate.NewDelayBudget(b.e.cfg.InferLogLinks.MaxDelayedLogs), stop: make(chan struct{})}
}

func (p *logsProcessor) delaying() bool {
	c := &p.e.cfg.InferLogLinks
	return c.Enabled && c.Delay > 0 && c.MaxDelayedLogs > 0
}

// shutdown ends the wait of every request still holding records, so they
// go on at once.
func (p *logsProcessor) shutdown(ctx context.Context) error {
	p.stopOnce.Do(func() { close(p.stop) })
	return p.base.shutdown(ctx)
}

// wait holds the request until its records' delay is up, its sender gives
// up, or Braid shuts down, whichever comes first.
func (p *logsProcessor) wait(ctx context.Context) {
	t := time.NewTimer(p.e.cfg.InferLogLinks.Delay)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	case <-p.stop:
	}
}

// linkHeld tries inference once more on held records and counts them.
func (p *logsProcessor) linkHeld(ld plog.Logs) {
	var counts [numOutcomes]int64
	linesp := unlinkedBufs.Get().(*[]correlate.UnlinkedLine)
	defer func() { unlinkedBufs.Put(linesp) }()
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		rl := rls.At(i)
		id := correlate.IdentityOf(correlate.PodFromAttributes(rl.Resource().Attributes()))
		lines := (*linesp)[:0]
		sls := rl.ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				lr := lrs.At(k)
				if why := p.infer(lr, &id); why == 0 {
					counts[outcomeInferred]++
				} else {
					counts[outcomeNone]++
					if len(lines) == unlinkedBatch {
						p.e.index.AddUnlinked(lines, id.Key, id.AltKey)
						lines = clearLines(lines)
					}
					lines = append(lines, unlinkedLine(lr, why))
				}
			}
		}
		p.e.index.AddUnlinked(lines, id.Key, id.AltKey)
		*linesp = clearLines(lines)
	}
	p.e.tel.recordOutcomes(context.Background(), &counts)
}

// infer links lr to the only span active in its pod at its timestamp, or
// says why it cannot.
func (p *logsProcessor) infer(lr plog.LogRecord, id *correlate.PodIdentity) correlate.UnlinkedReason {
	if !id.Known() {
		return correlate.UnlinkedPodNoSpans
	}
	ref, why := p.e.index.InferLink(logTime(lr.Timestamp(), lr.ObservedTimestamp()), id.Key, id.AltKey)
	if why != 0 {
		return why
	}
	correlate.ApplyTraceContext(lr, correlate.TraceContext{TraceID: ref.TraceID, SpanID: ref.SpanID, Source: correlate.SourceInferred})
	p.e.index.AddLogFrom(correlate.SourceInferred, ref.TraceID, id.Key, id.Service)
	return 0
}

// unlinkedLine is what the index keeps of a line that got no link: its
// body is read only when it is a string (no rendering of maps or bytes on
// this path).
func unlinkedLine(lr plog.LogRecord, why correlate.UnlinkedReason) correlate.UnlinkedLine {
	l := correlate.UnlinkedLine{Time: logTime(lr.Timestamp(), lr.ObservedTimestamp()), Reason: why}
	if b := lr.Body(); b.Type() == pcommon.ValueTypeStr {
		l.Body = b.Str()
	}
	return l
}

// clearLines empties lines for reuse, dropping the bodies it points at so
// a pooled buffer does not keep a request's records alive.
func clearLines(lines []correlate.UnlinkedLine) []correlate.UnlinkedLine {
	clear(lines)
	return lines[:0]
}

func (p *logsProcessor) process(ctx context.Context, ld plog.Logs) (plog.Logs, error) {
	var counts [numOutcomes]int64
	var lc correlate.PodLookups
	e := p.e
	infer := e.cfg.InferLogLinks.Enabled
	delaying := p.delaying()
	keepLines := e.cfg.UnlinkedLinesPerPod > 0

	var held plog.Logs
	heldN := 0

	idsp := traceIDBufs.Get().(*[]pcommon.TraceID)
	defer func() { traceIDBufs.Put(idsp) }()
	howp := sourceBufs.Get().(*[]correlate.Source)
	defer func() { sourceBufs.Put(howp) }()
	linesp := unlinkedBufs.Get().(*[]correlate.UnlinkedLine)
	defer func() { unlinkedBufs.Put(linesp) }()

	splitByLogPath(ld, e)
	joined := 0
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		rl := rls.At(i)
		id := e.identify(ctx, rl.Resource().Attributes(), firstLogPath(rl), &lc)
		// The trace IDs of this resource's records and how each was
		// linked, indexed at once, and its unlinked lines.
		ids, how := (*idsp)[:0], (*howp)[:0]
		lines := (*linesp)[:0]
		keep := func(lr plog.LogRecord, why correlate.UnlinkedReason) {
			if !keepLines {
				return
			}
			if len(lines) == unlinkedBatch {
				e.index.AddUnlinked(lines, id.Key, id.AltKey)
				lines = clearLines(lines)
			}
			lines = append(lines, unlinkedLine(lr, why))
		}
		var heldRL plog.ResourceLogs
		hasHeldRL := false
		sls := rl.ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			sl := sls.At(j)
			if e.cfg.Multiline.Enabled {
				joined += correlate.JoinContinuations(sl.LogRecords(), e.multiline)
			}
			var heldSL plog.ScopeLogs
			hasHeldSL := false
			sl.LogRecords().RemoveIf(func(lr plog.LogRecord) bool {
				tc := e.extractor.Extract(lr)
				switch tc.Source {
				case correlate.SourcePresent:
					counts[outcomePresent]++
					ids, how = append(ids, tc.TraceID), append(how, tc.Source)
					return false
				case correlate.SourceAttribute, correlate.SourceBody:
					if e.markExtracted {
						correlate.ApplyTraceContext(lr, tc)
					} else {
						correlate.WriteTraceIDs(lr, tc)
					}
					counts[outcomeExtracted]++
					ids, how = append(ids, tc.TraceID), append(how, tc.Source)
					return false
				}
				if !id.Known() {
					counts[outcomeNone]++
					return false
				}
				if !infer {
					counts[outcomeNone]++
					keep(lr, correlate.UnlinkedInferenceOff)
					return false
				}
				why := p.infer(lr, &id)
				if why == 0 {
					counts[outcomeInferred]++
					return false
				}
				if !delaying || !p.budget.Reserve() {
					counts[outcomeNone]++
					keep(lr, why)
					return false
				}
				// Hold the record for its spans to arrive.
				if heldN == 0 {
					held = plog.NewLogs()
				}
				if !hasHeldRL {
					heldRL = held.ResourceLogs().AppendEmpty()
					rl.Resource().CopyTo(heldRL.Resource())
					heldRL.SetSchemaUrl(rl.SchemaUrl())
					hasHeldRL = true
				}
				if !hasHeldSL {
					heldSL = heldRL.ScopeLogs().AppendEmpty()
					sl.Scope().CopyTo(heldSL.Scope())
					heldSL.SetSchemaUrl(sl.SchemaUrl())
					hasHeldSL = true
				}
				lr.MoveTo(heldSL.LogRecords().AppendEmpty())
				heldN++
				return true
			})
		}
		if hasHeldRL {
			rl.ScopeLogs().RemoveIf(func(sl plog.ScopeLogs) bool { return sl.LogRecords().Len() == 0 })
		}
		e.index.AddLinkedLogs(ids, how, id.Key, id.Service)
		*idsp, *howp = ids[:0], how[:0]
		e.index.AddUnlinked(lines, id.Key, id.AltKey)
		*linesp = clearLines(lines)
	}
	e.tel.recordOutcomes(ctx, &counts)
	e.tel.recordLookups(ctx, &lc)
	if joined > 0 {
		e.tel.joinedLines.Add(ctx, int64(joined))
	}

	if heldN > 0 {
		e.delayed.Add(int64(heldN))
		p.wait(ctx)
		p.linkHeld(held)
		p.budget.Release(heldN)
		e.delayed.Add(-int64(heldN))
		ld.ResourceLogs().RemoveIf(func(rl plog.ResourceLogs) bool { return rl.ScopeLogs().Len() == 0 })
		held.ResourceLogs().MoveAndAppendTo(ld.ResourceLogs())
	}
	return ld, nil
}

// traceIDBufs recycles the per-resource trace ID buffers.
var traceIDBufs = sync.Pool{New: func() any { s := make([]pcommon.TraceID, 0, 1024); return &s }}

// sourceBufs recycles the per-resource buffers of how records were linked.
var sourceBufs = sync.Pool{New: func() any { s := make([]correlate.Source, 0, 1024); return &s }}

// unlinkedBatch is how many unlinked lines of a resource are handed to
// the index at once; it keeps only the last few of a pod anyway.
const unlinkedBatch = 256

// unlinkedBufs recycles the per-resource buffers of unlinked lines.
var unlinkedBufs = sync.Pool{New: func() any { s := make([]correlate.UnlinkedLine, 0, unlinkedBatch); return &s }}

// firstLogPath returns the log.file.path attribute of the resource's first
// record; splitByLogPath has made it the same for all of them.
func firstLogPath(rl plog.ResourceLogs) string {
	sls := rl.ScopeLogs()
	for j := 0; j < sls.Len(); j++ {
		lrs := sls.At(j).LogRecords()
		if lrs.Len() > 0 {
			if v, ok := lrs.At(0).Attributes().Get(correlate.AttrLogFilePath); ok {
				return v.Str()
			}
			return ""
		}
	}
	return ""
}

// splitByLogPath moves the records of a resource that carry different
// container log paths, and no pod identity of their own, into one resource
// per path, so each can get its pod's identity.
func splitByLogPath(ld plog.Logs, e *engine) {
	if !e.identifier.LogPath {
		return
	}
	rls := ld.ResourceLogs()
	n := rls.Len()
	for i := 0; i < n; i++ {
		rl := rls.At(i)
		if correlate.PodFromAttributes(rl.Resource().Attributes()).Known() {
			continue
		}
		first, seen, mixed := "", false, false
		sls := rl.ScopeLogs()
		for j := 0; j < sls.Len() && !mixed; j++ {
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				path := ""
				if v, ok := lrs.At(k).Attributes().Get(correlate.AttrLogFilePath); ok {
					path = v.Str()
				}
				if !seen {
					first, seen = path, true
				} else if path != first {
					mixed = true
					break
				}
			}
		}
		if !mixed {
			continue
		}
		// One new resource per path other than the first.
		byPath := map[string]plog.ResourceLogs{}
		for j := 0; j < sls.Len(); j++ {
			sl := sls.At(j)
			scopes := map[string]plog.ScopeLogs{}
			sl.LogRecords().RemoveIf(func(lr plog.LogRecord) bool {
				path := ""
				if v, ok := lr.Attributes().Get(correlate.AttrLogFilePath); ok {
					path = v.Str()
				}
				if path == first {
					return false
				}
				dst, ok := scopes[path]
				if !ok {
					drl, ok := byPath[path]
					if !ok {
						drl = rls.AppendEmpty()
						rl.Resource().CopyTo(drl.Resource())
						drl.SetSchemaUrl(rl.SchemaUrl())
						byPath[path] = drl
					}
					dst = drl.ScopeLogs().AppendEmpty()
					sl.Scope().CopyTo(dst.Scope())
					dst.SetSchemaUrl(sl.SchemaUrl())
					scopes[path] = dst
				}
				lr.MoveTo(dst.LogRecords().AppendEmpty())
				return true
			})
		}
		rl.ScopeLogs().RemoveIf(func(sl plog.ScopeLogs) bool { return sl.LogRecords().Len() == 0 })
	}
}
