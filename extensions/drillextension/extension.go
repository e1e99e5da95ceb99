package drillextension

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.uber.org/zap"

	"github.com/braidobs/braid/correlate"
	"github.com/braidobs/braid/correlate/links"
	"github.com/braidobs/braid/drill"
)

type drillExtension struct {
	cfg    *Config
	set    extension.Settings
	lookup IndexLookup
	procID component.ID
	// alerts is where the API keeps alert enrichments; nil: its own.
	alerts *drill.AlertStore

	mu       sync.Mutex // guards server and done across Start and Shutdown
	server   *http.Server
	done     chan struct{}
	shutdown bool
}

func newExtension(cfg *Config, set extension.Settings, lookup IndexLookup) (*drillExtension, error) {
	if lookup == nil {
		return nil, errors.New("drill extension built without a way to find correlation processors")
	}
	id, err := parseID(cfg.Correlation)
	if err != nil {
		return nil, fmt.Errorf("correlation: %w", err)
	}
	return &drillExtension{cfg: cfg, set: set, lookup: lookup, procID: id}, nil
}

// lazyIndex reads the processor's index at each call, so the API works
// whatever order the collector starts components in.
type lazyIndex struct {
	lookup IndexLookup
	id     component.ID
}

func (l lazyIndex) Get(id pcommon.TraceID) (correlate.TraceSummary, bool) {
	if idx, ok := l.lookup(l.id); ok {
		return idx.Get(id)
	}
	return correlate.TraceSummary{}, false
}

func (l lazyIndex) TracesForPod(uid string, q correlate.Query) []correlate.TraceSummary {
	if idx, ok := l.lookup(l.id); ok {
		return idx.TracesForPod(uid, q)
	}
	return nil
}

func (l lazyIndex) TracesForService(name string, q correlate.Query) []correlate.TraceSummary {
	if idx, ok := l.lookup(l.id); ok {
		return idx.TracesForService(name, q)
	}
	return nil
}

func (e *drillExtension) Start(ctx context.Context, host component.Host) error {
	lb, err := links.NewLinkBuilder(e.cfg.GrafanaURL, e.cfg.datasources())
	if err != nil {
		return err
	}
	dc := drill.Config{
		Index:               lazyIndex{e.lookup, e.procID},
		Links:               lb,
		ServiceDashboardUID: links.DashboardServiceOverview,
		AlertLookback:       e.cfg.AlertLookback,
		AlertsRetained:      e.cfg.AlertsRetained,
		Alerts:              e.alerts,
	}
	if e.cfg.Jaeger.QueryURL != "" {
		dc.Jaeger, err = drill.NewJaegerClient(e.cfg.Jaeger.QueryURL, &http.Client{Timeout: e.cfg.Jaeger.Timeout})
		if err != nil {
			return fmt.Errorf("jaeger::query_url: %w", err)
		}
	}
	if e.cfg.PodResolver != "" {
		id, err := parseID(e.cfg.PodResolver)
		if err != nil {
			return fmt.Errorf("pod_resolver: %w", err)
		}
		ext, ok := host.GetExtensions()[id]
		if !ok {
			return fmt.Errorf("pod_resolver: extension %q is not configured", id)
		}
		if dc.Pods, ok = ext.(correlate.PodResolver); !ok {
			return fmt.Errorf("pod_resolver: extension %q does not resolve pods", id)
		}
	}
	api, err := drill.NewServer(dc)
	if err != nil {
		return err
	}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := e.lookup(e.procID); !ok {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintf(w, "{\"error\":%q}\n", "correlation processor "+e.procID.String()+" is not running in this collector")
			return
		}
		api.ServeHTTP(w, r)
	})

	ln, err := e.cfg.ToListener(ctx)
	if err != nil {
		return fmt.Errorf("drill api listen on %s: %w", e.cfg.NetAddr.Endpoint, err)
	}
	srv, err := e.cfg.ToServer(ctx, host.GetExtensions(), e.set.TelemetrySettings, handler)
	if err != nil {
		ln.Close()
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.shutdown {
		ln.Close()
		return errors.New("drill extension already shut down")
	}
	e.server, e.done = srv, make(chan struct{})
	go func() {
		defer close(e.done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			e.set.Logger.Error("drill-down API stopped", zap.Error(err))
		}
	}()
	e.set.Logger.Info("drill-down API listening", zap.String("endpoint", ln.Addr().String()))
	return nil
}

func (e *drillExtension) Shutdown(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.shutdown = true
	if e.server == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	err := e.server.Shutdown(ctx)
	<-e.done
	e.server = nil
	return err
}
