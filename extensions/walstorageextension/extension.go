package walstorageextension

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"
)

type walStorage struct {
	cfg       *Config
	logger    *zap.Logger
	telemetry *telemetry

	// mu guards open, the stores handed out and not closed yet, by
	// directory: two clients on one directory would interleave records.
	mu   sync.Mutex
	open map[string]*store
}

var _ storage.Extension = (*walStorage)(nil)

func newExtension(cfg *Config, set extension.Settings) (*walStorage, error) {
	w := &walStorage{cfg: cfg, logger: set.Logger, open: make(map[string]*store)}
	t, err := newTelemetry(set.TelemetrySettings, w)
	if err != nil {
		return nil, err
	}
	w.telemetry = t
	return w, nil
}

func (w *walStorage) Start(context.Context, component.Host) error {
	if w.cfg.CreateDirectory {
		if err := os.MkdirAll(w.cfg.Directory, 0o750); err != nil {
			return fmt.Errorf("create directory: %w", err)
		}
	}
	return nil
}

// Shutdown closes the stores whose clients were not closed.
func (w *walStorage) Shutdown(context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	var errs []error
	if w.telemetry.registration != nil {
		errs = append(errs, w.telemetry.registration.Unregister())
		w.telemetry.registration = nil
	}
	for dir, s := range w.open {
		errs = append(errs, s.close())
		delete(w.open, dir)
	}
	return errors.Join(errs...)
}

// GetClient opens the store of one component's storage, replaying what a
// previous run left.
func (w *walStorage) GetClient(_ context.Context, kind component.Kind, id component.ID, name string) (storage.Client, error) {
	raw := fmt.Sprintf("%s_%s_%s", kindString(kind), id.Type(), id.Name())
	if name != "" {
		raw += "_" + name
	}
	dir := filepath.Join(w.cfg.Directory, sanitize(raw))
	s, err := w.openStore(dir)
	if errors.Is(err, syscall.ENAMETOOLONG) {
		sum := sha256.Sum256([]byte(raw))
		dir = filepath.Join(w.cfg.Directory, hex.EncodeToString(sum[:]))
		w.logger.Warn("wal storage: component name too long for a directory name, using its hash",
			zap.String("component", raw), zap.String("directory", dir))
		s, err = w.openStore(dir)
	}
	if err != nil {
		return nil, err
	}
	return &client{store: s, onClose: func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		if w.open[dir] == s {
			delete(w.open, dir)
		}
	}}, nil
}

func (w *walStorage) openStore(dir string) (*store, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.open[dir]; ok {
		return nil, fmt.Errorf("storage %s is already in use by another client", dir)
	}
	s, err := openStore(dir, storeOptions{
		maxSegmentSize: int64(w.cfg.MaxSegmentSizeMiB) << 20,
		fsync:          w.cfg.FSync,
		logger:         w.logger.With(zap.String("directory", dir)),
		writeFailed: func() {
			w.telemetry.writeErrors.Add(context.Background(), 1, metric.WithAttributeSet(clientAttrs(dir)))
		},
	})
	if err != nil {
		return nil, err
	}
	w.telemetry.opened(dir, s.recovered)
	w.open[dir] = s
	return s, nil
}

func kindString(k component.Kind) string {
	switch k {
	case component.KindReceiver:
		return "receiver"
	case component.KindProcessor:
		return "processor"
	case component.KindExporter:
		return "exporter"
	case component.KindExtension:
		return "extension"
	case component.KindConnector:
		return "connector"
	default:
		return "other"
	}
}

// sanitize makes a component name a safe directory name: letters, digits,
// '.', '-' and '_' stay, anything else (the tilde too, so the result is
// unambiguous) becomes ~ and its four-digit Unicode code point in hex.
func sanitize(name string) string {
	var b strings.Builder
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			b.WriteRune(r)
		default:
			fmt.Fprintf(&b, "~%04X", r)
		}
	}
	return b.String()
}
