package admissionprocessor

import (
	"context"
	"fmt"
	"sync/atomic"

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
)

const scopeName = "github.com/braidobs/braid/processors/admissionprocessor"

// gate counts the items in flight through one pipeline and admits or
// refuses requests.
type gate struct {
	limit    int64
	inFlight atomic.Int64
	refusal  error

	refused metric.Int64Counter
	attrs   metric.MeasurementOption
	reg     metric.Registration
}

func newGate(set component.TelemetrySettings, cfg *Config, signal string) (*gate, error) {
	st, err := status.New(codes.ResourceExhausted,
		fmt.Sprintf("Braid's %s pipeline is at its admission limit (max_in_flight_items %d); retry later", signal, cfg.MaxInFlightItems)).
		WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(cfg.RetryAfter)})
	if err != nil {
		return nil, fmt.Errorf("build the refusal status: %w", err)
	}
	g := &gate{
		limit:   cfg.MaxInFlightItems,
		refusal: st.Err(),
		attrs:   metric.WithAttributeSet(attribute.NewSet(attribute.String("signal", signal))),
	}
	m := set.MeterProvider.Meter(scopeName)
	g.refused, err = m.Int64Counter("braid_admission_refused_items",
		metric.WithDescription("Items refused because the pipeline was at max_in_flight_items, by signal."),
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
	// The refusal count exists from the start, at 0: a dashboard then shows
	// that nothing was refused rather than no data.
	g.refused.Add(context.Background(), 0, g.attrs)
	g.reg, err = m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		o.ObserveInt64(inFlight, g.inFlight.Load(), g.attrs)
		return nil
	}, inFlight)
	if err != nil {
		return nil, fmt.Errorf("register self-metrics callback: %w", err)
	}
	return g, nil
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

// enter takes n items into flight, or refuses them with the retryable
// status. Every successful enter is paired with a leave.
func (g *gate) enter(ctx context.Context, n int) error {
	if !g.admit(int64(n)) {
		g.refused.Add(ctx, int64(n), g.attrs)
		return g.refusal
	}
	return nil
}

// leave takes n items out of flight.
func (g *gate) leave(n int) { g.inFlight.Add(-int64(n)) }

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
	if err := p.enter(ctx, n); err != nil {
		return err
	}
	defer p.leave(n)
	return p.next.ConsumeTraces(ctx, td)
}

type logsGate struct {
	*gate
	next consumer.Logs
}

func (p logsGate) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	n := ld.LogRecordCount()
	if err := p.enter(ctx, n); err != nil {
		return err
	}
	defer p.leave(n)
	return p.next.ConsumeLogs(ctx, ld)
}

type metricsGate struct {
	*gate
	next consumer.Metrics
}

func (p metricsGate) ConsumeMetrics(ctx context.Context, md pmetric.Metrics) error {
	n := md.DataPointCount()
	if err := p.enter(ctx, n); err != nil {
		return err
	}
	defer p.leave(n)
	return p.next.ConsumeMetrics(ctx, md)
}
