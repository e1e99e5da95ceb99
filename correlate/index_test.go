package correlate_test

import (
	"encoding/binary"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/braidobs/braid/correlate"
)

// fakeClock is a settable clock for the index.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

var epoch = time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)

func ts(offset time.Duration) pcommon.Timestamp {
	return pcommon.NewTimestampFromTime(epoch.Add(offset))
}

func traceID(n uint64) pcommon.TraceID {
	var t pcommon.TraceID
	binary.BigEndian.PutUint64(t[:8], n+1)
	binary.BigEndian.PutUint64(t[8:], n*0x9e3779b97f4a7c15+1)
	return t
}

func spanID(n uint64) pcommon.SpanID {
	var s pcommon.SpanID
	binary.BigEndian.PutUint64(s[:], n+1)
	return s
}

func newIndex(t testing.TB, mutate func(*correlate.IndexConfig)) (*correlate.TraceIndex, *fakeClock) {
	clock := &fakeClock{t: epoch}
	cfg := correlate.DefaultIndexConfig()
	cfg.Now = clock.Now
	if mutate != nil {
		mutate(&cfg)
	}
	idx, err := correlate.NewTraceIndex(cfg)
	require.NoError(t, err)
	return idx, clock
}

func TestTraceIndexSummary(t *testing.T) {
	idx, _ := newIndex(t, nil)
	tid := traceID(1)
	idx.AddSpan(&correlate.SpanRecord{TraceID: tid, SpanID: spanID(2), ParentSpanID: spanID(1), Name: "SELECT orders", Service: "shop/db-client", PodKey: "uid-a", Start: ts(10 * time.Millisecond), End: ts(30 * time.Millisecond), Error: true})
	idx.AddSpan(&correlate.SpanRecord{TraceID: tid, SpanID: spanID(1), Name: "GET /orders", Service: "shop/frontend", PodKey: "uid-b", Start: ts(0), End: ts(50 * time.Millisecond)})
	idx.AddLog(tid, "uid-a", "shop/db-client")
	idx.AddLog(tid, "uid-c", "")

	s, ok := idx.Get(tid)
	require.True(t, ok)
	assert.Equal(t, correlate.TraceSummary{
		TraceID:     tid,
		Services:    []string{"shop/db-client", "shop/frontend"},
		Pods:        []string{"uid-a", "uid-b", "uid-c"},
		Start:       epoch,
		End:         epoch.Add(50 * time.Millisecond),
		RootName:    "GET /orders",
		RootService: "shop/frontend",
		Error:       true,
		SpanCount:   2,
		LogCount:    2,
		LogLinks:    correlate.LogLinks{Unknown: 2},
	}, s)
	assert.Equal(t, 50*time.Millisecond, s.Duration())

	_, ok = idx.Get(traceID(99))
	assert.False(t, ok)
}

func TestTraceIndexBoundedByCount(t *testing.T) {
	idx, _ := newIndex(t, func(c *correlate.IndexConfig) { c.MaxTraces = 100; c.Shards = 4 })
	for i := range uint64(1000) {
		idx.AddSpan(&correlate.SpanRecord{TraceID: traceID(i), SpanID: spanID(i), Start: ts(0), End: ts(time.Millisecond)})
		require.LessOrEqual(t, idx.Len(), 100)
	}
	st := idx.Stats()
	assert.Equal(t, 100, st.Traces)
	assert.Equal(t, uint64(900), st.EvictedCapacity)
	assert.Zero(t, st.EvictedTTL)
	// The most recent trace is still there; the first is gone.
	_, ok := idx.Get(traceID(999))
	assert.True(t, ok)
	_, ok = idx.Get(traceID(0))
	assert.False(t, ok)
}

