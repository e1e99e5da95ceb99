package walstorageextension

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

const scopeName = "github.com/braidobs/braid/extensions/walstorageextension"

// telemetry is the extension's self-metrics; the attribute client is the
// name of the client's directory (exporter_otlp_grpc_jaeger_traces).
type telemetry struct {
	recovered    metric.Int64Counter
	lostBytes    metric.Int64Counter
	corrupt      metric.Int64Counter
	writeErrors  metric.Int64Counter
	registration metric.Registration
}

func newTelemetry(set component.TelemetrySettings, w *walStorage) (*telemetry, error) {
	m := set.MeterProvider.Meter(scopeName)
	t := &telemetry{}
	var errs, err error
	t.recovered, err = m.Int64Counter("braid_wal_storage_recovered_records",
		metric.WithDescription("Records read back from the segment files when a client opened its storage."),
		metric.WithUnit("{record}"))
	errs = errors.Join(errs, err)
	t.lostBytes, err = m.Int64Counter("braid_wal_storage_lost_bytes",
		metric.WithDescription("Bytes cut from segment files at open because a record in them was torn or corrupt; the records in them are lost."),
		metric.WithUnit("By"))
	errs = errors.Join(errs, err)
	t.corrupt, err = m.Int64Counter("braid_wal_storage_corrupt_segments",
		metric.WithDescription("Segments found with a corrupt record at open (not a torn or zeroed end of the last one); a copy of each is kept in corrupt/."),
		metric.WithUnit("{segment}"))
	errs = errors.Join(errs, err)
	t.writeErrors, err = m.Int64Counter("braid_wal_storage_write_errors",
		metric.WithDescription("Calls that failed because their record could not be written (a full disk, an I/O error); nothing of them was applied."),
		metric.WithUnit("{call}"))
	errs = errors.Join(errs, err)
	disk, err := m.Int64ObservableGauge("braid_wal_storage_disk_bytes",
		metric.WithDescription("Bytes of segment files on disk."),
		metric.WithUnit("By"))
	errs = errors.Join(errs, err)
	live, err := m.Int64ObservableGauge("braid_wal_storage_live_bytes",
		metric.WithDescription("Bytes of current keys and values in the segment files; compaction keeps disk_bytes under twice this, beyond two segments."),
		metric.WithUnit("By"))
	errs = errors.Join(errs, err)
	if errs != nil {
		return nil, fmt.Errorf("create self-metrics: %w", errs)
	}
	t.registration, err = m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		w.mu.Lock()
		defer w.mu.Unlock()
		for dir, s := range w.open {
			_, total, liveBytes := s.sizes()
			attrs := metric.WithAttributeSet(clientAttrs(dir))
			o.ObserveInt64(disk, total, attrs)
			o.ObserveInt64(live, liveBytes, attrs)
		}
		return nil
	}, disk, live)
	if err != nil {
		return nil, fmt.Errorf("register self-metrics callback: %w", err)
	}
	return t, nil
}

func clientAttrs(dir string) attribute.Set {
	return attribute.NewSet(attribute.String("client", filepath.Base(dir)))
}

// opened counts what opening a client's store found.
func (t *telemetry) opened(dir string, r recoveryStats) {
	attrs := metric.WithAttributeSet(clientAttrs(dir))
	ctx := context.Background()
	t.recovered.Add(ctx, r.recordsRecovered, attrs)
	t.lostBytes.Add(ctx, r.bytesLost, attrs)
	t.corrupt.Add(ctx, r.corruptSegments, attrs)
}
