package walstorageextension

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newTestExtension(t *testing.T, dir string) storage.Extension {
	t.Helper()
	cfg := createDefaultConfig().(*Config)
	cfg.Directory = dir
	ext, err := NewFactory().Create(context.Background(), extensiontest.NewNopSettings(Type), cfg)
	require.NoError(t, err)
	require.NoError(t, ext.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, ext.Shutdown(context.Background())) })
	return ext.(storage.Extension)
}

func TestFactory(t *testing.T) {
	f := NewFactory()
	assert.Equal(t, "wal_storage", f.Type().String())
	require.NoError(t, componenttest.CheckConfigStruct(f.CreateDefaultConfig()))
}

func TestClientDirectories(t *testing.T) {
	tests := []struct {
		name    string
		kind    component.Kind
		id      component.ID
		storage string
		want    string
	}{
		{name: "exporter with a signal", kind: component.KindExporter, id: component.MustNewIDWithName("otlp_grpc", "jaeger"), storage: "traces", want: "exporter_otlp_grpc_jaeger_traces"},
		{name: "receiver without a name", kind: component.KindReceiver, id: component.MustNewID("filelog"), want: "receiver_filelog_"},
		{name: "unsafe characters", kind: component.KindProcessor, id: component.MustNewIDWithName("batch", "a~b"), storage: "x/y", want: "processor_batch_a~007Eb_x~002Fy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			ext := newTestExtension(t, dir)
			c, err := ext.GetClient(ctx, tt.kind, tt.id, tt.storage)
			require.NoError(t, err)
			require.NoError(t, c.Set(ctx, "k", []byte("v")))
			_, err = os.Stat(filepath.Join(dir, tt.want, segmentName(1)))
			assert.NoError(t, err)

			_, err = ext.GetClient(ctx, tt.kind, tt.id, tt.storage)
			assert.ErrorContains(t, err, "already in use")

			require.NoError(t, c.Close(ctx))
			require.NoError(t, c.Close(ctx), "a second close does nothing")
			c, err = ext.GetClient(ctx, tt.kind, tt.id, tt.storage)
			require.NoError(t, err, "open again once closed")
			v, err := c.Get(ctx, "k")
			require.NoError(t, err)
			assert.Equal(t, "v", string(v))
			// Left open: Shutdown closes it.
		})
	}
}

func TestFileStorageDatabaseInTheWay(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "exporter_otlp_grpc_jaeger_traces")
	require.NoError(t, os.WriteFile(db, []byte("bbolt"), 0o640))
	ext := newTestExtension(t, dir)
	_, err := ext.GetClient(context.Background(), component.KindExporter, component.MustNewIDWithName("otlp_grpc", "jaeger"), "traces")
	require.Error(t, err)
	assert.ErrorContains(t, err, db+" is a file, not a wal_storage directory")
}

func TestShutdownWithoutStart(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.Directory = t.TempDir()
	ext, err := NewFactory().Create(context.Background(), extensiontest.NewNopSettings(Type), cfg)
	require.NoError(t, err)
	require.NoError(t, ext.Shutdown(context.Background()))
	require.NoError(t, ext.Shutdown(context.Background()))
}

func TestStartCreatesDirectory(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.Directory = filepath.Join(t.TempDir(), "a", "b")
	cfg.CreateDirectory = true
	require.NoError(t, cfg.Validate())
	ext, err := NewFactory().Create(context.Background(), extensiontest.NewNopSettings(Type), cfg)
	require.NoError(t, err)
	require.NoError(t, ext.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, ext.Shutdown(context.Background()))
	fi, err := os.Stat(cfg.Directory)
	require.NoError(t, err)
	assert.True(t, fi.IsDir())
}

// storageHost is a host whose only extension is the storage.
type storageHost struct {
	component.Host
	exts map[component.ID]component.Component
}

func (h storageHost) GetExtensions() map[component.ID]component.Component { return h.exts }