func TestTraceIndexLeastRecentlyUpdatedGoesFirst(t *testing.T) {
	idx, _ := newIndex(t, func(c *correlate.IndexConfig) { c.MaxTraces = 2; c.Shards = 1 })
	add := func(n uint64) { idx.AddSpan(&correlate.SpanRecord{TraceID: traceID(n), SpanID: spanID(n)}) }
	add(1)
	add(2)
	add(1) // touch 1: 2 is now the oldest
	add(3)
	_, ok1 := idx.Get(traceID(1))
	_, ok2 := idx.Get(traceID(2))
	assert.True(t, ok1)
	assert.False(t, ok2)
}

func TestTraceIndexTTL(t *testing.T) {
	idx, clock := newIndex(t, func(c *correlate.IndexConfig) { c.TTL = time.Minute })
	idx.AddSpan(&correlate.SpanRecord{TraceID: traceID(1), SpanID: spanID(1), PodKey: "uid-a", Service: "svc"})
	clock.Advance(30 * time.Second)
	idx.AddSpan(&correlate.SpanRecord{TraceID: traceID(2), SpanID: spanID(2)})
	clock.Advance(31 * time.Second)

	// Aged out: invisible even before the sweep.
	_, ok := idx.Get(traceID(1))
	assert.False(t, ok)
	_, ok = idx.Get(traceID(2))
	assert.True(t, ok)

	assert.Equal(t, 1, idx.Expire())
	st := idx.Stats()
	assert.Equal(t, 1, st.Traces)
	assert.Equal(t, uint64(1), st.EvictedTTL)
	assert.Equal(t, uint64(2), st.KeysEvicted, "pod and service histories age out too")

	clock.Advance(time.Hour)
	assert.Equal(t, 1, idx.Expire())
	assert.Zero(t, idx.Len())
	assert.Equal(t, uint64(2), idx.Stats().EvictedTTL)
}

func TestTracesForPodAndService(t *testing.T) {
	idx, _ := newIndex(t, nil)
	add := func(n uint64, dur time.Duration, isErr bool) {
		idx.AddSpan(&correlate.SpanRecord{TraceID: traceID(n), SpanID: spanID(n), Service: "shop/orders", PodKey: "uid-a", PodAltKey: "shop/orders-0", Start: ts(time.Duration(n) * time.Second), End: ts(time.Duration(n)*time.Second + dur), Error: isErr})
	}
	add(1, 10*time.Millisecond, false)
	add(2, 300*time.Millisecond, false)
	add(3, 5*time.Millisecond, true)
	add(4, 100*time.Millisecond, false)

	ids := func(ss []correlate.TraceSummary) []pcommon.TraceID {
		out := []pcommon.TraceID{}
		for _, s := range ss {
			out = append(out, s.TraceID)
		}
		return out
	}
	assert.Equal(t, []pcommon.TraceID{traceID(3), traceID(2), traceID(4), traceID(1)}, ids(idx.TracesForPod("uid-a", correlate.Query{})), "errors first, then slowest")
	assert.Equal(t, ids(idx.TracesForPod("uid-a", correlate.Query{})), ids(idx.TracesForPod("shop/orders-0", correlate.Query{})), "namespace/name finds the same pod")
	assert.Equal(t, []pcommon.TraceID{traceID(3)}, ids(idx.TracesForService("shop/orders", correlate.Query{ErrorsOnly: true})))
	assert.Equal(t, []pcommon.TraceID{traceID(2), traceID(4)}, ids(idx.TracesForService("shop/orders", correlate.Query{MinDuration: 50 * time.Millisecond})))
	assert.Equal(t, []pcommon.TraceID{traceID(3), traceID(4)}, ids(idx.TracesForPod("uid-a", correlate.Query{Since: epoch.Add(3 * time.Second)})))
	assert.Equal(t, []pcommon.TraceID{traceID(3), traceID(2)}, ids(idx.TracesForPod("uid-a", correlate.Query{Limit: 2})))
	assert.Empty(t, idx.TracesForPod("uid-unknown", correlate.Query{}))
}

