package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// usageScrape is a self-metrics body with braid_usage_received_* counters
// for three senders, the flood's at floodBytes.
func usageScrape(floodBytes, quietBytes int) string {
	var b strings.Builder
	b.WriteString("# TYPE braid_usage_received_bytes counter\n")
	for _, s := range []struct {
		signal, ns, svc string
		v               int
	}{{"logs", "flood", "logger", floodBytes}, {"traces", "flood", "api", 1000}, {"traces", "quiet", "web", quietBytes}, {"logs", "other", "other", 10}} {
		fmt.Fprintf(&b, "braid_usage_received_bytes{signal=%q,k8s_namespace_name=%q,k8s_workload_name=%q,service_name=%q} %d\n", s.signal, s.ns, s.svc, s.svc, s.v)
	}
	b.WriteString("# TYPE braid_usage_received_items counter\n")
	fmt.Fprintf(&b, "braid_usage_received_items{signal=\"logs\",k8s_namespace_name=\"flood\",k8s_workload_name=\"logger\",service_name=\"logger\"} %d\n", floodBytes/100)
	return b.String()
}

func TestUsageShowsTheTopSendersOverTheWindow(t *testing.T) {
	var scrapes atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if scrapes.Add(1) == 1 {
			fmt.Fprint(w, usageScrape(100_000, 5000))
			return
		}
		// Over the window: the flood's logs grew by 900 kB, quiet's traces by 1 kB.
		fmt.Fprint(w, usageScrape(1_000_000, 6000))
	}))
	defer srv.Close()
	o := usageOptions{metricsURL: srv.URL, by: "namespace", signal: "all", window: 100 * time.Millisecond, top: 10, timeout: 5 * time.Second, asJSON: true}

	var out bytes.Buffer
	require.NoError(t, runUsage(context.Background(), &out, o))
	var r usageReport
	require.NoError(t, json.Unmarshal(out.Bytes(), &r))
	require.Len(t, r.Senders, 2, "senders with nothing over the window are left out: %+v", r.Senders)
	assert.Equal(t, "flood", r.Senders[0].Namespace)
	assert.Equal(t, 900_000.0, r.Senders[0].Bytes)
	assert.Equal(t, 9000.0, r.Senders[0].Items)
	assert.InDelta(t, 9_000_000, r.Senders[0].BytesPerSecond, 1)
	assert.Equal(t, "quiet", r.Senders[1].Namespace)
	assert.InDelta(t, 900_000.0/901_000, r.Senders[0].Share, 1e-9)
	assert.Equal(t, 901_000.0, r.Total.Bytes)

	// By service, traces only, as a table.
	scrapes.Store(0)
	out.Reset()
	o.by, o.signal, o.asJSON = "service", "traces", false
	require.NoError(t, runUsage(context.Background(), &out, o))
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Len(t, lines, 3, out.String())
	assert.Regexp(t, `NAMESPACE\s+WORKLOAD\s+SERVICE\s+BYTES/S\s+ITEMS/S\s+SHARE`, lines[0])
	assert.Regexp(t, `quiet\s+web\s+web\s+10\.0 kB\s+0\s+100\.0%`, lines[1])
	assert.Regexp(t, `total\s+10\.0 kB`, lines[2])
}

func TestUsageTotalsWithoutAWindowAndRefusals(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, usageScrape(2_000_000, 5000))
	}))
	defer srv.Close()
	var out bytes.Buffer
	o := usageOptions{metricsURL: srv.URL, by: "namespace", signal: "logs", top: 1, timeout: 5 * time.Second}
	require.NoError(t, runUsage(context.Background(), &out, o))
	assert.Regexp(t, `NAMESPACE\s+BYTES\s+ITEMS\s+SHARE\n\s*flood\s+2\.0 MB\s+20000\s+100\.0%`, out.String())

	for _, bad := range []struct {
		o    usageOptions
		want string
	}{
		{usageOptions{metricsURL: srv.URL, by: "team", signal: "all", top: 1}, "--by must be namespace or service"},
		{usageOptions{metricsURL: srv.URL, by: "namespace", signal: "profiles", top: 1}, "--signal must be"},
		{usageOptions{metricsURL: srv.URL, by: "namespace", signal: "all", top: 0}, "--top must be positive"},
	} {
		assert.ErrorContains(t, runUsage(context.Background(), &out, bad.o), bad.want)
	}

	empty := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, "# TYPE otelcol_process_uptime counter\notelcol_process_uptime 3\n")
	}))
	defer empty.Close()
	err := runUsage(context.Background(), &out, usageOptions{metricsURL: empty.URL, by: "namespace", signal: "all", top: 1, timeout: time.Second})
	assert.ErrorContains(t, err, "is a usage processor in its pipelines")
}
