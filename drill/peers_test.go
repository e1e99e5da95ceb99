package drill_test

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/braidobs/braid/correlate"
	"github.com/braidobs/braid/correlate/links"
	"github.com/braidobs/braid/drill"
)

var (
	splitTrace = pcommon.TraceID{0x5a, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}
	onlyOnC    = pcommon.TraceID{0xc0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}
	cartOnB    = pcommon.TraceID{0xb0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}
	// jaegerTrace is the fixture's trace (testdata/jaeger_trace.json).
	jaegerTrace = pcommon.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36}
)

type span struct {
	trace          pcommon.TraceID
	id, parent     byte
	service, pod   string
	start, end     time.Duration // after alertTime - 1m
	failed, logged bool
}

func indexOf(t *testing.T, spans ...span) *correlate.TraceIndex {
	t.Helper()
	cfg := correlate.DefaultIndexConfig()
	cfg.Now = func() time.Time { return alertTime }
	idx, err := correlate.NewTraceIndex(cfg)
	require.NoError(t, err)
	t0 := alertTime.Add(-time.Minute)
	for _, s := range spans {
		rec := &correlate.SpanRecord{
			TraceID: s.trace, SpanID: pcommon.SpanID{s.trace[0], s.id}, Name: "POST /" + s.service, Service: s.service,
			PodKey: s.pod, Start: ts(t0.Add(s.start)), End: ts(t0.Add(s.end)), Error: s.failed,
		}
		if s.parent != 0 {
			rec.ParentSpanID = pcommon.SpanID{s.trace[0], s.parent}
		}
		idx.AddSpan(rec)
		if s.logged {
			idx.AddLog(s.trace, s.pod, s.service)
		}
	}
	return idx
}

// threeReplicas hold parts of the same traces: the split trace's root on A,
// two of its children on B; a trace only C saw; one of cart only B saw.
func threeReplicas(t *testing.T) []*correlate.TraceIndex {
	ms := time.Millisecond
	return []*correlate.TraceIndex{
		indexOf(t, span{trace: splitTrace, id: 1, service: "checkout", pod: "shop/checkout-1", end: 100 * ms, logged: true}),
		indexOf(t,
			span{trace: splitTrace, id: 2, parent: 1, service: "checkout", pod: "shop/checkout-2", start: 10 * ms, end: 300 * ms, failed: true},
			span{trace: splitTrace, id: 3, parent: 2, service: "cart", pod: "shop/cart-1", start: 20 * ms, end: 50 * ms},
			span{trace: cartOnB, id: 1, service: "cart", pod: "shop/cart-1", end: 10 * ms}),
		indexOf(t, span{trace: onlyOnC, id: 1, service: "checkout", pod: "shop/checkout-3", end: 50 * ms}),
	}
}

// replica is one drill server on loopback, its handler swappable (to take
// it down or slow it), counting the requests it gets.
type replica struct {
	srv     *httptest.Server
	addr    string
	api     *drill.Server
	handler atomic.Pointer[http.Handler]
	// fromClients and fromPeers count requests without and with the local
	// marker; sent counts the requests it made to peers.
	fromClients, fromPeers, sent atomic.Int64

	mu       sync.Mutex // guards outcomes
	outcomes map[string]int
}

func (r *replica) observe(outcome string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.outcomes[outcome]++
}

func (r *replica) observed() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Clone(r.outcomes)
}

func (r *replica) serve(h http.Handler) { r.handler.Store(&h) }

func newReplica(t *testing.T, ln net.Listener) *replica {
	t.Helper()
	r := &replica{outcomes: map[string]int{}}
	h := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Header.Get(drill.LocalHeader) == "1" {
			r.fromPeers.Add(1)
		} else {
			r.fromClients.Add(1)
		}
		(*r.handler.Load()).ServeHTTP(w, req)
	})
	if ln == nil {
		r.srv = httptest.NewServer(h)
	} else {
		r.srv = httptest.NewUnstartedServer(h)
		r.srv.Listener.Close()
		r.srv.Listener = ln
		r.srv.Start()
	}
	t.Cleanup(r.srv.Close)
	r.addr = r.srv.Listener.Addr().String()
	return r
}

