package spanmetricsconnector

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	contrib "github.com/open-telemetry/opentelemetry-collector-contrib/connector/spanmetricsconnector"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/connector/connectortest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/braidobs/braid/internal/loadgen"
)

const testInstanceID = "7c1e5d2a-0b1f-4a8e-9d3c-5f6a7b8c9d0e"

// sharedConfig is written in the keys both connectors accept, so the same
// configuration drives Braid's connector and the contrib one.
var sharedConfig = map[string]any{
	"metrics_flush_interval":  "15s",
	"aggregation_temporality": "AGGREGATION_TEMPORALITY_CUMULATIVE",
	"dimensions": []any{
		map[string]any{"name": "k8s.namespace.name"},
		map[string]any{"name": "k8s.pod.name"},
		map[string]any{"name": "http.response.status_code"},
		map[string]any{"name": "deployment.environment", "default": "none"},
	},
	"exemplars": map[string]any{"enabled": true},
}

func settings(typ component.Type) connector.Settings {
	set := connectortest.NewNopSettings(typ)
	set.Resource = pcommon.NewResource()
	// Braid reads the collector's own service.instance.id; contrib looks for
	// collector.instance.id (and makes up a UUID without it).
	set.Resource.Attributes().PutStr("service.instance.id", testInstanceID)
	set.Resource.Attributes().PutStr("collector.instance.id", testInstanceID)
	return set
}

// edgeTraces holds what the load generator does not: a resource without
// service.name, a dimension only in the span, a span ending before it
// starts, a span without trace ID, and spans that differ only in kind,
// status or a dimension's type.
func edgeTraces() ptrace.Traces {
	td := ptrace.NewTraces()
	noService := td.ResourceSpans().AppendEmpty()
	noService.Resource().Attributes().PutStr("k8s.pod.name", "orphan")
	noService.ScopeSpans().AppendEmpty().Spans().AppendEmpty().SetName("ignored")

	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "edge")
	rs.Resource().Attributes().PutStr("deployment.environment", "staging")
	spans := rs.ScopeSpans().AppendEmpty().Spans()
	base := pcommon.Timestamp(1_700_000_000_000_000_000)
	add := func(name string, kind ptrace.SpanKind, status ptrace.StatusCode, d time.Duration, withTrace bool) ptrace.Span {
		s := spans.AppendEmpty()
		s.SetName(name)
		s.SetKind(kind)
		s.Status().SetCode(status)
		s.SetStartTimestamp(base)
		s.SetEndTimestamp(base + pcommon.Timestamp(d))
		if withTrace {
			s.SetTraceID(pcommon.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, byte(len(name))})
			s.SetSpanID(pcommon.SpanID{8, 7, 6, 5, 4, 3, 2, byte(kind)})
		}
		return s
	}
	add("op", ptrace.SpanKindServer, ptrace.StatusCodeOk, 3*time.Millisecond, true)
	add("op", ptrace.SpanKindClient, ptrace.StatusCodeOk, 3*time.Millisecond, true)
	add("op", ptrace.SpanKindServer, ptrace.StatusCodeError, 900*time.Millisecond, true)
	add("op", ptrace.SpanKindServer, ptrace.StatusCodeUnset, -time.Millisecond, false)
	add("op", ptrace.SpanKindServer, ptrace.StatusCodeOk, 20*time.Second, true)
	add("op", ptrace.SpanKindProducer, ptrace.StatusCodeUnset, 2*time.Millisecond, true).
		Attributes().PutInt("http.response.status_code", 404)
	add("op", ptrace.SpanKindProducer, ptrace.StatusCodeUnset, 2*time.Millisecond, true).
		Attributes().PutStr("http.response.status_code", "404")
	add("op", ptrace.SpanKindConsumer, ptrace.StatusCodeUnset, 2*time.Millisecond, true).
		Attributes().PutStr("k8s.pod.name", "from-span")
	return td
}

