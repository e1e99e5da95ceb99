package usageprocessor

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/exporter/otlpexporter"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"google.golang.org/protobuf/encoding/protowire"
)

// sender is one resource of a test request.
type sender struct {
	namespace, deployment, service string
	spans                          int
}

func traces(senders ...sender) ptrace.Traces {
	td := ptrace.NewTraces()
	for _, s := range senders {
		rs := td.ResourceSpans().AppendEmpty()
		attrs := rs.Resource().Attributes()
		attrs.PutStr("k8s.namespace.name", s.namespace)
		attrs.PutStr("k8s.deployment.name", s.deployment)
		attrs.PutStr("service.name", s.service)
		ss := rs.ScopeSpans().AppendEmpty().Spans()
		for i := range s.spans {
			sp := ss.AppendEmpty()
			sp.SetName(fmt.Sprintf("op-%d", i))
			sp.Attributes().PutStr("http.route", "/items/{id}")
		}
	}
	return td
}

// series reads one counter as label values (namespace/workload/service
// and the base labels) → value.
func series(t *testing.T, tel *componenttest.Telemetry, name string) map[string]int64 {
	t.Helper()
	m, err := tel.GetMetric(name)
	if err != nil {
		return map[string]int64{}
	}
	out := map[string]int64{}
	for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
		get := func(k string) string { v, _ := dp.Attributes.Value(attribute.Key(k)); return v.AsString() }
		key := get(LabelNamespace) + "/" + get(LabelWorkload) + "/" + get(LabelService)
		if e := get(LabelExporter); e != "" {
			key = e + " " + key
		}
		out[get(LabelSignal)+" "+key] = dp.Value
	}
	return out
}

type fixture struct {
	tel    *componenttest.Telemetry
	shared *Shared
	now    time.Time
	// mu guards now.
	mu sync.Mutex
}

func newFixture(t *testing.T) *fixture {
	f := &fixture{tel: componenttest.NewTelemetry(), shared: NewShared(), now: time.Unix(1000, 0)}
	t.Cleanup(func() { require.NoError(t, f.tel.Shutdown(context.Background())) })
	return f
}

func (f *fixture) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fixture) advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
}

func (f *fixture) factory() processor.Factory {
	return NewFactory(WithShared(f.shared), withClock(f.clock))
}

func (f *fixture) settings() processor.Settings {
	set := processortest.NewNopSettings(Type)
	set.TelemetrySettings = f.tel.NewTelemetrySettings()
	return set
}

func (f *fixture) traces(t *testing.T, cfg *Config, next consumer.Traces) processor.Traces {
	t.Helper()
	p, err := f.factory().CreateTraces(context.Background(), f.settings(), cfg, next)
	require.NoError(t, err)
	require.NoError(t, p.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { assert.NoError(t, p.Shutdown(context.Background())) })
	return p
}

func TestCountsWhatEachSenderSentByOutcome(t *testing.T) {
	for _, tc := range []struct {
		name   string
		err    error
		metric string
	}{
		{"accepted", nil, MetricReceivedItems},
		{"refused with a retryable error", errors.New("memory limit"), MetricRefusedItems},
		{"refused with a permanent error", consumererror.NewPermanent(errors.New("bad data")), MetricDroppedItems},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			next := consumertest.NewNop()
			if tc.err != nil {
				next = consumertest.NewErr(tc.err)
			}
			p := f.traces(t, createDefaultConfig().(*Config), next)
			err := p.ConsumeTraces(context.Background(), traces(
				sender{"shop", "cart", "cart-api", 3}, sender{"billing", "invoices", "invoices", 2}, sender{"shop", "cart", "cart-api", 4}))
			assert.Equal(t, tc.err, err, "the outcome is passed back unchanged")
			assert.Equal(t, map[string]int64{
				"traces shop/cart/cart-api":        7,
				"traces billing/invoices/invoices": 2,
			}, series(t, f.tel, tc.metric))
			for _, other := range []string{MetricReceivedItems, MetricRefusedItems, MetricDroppedItems} {
				if other != tc.metric {
					assert.Empty(t, series(t, f.tel, other), other)
				}
			}
		})
	}
}