func TestInferSpan(t *testing.T) {
	idx, _ := newIndex(t, func(c *correlate.IndexConfig) { c.SpansPerKey = 4 })
	span := func(tr, sp uint64, parent uint64, from, to time.Duration) {
		r := &correlate.SpanRecord{TraceID: traceID(tr), SpanID: spanID(sp), PodKey: "uid-a", Start: ts(from), End: ts(to)}
		if parent != 0 {
			r.ParentSpanID = spanID(parent)
		}
		idx.AddSpan(r)
	}
	// Trace 1: server span 0-100ms with a nested client span 20-40ms.
	span(1, 1, 0, 0, 100*time.Millisecond)
	span(1, 2, 1, 20*time.Millisecond, 40*time.Millisecond)
	// Trace 2 overlaps trace 1 between 90 and 100ms.
	span(2, 3, 0, 90*time.Millisecond, 200*time.Millisecond)

	tests := []struct {
		name     string
		at       time.Duration
		wantOK   bool
		wantSpan pcommon.SpanID
	}{
		{"only the server span", 10 * time.Millisecond, true, spanID(1)},
		{"nested spans of one trace: innermost", 30 * time.Millisecond, true, spanID(2)},
		{"two traces active: ambiguous", 95 * time.Millisecond, false, pcommon.SpanID{}},
		{"only trace 2", 150 * time.Millisecond, true, spanID(3)},
		{"nothing active", 300 * time.Millisecond, false, pcommon.SpanID{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ref, ok := idx.InferSpan(ts(tc.at), "uid-a")
			assert.Equal(t, tc.wantOK, ok)
			assert.Equal(t, tc.wantSpan, ref.SpanID)
		})
	}
	_, ok := idx.InferSpan(ts(10*time.Millisecond), "uid-other")
	assert.False(t, ok, "unknown pod")

	// Push the first spans out of the four-span history: the index can no
	// longer rule out another span at 10ms, so it must not guess.
	span(3, 4, 0, 500*time.Millisecond, 600*time.Millisecond)
	span(4, 5, 0, 700*time.Millisecond, 800*time.Millisecond)
	_, ok = idx.InferSpan(ts(10*time.Millisecond), "uid-a")
	assert.False(t, ok, "history too short to be sure")
	ref, ok := idx.InferSpan(ts(750*time.Millisecond), "uid-a")
	assert.True(t, ok)
	assert.Equal(t, spanID(5), ref.SpanID)
}

func TestRecentSpan(t *testing.T) {
	idx, _ := newIndex(t, nil)
	idx.AddSpan(&correlate.SpanRecord{TraceID: traceID(1), SpanID: spanID(1), Service: "svc", PodKey: "uid-a", Start: ts(0), End: ts(20 * time.Millisecond)})
	idx.AddSpan(&correlate.SpanRecord{TraceID: traceID(2), SpanID: spanID(2), Service: "svc", PodKey: "uid-a", Start: ts(time.Second), End: ts(time.Second + 200*time.Millisecond), Error: true})
	idx.AddSpan(&correlate.SpanRecord{TraceID: traceID(3), SpanID: spanID(3), Service: "svc", Start: ts(2 * time.Second), End: ts(2*time.Second + 5*time.Millisecond)})

	ref, ok := idx.RecentSpan(correlate.SpanFilter{}, "svc", "uid-a")
	require.True(t, ok)
	assert.Equal(t, spanID(2), ref.SpanID, "the pod's latest span wins over the service's")

	ref, ok = idx.RecentSpan(correlate.SpanFilter{MinDuration: 10 * time.Millisecond, MaxDuration: 50 * time.Millisecond}, "svc", "uid-a")
	require.True(t, ok)
	assert.Equal(t, spanID(1), ref.SpanID, "duration bucket")

	ref, ok = idx.RecentSpan(correlate.SpanFilter{}, "svc", "uid-none")
	require.True(t, ok)
	assert.Equal(t, spanID(3), ref.SpanID, "falls back to the service")

	_, ok = idx.RecentSpan(correlate.SpanFilter{From: ts(time.Hour)}, "svc")
	assert.False(t, ok, "too old")
	ref, ok = idx.RecentSpan(correlate.SpanFilter{ErrorsOnly: true}, "svc")
	require.True(t, ok)
	assert.Equal(t, spanID(2), ref.SpanID)
}