type fleetOptions struct {
	jaegerURL string
	timeout   time.Duration
	// peers returns replica i's peer source; nil means every replica's
	// address, its own included (the instance ID skips it).
	peers func(i int, addrs []string) drill.PeerSource
}

func newFleet(t *testing.T, idxs []*correlate.TraceIndex, o fleetOptions, listeners ...net.Listener) []*replica {
	t.Helper()
	lb, err := links.NewLinkBuilder("http://grafana.example:3000", links.DefaultDatasources())
	require.NoError(t, err)
	rs := make([]*replica, len(idxs))
	addrs := make([]string, len(idxs))
	for i := range idxs {
		var ln net.Listener
		if i < len(listeners) {
			ln = listeners[i]
		}
		rs[i] = newReplica(t, ln)
		addrs[i] = rs[i].addr
	}
	for i, idx := range idxs {
		src := drill.PeerSource(drill.StaticPeers(addrs))
		if o.peers != nil {
			src = o.peers(i, addrs)
		}
		cfg := drill.Config{Index: idx, Links: lb, Now: func() time.Time { return alertTime },
			Peers: &drill.PeersConfig{Source: src, Timeout: o.timeout, Observe: rs[i].observe,
				Client: &http.Client{Transport: countingTransport{&rs[i].sent}}}}
		if o.jaegerURL != "" {
			cfg.Jaeger, err = drill.NewJaegerClient(o.jaegerURL, nil)
			require.NoError(t, err)
		}
		rs[i].api, err = drill.NewServer(cfg)
		require.NoError(t, err)
		rs[i].serve(rs[i].api)
	}
	return rs
}

// countingTransport counts the requests a replica sends.
type countingTransport struct{ n *atomic.Int64 }

func (c countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return http.DefaultTransport.RoundTrip(r)
}

func TestFleetAnswersFromEveryReplica(t *testing.T) {
	rs := newFleet(t, threeReplicas(t), fleetOptions{})
	for i, r := range rs {
		t.Run("asking replica "+string(rune('A'+i)), func(t *testing.T) {
			var tr drill.TraceAnswer
			require.Equal(t, http.StatusOK, getJSON(t, r.srv.URL+"/api/v1/traces/"+splitTrace.String(), &tr))
			assert.False(t, tr.Partial)
			assert.Empty(t, tr.MissingPeers)
			assert.Equal(t, "POST /checkout", tr.RootOperation, "the root is on A")
			assert.ElementsMatch(t, []string{"checkout", "cart"}, tr.Services)
			assert.ElementsMatch(t, []string{"shop/checkout-1", "shop/checkout-2", "shop/cart-1"}, tr.Pods)
			assert.Equal(t, 3, tr.SpanCount)
			assert.Equal(t, 1, tr.LogCount)
			assert.True(t, tr.Error, "the failed span is on B")
			assert.InDelta(t, 300, tr.DurationMS, 0.001)
			assert.Equal(t, "braid", tr.Source)
			assert.Contains(t, tr.Links.Trace, splitTrace.String())

			var l drill.TraceList
			require.Equal(t, http.StatusOK, getJSON(t, r.srv.URL+"/api/v1/services/checkout/traces", &l))
			assert.Equal(t, []string{splitTrace.String(), onlyOnC.String()}, ids(l.Traces))
			assert.Equal(t, 3, l.Traces[0].SpanCount)
			assert.False(t, l.Partial)

			require.Equal(t, http.StatusOK, getJSON(t, r.srv.URL+"/api/v1/services/checkout/traces?limit=1", &l))
			assert.Equal(t, []string{splitTrace.String()}, ids(l.Traces))

			require.Equal(t, http.StatusOK, getJSON(t, r.srv.URL+"/api/v1/pods/"+url.PathEscape("shop/cart-1")+"/traces", &l))
			assert.Equal(t, []string{splitTrace.String(), cartOnB.String()}, ids(l.Traces))

			require.Equal(t, http.StatusOK, getJSON(t, r.srv.URL+"/api/v1/pods/"+url.PathEscape("shop/checkout-3")+"/traces", &l))
			assert.Equal(t, []string{onlyOnC.String()}, ids(l.Traces))

			var e drill.Error
			assert.Equal(t, http.StatusNotFound, getJSON(t, r.srv.URL+"/api/v1/traces/"+strings.Repeat("ab", 16), &e))
			assert.False(t, e.Partial)
		})
	}
}