// The bytes are the OTLP encoding's: the request's encoded size is the sum
// of its resources' sizes and their field headers.
func TestBytesAreTheOTLPEncodedSize(t *testing.T) {
	f := newFixture(t)
	p := f.traces(t, createDefaultConfig().(*Config), consumertest.NewNop())
	td := traces(sender{"shop", "cart", "cart-api", 30}, sender{"billing", "invoices", "invoices", 7})
	raw, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(td)
	require.NoError(t, err)
	require.NoError(t, p.ConsumeTraces(context.Background(), td))

	bytes := series(t, f.tel, MetricReceivedBytes)
	require.Len(t, bytes, 2)
	var sum int
	for _, b := range bytes {
		// field 1 (resource_spans), length-delimited: a tag byte and the
		// length as a varint, then the resource.
		sum += 1 + protowire.SizeVarint(uint64(b)) + int(b)
	}
	assert.Equal(t, len(raw), sum)
	assert.Greater(t, bytes["traces shop/cart/cart-api"], bytes["traces billing/invoices/invoices"])
}

func TestTopNKeepsTheBiggestSendersAndFoldsTheRestIntoOther(t *testing.T) {
	f := newFixture(t)
	cfg := &Config{TopN: 2, Candidates: 4, RankInterval: time.Minute}
	p := f.traces(t, cfg, consumertest.NewNop())
	ctx := context.Background()
	// Two small senders arrive first and are named; a big one arrives
	// later and is counted as other until the next ranking.
	require.NoError(t, p.ConsumeTraces(ctx, traces(sender{"a", "a", "a", 2}, sender{"b", "b", "b", 1})))
	for range 10 {
		require.NoError(t, p.ConsumeTraces(ctx, traces(sender{"big", "big", "big", 50})))
	}
	assert.Equal(t, map[string]int64{"traces a/a/a": 2, "traces b/b/b": 1, "traces other/other/other": 500},
		series(t, f.tel, MetricReceivedItems))

	f.advance(time.Minute) // the next collection ranks
	assert.Equal(t, map[string]int64{"traces a/a/a": 2, "traces big/big/big": 0, "traces other/other/other": 500},
		series(t, f.tel, MetricReceivedItems),
		"big is named from now on, from zero: what it sent before stays in other; b lost its series")
	require.NoError(t, p.ConsumeTraces(ctx, traces(sender{"big", "big", "big", 50}, sender{"c", "c", "c", 1})))
	assert.Equal(t, map[string]int64{"traces a/a/a": 2, "traces big/big/big": 50, "traces other/other/other": 501},
		series(t, f.tel, MetricReceivedItems), "c counts in other until it ranks")
}

func TestEverySignalIsCounted(t *testing.T) {
	f := newFixture(t)
	cfg := createDefaultConfig().(*Config)
	ctx := context.Background()
	lp, err := f.factory().CreateLogs(ctx, f.settings(), cfg, consumertest.NewNop())
	require.NoError(t, err)
	mp, err := f.factory().CreateMetrics(ctx, f.settings(), cfg, consumertest.NewNop())
	require.NoError(t, err)

	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("k8s.namespace.name", "shop")
	for range 3 {
		rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Body().SetStr("line")
	}
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("k8s.namespace.name", "shop")
	ms := rm.ScopeMetrics().AppendEmpty().Metrics()
	ms.AppendEmpty().SetEmptyGauge().DataPoints().AppendEmpty()
	h := ms.AppendEmpty().SetEmptyHistogram().DataPoints()
	h.AppendEmpty()
	h.AppendEmpty()
	ms.AppendEmpty().SetEmptySum().DataPoints().AppendEmpty()
	require.Equal(t, 4, md.DataPointCount())

	require.NoError(t, lp.ConsumeLogs(ctx, ld))
	require.NoError(t, mp.ConsumeMetrics(ctx, md))
	assert.Equal(t, map[string]int64{"logs shop/unknown/unknown": 3, "metrics shop/unknown/unknown": 4},
		series(t, f.tel, MetricReceivedItems))
	assert.False(t, lp.Capabilities().MutatesData)
	require.NoError(t, lp.Shutdown(ctx))
	require.NoError(t, mp.Shutdown(ctx))
	require.NoError(t, mp.Shutdown(ctx), "shutdown twice")
}

