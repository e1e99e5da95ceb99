package lokiexporter

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/filestorage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.opentelemetry.io/collector/pdata/plog"
)

// startFileStorage starts the contrib file_storage extension on dir.
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

// TestPersistentQueueSurvivesRestart queues entries on file_storage while
// Loki fails, stops the exporter and its storage, starts new ones on the same
// directory with Loki healthy again, and checks that every entry arrives.
func TestPersistentQueueSurvivesRestart(t *testing.T) {
	loki := newFakeLoki(t)
	loki.setAnswer(func(int, received) (int, string) { return http.StatusServiceUnavailable, "down for maintenance" })
	dir := t.TempDir()

	cfg := createDefaultConfig().(*Config)
	cfg.ClientConfig.Endpoint = loki.url()
	cfg.RetryConfig.InitialInterval = 5 * time.Millisecond
	cfg.RetryConfig.MaxInterval = 20 * time.Millisecond
	cfg.RetryConfig.MaxElapsedTime = 0 // retry for ever
	queue := exporterhelper.NewDefaultQueueConfig()
	queue.NumConsumers = 1

	run := func() (exp func(plog.Logs) error, stop func()) {
		ext, id := startFileStorage(t, dir)
		q := queue
		q.StorageID = &id
		cfg.QueueConfig = configoptional.Some(q)
		set := exportertest.NewNopSettings(Type)
		set.ID = component.NewID(Type) // the queue's file is named after the exporter ID
		e, err := NewFactory().CreateLogs(context.Background(), set, cfg)
		require.NoError(t, err)
		require.NoError(t, e.Start(context.Background(), hostWithExtensions{id: ext}))
		return func(ld plog.Logs) error { return e.ConsumeLogs(context.Background(), ld) }, func() {
			require.NoError(t, e.Shutdown(context.Background()))
			require.NoError(t, ext.Shutdown(context.Background()))
		}
	}

	consume, stop := run()
	const batches = 5
	var want []string
	for i := range batches {
		ld := plog.NewLogs()
		lrs := addResource(ld, map[string]string{"service.name": "api"})
		for j := range 3 {
			line := fmt.Sprintf("batch %d entry %d", i, j)
			addRecord(lrs, line, baseTime.Add(time.Duration(i*3+j)*time.Millisecond))
			want = append(want, line)
		}
		require.NoError(t, consume(ld), "accepted into the persistent queue")
	}
	// Loki has refused at least one attempt, so entries were in flight.
	require.Eventually(t, func() bool { return len(loki.received()) >= 2 }, 10*time.Second, 5*time.Millisecond)
	stop()
	assert.Empty(t, loki.acceptedLines(), "nothing accepted while Loki was down")

	loki.setAnswer(func(int, received) (int, string) { return http.StatusNoContent, "" })
	_, stop = run()
	defer stop()
	require.Eventually(t, func() bool { return len(loki.acceptedLines()) >= len(want) }, 10*time.Second, 5*time.Millisecond,
		"accepted %v, %d requests", loki.acceptedLines(), len(loki.received()))

	got := loki.acceptedLines()
	slices.Sort(got)
	slices.Sort(want)
	// Nothing lost; each entry accepted exactly once here, since Loki accepted
	// nothing before the restart.
	assert.Equal(t, want, got)
}
