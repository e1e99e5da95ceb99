package correlate

import (
	"cmp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

const keyShards = 16

// keyIndex keeps, per pod or service key, rings of its recent trace IDs and
// spans. Keys are bounded by count (least recently updated evicted first)
// and by age.
type keyIndex struct {
	shards       [keyShards]keyShard
	capPerShard  int
	tracesPerKey int
	spansPerKey  int
	// linesPerKey bounds each key's ring of unlinked lines; zero keeps none.
	linesPerKey int
	evicted     atomic.Uint64
}

type keyShard struct {
	// mu guards every field below and every record reachable from them.
	mu         sync.Mutex
	m          map[string]*keyRecord
	head, tail *keyRecord // most and least recently updated
}

type spanRef struct {
	trace      pcommon.TraceID
	span       pcommon.SpanID
	start, end pcommon.Timestamp
	err        bool
}

type keyRecord struct {
	key string
	// alias is the pod's other key (namespace/name when key is its UID),
	// as its latest span said.
	alias    string
	traces   []pcommon.TraceID // ring
	tnext    int
	spans    []spanRef // ring
	snext    int
	lastSeen int64
	// evictedMaxEnd is the latest end of any span pushed out of the ring:
	// at or before it, the ring no longer knows every span.
	evictedMaxEnd pcommon.Timestamp
	// lines is a ring of recent unlinked log lines (pods only), lnext
	// where the next goes; droppedMaxTime is the latest time of any line
	// pushed out of it.
	lines          []unlinkedLine
	lnext          int
	dropped        bool
	droppedMaxTime pcommon.Timestamp
	prev, next     *keyRecord
}

func newKeyIndex(cfg IndexConfig, linesPerKey int) *keyIndex {
	k := &keyIndex{
		capPerShard:  max(1, cfg.MaxKeys/keyShards),
		tracesPerKey: cfg.TracesPerKey,
		spansPerKey:  cfg.SpansPerKey,
		linesPerKey:  linesPerKey,
	}
	if cfg.NoSpanHistory {
		k.spansPerKey = 0
	}
	for i := range k.shards {
		k.shards[i].m = make(map[string]*keyRecord)
	}
	return k
}

func (k *keyIndex) shard(key string) *keyShard {
	// FNV-1a, inline so hashing a key does not allocate.
	h := uint32(2166136261)
	for i := 0; i < len(key); i++ {
		h ^= uint32(key[i])
		h *= 16777619
	}
	return &k.shards[h%keyShards]
}

func (s *keyShard) unlink(r *keyRecord) {
	if r.prev != nil {
		r.prev.next = r.next
	} else {
		s.head = r.next
	}
	if r.next != nil {
		r.next.prev = r.prev
	} else {
		s.tail = r.prev
	}
	r.prev, r.next = nil, nil
}

func (s *keyShard) pushFront(r *keyRecord) {
	r.next = s.head
	if s.head != nil {
		s.head.prev = r
	}
	s.head = r
	if s.tail == nil {
		s.tail = r
	}
}

// record returns key's record, creating it when needed. The caller holds
// s.mu.
func (k *keyIndex) record(s *keyShard, key string, now int64) *keyRecord {
	if r, ok := s.m[key]; ok {
		s.unlink(r)
		s.pushFront(r)
		r.lastSeen = now
		return r
	}
	if len(s.m) >= k.capPerShard {
		old := s.tail
		s.unlink(old)
		delete(s.m, old.key)
		k.evicted.Add(1)
	}
	r := &keyRecord{key: strings.Clone(key), lastSeen: now}
	s.m[r.key] = r
	s.pushFront(r)
	return r
}

func (r *keyRecord) addTrace(id pcommon.TraceID, max int) {
	// Spans and lines of one trace come together: skip IDs among the last
	// few. (Ring positions by comparison, not %: this runs for every line.)
	n := len(r.traces)
	for i, k := 0, r.tnext; i < 4 && i < n; i++ {
		if k--; k < 0 {
			k = n - 1
		}
		if r.traces[k] == id {
			return
		}
	}
	if n < max {
		r.traces = append(r.traces, id)
	} else {
		r.traces[r.tnext] = id
	}
	if r.tnext++; r.tnext == max {
		r.tnext = 0
	}
}

func (k *keyIndex) add(key, alias string, ref *spanRef, now int64) {
	s := k.shard(key)
	s.mu.Lock()
	r := k.record(s, key, now)
	r.setAlias(alias)
	r.addSpan(ref, k.tracesPerKey, k.spansPerKey)
	s.mu.Unlock()
}

func (r *keyRecord) setAlias(alias string) {
	if alias != "" && alias != r.alias {
		r.alias = strings.Clone(alias)
	}
}

func (r *keyRecord) addSpan(ref *spanRef, tracesPerKey, spansPerKey int) {
	r.addTrace(ref.trace, tracesPerKey)
	if spansPerKey == 0 {
		return
	}
	if len(r.spans) < spansPerKey {
		r.spans = append(r.spans, *ref)
		r.snext = len(r.spans) % spansPerKey
		return
	}
	if old := r.spans[r.snext].end; old > r.evictedMaxEnd {
		r.evictedMaxEnd = old
	}
	r.spans[r.snext] = *ref
	r.snext = (r.snext + 1) % spansPerKey
}

// addRuns adds recs to the histories named by key, locking each history
// once per run of consecutive records with the same key; alias, when not
// nil, gives each history its other key.
func (k *keyIndex) addRuns(recs []SpanRecord, key, alias func(*SpanRecord) string, now int64) {
	for i := 0; i < len(recs); {
		kv := key(&recs[i])
		j := i + 1
		for j < len(recs) && key(&recs[j]) == kv {
			j++
		}
		if kv != "" {
			s := k.shard(kv)
			s.mu.Lock()
			r := k.record(s, kv, now)
			if alias != nil {
				r.setAlias(alias(&recs[j-1]))
			}
			for n := i; n < j; n++ {
				rec := &recs[n]
				if rec.TraceID.IsEmpty() {
					continue
				}
				ref := spanRef{trace: rec.TraceID, span: rec.SpanID, start: rec.Start, end: rec.End, err: rec.Error}
				r.addSpan(&ref, k.tracesPerKey, k.spansPerKey)
			}
			s.mu.Unlock()
		}
		i = j
	}
}

func (k *keyIndex) addTrace(key string, id pcommon.TraceID, now int64) {
	s := k.shard(key)
	s.mu.Lock()
	k.record(s, key, now).addTrace(id, k.tracesPerKey)
	s.mu.Unlock()
}

func (k *keyIndex) addTraces(key string, ids []pcommon.TraceID, now int64) {
	s := k.shard(key)
	s.mu.Lock()
	r := k.record(s, key, now)
	for _, id := range ids {
		if !id.IsEmpty() {
			r.addTrace(id, k.tracesPerKey)
		}
	}
	s.mu.Unlock()
}

// addTracesMasked adds to key's history the IDs whose bit is set in mask
// (bit i for ids[i]; at most 64 IDs).
func (k *keyIndex) addTracesMasked(key string, ids []pcommon.TraceID, mask uint64, now int64) {
	s := k.shard(key)
	s.mu.Lock()
	r := k.record(s, key, now)
	for i := range ids {
		if mask&(1<<i) != 0 {
			r.addTrace(ids[i], k.tracesPerKey)
		}
	}
	s.mu.Unlock()
}

// traces returns key's recent trace IDs, newest first.
func (k *keyIndex) traces(key string) []pcommon.TraceID {
	s := k.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.m[key]
	if !ok {
		return nil
	}
	n := len(r.traces)
	out := make([]pcommon.TraceID, 0, n)
	for i := 0; i < n; i++ {
		out = append(out, r.traces[(r.tnext-1-i+2*n)%n])
	}
	return out
}

// infer finds the span active at ts, or says why there is none (zero when
// there is one). known is false when the key has no history at all, so
// the caller may try another key.
func (k *keyIndex) infer(key string, ts pcommon.Timestamp) (ref SpanRef, why UnlinkedReason, known bool) {
	s := k.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	r, found := s.m[key]
	if !found {
		return SpanRef{}, UnlinkedPodNoSpans, false
	}
	if len(r.spans) == 0 {
		return SpanRef{}, UnlinkedPodNoSpans, true
	}
	if ts <= r.evictedMaxEnd {
		return SpanRef{}, UnlinkedHistoryTooShort, true
	}
	var best *spanRef
	for i := range r.spans {
		c := &r.spans[i]
		if c.start > ts || c.end < ts {
			continue
		}
		if best != nil && best.trace != c.trace {
			return SpanRef{}, UnlinkedAmbiguous, true
		}
		if best == nil || c.start > best.start {
			best = c
		}
	}
	if best == nil {
		return SpanRef{}, UnlinkedNoSpanActive, true
	}
	return best.export(), 0, true
}

// addLines keeps lines in key's ring, if key has a history; it reports
// whether it has. Only the last linesPerKey lines can stay, so only those
// are copied.
func (k *keyIndex) addLines(key string, lines []UnlinkedLine) bool {
	s := k.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	r, found := s.m[key]
	if !found {
		return false
	}
	if len(lines) > k.linesPerKey {
		for i := range lines[:len(lines)-k.linesPerKey] {
			r.droppedMaxTime = max(r.droppedMaxTime, lines[i].Time)
		}
		r.dropped = true
		lines = lines[len(lines)-k.linesPerKey:]
	}
	if r.lines == nil {
		r.lines = make([]unlinkedLine, 0, k.linesPerKey)
	}
	for i := range lines {
		var l *unlinkedLine
		if len(r.lines) < k.linesPerKey {
			r.lines = r.lines[:len(r.lines)+1]
			l = &r.lines[len(r.lines)-1]
		} else {
			l = &r.lines[r.lnext]
			r.droppedMaxTime = max(r.droppedMaxTime, l.time)
			r.dropped = true
		}
		l.set(&lines[i])
		if r.lnext++; r.lnext == k.linesPerKey {
			r.lnext = 0
		}
	}
	return true
}

// unlinkedIn returns key's kept lines with a time in [from, to], oldest
// first, and whether they are all the lines of that window it was given
// (none of them pushed out of the ring since).
func (k *keyIndex) unlinkedIn(key string, from, to pcommon.Timestamp) (out []UnlinkedLine, complete, found bool) {
	s := k.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	r, found := s.m[key]
	if !found {
		return nil, false, false
	}
	for i := range r.lines {
		l := &r.lines[i]
		if l.time >= from && l.time <= to {
			out = append(out, l.export())
		}
	}
	slices.SortStableFunc(out, func(a, b UnlinkedLine) int { return cmp.Compare(a.Time, b.Time) })
	return out, !r.dropped || r.droppedMaxTime < from, true
}

// spansOf returns the spans of trace id in key's history, by start, and
// the key's alias.
func (k *keyIndex) spansOf(key string, id pcommon.TraceID) (out []SpanRef, alias string, found bool) {
	s := k.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	r, found := s.m[key]
	if !found {
		return nil, "", false
	}
	alias = r.alias
	for i := range r.spans {
		if r.spans[i].trace == id {
			out = append(out, r.spans[i].export())
		}
	}
	slices.SortStableFunc(out, func(a, b SpanRef) int { return cmp.Compare(a.Start, b.Start) })
	return out, alias, true
}

func (c *spanRef) export() SpanRef {
	return SpanRef{TraceID: c.trace, SpanID: c.span, Start: c.start, End: c.end, Error: c.err}
}

// recent returns the most recently ended span of key that matches f.
func (k *keyIndex) recent(key string, f SpanFilter) (SpanRef, bool) {
	s := k.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	r, found := s.m[key]
	if !found {
		return SpanRef{}, false
	}
	var best *spanRef
	for i := range r.spans {
		c := &r.spans[i]
		if f.match(c) && (best == nil || c.end > best.end) {
			best = c
		}
	}
	if best == nil {
		return SpanRef{}, false
	}
	return best.export(), true
}

func (k *keyIndex) expire(now, ttl int64) {
	for i := range k.shards {
		s := &k.shards[i]
		s.mu.Lock()
		for s.tail != nil && now-s.tail.lastSeen > ttl {
			old := s.tail
			s.unlink(old)
			delete(s.m, old.key)
			k.evicted.Add(1)
		}
		s.mu.Unlock()
	}
}

func (k *keyIndex) len() int {
	n := 0
	for i := range k.shards {
		s := &k.shards[i]
		s.mu.Lock()
		n += len(s.m)
		s.mu.Unlock()
	}
	return n
}