// fakeExporterFactory makes exporters that hand traces to sink, or fail
// with err.
func fakeExporterFactory(sink *consumertest.TracesSink, err error) exporter.Factory {
	return exporter.NewFactory(component.MustNewType("fake"), func() component.Config { return &struct{}{} },
		exporter.WithTraces(func(context.Context, exporter.Settings, component.Config) (exporter.Traces, error) {
			return fakeExporter{sink: sink, err: err}, nil
		}, component.StabilityLevelAlpha))
}

type fakeExporter struct {
	component.StartFunc
	component.ShutdownFunc
	sink *consumertest.TracesSink
	err  error
}

func (e fakeExporter) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

func (e fakeExporter) ConsumeTraces(ctx context.Context, td ptrace.Traces) error {
	if e.err != nil {
		return e.err
	}
	return e.sink.ConsumeTraces(ctx, td)
}

func TestWrappedExportersCountWhatTheyAccept(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	sink := new(consumertest.TracesSink)
	newExporter := func(ef exporter.Factory, name string) exporter.Traces {
		set := exportertest.NewNopSettings(ef.Type())
		set.ID = component.MustNewIDWithName("fake", name)
		set.TelemetrySettings = f.tel.NewTelemetrySettings()
		e, err := WrapExporter(ef, f.shared, withClock(f.clock)).CreateTraces(ctx, set, ef.CreateDefaultConfig())
		require.NoError(t, err)
		require.NoError(t, e.Start(ctx, componenttest.NewNopHost()))
		t.Cleanup(func() { assert.NoError(t, e.Shutdown(ctx)) })
		return e
	}
	good := newExporter(fakeExporterFactory(sink, nil), "jaeger")
	bad := newExporter(fakeExporterFactory(nil, errors.New("backend down")), "down")

	// Before any usage processor is built, exporters count nothing.
	require.NoError(t, good.ConsumeTraces(ctx, traces(sender{"shop", "cart", "cart-api", 5})))
	assert.Empty(t, series(t, f.tel, MetricExportedItems))
	assert.Equal(t, 5, sink.SpanCount(), "and still export")

	f.traces(t, createDefaultConfig().(*Config), consumertest.NewNop())
	require.NoError(t, good.ConsumeTraces(ctx, traces(sender{"shop", "cart", "cart-api", 5}, sender{"ops", "backup", "backup", 1})))
	require.Error(t, bad.ConsumeTraces(ctx, traces(sender{"shop", "cart", "cart-api", 2})))
	assert.Equal(t, map[string]int64{
		"traces fake/jaeger shop/cart/cart-api": 5,
		"traces fake/jaeger ops/backup/backup":  1,
	}, series(t, f.tel, MetricExportedItems))
	assert.Equal(t, map[string]int64{"traces fake/down shop/cart/cart-api": 2}, series(t, f.tel, MetricExportFailedItems))
	assert.Equal(t, 11, sink.SpanCount())
}

