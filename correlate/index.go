package correlate

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// maxValuesPerTrace bounds the services and pods remembered per trace.
const maxValuesPerTrace = 8

// internLimit bounds the index's table of interned strings; the table is
// cleared when it fills, so memory stays bounded under any cardinality.
const internLimit = 65536

// IndexConfig bounds a [TraceIndex].
type IndexConfig struct {
	// MaxTraces is the most traces with spans held; the least recently
	// updated of them is evicted to make room. Must be positive.
	MaxTraces int
	// MaxLogOnlyTraces is the most traces held that only log records have
	// named so far. They have a bound of their own, and make room among
	// themselves only: under head sampling most trace IDs in logs never get
	// spans, and they must not push out the traces that have. A log-only
	// trace that gets a span moves under MaxTraces. Zero means MaxTraces/4;
	// negative is refused.
	MaxLogOnlyTraces int
	// TTL is how long a trace stays after its last update. Must be positive.
	TTL time.Duration
	// Shards is the number of independently locked parts. Zero means 16.
	Shards int
	// MaxKeys is the most pods, and separately the most services, with a
	// history of recent traces and spans. Zero means 4096.
	MaxKeys int
	// TracesPerKey is how many recent trace IDs are kept per pod and per
	// service. Zero means 64.
	TracesPerKey int
	// SpansPerKey is how many recent spans are kept per pod and per service
	// (for inferred log links and exemplars). Zero means 128.
	SpansPerKey int
	// NoSpanHistory keeps no recent spans at all, only recent trace IDs:
	// cheaper when neither InferSpan nor RecentSpan is used (they then find
	// nothing).
	NoSpanHistory bool
	// UnlinkedPerKey is how many recent log lines left without a trace
	// are kept per pod (see [TraceIndex.AddUnlinked]), each with its time,
	// why, and the first [UnlinkedBodyBytes] bytes of its body. Zero means
	// 16.
	UnlinkedPerKey int
	// NoUnlinkedLines keeps no unlinked lines at all.
	NoUnlinkedLines bool
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// DefaultIndexConfig returns the defaults Braid's processor uses.
func DefaultIndexConfig() IndexConfig {
	return IndexConfig{MaxTraces: 100_000, MaxLogOnlyTraces: 25_000, TTL: 10 * time.Minute, Shards: 16, MaxKeys: 4096, TracesPerKey: 64, SpansPerKey: 128}
}

// TraceSummary is what the index knows about one trace.
type TraceSummary struct {
	TraceID pcommon.TraceID
	// Services are the services that sent spans or logs of the trace
	// (their service.name), at most 8.
	Services []string
	// Pods are the keys (UID, or namespace/name) of the pods that sent spans
	// or logs of the trace, at most 8.
	Pods []string
	// Start and End span the trace's spans seen so far.
	Start, End time.Time
	// RootName and RootService name the root span, when it has been seen.
	RootName, RootService string
	// Error is true when any span has status Error.
	Error     bool
	SpanCount int
	// LogCount is the number of log records linked to the trace, and
	// LogLinks says how they were.
	LogCount int
	LogLinks LogLinks
	// Exemplars is the number of exemplars Braid added to metric points
	// pointing at the trace ([TraceIndex.AddExemplar]); exemplars that came
	// with the points (span metrics) are not counted here.
	Exemplars int
}

// LogLinks counts a trace's log records by how they were linked.
type LogLinks struct {
	// Present carried the trace ID in the record's own field.
	Present int `json:"present"`
	// Attribute and Body had it in an attribute or in the body, where Braid
	// read it.
	Attribute int `json:"attribute"`
	Body      int `json:"body"`
	// Inferred had none: Braid linked them to the only span active in their
	// pod at their time.
	Inferred int `json:"inferred"`
	// Unknown were counted by a caller that did not say how
	// ([TraceIndex.AddLog], [TraceIndex.AddLogs]).
	Unknown int `json:"unknown,omitempty"`
}

func (l *LogLinks) add(src Source, n int) {
	switch src {
	case SourcePresent:
		l.Present += n
	case SourceAttribute:
		l.Attribute += n
	case SourceBody:
		l.Body += n
	case SourceInferred:
		l.Inferred += n
	default:
		l.Unknown += n
	}
}

// Duration is End minus Start.
func (s TraceSummary) Duration() time.Duration { return s.End.Sub(s.Start) }

// Query filters and limits the traces of a pod or service.
type Query struct {
	// Since drops traces that ended before it.
	Since time.Time
	// ErrorsOnly keeps only traces with an error span.
	ErrorsOnly bool
	// MinDuration drops shorter traces.
	MinDuration time.Duration
	// Limit caps the result; zero means no cap.
	Limit int
}

// SpanRecord is one span as the index takes it in.
type SpanRecord struct {
	TraceID      pcommon.TraceID
	SpanID       pcommon.SpanID
	ParentSpanID pcommon.SpanID
	Name         string
	// Service is the span's service.name. Braid keys services by name
	// alone, as span metrics (service_name) and Loki labels do.
	Service string
	// PodKey is the pod's key (see [Pod.Key]); PodAltKey, when set, is a
	// second key for the same pod (namespace/name when PodKey is the UID),
	// so that signals naming the pod either way meet.
	PodKey, PodAltKey string
	Start, End        pcommon.Timestamp
	Error             bool
}

// SpanRef points at a span remembered for a pod or service.
type SpanRef struct {
	TraceID    pcommon.TraceID
	SpanID     pcommon.SpanID
	Start, End pcommon.Timestamp
	Error      bool
}

// Duration is End minus Start.
func (r SpanRef) Duration() time.Duration {
	if r.End < r.Start {
		return 0
	}
	return time.Duration(r.End - r.Start)
}

// SpanFilter selects a recent span for an exemplar.
type SpanFilter struct {
	// From and To bound the span's end time (inclusive); zero To means no
	// upper bound.
	From, To pcommon.Timestamp
	// MinDuration and MaxDuration bound the span's duration; a zero
	// MaxDuration means no upper bound. A histogram bucket (lo, hi] is
	// MinDuration lo exclusive: see MinExclusive.
	MinDuration, MaxDuration time.Duration
	// MinExclusive makes MinDuration exclusive.
	MinExclusive bool
	ErrorsOnly   bool
}

func (f SpanFilter) match(r *spanRef) bool {
	if r.end < f.From || (f.To != 0 && r.end > f.To) {
		return false
	}
	if f.ErrorsOnly && !r.err {
		return false
	}
	d := time.Duration(0)
	if r.end > r.start {
		d = time.Duration(r.end - r.start)
	}
	if d < f.MinDuration || (f.MinExclusive && d == f.MinDuration) {
		return false
	}
	return f.MaxDuration == 0 || d <= f.MaxDuration
}

// ServiceKey joins a service namespace and name as "namespace/name" (the
// name alone when the namespace is empty), for callers that key services by
// both. Braid's correlation processor keys the index by service.name alone.
func ServiceKey(namespace, name string) string {
	if namespace == "" {
		return name
	}
	return namespace + "/" + name
}

// IndexStats are a [TraceIndex]'s counters.
type IndexStats struct {
	// Traces is the number of traces held.
	Traces int
	// EvictedCapacity and EvictedTTL count traces evicted to make room and
	// because they aged out.
	EvictedCapacity, EvictedTTL uint64
	// LogOnlyTraces is how many of Traces only logs have named, and
	// EvictedLogOnly how many of EvictedCapacity were log-only traces
	// making room for other log-only traces.
	LogOnlyTraces  int
	EvictedLogOnly uint64
	// Keys is the number of pods and services with a history, and
	// KeysEvicted how many histories were dropped (room or age).
	Keys        int
	KeysEvicted uint64
}

// TraceIndex maps trace IDs to what is known about their traces, and pods
// and services to their recent traces and spans. It is bounded by count and
// age, sharded for concurrency, and safe for concurrent use. Build it with
// [NewTraceIndex].
type TraceIndex struct {
	shards []traceShard
	pods   *keyIndex
	svcs   *keyIndex
	names  nameTable
	ttl    time.Duration
	now    func() time.Time

	count, logOnly                         atomic.Int64
	evictedCap, evictedTTL, evictedLogOnly atomic.Uint64
}

// NewTraceIndex validates cfg and builds an empty index. Configuration
// errors name the configuration key.
func NewTraceIndex(cfg IndexConfig) (*TraceIndex, error) {
	if cfg.MaxTraces <= 0 {
		return nil, fmt.Errorf("max_traces must be positive, got %d", cfg.MaxTraces)
	}
	if cfg.TTL <= 0 {
		return nil, fmt.Errorf("ttl must be positive, got %s", cfg.TTL)
	}
	if cfg.MaxLogOnlyTraces < 0 {
		return nil, fmt.Errorf("max_log_only_traces must not be negative, got %d", cfg.MaxLogOnlyTraces)
	}
	if cfg.MaxLogOnlyTraces == 0 {
		cfg.MaxLogOnlyTraces = max(1, cfg.MaxTraces/4)
	}
	if cfg.Shards < 0 || cfg.MaxKeys < 0 || cfg.TracesPerKey < 0 || cfg.SpansPerKey < 0 {
		return nil, fmt.Errorf("shards, max_keys, traces_per_key and spans_per_key must not be negative")
	}
	if cfg.UnlinkedPerKey < 0 {
		return nil, fmt.Errorf("unlinked_lines_per_pod must not be negative, got %d", cfg.UnlinkedPerKey)
	}
	if cfg.UnlinkedPerKey == 0 {
		cfg.UnlinkedPerKey = 16
	}
	if cfg.Shards == 0 {
		cfg.Shards = 16
	}
	if cfg.Shards > cfg.MaxTraces {
		cfg.Shards = cfg.MaxTraces
	}
	if cfg.MaxKeys == 0 {
		cfg.MaxKeys = 4096
	}
	if cfg.TracesPerKey == 0 {
		cfg.TracesPerKey = 64
	}
	if cfg.SpansPerKey == 0 {
		cfg.SpansPerKey = 128
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	t := &TraceIndex{shards: make([]traceShard, cfg.Shards), ttl: cfg.TTL, now: cfg.Now, names: nameTable{m: make(map[string]string)}}
	// Spread the capacity so the shards add up to MaxTraces exactly (and
	// MaxLogOnlyTraces, but for at least one per shard).
	spread := func(total, i int) int {
		c := total / cfg.Shards
		if i < total%cfg.Shards {
			c++
		}
		return max(c, 1)
	}
	for i := range t.shards {
		t.shards[i] = traceShard{
			cap:  [2]int{spanBacked: spread(cfg.MaxTraces, i), logOnly: spread(cfg.MaxLogOnlyTraces, i)},
			head: [2]int32{-1, -1}, tail: [2]int32{-1, -1}, free: -1,
		}
	}
	lines := cfg.UnlinkedPerKey
	if cfg.NoUnlinkedLines {
		lines = 0
	}
	t.pods = newKeyIndex(cfg, lines)
	t.svcs = newKeyIndex(cfg, 0)
	return t, nil
}

type traceEntry struct {
	id                    pcommon.TraceID
	services, pods        []string
	start, end            pcommon.Timestamp
	rootName, rootService string
	lastSeen              int64 // unix nanoseconds, index clock
	spans, logs           uint32
	logsBy                logCounts
	exemplars             uint32
	prev, next            int32
	list                  traceList
	err                   bool
}

// traceList names the two lists of a shard's entries.
type traceList uint8

const (
	spanBacked traceList = iota // traces with at least one span
	logOnly                     // traces only log records have named
)

// traceShard is one independently locked part of the index: a map from
// trace ID to a slot in entries, and two lists through the slots from most
// to least recently updated, one for traces with spans and one for traces
// only logs have named, each with its own bound.
type traceShard struct {
	// mu guards every field below.
	mu         sync.Mutex
	cap, n     [2]int // per list: bound and entries held
	m          traceTable
	entries    []traceEntry
	head, tail [2]int32 // per list: most and least recently updated
	free       int32    // a chain of free slots through next
}

func (t *TraceIndex) shard(id pcommon.TraceID) *traceShard {
	return &t.shards[binary.LittleEndian.Uint64(id[8:])%uint64(len(t.shards))]
}

// nameTable interns the strings that entries keep (services, pod keys and
// root span names), so that each is held once however many traces name it,
// and entries never pin the request buffers the strings were read from.
type nameTable struct {
	// mu guards m.
	mu sync.Mutex
	m  map[string]string
}

func (n *nameTable) intern(v string) string {
	if v == "" {
		return ""
	}
	n.mu.Lock()
	c, ok := n.m[v]
	if !ok {
		if len(n.m) >= internLimit {
			clear(n.m)
		}
		c = strings.Clone(v)
		n.m[c] = c
	}
	n.mu.Unlock()
	return c
}

// internCache remembers the last string interned, for runs of records that
// repeat it: the spans and log lines of one resource share their service
// and pod, so a batch takes the table's lock once per resource, not once
// per record.
type internCache struct{ in, out string }

func (c *internCache) intern(n *nameTable, v string) string {
	if v == "" {
		return ""
	}
	if c.out == "" || v != c.in {
		c.in, c.out = v, n.intern(v)
	}
	return c.out
}

func (s *traceShard) unlink(i int32) {
	e := &s.entries[i]
	if e.prev >= 0 {
		s.entries[e.prev].next = e.next
	} else {
		s.head[e.list] = e.next
	}
	if e.next >= 0 {
		s.entries[e.next].prev = e.prev
	} else {
		s.tail[e.list] = e.prev
	}
	e.prev, e.next = -1, -1
}

func (s *traceShard) pushFront(i int32) {
	e := &s.entries[i]
	l := e.list
	e.prev, e.next = -1, s.head[l]
	if s.head[l] >= 0 {
		s.entries[s.head[l]].prev = i
	}
	s.head[l] = i
	if s.tail[l] < 0 {
		s.tail[l] = i
	}
}

// remove frees slot i.
func (t *TraceIndex) remove(s *traceShard, i int32) {
	s.unlink(i)
	e := &s.entries[i]
	s.n[e.list]--
	if e.list == logOnly {
		t.logOnly.Add(-1)
	}
	t.count.Add(-1)
	s.m.remove(e.id, s.entries)
	*e = traceEntry{services: e.services[:0], pods: e.pods[:0], prev: -1, next: s.free}
	s.free = i
}

// makeRoom evicts the least recently updated entry of list l when the list
// is full. The caller holds s.mu.
func (t *TraceIndex) makeRoom(s *traceShard, l traceList, now int64) {
	if s.n[l] < s.cap[l] {
		return
	}
	tail := s.tail[l]
	switch {
	case now-s.entries[tail].lastSeen > int64(t.ttl):
		t.evictedTTL.Add(1)
	case l == logOnly:
		t.evictedLogOnly.Add(1)
		t.evictedCap.Add(1)
	default:
		t.evictedCap.Add(1)
	}
	t.remove(s, tail)
}

// entry returns the slot of id, creating it (and evicting to make room in
// its list) when needed: in list l, spanBacked for a span, logOnly for a
// log record. A log-only entry that gets a span moves to the spanBacked
// list. The caller holds s.mu.
func (t *TraceIndex) entry(s *traceShard, id pcommon.TraceID, l traceList, now int64) *traceEntry {
	if i, ok := s.m.find(id, s.entries); ok {
		e := &s.entries[i]
		if now-e.lastSeen > int64(t.ttl) {
			// Aged out but not swept yet: start afresh.
			t.remove(s, i)
			t.evictedTTL.Add(1)
		} else {
			s.unlink(i)
			if l == spanBacked && e.list == logOnly {
				s.n[logOnly]--
				t.logOnly.Add(-1)
				// e is unlinked from the log-only list: not the tail
				// that makes room in the other.
				t.makeRoom(s, spanBacked, now)
				e.list = spanBacked
				s.n[spanBacked]++
			}
			s.pushFront(i)
			e.lastSeen = now
			return e
		}
	}
	t.makeRoom(s, l, now)
	var i int32
	if s.free >= 0 {
		i = s.free
		s.free = s.entries[i].next
	} else {
		s.entries = append(s.entries, traceEntry{})
		i = int32(len(s.entries) - 1)
	}
	e := &s.entries[i]
	e.id, e.lastSeen, e.list = id, now, l
	s.m.insert(id, i)
	s.pushFront(i)
	s.n[l]++
	if l == logOnly {
		t.logOnly.Add(1)
	}
	t.count.Add(1)
	return e
}

// addValue adds v to list unless it is there or the list is full. A value
// new to the list is interned through c; a nil c means v is interned
// already.
func (t *TraceIndex) addValue(list []string, v string, c *internCache) []string {
	if v == "" || len(list) >= maxValuesPerTrace || slices.Contains(list, v) {
		return list
	}
	if c != nil {
		v = c.intern(&t.names, v)
	}
	return append(list, v)
}

// spanInterner holds an [internCache] for each string the index keeps of a
// span.
type spanInterner struct{ name, service, pod internCache }

// AddSpan records one span: its trace's entry, and its pod's and service's
// recent history.
func (t *TraceIndex) AddSpan(r *SpanRecord) {
	if r.TraceID.IsEmpty() {
		return
	}
	now := t.now().UnixNano()
	var si spanInterner
	t.addEntries([]SpanRecord{*r}, &si, now)
	ref := spanRef{trace: r.TraceID, span: r.SpanID, start: r.Start, end: r.End, err: r.Error}
	if r.PodKey != "" {
		t.pods.add(r.PodKey, r.PodAltKey, &ref, now)
	}
	if r.PodAltKey != "" {
		t.pods.add(r.PodAltKey, "", &ref, now)
	}
	if r.Service != "" {
		t.svcs.add(r.Service, "", &ref, now)
	}
}

// AddSpans records a batch of spans, as AddSpan does for each. It reads the
// clock once, and updates the history of a pod or service once for each run
// of consecutive spans that share it (the spans of one resource), which
// makes it several times cheaper per span than AddSpan.
func (t *TraceIndex) AddSpans(recs []SpanRecord) {
	now := t.now().UnixNano()
	var si spanInterner
	// Spans of one trace often come together: one entry look-up per run.
	for i := 0; i < len(recs); {
		j := i + 1
		for j < len(recs) && recs[j].TraceID == recs[i].TraceID {
			j++
		}
		if !recs[i].TraceID.IsEmpty() {
			t.addEntries(recs[i:j], &si, now)
		}
		i = j
	}
	t.pods.addRuns(recs, func(r *SpanRecord) string { return r.PodKey }, func(r *SpanRecord) string { return r.PodAltKey }, now)
	t.pods.addRuns(recs, func(r *SpanRecord) string { return r.PodAltKey }, nil, now)
	t.svcs.addRuns(recs, func(r *SpanRecord) string { return r.Service }, nil, now)
}

// addEntries records spans of one trace in its entry.
func (t *TraceIndex) addEntries(recs []SpanRecord, si *spanInterner, now int64) {
	s := t.shard(recs[0].TraceID)
	s.mu.Lock()
	e := t.entry(s, recs[0].TraceID, spanBacked, now)
	// A trace that only logs had named gets its first span: the pods that
	// logged its lines now have it in their histories.
	var logPods [maxValuesPerTrace]string
	n := 0
	if e.spans == 0 && e.logs > 0 {
		n = copy(logPods[:], e.pods)
	}
	for i := range recs {
		r := &recs[i]
		if e.start == 0 || (r.Start != 0 && r.Start < e.start) {
			e.start = r.Start
		}
		if r.End > e.end {
			e.end = r.End
		}
		e.spans++
		e.err = e.err || r.Error
		if r.ParentSpanID.IsEmpty() {
			e.rootName, e.rootService = si.name.intern(&t.names, r.Name), si.service.intern(&t.names, r.Service)
		}
		e.services = t.addValue(e.services, r.Service, &si.service)
		e.pods = t.addValue(e.pods, r.PodKey, &si.pod)
	}
	s.mu.Unlock()
	for _, pod := range logPods[:n] {
		t.pods.addTrace(pod, recs[0].TraceID, now)
	}
}

// AddLog counts a log record of a trace, from the given pod and service
// keys (either may be empty), without saying how it was linked: as
// AddLogFrom with [SourceNone], counted in [LogLinks.Unknown].
func (t *TraceIndex) AddLog(traceID pcommon.TraceID, podKey, service string) {
	t.AddLogFrom(SourceNone, traceID, podKey, service)
}

// AddLogFrom counts a log record of a trace, linked as src says, from the
// given pod and service keys (either may be empty). A trace seen only
// through logs gets an entry too, so logs that arrive before their spans
// are counted, but under its own bound ([IndexConfig.MaxLogOnlyTraces]);
// and it enters the pod's history of recent traces only once it has spans.
func (t *TraceIndex) AddLogFrom(src Source, traceID pcommon.TraceID, podKey, service string) {
	if traceID.IsEmpty() {
		return
	}
	now := t.now().UnixNano()
	var n logCounts
	n.add(src, 1)
	backed := t.addLogEntry(traceID, t.names.intern(podKey), t.names.intern(service), now, &n)
	if podKey != "" && backed {
		t.pods.addTrace(podKey, traceID, now)
	}
}

// AddLogs counts log records of the given traces, all from one pod and
// service, as AddLog does for each: as AddLinkedLogs without how.
func (t *TraceIndex) AddLogs(traceIDs []pcommon.TraceID, podKey, service string) {
	t.AddLinkedLogs(traceIDs, nil, podKey, service)
}

// AddLinkedLogs counts log records of the given traces, all from one pod
// and service, as AddLogFrom does for each: how[i] says how the record of
// traceIDs[i] was linked ([SourceNone] past the end of how). It reads the
// clock and updates the pod's history once.
func (t *TraceIndex) AddLinkedLogs(traceIDs []pcommon.TraceID, how []Source, podKey, service string) {
	if len(traceIDs) == 0 {
		return
	}
	now := t.now().UnixNano()
	// One pod and service for the whole call: interned once.
	pod, svc := t.names.intern(podKey), t.names.intern(service)
	// Lines of one request usually come together: one update per run. The
	// pod's history gets the traces with spans, 64 lines at a time.
	for start := 0; start < len(traceIDs); start += 64 {
		ids := traceIDs[start:min(start+64, len(traceIDs))]
		var backed uint64
		for i := 0; i < len(ids); {
			j := i + 1
			for j < len(ids) && ids[j] == ids[i] {
				j++
			}
			if !ids[i].IsEmpty() {
				var n logCounts
				for k := start + i; k < start+j; k++ {
					src := SourceNone
					if k < len(how) {
						src = how[k]
					}
					n.add(src, 1)
				}
				if t.addLogEntry(ids[i], pod, svc, now, &n) {
					backed |= 1 << i
				}
			}
			i = j
		}
		if podKey != "" && backed != 0 {
			t.pods.addTracesMasked(podKey, ids, backed, now)
		}
	}
}

// logCounts counts lines by how they were linked (by Source).
type logCounts [SourceInferred + 1]uint32

func (c *logCounts) add(src Source, n uint32) {
	if src > SourceInferred {
		src = SourceNone
	}
	c[src] += n
}

// addLogEntry counts lines of a trace from a pod and service, both
// interned already, and reports whether the trace has spans.
func (t *TraceIndex) addLogEntry(traceID pcommon.TraceID, pod, service string, now int64, n *logCounts) bool {
	s := t.shard(traceID)
	s.mu.Lock()
	e := t.entry(s, traceID, logOnly, now)
	for src, c := range n {
		e.logs += c
		e.logsBy[src] += c
	}
	e.services = t.addValue(e.services, service, nil)
	e.pods = t.addValue(e.pods, pod, nil)
	backed := e.list == spanBacked
	s.mu.Unlock()
	return backed
}

// Get returns the summary of a trace.
func (t *TraceIndex) Get(traceID pcommon.TraceID) (TraceSummary, bool) {
	now := t.now().UnixNano()
	s := t.shard(traceID)
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.m.find(traceID, s.entries)
	if !ok || now-s.entries[i].lastSeen > int64(t.ttl) {
		return TraceSummary{}, false
	}
	e := &s.entries[i]
	var ll LogLinks
	for src, n := range e.logsBy {
		ll.add(Source(src), int(n))
	}
	return TraceSummary{
		TraceID:     e.id,
		Services:    slices.Clone(e.services),
		Pods:        slices.Clone(e.pods),
		Start:       e.start.AsTime(),
		End:         e.end.AsTime(),
		RootName:    e.rootName,
		RootService: e.rootService,
		Error:       e.err,
		SpanCount:   int(e.spans),
		LogCount:    int(e.logs),
		LogLinks:    ll,
		Exemplars:   int(e.exemplars),
	}, true
}

// AddExemplar counts an exemplar added to a metric point that points at a
// trace the index holds (a trace it does not hold is not counted, and gets
// no entry).
func (t *TraceIndex) AddExemplar(traceID pcommon.TraceID) {
	now := t.now().UnixNano()
	s := t.shard(traceID)
	s.mu.Lock()
	if i, ok := s.m.find(traceID, s.entries); ok && now-s.entries[i].lastSeen <= int64(t.ttl) {
		s.entries[i].exemplars++
	}
	s.mu.Unlock()
}

// TracesForPod returns the recent traces of a pod (by UID, or
// namespace/name), errors first, then slowest first.
func (t *TraceIndex) TracesForPod(uid string, q Query) []TraceSummary {
	return t.query(t.pods.traces(uid), q)
}

// TracesForService returns the recent traces of a service (by its
// service.name), errors first, then slowest first.
func (t *TraceIndex) TracesForService(name string, q Query) []TraceSummary {
	return t.query(t.svcs.traces(name), q)
}

func (t *TraceIndex) query(ids []pcommon.TraceID, q Query) []TraceSummary {
	out := make([]TraceSummary, 0, len(ids))
	for _, id := range ids {
		s, ok := t.Get(id)
		if !ok {
			continue
		}
		if (!q.Since.IsZero() && s.End.Before(q.Since)) || (q.ErrorsOnly && !s.Error) || s.Duration() < q.MinDuration {
			continue
		}
		out = append(out, s)
	}
	slices.SortStableFunc(out, func(a, b TraceSummary) int {
		if a.Error != b.Error {
			if a.Error {
				return -1
			}
			return 1
		}
		return int(b.Duration() - a.Duration())
	})
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out
}

// InferSpan answers the question behind inferred log links: which span was
// active in the pod (tried under each key in turn) at instant ts? It finds
// a span only when every span active at ts belongs to one trace, and the
// pod's remembered history reaches back far enough to be sure of that; the
// span returned is the innermost active one (the latest to start). Anything
// ambiguous or unknown gives false.
func (t *TraceIndex) InferSpan(ts pcommon.Timestamp, podKeys ...string) (SpanRef, bool) {
	ref, why := t.InferLink(ts, podKeys...)
	return ref, why == 0
}

// InferLink is InferSpan that says why it found no span: the reason is
// zero when it found one.
func (t *TraceIndex) InferLink(ts pcommon.Timestamp, podKeys ...string) (SpanRef, UnlinkedReason) {
	for _, k := range podKeys {
		if k == "" {
			continue
		}
		if ref, why, known := t.pods.infer(k, ts); known {
			return ref, why
		}
	}
	return SpanRef{}, UnlinkedPodNoSpans
}

// RecentSpan returns the most recently ended span that matches f, from the
// first of the pod keys that has one, else from the service.
func (t *TraceIndex) RecentSpan(f SpanFilter, service string, podKeys ...string) (SpanRef, bool) {
	for _, k := range podKeys {
		if k == "" {
			continue
		}
		if ref, ok := t.pods.recent(k, f); ok {
			return ref, true
		}
	}
	if service != "" {
		return t.svcs.recent(service, f)
	}
	return SpanRef{}, false
}

// Expire evicts every trace and history not updated within the TTL, and
// returns how many traces it evicted. Braid's processor calls it
// periodically; lookups ignore aged-out entries even before it runs.
func (t *TraceIndex) Expire() int {
	now := t.now().UnixNano()
	n := 0
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		for _, l := range []traceList{spanBacked, logOnly} {
			for s.tail[l] >= 0 && now-s.entries[s.tail[l]].lastSeen > int64(t.ttl) {
				t.remove(s, s.tail[l])
				n++
			}
		}
		s.mu.Unlock()
	}
	t.evictedTTL.Add(uint64(n))
	t.pods.expire(now, int64(t.ttl))
	t.svcs.expire(now, int64(t.ttl))
	return n
}

// Len is the number of traces held.
func (t *TraceIndex) Len() int { return int(t.count.Load()) }

// Stats returns the index's counters.
func (t *TraceIndex) Stats() IndexStats {
	return IndexStats{
		Traces:          t.Len(),
		EvictedCapacity: t.evictedCap.Load(),
		EvictedTTL:      t.evictedTTL.Load(),
		LogOnlyTraces:   int(t.logOnly.Load()),
		EvictedLogOnly:  t.evictedLogOnly.Load(),
		Keys:            t.pods.len() + t.svcs.len(),
		KeysEvicted:     t.pods.evicted.Load() + t.svcs.evicted.Load(),
	}
}
