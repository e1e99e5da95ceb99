package admissionprocessor

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/braidobs/braid/usage"
)

const scopeName = "github.com/braidobs/braid/processors/admissionprocessor"

// gate counts the items in flight through one pipeline and admits or
// refuses requests.
type gate struct {
	limit    int64
	inFlight atomic.Int64
	// shares decides per namespace (fair share, rate limits); nil when
	// the configuration asks for neither, and then admit decides alone.
	shares   *shares
	refusals map[string]error

	refused     metric.Int64Counter
	reasonAttrs map[string]metric.MeasurementOption
	signalAttr  attribute.KeyValue
	byNamespace map[string]*usage.Ledger
	nsRefused   metric.Int64ObservableCounter
	now         func() time.Time
	lastRank    time.Time // guarded by rankMu
	rankMu      sync.Mutex
	reg         metric.Registration
}

// refusalMessages are what a sender reads in each kind of refusal.
var refusalMessages = map[string]string{
	reasonLimit:     "Braid's %s pipeline is at its admission limit (max_in_flight_items %d); retry later",
	reasonFairShare: "Braid's %s pipeline is near its admission limit (max_in_flight_items %d) and this request's namespace holds more than its fair share; retry later",
	reasonRateLimit: "this request's namespace is over its rate limit in Braid's %s pipeline (max_in_flight_items %d); retry later",
}

// Namespaces with their own series in braid_admission_namespace_refused_items.
var namespaceLimits = usage.Limits{TopN: 20, Candidates: 60}

const rankEvery = time.Minute

func newGate(set component.TelemetrySettings, cfg *Config, signal string, now func() time.Time) (*gate, error) {
	g := &gate{
		limit:       cfg.MaxInFlightItems,
		refusals:    map[string]error{},
		reasonAttrs: map[string]metric.MeasurementOption{},
		byNamespace: map[string]*usage.Ledger{},
		signalAttr:  attribute.String("signal", signal),
		now:         now,
		lastRank:    now(),
	}
	if needed(cfg) {
		g.shares = newShares(cfg, now)
	}
	for reason, msg := range refusalMessages {
		st, err := status.New(codes.ResourceExhausted, fmt.Sprintf(msg, signal, cfg.MaxInFlightItems)).
			WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(cfg.RetryAfter)})
		if err != nil {
			return nil, fmt.Errorf("build the refusal status: %w", err)
		}
		g.refusals[reason] = st.Err()
		g.reasonAttrs[reason] = metric.WithAttributeSet(attribute.NewSet(g.signalAttr, attribute.String("reason", reason)))
		if g.byNamespace[reason], err = usage.NewLedger(namespaceLimits); err != nil {
			return nil, err
		}
	}
	m := set.MeterProvider.Meter(scopeName)
	var err error
	g.refused, err = m.Int64Counter("braid_admission_refused_items",
		metric.WithDescription("Items refused, by signal and reason: limit (the pipeline was at max_in_flight_items), fair_share (near it, and their namespace held more than its share), rate_limit (their namespace was over its rate limit)."),
		metric.WithUnit("{item}"))
	if err != nil {
		return nil, fmt.Errorf("create self-metrics: %w", err)
	}
	g.nsRefused, err = m.Int64ObservableCounter("braid_admission_namespace_refused_items",
		metric.WithDescription("Items refused, by signal, reason and namespace (k8s.namespace.name of the request's main sender; the 20 namespaces refused most, the rest as other)."),
		metric.WithUnit("{item}"))
	if err != nil {
		return nil, fmt.Errorf("create self-metrics: %w", err)
	}
	inFlight, err := m.Int64ObservableGauge("braid_admission_in_flight_items",
		metric.WithDescription("Items in flight through the pipeline after the admission processor, by signal."),
		metric.WithUnit("{item}"))
	if err != nil {
		return nil, fmt.Errorf("create self-metrics: %w", err)
	}
	// The refusal counts exist from the start, at 0: a dashboard then shows
	// that nothing was refused rather than no data.
	for _, attrs := range g.reasonAttrs {
		g.refused.Add(context.Background(), 0, attrs)
	}
	inFlightAttrs := metric.WithAttributeSet(attribute.NewSet(g.signalAttr))
	g.reg, err = m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		o.ObserveInt64(inFlight, g.inFlight.Load(), inFlightAttrs)
		g.observeNamespaces(o)
		return nil
	}, inFlight, g.nsRefused)
	if err != nil {
		return nil, fmt.Errorf("register self-metrics callback: %w", err)
	}
	return g, nil
}