func TestWrappedExporterKeepsItsTypeAndAlias(t *testing.T) {
	f := otlpexporter.NewFactory()
	w := WrapExporter(f, NewShared())
	assert.Equal(t, f.Type(), w.Type())
	type aliased interface{ DeprecatedAlias() component.Type }
	require.Implements(t, (*aliased)(nil), f)
	assert.NotEmpty(t, f.(aliased).DeprecatedAlias().String(), "otlp_grpc still answers to otlp")
	assert.Equal(t, f.(aliased).DeprecatedAlias(), w.(aliased).DeprecatedAlias())
	assert.Equal(t, f.TracesStability(), w.TracesStability())
	assert.Equal(t, f.LogsStability(), w.LogsStability())
}

func TestAnExporterThatCountsItself(t *testing.T) {
	f := newFixture(t)
	set := exportertest.NewNopSettings(component.MustNewType("loki"))
	set.ID = component.MustNewID("loki")
	set.TelemetrySettings = f.tel.NewTelemetrySettings()
	c := f.shared.ExporterCounter(set, "logs")
	res := pcommon.NewMap()
	res.PutStr("k8s.namespace.name", "shop")
	res.PutStr("service.name", "cart")

	c.Count(res, 3, 300, nil) // before any usage processor: not counted
	assert.Empty(t, series(t, f.tel, MetricExportedBytes))

	f.traces(t, createDefaultConfig().(*Config), consumertest.NewNop())
	c.Count(res, 3, 300, nil)
	c.Count(res, 2, 200, errors.New("loki down"))
	assert.Equal(t, map[string]int64{"logs loki shop/unknown/cart": 300}, series(t, f.tel, MetricExportedBytes))
	assert.Equal(t, map[string]int64{"logs loki shop/unknown/cart": 2}, series(t, f.tel, MetricExportFailedItems))
	require.NoError(t, c.Close())
	require.NoError(t, c.Close())
	assert.Empty(t, series(t, f.tel, MetricExportedBytes), "closed: no longer reported")
}

// An OTLP exporter whose sending queue is on disk says it leaves the data it
// is given alone, so that a pipeline feeding it and a connector does not copy
// every request for it; with its queue in memory and batching it keeps the
// collector's answer (it changes the data), and exporters Braid has not
// checked keep theirs whatever their queue.
func TestWrappedExporterCapabilitiesFollowItsQueue(t *testing.T) {
	for _, tc := range []struct {
		name    string
		factory exporter.Factory
		queue   map[string]any
		mutates bool
	}{
		{"otlp, queue on disk and batching", otlpexporter.NewFactory(), map[string]any{"storage": "wal_storage", "batch": map[string]any{}}, false},
		{"otlp, queue on disk", otlpexporter.NewFactory(), map[string]any{"storage": "wal_storage"}, false},
		{"otlp, queue in memory and batching", otlpexporter.NewFactory(), map[string]any{"batch": map[string]any{}}, true},
		{"otlp, queue in memory", otlpexporter.NewFactory(), map[string]any{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := WrapExporter(tc.factory, NewShared())
			cfg := f.CreateDefaultConfig()
			require.NoError(t, confmap.NewFromStringMap(map[string]any{"endpoint": "127.0.0.1:4317", "sending_queue": tc.queue}).Unmarshal(cfg))
			set := exportertest.NewNopSettings(f.Type())
			traces, err := f.CreateTraces(context.Background(), set, cfg)
			require.NoError(t, err)
			logs, err := f.CreateLogs(context.Background(), set, cfg)
			require.NoError(t, err)
			metrics, err := f.CreateMetrics(context.Background(), set, cfg)
			require.NoError(t, err)
			assert.Equal(t, tc.mutates, traces.Capabilities().MutatesData, "traces")
			assert.Equal(t, tc.mutates, logs.Capabilities().MutatesData, "logs")
			assert.Equal(t, tc.mutates, metrics.Capabilities().MutatesData, "metrics")
			// An exporter Braid has not checked (the load-balancing one
			// routes before its queue) keeps the collector's answer.
			assert.False(t, queueOnDisk(component.MustNewType("loadbalancing"), cfg))
		})
	}
}