func TestFleetEnrichesAlertsFromEveryReplica(t *testing.T) {
	rs := newFleet(t, threeReplicas(t), fleetOptions{})
	body := `{"version":"4","status":"firing","alerts":[{"status":"firing","fingerprint":"f1","startsAt":"2026-11-26T12:00:00Z",
		"labels":{"alertname":"BraidServiceErrorBudgetBurn","service_name":"checkout"}}]}`
	resp, err := http.Post(rs[0].srv.URL+"/api/v1/alerts", "application/json", strings.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var got drill.AlertResponse
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&got))
	require.Len(t, got.Alerts, 1)
	assert.False(t, got.Partial)
	assert.Equal(t, "service", got.Alerts[0].Scope)
	assert.Equal(t, []string{splitTrace.String(), onlyOnC.String()}, ids(got.Alerts[0].Traces))
	assert.Equal(t, 3, got.Alerts[0].Traces[0].SpanCount)

	// Alertmanager reached A through the Service; C is asked for the alert
	// and finds it on A.
	var again drill.AlertEnrichment
	require.Equal(t, http.StatusOK, getJSON(t, rs[2].srv.URL+"/api/v1/alerts/f1", &again))
	assert.Equal(t, ids(got.Alerts[0].Traces), ids(again.Traces))
	var e drill.Error
	assert.Equal(t, http.StatusNotFound, getJSON(t, rs[2].srv.URL+"/api/v1/alerts/f2", &e))
}

func TestPeerRequestsAreNotFannedOutAgain(t *testing.T) {
	rs := newFleet(t, threeReplicas(t), fleetOptions{})
	for _, path := range []string{
		"/api/v1/traces/" + splitTrace.String(),
		"/api/v1/services/checkout/traces",
		"/api/v1/pods/" + url.PathEscape("shop/cart-1") + "/traces",
		"/api/v1/alerts/none",
	} {
		t.Run(path, func(t *testing.T) {
			for _, r := range rs {
				r.fromClients.Store(0)
				r.fromPeers.Store(0)
				r.sent.Store(0)
			}
			var v map[string]any
			getJSON(t, rs[1].srv.URL+path, &v)
			assert.Equal(t, int64(1), rs[1].fromClients.Load())
			for i, r := range rs {
				// B asks everyone, itself included (and skips its own
				// answer); those asked ask nobody.
				assert.NotZero(t, r.fromPeers.Load(), "replica %d", i)
				if i != 1 {
					assert.Zero(t, r.fromClients.Load(), "replica %d", i)
					assert.Zero(t, r.sent.Load(), "replica %d asked its peers in turn", i)
				}
			}
			assert.Equal(t, rs[1].sent.Load(), rs[0].fromPeers.Load()+rs[1].fromPeers.Load()+rs[2].fromPeers.Load())
		})
	}
}

