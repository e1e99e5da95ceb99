package spanmetricsconnector

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

var t0 = time.Date(2026, 11, 27, 5, 0, 0, 0, time.UTC)

// spansOf returns one resource of service svc with a span per duration,
// span i carrying trace ID {i+1}.
func spansOf(svc, name string, durations ...time.Duration) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", svc)
	spans := rs.ScopeSpans().AppendEmpty().Spans()
	for i, d := range durations {
		s := spans.AppendEmpty()
		s.SetName(name)
		s.SetKind(ptrace.SpanKindServer)
		s.SetTraceID(pcommon.TraceID{byte(i + 1)})
		s.SetSpanID(pcommon.SpanID{byte(i + 1)})
		start := pcommon.NewTimestampFromTime(t0)
		s.SetStartTimestamp(start)
		s.SetEndTimestamp(start + pcommon.Timestamp(d))
	}
	return td
}

func testAggregator(t *testing.T, conf func(*Config)) *aggregator {
	t.Helper()
	cfg := createDefaultConfig().(*Config)
	cfg.Exemplars.Enabled = true
	if conf != nil {
		conf(cfg)
	}
	require.NoError(t, cfg.Validate())
	return newAggregator(cfg, "")
}

// points returns the calls and duration points of a flush by span name.
func points(md pmetric.Metrics) (map[string]pmetric.NumberDataPoint, map[string]pmetric.HistogramDataPoint) {
	calls := map[string]pmetric.NumberDataPoint{}
	durations := map[string]pmetric.HistogramDataPoint{}
	for _, rm := range md.ResourceMetrics().All() {
		for _, m := range rm.ScopeMetrics().At(0).Metrics().All() {
			switch m.Type() {
			case pmetric.MetricTypeSum:
				for _, dp := range m.Sum().DataPoints().All() {
					calls[spanName(dp.Attributes())] = dp
				}
			case pmetric.MetricTypeHistogram:
				for _, dp := range m.Histogram().DataPoints().All() {
					durations[spanName(dp.Attributes())] = dp
				}
			}
		}
	}
	return calls, durations
}

func spanName(m pcommon.Map) string {
	if _, ok := m.Get(overflowKey); ok {
		return "overflow"
	}
	v, _ := m.Get(spanNameKey)
	return v.Str()
}

func TestExemplarsOnePerBucketPointingAtASpanOfThatBucket(t *testing.T) {
	a := testAggregator(t, nil)
	// Bounds 2ms, 4ms, …: two spans in the (4ms, 6ms] bucket, one in (50ms, 100ms].
	a.add(spansOf("cart", "GET /cart", 5*time.Millisecond, 5500*time.Microsecond, 70*time.Millisecond), t0)
	_, durations := points(a.flush(t0.Add(time.Minute)))
	dp := durations["GET /cart"]
	require.Equal(t, 2, dp.Exemplars().Len())
	bounds := dp.ExplicitBounds().AsRaw()
	for _, ex := range dp.Exemplars().All() {
		v := ex.DoubleValue()
		i := 0
		for i < len(bounds) && v > bounds[i] {
			i++
		}
		assert.NotZero(t, dp.BucketCounts().At(i), "exemplar %v outside the buckets that counted spans", v)
		assert.False(t, ex.TraceID().IsEmpty())
		assert.Equal(t, pcommon.NewTimestampFromTime(t0.Add(time.Duration(v*float64(time.Millisecond)))), ex.Timestamp(),
			"an exemplar's timestamp is its span's end")
	}
	// The last span of a bucket is its exemplar.
	assert.Equal(t, pcommon.TraceID{2}, dp.Exemplars().At(0).TraceID())
	assert.InDelta(t, 5.5, dp.Exemplars().At(0).DoubleValue(), 1e-9)
	assert.Equal(t, pcommon.TraceID{3}, dp.Exemplars().At(1).TraceID())

	// An exemplar stays, flush after flush, until a newer span of its bucket
	// takes its place, so a scrape long after the span still finds it.
	calls, durations := points(a.flush(t0.Add(2 * time.Minute)))
	require.Equal(t, 2, durations["GET /cart"].Exemplars().Len())
	assert.Equal(t, pcommon.TraceID{2}, durations["GET /cart"].Exemplars().At(0).TraceID())
	assert.Equal(t, pcommon.TraceID{3}, calls["GET /cart"].Exemplars().At(0).TraceID())
	assert.Equal(t, int64(3), calls["GET /cart"].IntValue())

	a.add(spansOf("cart", "GET /cart", 4500*time.Microsecond), t0.Add(2*time.Minute))
	calls, durations = points(a.flush(t0.Add(3 * time.Minute)))
	require.Equal(t, 2, durations["GET /cart"].Exemplars().Len())
	assert.Equal(t, pcommon.TraceID{1}, durations["GET /cart"].Exemplars().At(0).TraceID(), "the newer span took the bucket")
	assert.InDelta(t, 4.5, durations["GET /cart"].Exemplars().At(0).DoubleValue(), 1e-9)
	assert.Equal(t, pcommon.TraceID{3}, durations["GET /cart"].Exemplars().At(1).TraceID(), "the other bucket kept its exemplar")
	assert.Equal(t, pcommon.TraceID{1}, calls["GET /cart"].Exemplars().At(0).TraceID())
}

