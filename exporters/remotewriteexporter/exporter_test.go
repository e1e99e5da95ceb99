package remotewriteexporter

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/filestorage"
	"github.com/prometheus/prometheus/prompb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.uber.org/zap/zaptest"
)

// prometheus stands in for Prometheus' remote-write endpoint: it records
// the probe gauge's sample values, or answers with the status it is told.
type prometheus struct {
	srv    *httptest.Server
	status atomic.Int64
	mu     sync.Mutex
	values []float64
}

func newPrometheus(t *testing.T) *prometheus {
	p := &prometheus{}
	p.status.Store(http.StatusNoContent)
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s := int(p.status.Load()); s != http.StatusNoContent {
			http.Error(w, "unavailable", s)
			return
		}
		body, _ := io.ReadAll(r.Body)
		raw, err := snappy.Decode(nil, body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var req prompb.WriteRequest
		if err := req.Unmarshal(raw); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		p.mu.Lock()
		for _, ts := range req.Timeseries {
			for _, s := range ts.Samples {
				p.values = append(p.values, s.Value)
			}
		}
		p.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *prometheus) received() []float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]float64(nil), p.values...)
}

func gauge(v float64, at time.Time) pmetric.Metrics {
	md := pmetric.NewMetrics()
	m := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName("probe")
	dp := m.SetEmptyGauge().DataPoints().AppendEmpty()
	dp.SetTimestamp(pcommon.NewTimestampFromTime(at))
	dp.SetDoubleValue(v)
	return md
}

type host struct {
	component.Host
	exts map[component.ID]component.Component
}

func (h host) GetExtensions() map[component.ID]component.Component { return h.exts }

func startFileStorage(t *testing.T, dir string) (extension.Extension, component.ID) {
	t.Helper()
	f := filestorage.NewFactory()
	cfg := f.CreateDefaultConfig().(*filestorage.Config)
	cfg.Directory = dir
	cfg.Compaction.Directory = dir
	ext, err := f.Create(context.Background(), extensiontest.NewNopSettings(f.Type()), cfg)
	require.NoError(t, err)
	require.NoError(t, ext.Start(context.Background(), componenttest.NewNopHost()))
	return ext, component.NewID(f.Type())
}

// TestQueuedBatchesSurviveARestart accepts batches into the disk queue
// while Prometheus is down, stops the exporter, and starts a new one on the
// same storage with Prometheus back: every sample arrives.
func TestQueuedBatchesSurviveARestart(t *testing.T) {
	prom := newPrometheus(t)
	prom.status.Store(http.StatusServiceUnavailable)
	dir := t.TempDir()
	f := NewFactory()
	cfg := f.CreateDefaultConfig().(*Config)
	require.NoError(t, confmap.NewFromStringMap(map[string]any{
		"endpoint":           prom.srv.URL,
		"remote_write_queue": map[string]any{"enabled": false},
		"retry_on_failure":   map[string]any{"initial_interval": "5ms", "max_interval": "20ms", "max_elapsed_time": 0},
	}).Unmarshal(cfg))
	q := exporterhelper.NewDefaultQueueConfig()
	q.NumConsumers = 1
	require.NoError(t, confmap.Validate(cfg))

	run := func() (consume func(pmetric.Metrics) error, stop func()) {
		ext, id := startFileStorage(t, filepath.Join(dir))
		qq := q
		qq.StorageID = &id
		cfg.Queue = configoptional.Some(qq)
		set := exportertest.NewNopSettings(f.Type())
		set.Logger = zaptest.NewLogger(t)
		set.ID = component.NewID(f.Type())
		e, err := f.CreateMetrics(context.Background(), set, cfg)
		require.NoError(t, err)
		require.NoError(t, e.Start(context.Background(), host{Host: componenttest.NewNopHost(), exts: map[component.ID]component.Component{id: ext}}))
		return func(md pmetric.Metrics) error { return e.ConsumeMetrics(context.Background(), md) }, func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			require.NoError(t, e.Shutdown(ctx))
			require.NoError(t, ext.Shutdown(context.Background()))
		}
	}

	consume, stop := run()
	base := time.Now().Add(-time.Minute)
	for i := 1; i <= 5; i++ {
		require.NoError(t, consume(gauge(float64(i), base.Add(time.Duration(i)*time.Second))), "accepted into the disk queue")
	}
	stop()
	assert.Empty(t, prom.received(), "Prometheus was down")

	prom.status.Store(http.StatusNoContent)
	_, stop = run()
	defer stop()
	require.Eventually(t, func() bool { return len(prom.received()) >= 5 }, 10*time.Second, 10*time.Millisecond)
	assert.ElementsMatch(t, []float64{1, 2, 3, 4, 5}, prom.received())
}

func TestConfig(t *testing.T) {
	tests := []struct {
		name    string
		conf    map[string]any
		wantErr string
	}{
		{
			name: "the contrib exporter's keys, as they are",
			conf: map[string]any{"endpoint": "http://prometheus:9090/api/v1/write", "remote_write_queue": map[string]any{"num_consumers": 1}},
		},
		{
			name: "a queue on disk",
			conf: map[string]any{
				"endpoint":           "http://prometheus:9090/api/v1/write",
				"remote_write_queue": map[string]any{"enabled": false},
				"sending_queue":      map[string]any{"storage": "file_storage", "num_consumers": 1},
			},
		},
		{
			name: "a queue ahead of the in-memory remote_write_queue",
			conf: map[string]any{
				"endpoint":      "http://prometheus:9090/api/v1/write",
				"sending_queue": map[string]any{"storage": "file_storage"},
			},
			wantErr: "sending_queue and remote_write_queue::enabled cannot both be on",
		},
		{
			name: "a queue and the contrib write-ahead log",
			conf: map[string]any{
				"endpoint":           "http://prometheus:9090/api/v1/write",
				"remote_write_queue": map[string]any{"enabled": false},
				"wal":                map[string]any{"directory": "/tmp"},
				"sending_queue":      map[string]any{"storage": "file_storage"},
			},
			wantErr: "sending_queue and wal cannot both be set",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := NewFactory().CreateDefaultConfig()
			require.NoError(t, confmap.NewFromStringMap(tt.conf).Unmarshal(cfg))
			err := confmap.Validate(cfg)
			if tt.wantErr == "" {
				assert.NoError(t, err)
				return
			}
			assert.ErrorContains(t, err, tt.wantErr)
		})
	}
}
