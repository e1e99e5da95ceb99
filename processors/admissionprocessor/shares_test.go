package admissionprocessor

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// step is one request (or one release, or a pause) of a shares scenario.
type step struct {
	ns      string
	n       int64
	release bool          // release the items ns holds from its last admitted request
	wait    time.Duration // advance the clock first
	want    string        // "" admitted, else the refusal reason
}

func TestSharesRefuseTheNamespacesOverTheirShareFirst(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cfg   func(*Config)
		steps []step
	}{
		{
			name: "one namespace has the whole limit",
			steps: []step{
				{ns: "a", n: 600}, {ns: "a", n: 400}, {ns: "a", n: 1, want: reasonLimit},
			},
		},
		{
			name: "an empty pipeline takes a request larger than the limit",
			steps: []step{
				{ns: "a", n: 5000}, {ns: "b", n: 1, want: reasonLimit},
			},
		},
		{
			name: "the namespace over its share is refused while the other is admitted",
			steps: []step{
				{ns: "a", n: 600},                        // alone: a's share is the limit
				{ns: "b", n: 100},                        // b arrives: shares are 500 each
				{ns: "a", n: 100, want: reasonFairShare}, // 700 held by a > 500
				{ns: "b", n: 200},
				{ns: "b", n: 100},                  // 1000 in flight, b at 400
				{ns: "b", n: 1, want: reasonLimit}, // the limit still holds
				{ns: "a", release: true},
				{ns: "a", n: 300},                        // nothing of a in flight
				{ns: "a", n: 250, want: reasonFairShare}, // 950 in flight, a would hold 550
				{ns: "b", n: 99},
			},
		},
		{
			name: "under half the limit nobody is refused for its share",
			steps: []step{
				{ns: "a", n: 300}, {ns: "b", n: 10}, {ns: "a", n: 150},
				{ns: "a", n: 100, want: reasonFairShare}, // 560 in flight: a holds 550 > 500
			},
		},
		{
			name: "weights divide the limit",
			cfg:  func(c *Config) { c.Namespaces = map[string]NamespaceConfig{"a": {Weight: 3}} },
			steps: []step{
				{ns: "b", n: 10}, {ns: "a", n: 700}, {ns: "a", n: 50}, // a's share is 750
				{ns: "a", n: 1, want: reasonFairShare},
				{ns: "b", n: 240}, // b's share is 250
				{ns: "b", n: 1, want: reasonLimit},
			},
		},
		{
			name: "a namespace with nothing in flight is never over its share",
			steps: []step{
				{ns: "a", n: 100}, {ns: "b", n: 100}, {ns: "c", n: 400}, {ns: "d", n: 300}, // shares 250
				{ns: "c", n: 1, want: reasonFairShare},
				{ns: "e", n: 90}, // 990 in flight
			},
		},
		{
			name: "without fair_share only the limit counts",
			cfg:  func(c *Config) { c.FairShare = false; c.DefaultRateLimit = 1e9 },
			steps: []step{
				{ns: "a", n: 900}, {ns: "b", n: 10}, {ns: "a", n: 90}, {ns: "b", n: 1, want: reasonLimit},
			},
		},
		{
			name: "an idle namespace stops counting after share_window",
			steps: []step{
				{ns: "b", n: 10}, {ns: "b", release: true},
				{ns: "a", n: 600},
				{ns: "a", n: 1, want: reasonFairShare}, // b sent recently: a's share is 500
				{wait: 11 * time.Second, ns: "a", n: 1},
			},
		},
		{
			name: "rate limits refuse a namespace over its rate",
			cfg: func(c *Config) {
				c.DefaultRateLimit = 100
				c.Namespaces = map[string]NamespaceConfig{"big": {RateLimit: 1000}}
			},
			steps: []step{
				{ns: "a", n: 60}, {ns: "a", release: true}, {ns: "a", n: 60}, {ns: "a", release: true}, // a goes into debt
				{ns: "a", n: 1, want: reasonRateLimit},
				{ns: "big", n: 500}, {ns: "big", release: true},
				{wait: 100 * time.Millisecond, ns: "a", n: 1, want: reasonRateLimit}, // -20 + 10
				{wait: 200 * time.Millisecond, ns: "a", n: 1},                        // -10 + 20
			},
		},
		{
			name: "past max_namespaces new namespaces share one state",
			cfg:  func(c *Config) { c.MaxNamespaces = 2 },
			steps: []step{
				{ns: "a", n: 10}, {ns: "b", n: 400}, {ns: "c", n: 100},
				// c and d are both "other": shares are 333 and other holds 100.
				{ns: "d", n: 233},
				{ns: "d", n: 1, want: reasonFairShare},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := createDefaultConfig().(*Config)
			cfg.MaxInFlightItems = 1000
			if tc.cfg != nil {
				tc.cfg(cfg)
			}
			require.NoError(t, cfg.Validate())
			now := time.Unix(1000, 0)
			s := newShares(cfg, func() time.Time { return now })
			var total atomic.Int64
			held := map[string][]int64{}
			states := map[string]*namespaceState{}
			for i, st := range tc.steps {
				now = now.Add(st.wait)
				if st.release {
					n := held[st.ns][len(held[st.ns])-1]
					held[st.ns] = held[st.ns][:len(held[st.ns])-1]
					s.leave(states[st.ns], n, &total)
					continue
				}
				ns, reason := s.admit(st.ns, st.n, &total)
				require.Equal(t, st.want, reason, "step %d: %s sends %d with %d in flight", i, st.ns, st.n, total.Load())
				if reason == "" {
					held[st.ns] = append(held[st.ns], st.n)
					states[st.ns] = ns
				}
			}
			var want int64
			for _, ns := range held {
				for _, n := range ns {
					want += n
				}
			}
			assert.Equal(t, want, total.Load(), "what is in flight is what was admitted and not released")
			assert.LessOrEqual(t, len(s.byName), cfg.MaxNamespaces+1)
		})
	}
}