func TestCallsStartAtZeroSoTheFirstSpansAreAnIncrease(t *testing.T) {
	a := testAggregator(t, nil)
	a.add(spansOf("cart", "GET /cart", time.Millisecond, time.Millisecond), t0)
	calls, durations := points(a.flush(t0.Add(time.Minute)))
	assert.Equal(t, int64(0), calls["GET /cart"].IntValue())
	assert.Equal(t, uint64(2), durations["GET /cart"].Count())
	a.add(spansOf("cart", "GET /cart", time.Millisecond), t0.Add(time.Minute))
	calls, _ = points(a.flush(t0.Add(2 * time.Minute)))
	assert.Equal(t, int64(3), calls["GET /cart"].IntValue())
	assert.Equal(t, pcommon.NewTimestampFromTime(t0), calls["GET /cart"].StartTimestamp())
}

func TestNoExemplarsWhenOff(t *testing.T) {
	a := testAggregator(t, func(c *Config) { c.Exemplars.Enabled = false })
	a.add(spansOf("cart", "GET /cart", time.Millisecond), t0)
	calls, durations := points(a.flush(t0.Add(time.Minute)))
	assert.Zero(t, calls["GET /cart"].Exemplars().Len())
	assert.Zero(t, durations["GET /cart"].Exemplars().Len())
}

func TestMaxSeriesSendsNewSeriesToOneOverflowSeries(t *testing.T) {
	a := testAggregator(t, func(c *Config) { c.MaxSeries = 2 })
	a.add(spansOf("cart", "a", time.Millisecond), t0)
	a.add(spansOf("cart", "b", time.Millisecond), t0)
	// A new series of a known resource, and a new resource.
	a.add(spansOf("cart", "c", time.Millisecond, time.Millisecond), t0)
	a.add(spansOf("orders", "d", time.Millisecond), t0)
	// Known series still count.
	a.add(spansOf("cart", "a", time.Millisecond), t0)
	assert.Equal(t, 2, a.nseries)
	assert.Equal(t, uint64(3), a.overflowSpans)
	_, durations := points(a.flush(t0.Add(time.Minute)))
	assert.Equal(t, uint64(2), durations["a"].Count())
	assert.Equal(t, uint64(1), durations["b"].Count())
	assert.Equal(t, uint64(3), durations["overflow"].Count())
	assert.Len(t, durations, 3)
}