// flatten turns a flush into one line per data point, in a fixed order,
// leaving out exemplars (the two connectors keep different ones by design).
func flatten(t *testing.T, md pmetric.Metrics) []string {
	t.Helper()
	var lines []string
	for _, rm := range md.ResourceMetrics().All() {
		res := attrString(rm.Resource().Attributes())
		for _, sm := range rm.ScopeMetrics().All() {
			for _, m := range sm.Metrics().All() {
				switch m.Type() {
				case pmetric.MetricTypeSum:
					s := m.Sum()
					for _, dp := range s.DataPoints().All() {
						lines = append(lines, fmt.Sprintf("%s | %s unit=%q monotonic=%v %v | %s | start=%d ts=%d value=%d",
							res, m.Name(), m.Unit(), s.IsMonotonic(), s.AggregationTemporality(),
							attrString(dp.Attributes()), dp.StartTimestamp(), dp.Timestamp(), dp.IntValue()))
					}
				case pmetric.MetricTypeHistogram:
					h := m.Histogram()
					for _, dp := range h.DataPoints().All() {
						lines = append(lines, fmt.Sprintf("%s | %s unit=%q %v | %s | start=%d ts=%d count=%d sum=%.6f bounds=%v buckets=%v",
							res, m.Name(), m.Unit(), h.AggregationTemporality(),
							attrString(dp.Attributes()), dp.StartTimestamp(), dp.Timestamp(), dp.Count(), dp.Sum(),
							dp.ExplicitBounds().AsRaw(), dp.BucketCounts().AsRaw()))
					}
				default:
					t.Fatalf("unexpected metric %s of type %v", m.Name(), m.Type())
				}
			}
		}
	}
	slices.Sort(lines)
	return lines
}

func attrString(m pcommon.Map) string {
	raw := m.AsRaw()
	parts := make([]string, 0, len(raw))
	for _, k := range slices.Sorted(maps.Keys(raw)) {
		parts = append(parts, fmt.Sprintf("%s=%T:%v", k, raw[k], raw[k]))
	}
	return strings.Join(parts, ",")
}

// TestSameSeriesAsContribSpanMetrics sends the same spans through Braid's
// connector and the contrib span_metrics connector, configured from the
// same keys, and requires the same series with the same values, flush
// after flush.
func TestSameSeriesAsContribSpanMetrics(t *testing.T) {
	clock := clockwork.NewFakeClockAt(time.Date(2026, 11, 27, 5, 0, 0, 0, time.UTC))
	ctx := clockwork.AddToContext(context.Background(), clock)

	cf := contrib.NewFactory()
	ccfg := cf.CreateDefaultConfig()
	require.NoError(t, confmap.NewFromStringMap(sharedConfig).Unmarshal(ccfg))
	contribSink := new(consumertest.MetricsSink)
	cc, err := cf.CreateTracesToMetrics(ctx, settings(cf.Type()), ccfg, contribSink)
	require.NoError(t, err)
	require.NoError(t, cc.Start(ctx, componenttest.NewNopHost()))
	defer func() { require.NoError(t, cc.Shutdown(ctx)) }()

	bcfg := createDefaultConfig().(*Config)
	require.NoError(t, confmap.NewFromStringMap(sharedConfig).Unmarshal(bcfg))
	require.NoError(t, bcfg.Validate())
	agg := newAggregator(bcfg, testInstanceID)

	gen := loadgen.NewGenerator(loadgen.DefaultShape, 42)
	batches := []ptrace.Traces{edgeTraces(), gen.Traces(2000), gen.Traces(500), edgeTraces()}
	for round, td := range batches {
		require.NoError(t, cc.ConsumeTraces(ctx, td))
		agg.add(td, clock.Now())

		clock.Advance(15 * time.Second)
		require.Eventually(t, func() bool { return len(contribSink.AllMetrics()) == round+1 },
			10*time.Second, time.Millisecond, "contrib flush %d", round+1)
		want := flatten(t, contribSink.AllMetrics()[round])
		got := flatten(t, agg.flush(clock.Now()))
		require.NotEmpty(t, want)
		require.Equal(t, want, got, "flush %d", round+1)
	}
}