func TestNewTraceIndexErrors(t *testing.T) {
	tests := []struct {
		name    string
		cfg     correlate.IndexConfig
		wantErr string
	}{
		{"zero max_traces", correlate.IndexConfig{TTL: time.Minute}, "max_traces must be positive, got 0"},
		{"negative ttl", correlate.IndexConfig{MaxTraces: 1, TTL: -time.Second}, "ttl must be positive, got -1s"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := correlate.NewTraceIndex(tc.cfg)
			require.ErrorContains(t, err, tc.wantErr)
		})
	}
}

func TestTraceIndexConcurrent(t *testing.T) {
	idx, _ := newIndex(t, func(c *correlate.IndexConfig) { c.MaxTraces = 500 })
	var wg sync.WaitGroup
	for g := range uint64(4) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range uint64(2000) {
				n := g*10000 + i
				idx.AddSpan(&correlate.SpanRecord{TraceID: traceID(n), SpanID: spanID(n), PodKey: "uid-a", Service: "svc"})
				idx.AddLog(traceID(n), "uid-a", "svc")
				idx.Get(traceID(n))
				idx.TracesForPod("uid-a", correlate.Query{Limit: 5})
				idx.InferSpan(ts(0), "uid-a")
			}
		}()
	}
	wg.Wait()
	st := idx.Stats()
	assert.LessOrEqual(t, st.Traces, 500)
	assert.Equal(t, uint64(8000-st.Traces), st.EvictedCapacity)
}

func TestNoSpanHistory(t *testing.T) {
	idx, _ := newIndex(t, func(c *correlate.IndexConfig) { c.NoSpanHistory = true })
	idx.AddSpans([]correlate.SpanRecord{{TraceID: traceID(1), SpanID: spanID(1), PodKey: "uid-a", Service: "svc", Start: ts(0), End: ts(time.Second)}})
	_, ok := idx.InferSpan(ts(time.Millisecond), "uid-a")
	assert.False(t, ok)
	_, ok = idx.RecentSpan(correlate.SpanFilter{}, "svc", "uid-a")
	assert.False(t, ok)
	assert.Len(t, idx.TracesForPod("uid-a", correlate.Query{}), 1, "trace history is still kept")
}

func TestAddLogs(t *testing.T) {
	idx, _ := newIndex(t, nil)
	idx.AddLogs([]pcommon.TraceID{traceID(1), traceID(1), {}, traceID(2)}, "uid-a", "svc")
	s, ok := idx.Get(traceID(1))
	require.True(t, ok)
	assert.Equal(t, 2, s.LogCount)
	assert.Equal(t, []string{"svc"}, s.Services)
	assert.Equal(t, []string{"uid-a"}, s.Pods)
	assert.Empty(t, idx.TracesForPod("uid-a", correlate.Query{}), "log-only traces stay out of the pod's history")
	assert.Equal(t, 2, idx.Len(), "the empty ID is skipped")
	assert.Equal(t, 2, idx.Stats().LogOnlyTraces)

	// Trace 1 gets a span in another pod: the pod that logged its lines
	// has it in its history now.
	idx.AddSpans([]correlate.SpanRecord{{TraceID: traceID(1), SpanID: spanID(1), PodKey: "uid-b", Service: "svc", Start: ts(0), End: ts(time.Second)}})
	got := idx.TracesForPod("uid-a", correlate.Query{})
	require.Len(t, got, 1)
	assert.Equal(t, traceID(1), got[0].TraceID)
	idx.AddLogs([]pcommon.TraceID{traceID(1), traceID(2)}, "uid-a", "svc")
	got = idx.TracesForPod("uid-a", correlate.Query{})
	require.Len(t, got, 1)
	assert.Equal(t, 3, got[0].LogCount)
	assert.Equal(t, 1, idx.Stats().LogOnlyTraces)
}