func TestConfigRefusesBadFairnessSettingsNamingTheKey(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cfg     func(*Config)
		wantErr string
	}{
		{"weights and rates", func(c *Config) {
			c.Namespaces = map[string]NamespaceConfig{"shop": {Weight: 2, RateLimit: 500}}
		}, ""},
		{"zero default weight", func(c *Config) { c.DefaultWeight = 0 }, "default_weight: must be positive, got 0"},
		{"negative rate", func(c *Config) { c.DefaultRateLimit = -1 }, "default_rate_limit: must be zero (no limit) or positive, got -1"},
		{"negative namespace weight", func(c *Config) {
			c.Namespaces = map[string]NamespaceConfig{"shop": {Weight: -2}}
		}, "namespaces::shop::weight: must be zero (default_weight) or positive, got -2"},
		{"negative namespace rate", func(c *Config) {
			c.Namespaces = map[string]NamespaceConfig{"ops": {RateLimit: -5}}
		}, "namespaces::ops::rate_limit: must be zero (default_rate_limit) or positive, got -5"},
		{"zero max namespaces", func(c *Config) { c.MaxNamespaces = 0 }, "max_namespaces: must be positive, got 0"},
		{"more namespaces than the bound", func(c *Config) {
			c.MaxNamespaces = 1
			c.Namespaces = map[string]NamespaceConfig{"a": {}, "b": {}}
		}, "namespaces: 2 configured, more than max_namespaces 1"},
		{"zero window", func(c *Config) { c.ShareWindow = 0 }, "share_window: must be positive, got 0s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := createDefaultConfig().(*Config)
			tc.cfg(cfg)
			err := cfg.Validate()
			if tc.wantErr == "" {
				assert.NoError(t, err)
				return
			}
			assert.ErrorContains(t, err, tc.wantErr)
		})
	}
}

func nsSpans(namespace string, n int) ptrace.Traces {
	td := spans(n)
	td.ResourceSpans().At(0).Resource().Attributes().PutStr("k8s.namespace.name", namespace)
	return td
}

func TestRefusalsAreCountedPerNamespaceWithTheRetryableStatus(t *testing.T) {
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	set := processortest.NewNopSettings(Type)
	set.TelemetrySettings = tel.NewTelemetrySettings()
	cfg := createDefaultConfig().(*Config)
	cfg.MaxInFlightItems = 1000
	next := newBlocking()
	p, err := NewFactory().CreateTraces(context.Background(), set, cfg, next)
	require.NoError(t, err)
	ctx := context.Background()

	errs := make(chan error, 3)
	go func() { errs <- p.ConsumeTraces(ctx, nsSpans("flood", 700)) }()
	<-next.entered
	go func() { errs <- p.ConsumeTraces(ctx, nsSpans("quiet", 100)) }()
	<-next.entered

	err = p.ConsumeTraces(ctx, nsSpans("flood", 50))
	st := status.Convert(err)
	assert.Equal(t, codes.ResourceExhausted, st.Code())
	assert.Contains(t, st.Message(), "fair share")
	require.Len(t, st.Details(), 1, "RetryInfo")

	go func() { errs <- p.ConsumeTraces(ctx, nsSpans("quiet", 150)) }()
	<-next.entered
	close(next.release)
	for range 3 {
		require.NoError(t, <-errs)
	}
	assert.Equal(t, 950, next.SpanCount())

	m, err := tel.GetMetric("braid_admission_namespace_refused_items")
	require.NoError(t, err)
	got := map[string]int64{}
	for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
		get := func(k string) string { v, _ := dp.Attributes.Value(attribute.Key(k)); return v.AsString() }
		got[fmt.Sprintf("%s %s %s", get("signal"), get("reason"), get("k8s_namespace_name"))] = dp.Value
	}
	assert.Equal(t, map[string]int64{"traces fair_share flood": 50}, got)

	m, err = tel.GetMetric("braid_admission_refused_items")
	require.NoError(t, err)
	byReason := map[string]int64{}
	for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
		v, _ := dp.Attributes.Value("reason")
		byReason[v.AsString()] = dp.Value
	}
	assert.Equal(t, map[string]int64{reasonLimit: 0, reasonFairShare: 50, reasonRateLimit: 0}, byReason)
	require.NoError(t, p.Shutdown(ctx))
}

func TestTheMainSenderOfARequestIsItsNamespace(t *testing.T) {
	td := ptrace.NewTraces()
	for _, s := range []struct {
		ns string
		n  int
	}{{"a", 2}, {"b", 5}, {"a", 2}, {"", 1}} {
		rs := td.ResourceSpans().AppendEmpty()
		if s.ns != "" {
			rs.Resource().Attributes().PutStr("k8s.namespace.name", s.ns)
		}
		for range s.n {
			rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
		}
	}
	assert.Equal(t, "b", tracesNamespace(td))
	assert.Equal(t, "unknown", tracesNamespace(spans(3)))
	assert.Equal(t, "unknown", tracesNamespace(ptrace.NewTraces()))
	_ = consumertest.NewNop()
}