func TestExpiredSeriesAreDroppedAndMakeRoom(t *testing.T) {
	a := testAggregator(t, func(c *Config) { c.MetricsExpiration = 5 * time.Minute; c.MaxSeries = 2 })
	a.add(spansOf("cart", "old", time.Millisecond), t0)
	a.add(spansOf("orders", "fresh", time.Millisecond), t0.Add(4*time.Minute))
	_, durations := points(a.flush(t0.Add(6 * time.Minute)))
	assert.Contains(t, durations, "fresh")
	assert.NotContains(t, durations, "old")
	assert.Equal(t, 1, a.nseries)
	assert.Len(t, a.groups, 1, "the resource without series is dropped")
	a.add(spansOf("cart", "new", time.Millisecond), t0.Add(6*time.Minute))
	assert.Zero(t, a.overflowSpans)

	// An expired series that comes back starts again, from its new start.
	a.expiration = time.Hour // no more expiry while the series comes back
	a.maxSeries = 10
	a.add(spansOf("cart", "old", time.Millisecond), t0.Add(7*time.Minute))
	a.flush(t0.Add(8 * time.Minute))
	a.add(spansOf("cart", "old", time.Millisecond), t0.Add(8*time.Minute))
	calls, durations := points(a.flush(t0.Add(9 * time.Minute)))
	assert.Equal(t, int64(2), calls["old"].IntValue())
	assert.Equal(t, uint64(2), durations["old"].Count())
	assert.Equal(t, pcommon.NewTimestampFromTime(t0.Add(7*time.Minute)), calls["old"].StartTimestamp())
}

func TestSpansWithoutServiceNameAreNotCounted(t *testing.T) {
	a := testAggregator(t, nil)
	td := spansOf("cart", "GET /cart", time.Millisecond)
	td.ResourceSpans().At(0).Resource().Attributes().Remove("service.name")
	a.add(td, t0)
	assert.Zero(t, a.flush(t0).ResourceMetrics().Len())
}

func TestConnectorFlushesOnItsIntervalAndStops(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.MetricsFlushInterval = 10 * time.Millisecond
	sink := new(consumertest.MetricsSink)
	f := NewFactory()
	c, err := f.CreateTracesToMetrics(context.Background(), settings(f.Type()), cfg, sink)
	require.NoError(t, err)
	assert.False(t, c.Capabilities().MutatesData)
	require.NoError(t, c.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, c.ConsumeTraces(context.Background(), spansOf("cart", "GET /cart", time.Millisecond)))
	require.Eventually(t, func() bool {
		for _, md := range sink.AllMetrics() {
			_, durations := points(md)
			if dp, ok := durations["GET /cart"]; ok && dp.Count() == 1 {
				v, _ := dp.Attributes().Get(collectorInstanceKey)
				return v.Str() == testInstanceID
			}
		}
		return false
	}, 10*time.Second, 5*time.Millisecond)
	require.NoError(t, c.Shutdown(context.Background()))
	n := len(sink.AllMetrics())
	time.Sleep(50 * time.Millisecond)
	assert.Equal(t, n, len(sink.AllMetrics()), "no flush after shutdown")
}

func TestConcurrentSpansAndFlushesCountEverySpan(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.MetricsFlushInterval = time.Millisecond
	sink := new(consumertest.MetricsSink)
	c, err := newConnector(componenttest.NewNopTelemetrySettings(), cfg, "", sink)
	require.NoError(t, err)
	require.NoError(t, c.Start(context.Background(), componenttest.NewNopHost()))
	// Senders go on until several flushes have run while they sent.
	var sent atomic.Int64
	deadline := time.Now().Add(10 * time.Second)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for len(sink.AllMetrics()) < 5 && time.Now().Before(deadline) {
				assert.NoError(t, c.ConsumeTraces(context.Background(), spansOf("cart", "GET /cart", time.Millisecond, 20*time.Millisecond)))
				sent.Add(2)
			}
		})
	}
	wg.Wait()
	require.NoError(t, c.Shutdown(context.Background()))
	require.GreaterOrEqual(t, len(sink.AllMetrics()), 5, "flushes ran while spans came in")
	_, durations := points(c.agg.flush(time.Now()))
	assert.Equal(t, uint64(sent.Load()), durations["GET /cart"].Count())
}