// A flood of trace IDs that only logs name leaves the traces with spans,
// and the pods' histories, as they were.
func TestLogOnlyFloodKeepsSpanBackedTraces(t *testing.T) {
	idx, _ := newIndex(t, func(c *correlate.IndexConfig) { c.MaxTraces = 4000; c.MaxLogOnlyTraces = 200; c.Shards = 4 })
	const spanned = 1000
	for i := range spanned {
		idx.AddSpans([]correlate.SpanRecord{{TraceID: traceID(uint64(i)), SpanID: spanID(uint64(i)), PodKey: "uid-a", Service: "svc", Start: ts(0), End: ts(time.Second)}})
	}
	require.Zero(t, idx.Stats().EvictedCapacity)
	before := idx.TracesForPod("uid-a", correlate.Query{})
	ids := make([]pcommon.TraceID, 100)
	for n := range 1000 {
		for i := range ids {
			ids[i] = traceID(uint64(1_000_000 + n*len(ids) + i))
		}
		idx.AddLogs(ids, "uid-a", "svc")
	}
	st := idx.Stats()
	for i := range spanned {
		_, ok := idx.Get(traceID(uint64(i)))
		require.True(t, ok, "trace %d with spans was evicted", i)
	}
	assert.Equal(t, spanned+200, st.Traces)
	assert.Equal(t, 200, st.LogOnlyTraces)
	assert.Equal(t, uint64(100_000-200), st.EvictedLogOnly)
	assert.Equal(t, st.EvictedLogOnly, st.EvictedCapacity, "no trace with spans evicted")
	assert.Equal(t, before, idx.TracesForPod("uid-a", correlate.Query{}), "the pod's history is unchanged")

	// A log-only trace that gets a span moves under MaxTraces.
	last := ids[len(ids)-1]
	idx.AddSpans([]correlate.SpanRecord{{TraceID: last, SpanID: spanID(1), PodKey: "uid-a", Service: "svc", Start: ts(0), End: ts(time.Second)}})
	s, ok := idx.Get(last)
	require.True(t, ok)
	assert.Equal(t, 1, s.SpanCount)
	assert.Equal(t, 1, s.LogCount)
	st = idx.Stats()
	assert.Equal(t, 199, st.LogOnlyTraces)
	assert.Equal(t, spanned+200, st.Traces)
	assert.Equal(t, st.EvictedLogOnly, st.EvictedCapacity)
}

// A log-only trace that gets a span makes room among the traces with spans
// as a new one would; a full log-only bound drops log-only traces only.
func TestLogOnlyPromotion(t *testing.T) {
	idx, _ := newIndex(t, func(c *correlate.IndexConfig) { c.MaxTraces = 2; c.MaxLogOnlyTraces = 1; c.Shards = 1 })
	span := func(id uint64) {
		idx.AddSpans([]correlate.SpanRecord{{TraceID: traceID(id), SpanID: spanID(id), PodKey: "uid-a", Start: ts(0), End: ts(time.Second)}})
	}
	span(1)
	span(2)
	idx.AddLog(traceID(3), "uid-a", "svc")
	idx.AddLog(traceID(4), "uid-a", "svc") // evicts log-only 3, not 1 or 2
	_, ok := idx.Get(traceID(3))
	assert.False(t, ok)
	span(4) // promoted: evicts 1, the oldest trace with spans
	_, ok = idx.Get(traceID(1))
	assert.False(t, ok)
	for _, id := range []uint64{2, 4} {
		_, ok := idx.Get(traceID(id))
		assert.True(t, ok, "trace %d", id)
	}
	st := idx.Stats()
	assert.Equal(t, correlate.IndexStats{Traces: 2, EvictedCapacity: 2, EvictedLogOnly: 1, Keys: 1}, st)
}

func TestMaxLogOnlyTracesRefused(t *testing.T) {
	cfg := correlate.DefaultIndexConfig()
	cfg.MaxLogOnlyTraces = -1
	_, err := correlate.NewTraceIndex(cfg)
	assert.ErrorContains(t, err, "max_log_only_traces must not be negative, got -1")
}
