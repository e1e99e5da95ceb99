package lokiexporter

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/golang/snappy"
	"github.com/grafana/loki/pkg/push"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// received is one push request as the fake Loki decoded it.
type received struct {
	header http.Header
	req    push.PushRequest
	status int
}

// fakeLoki decodes push requests with the push package, the way Loki does:
// a snappy block holding a protobuf PushRequest.
type fakeLoki struct {
	t   *testing.T
	srv *httptest.Server

	// mu guards reqs and answer.
	mu     sync.Mutex
	reqs   []received
	answer func(n int, r received) (int, string) // n counts requests from 0
}

func newFakeLoki(t *testing.T) *fakeLoki {
	f := &fakeLoki{t: t, answer: func(int, received) (int, string) { return http.StatusNoContent, "" }}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeLoki) url() string { return f.srv.URL + "/loki/api/v1/push" }

func (f *fakeLoki) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	raw, err := snappy.Decode(nil, body)
	if err != nil {
		http.Error(w, "snappy: "+err.Error(), http.StatusBadRequest)
		return
	}
	var req push.PushRequest
	if err := req.Unmarshal(raw); err != nil {
		http.Error(w, "proto: "+err.Error(), http.StatusBadRequest)
		return
	}
	rec := received{header: r.Header.Clone(), req: req}
	f.mu.Lock()
	code, msg := f.answer(len(f.reqs), rec)
	rec.status = code
	f.reqs = append(f.reqs, rec)
	f.mu.Unlock()
	if code == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "0")
	}
	w.WriteHeader(code)
	_, _ = io.WriteString(w, msg)
}

func (f *fakeLoki) setAnswer(a func(n int, r received) (int, string)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.answer = a
}

func (f *fakeLoki) received() []received {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]received(nil), f.reqs...)
}

// accepted returns the lines of every entry in requests answered 2xx.
func (f *fakeLoki) acceptedLines() []string {
	var lines []string
	for _, r := range f.received() {
		if r.status >= 300 {
			continue
		}
		for _, s := range r.req.Streams {
			for _, e := range s.Entries {
				lines = append(lines, e.Line)
			}
		}
	}
	return lines
}

// testConfig is a config for endpoint without queue or retry, so that
// ConsumeLogs answers with the outcome of the push itself.
func testConfig(endpoint string) *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.ClientConfig.Endpoint = endpoint
	cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
	cfg.RetryConfig.Enabled = false
	return cfg
}

// hostWithExtensions is a component.Host with the given extensions.
type hostWithExtensions map[component.ID]component.Component

func (h hostWithExtensions) GetExtensions() map[component.ID]component.Component { return h }

func startExporter(t *testing.T, cfg *Config, host component.Host, tel *componenttest.Telemetry) exporter.Logs {
	t.Helper()
	set := exportertest.NewNopSettings(Type)
	if tel != nil {
		set.TelemetrySettings = tel.NewTelemetrySettings()
	}
	if host == nil {
		host = componenttest.NewNopHost()
	}
	exp, err := NewFactory().CreateLogs(context.Background(), set, cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(context.Background(), host))
	t.Cleanup(func() { require.NoError(t, exp.Shutdown(context.Background())) })
	return exp
}

// counterValues returns the data points of an Int64 counter by the value of
// one attribute.
func counterValues(t *testing.T, tel *componenttest.Telemetry, name, attr string) map[string]int64 {
	t.Helper()
	m, err := tel.GetMetric(name)
	if err != nil {
		return map[string]int64{}
	}
	sum, ok := m.Data.(metricdata.Sum[int64])
	require.True(t, ok, "%s is a counter", name)
	out := map[string]int64{}
	for _, dp := range sum.DataPoints {
		v, _ := dp.Attributes.Value(attribute.Key(attr))
		out[v.AsString()] += dp.Value
	}
	return out
}
