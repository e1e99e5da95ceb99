package lokiexporter

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// pushedCounts records what the exporter counted, by namespace.
type pushedCounts struct {
	mu      sync.Mutex // guards the fields below
	entries map[string]int
	bytes   map[string]int
	failed  map[string]int
	closed  bool
}

func (p *pushedCounts) Count(res pcommon.Map, entries, bytes int, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	ns, _ := res.Get("k8s.namespace.name")
	if err != nil {
		p.failed[ns.Str()] += entries
		return
	}
	p.entries[ns.Str()] += entries
	p.bytes[ns.Str()] += bytes
}

func (p *pushedCounts) Close() error { p.closed = true; return nil }

func TestPushedCountsWhatEachResourceTookInTheRequest(t *testing.T) {
	loki := newFakeLoki(t)
	counts := &pushedCounts{entries: map[string]int{}, bytes: map[string]int{}, failed: map[string]int{}}
	f := NewFactory(WithPushed(func(exporter.Settings) Pushed { return counts }))
	exp, err := f.CreateLogs(context.Background(), exportertest.NewNopSettings(Type), testConfig(loki.url()))
	require.NoError(t, err)
	require.NoError(t, exp.Start(context.Background(), componenttest.NewNopHost()))

	ld := plog.NewLogs()
	for _, r := range []struct {
		ns, svc string
		lines   int
	}{{"shop", "cart", 3}, {"ops", "backup", 1}, {"shop", "checkout", 2}} {
		lrs := addResource(ld, map[string]string{"k8s.namespace.name": r.ns, "service.name": r.svc})
		for i := range r.lines {
			addRecord(lrs, "a line of "+r.svc, baseTime.Add(time.Duration(i)*time.Millisecond))
		}
	}
	require.NoError(t, exp.ConsumeLogs(context.Background(), ld))
	assert.Equal(t, map[string]int{"shop": 5, "ops": 1}, counts.entries)

	// The bytes are those of the entries in the request Loki decoded: each
	// entry's encoding with its field header.
	reqs := loki.received()
	require.Len(t, reqs, 1)
	want := 0
	for _, s := range reqs[0].req.Streams {
		for _, e := range s.Entries {
			want += 1 + varintSize(uint64(e.Size())) + e.Size()
		}
	}
	assert.Equal(t, want, counts.bytes["shop"]+counts.bytes["ops"])
	assert.Greater(t, counts.bytes["shop"], 4*counts.bytes["ops"])
	assert.Less(t, want, reqs[0].req.Size(), "stream labels are not in it")

	// A refused push is counted as failed.
	loki.setAnswer(func(int, received) (int, string) { return http.StatusServiceUnavailable, "busy" })
	require.Error(t, exp.ConsumeLogs(context.Background(), ld))
	assert.Equal(t, map[string]int{"shop": 5, "ops": 1}, counts.failed)

	require.NoError(t, exp.Shutdown(context.Background()))
	assert.True(t, counts.closed)
}

func TestWithoutPushedNothingIsSized(t *testing.T) {
	e, err := newLokiExporter(testConfig("http://127.0.0.1:1"), exportertest.NewNopSettings(Type), nil)
	require.NoError(t, err)
	assert.False(t, e.enc.sizes)
	ld := plog.NewLogs()
	addRecord(addResource(ld, map[string]string{"service.name": "x"}), "line", baseTime)
	for _, tr := range e.enc.encode(ld).tenants {
		assert.Empty(t, tr.sizes)
	}
}
