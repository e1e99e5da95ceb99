package walstorageextension

import (
	"context"
	"runtime"
	"strconv"
	"testing"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/filestorage"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.opentelemetry.io/collector/extension/xextension/storage"
)

// benchValue keeps results alive so the compiler cannot drop the reads.
var benchValue []byte

// BenchmarkQueuePattern is one item through exporterhelper's persistent
// queue, as the queue calls its storage: put (metadata and item in one
// batch), read (metadata set and item get in one batch), done (metadata set
// and item delete in one batch), with a backlog of 100 items behind it.
func BenchmarkQueuePattern(b *testing.B) {
	backends := []struct {
		name    string
		factory extension.Factory
		config  func(dir string) component.Config
	}{
		{name: "wal_storage", factory: NewFactory(), config: func(dir string) component.Config {
			cfg := createDefaultConfig().(*Config)
			cfg.Directory = dir
			return cfg
		}},
		{name: "file_storage", factory: filestorage.NewFactory(), config: func(dir string) component.Config {
			f := filestorage.NewFactory()
			cfg := f.CreateDefaultConfig().(*filestorage.Config)
			cfg.Directory = dir
			cfg.Compaction.Directory = dir
			return cfg
		}},
		{name: "wal_storage_fsync", factory: NewFactory(), config: func(dir string) component.Config {
			cfg := createDefaultConfig().(*Config)
			cfg.Directory = dir
			cfg.FSync = true
			return cfg
		}},
		{name: "file_storage_fsync", factory: filestorage.NewFactory(), config: func(dir string) component.Config {
			f := filestorage.NewFactory()
			cfg := f.CreateDefaultConfig().(*filestorage.Config)
			cfg.Directory = dir
			cfg.Compaction.Directory = dir
			cfg.FSync = true
			return cfg
		}},
	}
	sizes := []struct {
		name string
		size int
	}{{"4KiB", 4 << 10}, {"64KiB", 64 << 10}}
	const backlog = 100
	for _, size := range sizes {
		for _, be := range backends {
			b.Run(size.name+"/"+be.name, func(b *testing.B) {
				ctx := context.Background()
				ext, err := be.factory.Create(ctx, extensiontest.NewNopSettings(be.factory.Type()), be.config(b.TempDir()))
				require.NoError(b, err)
				require.NoError(b, ext.Start(ctx, componenttest.NewNopHost()))
				defer func() { require.NoError(b, ext.Shutdown(ctx)) }()
				c, err := ext.(storage.Extension).GetClient(ctx, component.KindExporter, component.MustNewIDWithName("otlp_grpc", "bench"), "traces")
				require.NoError(b, err)
				defer func() { require.NoError(b, c.Close(ctx)) }()

				item := make([]byte, size.size)
				for i := range item {
					item[i] = byte(i * 7)
				}
				meta := make([]byte, 24)
				put := func(i int) {
					meta[0] = byte(i)
					require.NoError(b, c.Batch(ctx, storage.SetOperation("qmv0", meta), storage.SetOperation(strconv.Itoa(i), item)))
				}
				for i := range backlog {
					put(i)
				}
				b.SetBytes(int64(size.size))
				b.ReportAllocs()
				i := backlog
				for b.Loop() {
					put(i)
					read := storage.GetOperation(strconv.Itoa(i - backlog))
					if err := c.Batch(ctx, storage.SetOperation("qmv0", meta), read); err != nil || len(read.Value) != size.size {
						b.Fatalf("read item %d: %v, %d bytes", i-backlog, err, len(read.Value))
					}
					benchValue = read.Value
					if err := c.Batch(ctx, storage.SetOperation("qmv0", meta), storage.DeleteOperation(read.Key)); err != nil {
						b.Fatal(err)
					}
					i++
				}
			})
		}
	}
}

// BenchmarkIndexMemory reports the heap a queued item costs wal_storage
// (its key in the index), as bytes/item; values stay on disk.
func BenchmarkIndexMemory(b *testing.B) {
	const items = 100_000
	value := make([]byte, 200)
	for b.Loop() {
		s, err := openStore(b.TempDir(), testOptions(64<<20))
		require.NoError(b, err)
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for i := range items {
			require.NoError(b, s.batch([]*storage.Operation{storage.SetOperation(strconv.Itoa(i), value)}))
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/items, "bytes/item")
		require.NoError(b, s.close())
	}
}

// BenchmarkReplay opens a store holding 64 MiB of 4 KiB items, from the
// page cache: the time a start takes per byte on disk, beyond the disk's
// own read speed.
func BenchmarkReplay(b *testing.B) {
	dir := b.TempDir()
	s, err := openStore(dir, testOptions(16<<20))
	require.NoError(b, err)
	item := make([]byte, 4<<10)
	const items = 64 << 20 / (4 << 10)
	for i := range items {
		require.NoError(b, s.batch([]*storage.Operation{storage.SetOperation("qmv0", item[:24]), storage.SetOperation(strconv.Itoa(i), item)}))
	}
	_, total, _ := s.sizes()
	require.NoError(b, s.close())
	b.SetBytes(total)
	b.ReportAllocs()
	for b.Loop() {
		s, err := openStore(dir, testOptions(16<<20))
		require.NoError(b, err)
		require.Len(b, s.index, items+1)
		require.NoError(b, s.close())
	}
}
