package admissionprocessor

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/braidobs/braid/internal/testnet"
)

func TestConfigRefusesBadSettingsNamingTheKey(t *testing.T) {
	for _, tc := range []struct {
		name    string
		conf    map[string]any
		wantErr string
	}{
		{"defaults", map[string]any{}, ""},
		{"set", map[string]any{"max_in_flight_items": 1000, "retry_after": "5s"}, ""},
		{"zero limit", map[string]any{"max_in_flight_items": 0}, "max_in_flight_items: must be positive, got 0"},
		{"negative limit", map[string]any{"max_in_flight_items": -5}, "max_in_flight_items: must be positive, got -5"},
		{"zero retry", map[string]any{"retry_after": "0s"}, "retry_after: must be positive, got 0s"},
		{"fairness", map[string]any{"fair_share": false, "default_weight": 2, "default_rate_limit": 1000,
			"namespaces": map[string]any{"shop": map[string]any{"weight": 3, "rate_limit": 5000}}, "share_window": "30s"}, ""},
		{"bad namespace weight", map[string]any{"namespaces": map[string]any{"shop": map[string]any{"weight": -1}}},
			"namespaces::shop::weight: must be zero (default_weight) or positive, got -1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := createDefaultConfig().(*Config)
			require.NoError(t, confmap.NewFromStringMap(tc.conf).Unmarshal(cfg))
			err := cfg.Validate()
			if tc.wantErr == "" {
				assert.NoError(t, err)
				return
			}
			assert.ErrorContains(t, err, tc.wantErr)
		})
	}
}

func TestGateAdmitsUpToTheLimit(t *testing.T) {
	for _, tc := range []struct {
		name     string
		inFlight int64
		n        int64
		want     bool
	}{
		{"empty pipeline takes anything", 0, 500, true},
		{"empty pipeline takes more than the limit", 0, 5000, true},
		{"room left", 600, 400, true},
		{"exactly at the limit", 500, 500, true},
		{"over the limit", 501, 500, false},
		{"full", 1000, 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := &gate{limit: 1000}
			g.inFlight.Store(tc.inFlight)
			assert.Equal(t, tc.want, g.admit(tc.n))
			want := tc.inFlight
			if tc.want {
				want += tc.n
			}
			assert.Equal(t, want, g.inFlight.Load())
		})
	}
}

func spans(n int) ptrace.Traces {
	td := ptrace.NewTraces()
	ss := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	for range n {
		ss.AppendEmpty().SetName("op")
	}
	return td
}

// blocking holds every request until release is closed, as a pipeline
// that is behind does.
type blocking struct {
	consumertest.TracesSink
	entered chan struct{}
	release chan struct{}
}

func newBlocking() *blocking {
	return &blocking{entered: make(chan struct{}, 100), release: make(chan struct{})}
}

func (b *blocking) ConsumeTraces(ctx context.Context, td ptrace.Traces) error {
	b.entered <- struct{}{}
	<-b.release
	return b.TracesSink.ConsumeTraces(ctx, td)
}

func newTracesGate(t *testing.T, limit int64, next consumer.Traces) consumer.Traces {
	t.Helper()
	cfg := createDefaultConfig().(*Config)
	cfg.MaxInFlightItems = limit
	p, err := NewFactory().CreateTraces(context.Background(), processortest.NewNopSettings(Type), cfg, next)
	require.NoError(t, err)
	require.NoError(t, p.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { assert.NoError(t, p.Shutdown(context.Background())) })
	return p
}

func TestRefusesWhilePipelineIsBehindAndAdmitsAgainAfter(t *testing.T) {
	next := newBlocking()
	p := newTracesGate(t, 1000, next)
	ctx := context.Background()

	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for range 2 {
		wg.Go(func() { errs <- p.ConsumeTraces(ctx, spans(400)) })
		<-next.entered
	}
	// 800 in flight: 300 more would go over.
	err := p.ConsumeTraces(ctx, spans(300))
	st, ok := status.FromError(err)
	require.True(t, ok, "refusal is a gRPC status: %v", err)
	assert.Equal(t, codes.ResourceExhausted, st.Code())
	assert.Contains(t, st.Message(), "admission limit")
	var retry *errdetails.RetryInfo
	for _, d := range st.Details() {
		if r, ok := d.(*errdetails.RetryInfo); ok {
			retry = r
		}
	}
	require.NotNil(t, retry, "the refusal carries RetryInfo, so OTLP senders retry it")
	assert.Equal(t, 5*time.Second, retry.GetRetryDelay().AsDuration())

	close(next.release)
	wg.Wait()
	close(errs)
	for err := range errs {
		assert.NoError(t, err)
	}
	require.NoError(t, p.ConsumeTraces(ctx, spans(300)))
	assert.Equal(t, 1100, next.SpanCount())
}