func (g *gate) observeNamespaces(o metric.Observer) {
	g.rankMu.Lock()
	if now := g.now(); now.Sub(g.lastRank) >= rankEvery {
		for _, l := range g.byNamespace {
			l.Rank()
		}
		g.lastRank = now
	}
	g.rankMu.Unlock()
	for reason, l := range g.byNamespace {
		l.Each(func(k usage.Key, c usage.Counts) {
			o.ObserveInt64(g.nsRefused, c.Items, metric.WithAttributeSet(attribute.NewSet(
				g.signalAttr, attribute.String("reason", reason), attribute.String("k8s_namespace_name", k.Namespace))))
		})
	}
}

// admit takes n items into flight, or reports false when they would go over
// the limit. A pipeline with nothing in flight admits any request, so one
// larger than the limit still goes through.
func (g *gate) admit(n int64) bool {
	for {
		cur := g.inFlight.Load()
		if cur > 0 && cur+n > g.limit {
			return false
		}
		if g.inFlight.CompareAndSwap(cur, cur+n) {
			return true
		}
	}
}

// enter takes n items of a request into flight, or refuses them with a
// retryable status. namespace names the request's namespace; it is called
// only when needed. Every successful enter is paired with a leave of the
// state it returns.
func (g *gate) enter(ctx context.Context, namespace func() string, n int) (*namespaceState, error) {
	if g.shares == nil {
		if !g.admit(int64(n)) {
			return nil, g.refuse(ctx, reasonLimit, namespace(), n)
		}
		return nil, nil
	}
	ns := namespace()
	st, reason := g.shares.admit(ns, int64(n), &g.inFlight)
	if reason != "" {
		return nil, g.refuse(ctx, reason, ns, n)
	}
	return st, nil
}

func (g *gate) refuse(ctx context.Context, reason, namespace string, n int) error {
	g.refused.Add(ctx, int64(n), g.reasonAttrs[reason])
	g.byNamespace[reason].Add(usage.Key{Namespace: namespace}, int64(n), 0)
	return g.refusals[reason]
}

// leave takes n items out of flight.
func (g *gate) leave(st *namespaceState, n int) {
	if st == nil {
		g.inFlight.Add(-int64(n))
		return
	}
	g.shares.leave(st, int64(n), &g.inFlight)
}

func (g *gate) Start(context.Context, component.Host) error { return nil }

func (g *gate) Shutdown(context.Context) error {
	if g.reg == nil {
		return nil
	}
	err := g.reg.Unregister()
	g.reg = nil
	return err
}

func (g *gate) Capabilities() consumer.Capabilities { return consumer.Capabilities{MutatesData: false} }

type tracesGate struct {
	*gate
	next consumer.Traces
}

func (p tracesGate) ConsumeTraces(ctx context.Context, td ptrace.Traces) error {
	n := td.SpanCount()
	st, err := p.enter(ctx, func() string { return tracesNamespace(td) }, n)
	if err != nil {
		return err
	}
	defer p.leave(st, n)
	return p.next.ConsumeTraces(ctx, td)
}

type logsGate struct {
	*gate
	next consumer.Logs
}

func (p logsGate) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	n := ld.LogRecordCount()
	st, err := p.enter(ctx, func() string { return logsNamespace(ld) }, n)
	if err != nil {
		return err
	}
	defer p.leave(st, n)
	return p.next.ConsumeLogs(ctx, ld)
}

type metricsGate struct {
	*gate
	next consumer.Metrics
}

func (p metricsGate) ConsumeMetrics(ctx context.Context, md pmetric.Metrics) error {
	n := md.DataPointCount()
	st, err := p.enter(ctx, func() string { return metricsNamespace(md) }, n)
	if err != nil {
		return err
	}
	defer p.leave(st, n)
	return p.next.ConsumeMetrics(ctx, md)
}
