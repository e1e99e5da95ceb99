package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/braidobs/braid/correlate"
	"github.com/braidobs/braid/correlate/links"
	"github.com/braidobs/braid/drill"
)

func drillServer(t *testing.T, token string) (*httptest.Server, pcommon.TraceID) {
	t.Helper()
	now := time.Now()
	cfg := correlate.DefaultIndexConfig()
	idx, err := correlate.NewTraceIndex(cfg)
	require.NoError(t, err)
	id := pcommon.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36}
	idx.AddSpan(&correlate.SpanRecord{
		TraceID: id, SpanID: pcommon.SpanID{1}, Name: "POST /checkout", Service: "checkout",
		PodKey: "uid-1", PodAltKey: "shop/checkout-0",
		Start: pcommon.NewTimestampFromTime(now.Add(-time.Second)), End: pcommon.NewTimestampFromTime(now), Error: true,
	})
	lb, err := links.NewLinkBuilder("http://grafana.local:3000", links.DefaultDatasources())
	require.NoError(t, err)
	s, err := drill.NewServer(drill.Config{Index: idx, Links: lb})
	require.NoError(t, err)
	var h http.Handler = s
	if token != "" {
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "Bearer "+token {
				http.Error(w, `{"error":"unauthorized"}`, http.StatusUnauthorized)
				return
			}
			s.ServeHTTP(w, r)
		})
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, id
}

func TestDrillCommandPrintsTracesWithLinks(t *testing.T) {
	srv, id := drillServer(t, "")
	tests := []struct {
		name string
		opts drillOptions
		want []string
	}{
		{"by service", drillOptions{service: "checkout"}, []string{id.String(), "checkout: POST /checkout", "error", "uid-1", "trace:   http://grafana.local:3000/explore"}},
		{"by pod", drillOptions{pod: "shop/checkout-0", errorsOnly: true}, []string{id.String(), "error"}},
		{"by trace", drillOptions{trace: id.String()}, []string{id.String(), "braid", "logs:    http://grafana.local:3000/explore"}},
		{"unknown service", drillOptions{service: "nope"}, []string{"no traces found"}},
		{"alerts", drillOptions{alerts: "../../drill/testdata/alert_pod.json"}, []string{"alert BraidServiceErrorBudgetBurn (c0ffee0000000001, firing)", "traces by"}},
		{"json", drillOptions{service: "checkout", asJSON: true}, []string{`"trace_id":"` + id.String() + `"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := tt.opts
			o.endpoint, o.since, o.limit, o.timeout = srv.URL, "15m", 10, 5*time.Second
			var out bytes.Buffer
			require.NoError(t, runDrill(context.Background(), &out, o))
			for _, w := range tt.want {
				assert.Contains(t, out.String(), w)
			}
		})
	}
}

func TestDrillCommandErrors(t *testing.T) {
	srv, _ := drillServer(t, "s3cret")
	tests := []struct {
		name string
		opts drillOptions
		want string
	}{
		{"nothing asked", drillOptions{endpoint: srv.URL}, "exactly one of"},
		{"two things asked", drillOptions{endpoint: srv.URL, service: "a", pod: "b"}, "exactly one of"},
		{"no token", drillOptions{endpoint: srv.URL, service: "checkout"}, "401"},
		{"bad trace id", drillOptions{endpoint: srv.URL, token: "s3cret", trace: "xyz"}, "trace id"},
		{"braid not running", drillOptions{endpoint: "http://127.0.0.1:1", service: "checkout"}, "drill-down API"},
		{"missing alert file", drillOptions{endpoint: srv.URL, alerts: "/nonexistent.json"}, "read alert file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := tt.opts
			o.since, o.limit, o.timeout = "15m", 10, 5*time.Second
			err := runDrill(context.Background(), &bytes.Buffer{}, o)
			require.Error(t, err)
			assert.Contains(t, strings.ToLower(err.Error()), strings.ToLower(tt.want))
		})
	}
}

// TestDrillCommandWarnsOfAPartialAnswer: a gateway replica that did not
// answer is named before the table (on standard error with --json).
func TestDrillCommandWarnsOfAPartialAnswer(t *testing.T) {
	srv, id := drillServer(t, "")
	down := httptest.NewServer(http.NotFoundHandler())
	downAddr := strings.TrimPrefix(down.URL, "http://")
	down.Close()
	idx, err := correlate.NewTraceIndex(correlate.DefaultIndexConfig())
	require.NoError(t, err)
	lb, err := links.NewLinkBuilder("http://grafana.local:3000", links.DefaultDatasources())
	require.NoError(t, err)
	s, err := drill.NewServer(drill.Config{Index: idx, Links: lb, Peers: &drill.PeersConfig{
		Source: drill.StaticPeers{strings.TrimPrefix(srv.URL, "http://"), downAddr}, Timeout: time.Second}})
	require.NoError(t, err)
	front := httptest.NewServer(s)
	defer front.Close()

	for _, tt := range []struct {
		name            string
		opts            drillOptions
		wantOut, notOut string
		wantWarnings    string
	}{
		{name: "table", opts: drillOptions{service: "checkout"},
			wantOut: "warning: partial answer: gateway replicas " + downAddr + " did not answer"},
		{name: "trace", opts: drillOptions{trace: id.String()}, wantOut: "warning: partial answer"},
		{name: "json", opts: drillOptions{service: "checkout", asJSON: true},
			wantOut: `"missing_peers":["` + downAddr + `"]`, notOut: "warning", wantWarnings: "warning: partial answer"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			o := tt.opts
			var out, warnings bytes.Buffer
			o.endpoint, o.since, o.limit, o.timeout, o.warnings = front.URL, "15m", 10, 5*time.Second, &warnings
			require.NoError(t, runDrill(context.Background(), &out, o))
			assert.Contains(t, out.String(), tt.wantOut)
			assert.Contains(t, out.String(), id.String(), "the replica that answered is in the answer")
			if tt.notOut != "" {
				assert.NotContains(t, out.String(), tt.notOut)
			}
			assert.Contains(t, warnings.String(), tt.wantWarnings)
		})
	}
}