func TestPeerThatFailsMakesThePartialAnswer(t *testing.T) {
	tests := []struct {
		name string
		// breaks replica C.
		breaks func(r *replica)
	}{
		{"down", func(r *replica) { r.srv.Close() }},
		{"slower than the timeout", func(r *replica) {
			r.serve(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
				select {
				case <-req.Context().Done():
				case <-time.After(5 * time.Second):
				}
			}))
		}},
		{"correlation processor not running", func(r *replica) {
			r.serve(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				http.Error(w, `{"error":"correlation processor correlation is not running"}`, http.StatusServiceUnavailable)
			}))
		}},
		{"answers garbage", func(r *replica) {
			r.serve(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("{not json")) }))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs := newFleet(t, threeReplicas(t), fleetOptions{timeout: 200 * time.Millisecond})
			tt.breaks(rs[2])
			down := rs[2].addr

			var l drill.TraceList
			require.Equal(t, http.StatusOK, getJSON(t, rs[0].srv.URL+"/api/v1/services/checkout/traces", &l))
			assert.True(t, l.Partial)
			assert.Equal(t, []string{down}, l.MissingPeers)
			assert.Equal(t, []string{splitTrace.String()}, ids(l.Traces), "A's and B's parts still answer")

			var tr drill.TraceAnswer
			require.Equal(t, http.StatusOK, getJSON(t, rs[0].srv.URL+"/api/v1/traces/"+splitTrace.String(), &tr))
			assert.True(t, tr.Partial)
			assert.Equal(t, []string{down}, tr.MissingPeers)
			assert.Equal(t, 3, tr.SpanCount)

			var e drill.Error
			require.Equal(t, http.StatusNotFound, getJSON(t, rs[0].srv.URL+"/api/v1/traces/"+onlyOnC.String(), &e))
			assert.True(t, e.Partial)
			assert.Contains(t, e.Error, down)
		})
	}
}

func TestJaegerCompletesAPartOfATrace(t *testing.T) {
	jaeger, _ := fakeJaeger(t)
	ms := time.Millisecond
	idxs := []*correlate.TraceIndex{
		indexOf(t),
		// Only a child span and a log of the fixture's trace: the root is
		// no longer in any index.
		indexOf(t, span{trace: jaegerTrace, id: 9, parent: 1, service: "orders-db", pod: "shop/db-0", start: 10 * ms, end: 20 * ms, logged: true}),
	}
	rs := newFleet(t, idxs, fleetOptions{jaegerURL: jaeger.URL})
	var tr drill.TraceAnswer
	require.Equal(t, http.StatusOK, getJSON(t, rs[0].srv.URL+"/api/v1/traces/"+jaegerTrace.String(), &tr))
	assert.Equal(t, "braid+jaeger", tr.Source)
	assert.Equal(t, "POST /checkout", tr.RootOperation, "from Jaeger")
	assert.Equal(t, 2, tr.SpanCount, "Jaeger's two spans include the one the index has")
	assert.Equal(t, 1, tr.LogCount, "logs only the index counts")
	assert.ElementsMatch(t, []string{"checkout", "orders-db"}, tr.Services)
	assert.Contains(t, tr.Pods, "shop/db-0")
	assert.Contains(t, tr.Pods, "checkout-7d9f8b6c5-abcde")
	assert.False(t, tr.Partial)
}

// fakeResolver answers LookupHost from a table and counts the lookups.
type fakeResolver struct {
	mu      sync.Mutex
	answers map[string][]string
	err     error
	lookups int
}

func (f *fakeResolver) LookupHost(_ context.Context, host string) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lookups++
	if f.err != nil {
		return nil, f.err
	}
	return f.answers[host], nil
}

func (f *fakeResolver) set(host string, ips []string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.answers[host], f.err = ips, err
}