func TestInFlightIsReleasedWhenDownstreamFails(t *testing.T) {
	p := newTracesGate(t, 10, consumertest.NewErr(errors.New("exporter down")))
	for range 3 {
		assert.ErrorContains(t, p.ConsumeTraces(context.Background(), spans(10)), "exporter down")
	}
}

func TestEverySignalIsGated(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	f := NewFactory()
	set := processortest.NewNopSettings(Type)
	ctx := context.Background()
	logsSink, metricsSink := new(consumertest.LogsSink), new(consumertest.MetricsSink)
	lp, err := f.CreateLogs(ctx, set, cfg, logsSink)
	require.NoError(t, err)
	mp, err := f.CreateMetrics(ctx, set, cfg, metricsSink)
	require.NoError(t, err)
	ld := plog.NewLogs()
	ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	md := pmetric.NewMetrics()
	md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty().SetEmptyGauge().DataPoints().AppendEmpty()
	require.NoError(t, lp.ConsumeLogs(ctx, ld))
	require.NoError(t, mp.ConsumeMetrics(ctx, md))
	assert.Equal(t, 1, logsSink.LogRecordCount())
	assert.Equal(t, 1, metricsSink.DataPointCount())
	assert.False(t, lp.Capabilities().MutatesData)
}

// TestOTLPSendersSeeRetryableRefusals puts the processor behind the real
// OTLP receiver: while the pipeline is behind, a gRPC sender gets
// RESOURCE_EXHAUSTED with RetryInfo and an HTTP sender gets 429.
func TestOTLPSendersSeeRetryableRefusals(t *testing.T) {
	next := newBlocking()
	p := newTracesGate(t, 1000, next)

	rf := otlpreceiver.NewFactory()
	rcfg := rf.CreateDefaultConfig()
	grpcAddr, httpAddr := testnet.FreeAddr(t), testnet.FreeAddr(t)
	require.NoError(t, confmap.NewFromStringMap(map[string]any{"protocols": map[string]any{
		"grpc": map[string]any{"endpoint": grpcAddr},
		"http": map[string]any{"endpoint": httpAddr},
	}}).Unmarshal(rcfg))
	r, err := rf.CreateTraces(context.Background(), receivertest.NewNopSettings(rf.Type()), rcfg, p)
	require.NoError(t, err)
	require.NoError(t, r.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { assert.NoError(t, r.Shutdown(context.Background())) })

	conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	client := ptraceotlp.NewGRPCClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// One request of 900 spans is held downstream.
	held := make(chan error, 1)
	go func() {
		_, err := client.Export(ctx, ptraceotlp.NewExportRequestFromTraces(spans(900)))
		held <- err
	}()
	<-next.entered

	_, err = client.Export(ctx, ptraceotlp.NewExportRequestFromTraces(spans(200)))
	st := status.Convert(err)
	assert.Equal(t, codes.ResourceExhausted, st.Code(), "gRPC: %v", err)
	hasRetryInfo := false
	for _, d := range st.Details() {
		_, ok := d.(*errdetails.RetryInfo)
		hasRetryInfo = hasRetryInfo || ok
	}
	assert.True(t, hasRetryInfo, "gRPC refusal without RetryInfo: %v", st.Details())

	body, err := ptraceotlp.NewExportRequestFromTraces(spans(200)).MarshalProto()
	require.NoError(t, err)
	resp, err := http.Post("http://"+httpAddr+"/v1/traces", "application/x-protobuf", bytes.NewReader(body))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode)

	close(next.release)
	require.NoError(t, <-held)
	_, err = client.Export(ctx, ptraceotlp.NewExportRequestFromTraces(spans(200)))
	require.NoError(t, err)
	assert.Equal(t, 1100, next.SpanCount())
}
