package lokireceiver

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/grafana/loki/pkg/push"
	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/filestorage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/provider/fileprovider"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/otelcol"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/service/telemetry/otelconftelemetry"

	"github.com/braidobs/braid/exporters/lokiexporter"
	"github.com/braidobs/braid/internal/testcollector"
	"github.com/braidobs/braid/internal/testnet"
)

// lokiBehindBraid is a Loki that can be switched between down (503) and up,
// and records the lines and tenants of the pushes it accepted.
type lokiBehindBraid struct {
	url      string
	mu       sync.Mutex // guards up, attempts and accepted
	up       bool
	attempts int
	accepted []string // "tenant/line"
}

func newLokiBehindBraid(t *testing.T) *lokiBehindBraid {
	l := &lokiBehindBraid{}
	url, captured := startCapture(t)
	// A front that answers 503 while Loki is down, and forwards otherwise.
	front := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l.mu.Lock()
		l.attempts++
		up := l.up
		l.mu.Unlock()
		if !up {
			http.Error(w, "Loki is down", http.StatusServiceUnavailable)
			return
		}
		req, _ := http.NewRequest(http.MethodPost, url, r.Body)
		req.Header = r.Header.Clone()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
		l.mu.Lock()
		l.accepted = l.accepted[:0]
		for _, p := range captured() {
			for _, s := range p.req.Streams {
				for _, e := range s.Entries {
					l.accepted = append(l.accepted, p.tenant+"/"+e.Line)
				}
			}
		}
		l.mu.Unlock()
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = front.Serve(ln) }()
	t.Cleanup(func() { _ = front.Close() })
	l.url = "http://" + ln.Addr().String() + "/loki/api/v1/push"
	return l
}

func (l *lokiBehindBraid) setUp(up bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.up = up
}

func (l *lokiBehindBraid) state() (attempts int, accepted []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.attempts, slices.Clone(l.accepted)
}

// runCollector runs a collector with the Loki receiver and exporter and the
// file_storage extension on the config file, until the test stops it.
func runCollector(t *testing.T, configFile string) (stop func()) {
	t.Helper()
	factories := func() (otelcol.Factories, error) {
		var f otelcol.Factories
		var err error
		f.Telemetry = otelconftelemetry.NewFactory()
		if f.Receivers, err = otelcol.MakeFactoryMap[receiver.Factory](NewFactory()); err != nil {
			return f, err
		}
		if f.Exporters, err = otelcol.MakeFactoryMap[exporter.Factory](lokiexporter.NewFactory()); err != nil {
			return f, err
		}
		f.Extensions, err = otelcol.MakeFactoryMap[extension.Factory](filestorage.NewFactory())
		return f, err
	}
	stop, err := testcollector.Run(t, otelcol.CollectorSettings{
		BuildInfo: component.BuildInfo{Command: "braid", Version: "test"},
		Factories: factories,
		ConfigProviderSettings: otelcol.ConfigProviderSettings{ResolverSettings: confmap.ResolverSettings{
			URIs:              []string{"file:" + configFile},
			ProviderFactories: []confmap.ProviderFactory{fileprovider.NewFactory()},
		}},
	})
	require.NoError(t, err)
	return stop
}

// TestCollectorKeepsPushesAcrossRestart runs Braid's Loki receiver and
// exporter in a collector with a file_storage sending queue: pushes accepted
// while Loki is down survive a restart of the collector and reach Loki once
// it is back, each line once, in its tenant.
func TestCollectorKeepsPushesAcrossRestart(t *testing.T) {
	loki := newLokiBehindBraid(t)
	dir := t.TempDir()
	listen := testnet.FreeAddr(t)
	config := fmt.Sprintf(`
extensions:
  file_storage:
    directory: %s
receivers:
  loki:
    endpoint: %s
exporters:
  loki:
    endpoint: %s
    sending_queue:
      storage: file_storage
    retry_on_failure:
      initial_interval: 5ms
      max_interval: 20ms
      max_elapsed_time: 0
service:
  extensions: [file_storage]
  pipelines:
    logs:
      receivers: [loki]
      exporters: [loki]
  telemetry:
    logs:
      level: error
    metrics:
      level: none
`, filepath.Join(dir), listen, loki.url)
	configFile := filepath.Join(dir, "config.yaml")
	require.NoError(t, os.WriteFile(configFile, []byte(config), 0o600))
	pushURL := "http://" + listen + PushPath

	stop := runCollector(t, configFile)
	ns := fmt.Sprint(ts0.UnixNano())
	status, msg := post(t, pushURL, protobufBody(t, push.Stream{Labels: `{service_name="a"}`, Entries: []push.Entry{{Timestamp: ts0, Line: "pb 1"}, {Timestamp: ts0, Line: "pb 2"}}}),
		"X-Scope-OrgID", "team-a")
	require.Equal(t, http.StatusNoContent, status, msg)
	status, msg = post(t, pushURL, []byte(`{"streams":[{"stream":{"service_name":"b"},"values":[["`+ns+`","json 1"]]}]}`),
		"Content-Type", "application/json", "X-Scope-OrgID", "team-b")
	require.Equal(t, http.StatusNoContent, status, msg)
	require.Eventually(t, func() bool { n, _ := loki.state(); return n >= 2 }, 30*time.Second, 5*time.Millisecond, "Braid tried Loki")
	stop()

	loki.setUp(true)
	runCollector(t, configFile)
	want := []string{"team-a/pb 1", "team-a/pb 2", "team-b/json 1"}
	require.Eventually(t, func() bool { _, got := loki.state(); return len(got) >= len(want) }, 30*time.Second, 5*time.Millisecond)
	_, got := loki.state()
	slices.Sort(got)
	assert.Equal(t, want, got)
}