func TestDNSPeers(t *testing.T) {
	const name = "braid-gateway-headless.braid.svc.cluster.local"
	res := &fakeResolver{answers: map[string][]string{name: {"10.0.0.3", "10.0.0.1", "10.0.0.2", "10.0.0.1"}}}
	now := alertTime
	d, err := drill.NewDNSPeers(drill.DNSPeersConfig{Address: name + ":8890", Resolver: res, Self: []string{"10.0.0.2"},
		Refresh: 10 * time.Second, Now: func() time.Time { return now }})
	require.NoError(t, err)

	steps := []struct {
		name        string
		advance     time.Duration
		ips         []string
		err         error
		want        []string
		wantLookups int
	}{
		{name: "first call looks up; self and duplicates left out", want: []string{"10.0.0.1:8890", "10.0.0.3:8890"}, wantLookups: 1,
			ips: []string{"10.0.0.3", "10.0.0.1", "10.0.0.2", "10.0.0.1"}},
		{name: "within refresh: cached", advance: 9 * time.Second, ips: []string{"10.0.0.9"},
			want: []string{"10.0.0.1:8890", "10.0.0.3:8890"}, wantLookups: 1},
		{name: "after refresh: looked up again", advance: 2 * time.Second, ips: []string{"10.0.0.9", "10.0.0.2"},
			want: []string{"10.0.0.9:8890"}, wantLookups: 2},
		{name: "a failed lookup keeps the last answer", advance: 11 * time.Second, err: errors.New("SERVFAIL"),
			want: []string{"10.0.0.9:8890"}, wantLookups: 3},
		{name: "and waits a refresh before trying again", advance: time.Second, err: errors.New("SERVFAIL"),
			want: []string{"10.0.0.9:8890"}, wantLookups: 3},
		{name: "a replica alone has no peers", advance: 11 * time.Second, ips: []string{"10.0.0.2"},
			want: []string{}, wantLookups: 4},
	}
	for _, s := range steps {
		now = now.Add(s.advance)
		res.set(name, s.ips, s.err)
		got, err := d.Peers(context.Background())
		require.NoError(t, err, s.name)
		assert.Equal(t, s.want, got, s.name)
		assert.Equal(t, s.wantLookups, res.lookups, s.name)
	}

	// With no good answer yet, a failed lookup is an error.
	res.set(name, nil, errors.New("no such host"))
	d2, err := drill.NewDNSPeers(drill.DNSPeersConfig{Address: name + ":8890", Resolver: res})
	require.NoError(t, err)
	_, err = d2.Peers(context.Background())
	assert.ErrorContains(t, err, "no such host")
}

func TestSplitPeerAddress(t *testing.T) {
	for _, tt := range []struct{ addr, err string }{
		{"braid-gateway-headless.braid.svc.cluster.local:8890", ""},
		{"10.0.0.3:8890", ""},
		{"[fd00::3]:8890", ""},
		{"braid-gateway-headless", "not host:port"},
		{":8890", "no host"},
		{"gateway:http", "not a number"},
		{"gateway:0", "not a number"},
		{"gateway:70000", "not a number"},
		{"gateway:", "not a number"},
	} {
		t.Run(tt.addr, func(t *testing.T) {
			_, _, err := drill.SplitPeerAddress(tt.addr)
			if tt.err == "" {
				assert.NoError(t, err)
			} else {
				assert.ErrorContains(t, err, tt.err)
			}
		})
	}
}

// TestFleetFoundByDNS runs three replicas on three loopback addresses and
// one port, as pods behind a headless Service are, each finding the others
// by a (fake) DNS name and knowing its own address.
func TestFleetFoundByDNS(t *testing.T) {
	first, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	_, port, _ := net.SplitHostPort(first.Addr().String())
	listeners := []net.Listener{first}
	ips := []string{"127.0.0.1"}
	for _, ip := range []string{"127.0.0.2", "127.0.0.3"} {
		ln, err := net.Listen("tcp", net.JoinHostPort(ip, port))
		if err != nil {
			for _, l := range listeners {
				l.Close()
			}
			t.Skipf("cannot listen on %s:%s (%v): this test needs 127.0.0.0/8 on loopback", ip, port, err)
		}
		listeners = append(listeners, ln)
		ips = append(ips, ip)
	}
	const name = "braid-gateway-headless.braid.svc.cluster.local"
	res := &fakeResolver{answers: map[string][]string{name: ips}}
	rs := newFleet(t, threeReplicas(t), fleetOptions{peers: func(i int, _ []string) drill.PeerSource {
		d, err := drill.NewDNSPeers(drill.DNSPeersConfig{Address: net.JoinHostPort(name, port), Resolver: res, Self: []string{ips[i]}})
		require.NoError(t, err)
		return d
	}}, listeners...)

	var l drill.TraceList
	require.Equal(t, http.StatusOK, getJSON(t, rs[2].srv.URL+"/api/v1/services/checkout/traces", &l))
	assert.Equal(t, []string{splitTrace.String(), onlyOnC.String()}, ids(l.Traces))
	assert.False(t, l.Partial)
	assert.Zero(t, rs[2].fromPeers.Load(), "a replica does not ask itself: its own IP is left out")
	assert.NotZero(t, rs[0].fromPeers.Load())
	assert.NotZero(t, rs[1].fromPeers.Load())

	// A name that does not resolve: the answer is the replica's own, partial.
	res.set(name, nil, errors.New("no such host"))
	rs = newFleet(t, threeReplicas(t), fleetOptions{peers: func(int, []string) drill.PeerSource {
		d, err := drill.NewDNSPeers(drill.DNSPeersConfig{Address: name + ":8890", Resolver: res})
		require.NoError(t, err)
		return d
	}})
	require.Equal(t, http.StatusOK, getJSON(t, rs[2].srv.URL+"/api/v1/services/checkout/traces", &l))
	assert.Equal(t, []string{onlyOnC.String()}, ids(l.Traces))
	assert.True(t, l.Partial)
	assert.Equal(t, []string{name + ":8890"}, l.MissingPeers)
}

