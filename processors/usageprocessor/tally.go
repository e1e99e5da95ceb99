package usageprocessor

import (
	"hash/maphash"
	"sync"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/braidobs/braid/usage"
)

// tally is what one request holds per key, taken before the request is
// handed on (what comes after may move or change it) and counted once its
// outcome is known.
type tally struct {
	keys   []usage.Key
	hashes []uint64 // of keys, compared before them
	counts []usage.Counts
}

var keySeed = maphash.MakeSeed()

// keyHash tells most unequal keys apart for less than comparing them.
func keyHash(k usage.Key) uint64 {
	return maphash.String(keySeed, k.Namespace) ^ maphash.String(keySeed, k.Workload)*31 ^ maphash.String(keySeed, k.Service)*961
}

// maxMerged bounds the keys a request's tally merges; beyond it, resources
// are appended without a search, so a request of many senders stays linear.
const maxMerged = 16

func (t *tally) add(k usage.Key, items, bytes int64) {
	n := len(t.keys)
	h := keyHash(k)
	for i := range min(n, maxMerged) {
		if t.hashes[i] == h && t.keys[i] == k {
			t.counts[i].Items += items
			t.counts[i].Bytes += bytes
			return
		}
	}
	t.keys = append(t.keys, k)
	t.hashes = append(t.hashes, h)
	t.counts = append(t.counts, usage.Counts{Items: items, Bytes: bytes})
}

// into counts the tally in l.
func (t *tally) into(l *usage.Ledger) {
	for i, k := range t.keys {
		l.Add(k, t.counts[i].Items, t.counts[i].Bytes)
	}
}

var tallies = sync.Pool{New: func() any { return new(tally) }}

func getTally() *tally { return tallies.Get().(*tally) }

func putTally(t *tally) {
	if cap(t.keys) > 1024 { // let an unusually large request's arrays go
		return
	}
	t.keys, t.hashes, t.counts = t.keys[:0], t.hashes[:0], t.counts[:0]
	tallies.Put(t)
}

var (
	traceSizer  ptrace.ProtoMarshaler
	logSizer    plog.ProtoMarshaler
	metricSizer pmetric.ProtoMarshaler
)

func tallyTraces(t *tally, td ptrace.Traces) {
	rss := td.ResourceSpans()
	for i := range rss.Len() {
		rs := rss.At(i)
		items := 0
		sss := rs.ScopeSpans()
		for j := range sss.Len() {
			items += sss.At(j).Spans().Len()
		}
		t.add(usage.KeyOf(rs.Resource().Attributes()), int64(items), int64(traceSizer.ResourceSpansSize(rs)))
	}
}

func tallyLogs(t *tally, ld plog.Logs) {
	rls := ld.ResourceLogs()
	for i := range rls.Len() {
		rl := rls.At(i)
		items := 0
		sls := rl.ScopeLogs()
		for j := range sls.Len() {
			items += sls.At(j).LogRecords().Len()
		}
		t.add(usage.KeyOf(rl.Resource().Attributes()), int64(items), int64(logSizer.ResourceLogsSize(rl)))
	}
}

func tallyMetrics(t *tally, md pmetric.Metrics) {
	rms := md.ResourceMetrics()
	for i := range rms.Len() {
		rm := rms.At(i)
		t.add(usage.KeyOf(rm.Resource().Attributes()), int64(dataPoints(rm)), int64(metricSizer.ResourceMetricsSize(rm)))
	}
}

// dataPoints counts a resource's metric data points, as
// pmetric.Metrics.DataPointCount does for a whole request.
func dataPoints(rm pmetric.ResourceMetrics) int {
	n := 0
	sms := rm.ScopeMetrics()
	for i := range sms.Len() {
		ms := sms.At(i).Metrics()
		for j := range ms.Len() {
			m := ms.At(j)
			switch m.Type() {
			case pmetric.MetricTypeGauge:
				n += m.Gauge().DataPoints().Len()
			case pmetric.MetricTypeSum:
				n += m.Sum().DataPoints().Len()
			case pmetric.MetricTypeHistogram:
				n += m.Histogram().DataPoints().Len()
			case pmetric.MetricTypeExponentialHistogram:
				n += m.ExponentialHistogram().DataPoints().Len()
			case pmetric.MetricTypeSummary:
				n += m.Summary().DataPoints().Len()
			}
		}
	}
	return n
}