// TestPersistentQueueSurvivesACrash runs exporterhelper's persistent queue
// on wal_storage: requests queued behind a stuck export, and the one in
// flight, are delivered by the next process. The crash is a copy of the
// storage directory taken while the exporter is stuck, which is what the
// disk holds when a process is killed then. Damaged files cost their
// requests, never the start.
func TestPersistentQueueSurvivesACrash(t *testing.T) {
	segment := filepath.Join("exporter_otlp_grpc_jaeger_logs", segmentName(1))
	tests := []struct {
		name   string
		damage func(t *testing.T, dir string)
		// all says every request is delivered, else some may be lost.
		all bool
	}{
		{name: "killed", all: true},
		{name: "segment truncated to 100 bytes", damage: func(t *testing.T, dir string) {
			require.NoError(t, os.Truncate(filepath.Join(dir, segment), 100))
		}},
		{name: "segment overwritten with garbage", damage: func(t *testing.T, dir string) {
			path := filepath.Join(dir, segment)
			fi, err := os.Stat(path)
			require.NoError(t, err)
			garbage := make([]byte, fi.Size())
			for i := range garbage {
				garbage[i] = byte(i*31 + 7)
			}
			require.NoError(t, os.WriteFile(path, garbage, 0o640))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			storageID := component.MustNewID("wal_storage")
			newExporter := func(dir string, push func(context.Context, plog.Logs) error) (component.Component, func(plog.Logs) error) {
				ext := newTestExtension(t, dir)
				qCfg := exporterhelper.NewDefaultQueueConfig()
				qCfg.StorageID = &storageID
				qCfg.NumConsumers = 1
				set := exportertest.NewNopSettings(component.MustNewType("otlp_grpc"))
				set.ID = component.MustNewIDWithName("otlp_grpc", "jaeger")
				exp, err := exporterhelper.NewLogs(ctx, set, &struct{}{}, push,
					exporterhelper.WithQueue(configoptional.Some(qCfg)),
					exporterhelper.WithRetry(configretry.BackOffConfig{Enabled: false}))
				require.NoError(t, err)
				host := storageHost{Host: componenttest.NewNopHost(), exts: map[component.ID]component.Component{storageID: ext}}
				require.NoError(t, exp.Start(ctx, host), "the exporter starts whatever the files hold")
				return exp, func(l plog.Logs) error { return exp.ConsumeLogs(ctx, l) }
			}
			logs := func(body string) plog.Logs {
				l := plog.NewLogs()
				l.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Body().SetStr(body)
				return l
			}
			bodies := func(sink *consumertest.LogsSink) []string {
				var got []string
				for _, l := range sink.AllLogs() {
					got = append(got, l.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Body().Str())
				}
				return got
			}

			// First process: the backend hangs on the first request.
			dir := t.TempDir()
			release := make(chan struct{})
			var once sync.Once
			inFlight := make(chan struct{})
			exp, consume := newExporter(dir, func(context.Context, plog.Logs) error {
				once.Do(func() { close(inFlight) })
				<-release
				return nil
			})
			want := []string{"a", "b", "c", "d", "e"}
			for _, b := range want {
				require.NoError(t, consume(logs(b)))
			}
			select {
			case <-inFlight:
			case <-time.After(5 * time.Second):
				t.Fatal("the first request never reached the backend")
			}
			crashed := t.TempDir()
			out, err := exec.Command("cp", "-a", dir+"/.", crashed).CombinedOutput()
			require.NoError(t, err, string(out))
			close(release)
			require.NoError(t, exp.Shutdown(ctx))
			if tt.damage != nil {
				tt.damage(t, crashed)
			}

			// Second process, on what the disk held at the crash.
			sink := new(consumertest.LogsSink)
			exp2, consume2 := newExporter(crashed, sink.ConsumeLogs)
			defer func() { require.NoError(t, exp2.Shutdown(ctx)) }()
			if tt.all {
				require.Eventually(t, func() bool { return sink.LogRecordCount() == len(want) }, 5*time.Second, 10*time.Millisecond)
				assert.ElementsMatch(t, want, bodies(sink), "every request, the one in flight at the crash too")
			}
			// New requests go through, whatever was lost.
			require.NoError(t, consume2(logs("after")))
			require.Eventually(t, func() bool { return slices.Contains(bodies(sink), "after") }, 5*time.Second, 10*time.Millisecond)
			assert.Subset(t, append(want, "after"), bodies(sink))
		})
	}
}

func TestSelfMetrics(t *testing.T) {
	ctx := context.Background()
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(ctx)) })
	dir := t.TempDir()
	cfg := createDefaultConfig().(*Config)
	cfg.Directory = dir
	set := extensiontest.NewNopSettings(Type)
	set.TelemetrySettings = tel.NewTelemetrySettings()
	newExt := func() storage.Extension {
		ext, err := NewFactory().Create(ctx, set, cfg)
		require.NoError(t, err)
		require.NoError(t, ext.Start(ctx, componenttest.NewNopHost()))
		return ext.(storage.Extension)
	}
	id := component.MustNewIDWithName("otlp_grpc", "jaeger")

	ext := newExt()
	c, err := ext.GetClient(ctx, component.KindExporter, id, "logs")
	require.NoError(t, err)
	for i := range 3 {
		require.NoError(t, c.Set(ctx, fmt.Sprint(i), []byte("value")))
	}
	require.NoError(t, ext.Shutdown(ctx))

	// A torn last record, as after a crash during a write.
	seg := filepath.Join(dir, "exporter_otlp_grpc_jaeger_logs", segmentName(1))
	fi, err := os.Stat(seg)
	require.NoError(t, err)
	require.NoError(t, os.Truncate(seg, fi.Size()-3))

	ext = newExt()
	defer func() { require.NoError(t, ext.Shutdown(ctx)) }()
	_, err = ext.GetClient(ctx, component.KindExporter, id, "logs")
	require.NoError(t, err)

	client := attribute.String("client", "exporter_otlp_grpc_jaeger_logs")
	sum := func(name string) int64 {
		m, err := tel.GetMetric(name)
		require.NoError(t, err, name)
		var n int64
		for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
			v, _ := dp.Attributes.Value(client.Key)
			assert.Equal(t, client.Value, v)
			n += dp.Value
		}
		return n
	}
	assert.Equal(t, int64(2), sum("braid_wal_storage_recovered_records"), "3 records, the last one torn")
	assert.Equal(t, fi.Size()-3-(fi.Size()/3)*2, sum("braid_wal_storage_lost_bytes"))
	assert.Equal(t, int64(0), sum("braid_wal_storage_corrupt_segments"))
	m, err := tel.GetMetric("braid_wal_storage_disk_bytes")
	require.NoError(t, err)
	assert.Equal(t, (fi.Size()/3)*2, m.Data.(metricdata.Gauge[int64]).DataPoints[0].Value)
}