// TestAHungPeerIsWaitedForOncePerWebhook: a webhook of many alerts does not
// wait for a hung peer once per alert.
func TestAHungPeerIsWaitedForOncePerWebhook(t *testing.T) {
	rs := newFleet(t, threeReplicas(t), fleetOptions{timeout: 200 * time.Millisecond})
	rs[2].serve(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		select {
		case <-req.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	var alerts []string
	for i := range 5 {
		alerts = append(alerts, `{"status":"firing","fingerprint":"f`+string(rune('0'+i))+
			`","startsAt":"2026-11-26T12:00:00Z","labels":{"service_name":"checkout","namespace":"shop"}}`)
	}
	body := `{"version":"4","status":"firing","alerts":[` + strings.Join(alerts, ",") + `]}`
	resp, err := http.Post(rs[0].srv.URL+"/api/v1/alerts", "application/json", strings.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var got drill.AlertResponse
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&got))
	assert.True(t, got.Partial)
	assert.Equal(t, []string{rs[2].addr}, got.MissingPeers)
	require.Len(t, got.Alerts, 5)
	for _, a := range got.Alerts {
		assert.Equal(t, []string{rs[2].addr}, a.MissingPeers, a.Fingerprint)
		assert.Equal(t, []string{splitTrace.String()}, ids(a.Traces), a.Fingerprint)
	}
	assert.Equal(t, int64(1), rs[2].fromPeers.Load(), "asked once, not once per alert")
	assert.Equal(t, int64(5), rs[1].fromPeers.Load(), "a healthy peer is asked for each alert")
	assert.Equal(t, map[string]int{"answered": 5, "self": 5, "failed": 1, "skipped": 4}, rs[0].observed())
}

// TestJaegerCompletesAListWhenAReplicaIsDown: the traces a down replica
// holds are searched in Jaeger; the answer stays partial.
func TestJaegerCompletesAListWhenAReplicaIsDown(t *testing.T) {
	jaeger, search := fakeJaeger(t)
	ms := time.Millisecond
	idxs := []*correlate.TraceIndex{
		indexOf(t, span{trace: splitTrace, id: 1, service: "checkout", pod: "shop/checkout-1", end: 100 * ms}),
		indexOf(t, span{trace: jaegerTrace, id: 9, parent: 1, service: "checkout", pod: "shop/checkout-2", start: 10 * ms, end: 20 * ms, logged: true}),
		indexOf(t),
	}
	for _, tt := range []struct {
		name        string
		down        bool
		want        []string
		wantSearch  bool
		wantSource  string
		wantSpans   int
		wantPartial bool
	}{
		{name: "every replica answers: Jaeger is not searched", want: []string{splitTrace.String(), jaegerTrace.String()},
			wantSource: "braid", wantSpans: 1},
		{name: "a replica is down: Jaeger completes the list", down: true, want: []string{jaegerTrace.String(), splitTrace.String()},
			wantSearch: true, wantSource: "braid+jaeger", wantSpans: 2, wantPartial: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			*search = nil
			rs := newFleet(t, idxs, fleetOptions{jaegerURL: jaeger.URL, timeout: 200 * time.Millisecond})
			if tt.down {
				rs[2].srv.Close()
			}
			var l drill.TraceList
			require.Equal(t, http.StatusOK, getJSON(t, rs[0].srv.URL+"/api/v1/services/checkout/traces", &l))
			assert.Equal(t, tt.want, ids(l.Traces))
			assert.Equal(t, tt.wantPartial, l.Partial)
			assert.Equal(t, tt.wantSearch, *search != nil)
			for _, tr := range l.Traces {
				if tr.TraceID == jaegerTrace.String() {
					assert.Equal(t, tt.wantSource, tr.Source)
					assert.Equal(t, tt.wantSpans, tr.SpanCount)
					assert.Equal(t, 1, tr.LogCount)
				}
			}
		})
	}
}

// TestListsCountEveryReplicasPart: a replica's part of a listed trace is
// counted even when it does not match the query by itself (here: other
// services' spans only).
func TestListsCountEveryReplicasPart(t *testing.T) {
	ms := time.Millisecond
	idxs := []*correlate.TraceIndex{
		indexOf(t, span{trace: splitTrace, id: 1, service: "checkout", pod: "shop/checkout-1", end: 100 * ms}),
		indexOf(t,
			span{trace: splitTrace, id: 2, parent: 1, service: "cart", pod: "shop/cart-1", start: 10 * ms, end: 300 * ms, failed: true},
			span{trace: splitTrace, id: 3, parent: 2, service: "cart", pod: "shop/cart-1", start: 20 * ms, end: 50 * ms}),
		indexOf(t, span{trace: splitTrace, id: 4, parent: 1, service: "db", pod: "shop/db-0", start: 30 * ms, end: 40 * ms, logged: true}),
	}
	rs := newFleet(t, idxs, fleetOptions{})
	for i, r := range rs {
		t.Run("asking replica "+string(rune('A'+i)), func(t *testing.T) {
			var l drill.TraceList
			require.Equal(t, http.StatusOK, getJSON(t, r.srv.URL+"/api/v1/services/checkout/traces", &l))
			require.Equal(t, []string{splitTrace.String()}, ids(l.Traces))
			tr := l.Traces[0]
			assert.Equal(t, 4, tr.SpanCount)
			assert.Equal(t, 1, tr.LogCount)
			assert.True(t, tr.Error)
			assert.InDelta(t, 300, tr.DurationMS, 0.001)
			assert.ElementsMatch(t, []string{"checkout", "cart", "db"}, tr.Services)
			assert.False(t, l.Partial)
		})
	}
}

func TestTracesByIDRoute(t *testing.T) {
	rs := newFleet(t, threeReplicas(t), fleetOptions{})
	tests := []struct {
		query  string
		status int
		want   []string
	}{
		{"id=" + splitTrace.String() + "&id=" + cartOnB.String() + "&id=" + onlyOnC.String(), http.StatusOK, []string{splitTrace.String(), cartOnB.String()}},
		{"id=" + onlyOnC.String(), http.StatusOK, []string{}},
		{"", http.StatusBadRequest, nil},
		{"id=xyz", http.StatusBadRequest, nil},
		{strings.Repeat("id="+splitTrace.String()+"&", 1001), http.StatusBadRequest, nil},
	}
	for _, tt := range tests {
		t.Run(tt.query[:min(len(tt.query), 40)], func(t *testing.T) {
			var l drill.TraceList
			assert.Equal(t, tt.status, getJSON(t, rs[1].srv.URL+"/api/v1/traces?"+tt.query, &l))
			if tt.want != nil {
				assert.Equal(t, tt.want, ids(l.Traces), "this replica's parts only")
				assert.Zero(t, rs[1].sent.Load(), "never asks its peers")
			}
		})
	}
}
