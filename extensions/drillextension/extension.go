package drillextension

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
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

	// getenv reads POD_IP, this replica's own address among its DNS peers.
	getenv func(string) string
	// resolver looks up peers::dns; nil means net.DefaultResolver.
	resolver drill.Resolver

	mu        sync.Mutex // guards server, done, shutdown and peerConns across Start and Shutdown
	server    *http.Server
	done      chan struct{}
	shutdown  bool
	peerConns *http.Transport
}

func newExtension(cfg *Config, set extension.Settings, lookup IndexLookup) (*drillExtension, error) {
	if lookup == nil {
		return nil, errors.New("drill extension built without a way to find correlation processors")
	}
	id, err := parseID(cfg.Correlation)
	if err != nil {
		return nil, fmt.Errorf("correlation: %w", err)
	}
	return &drillExtension{cfg: cfg, set: set, lookup: lookup, procID: id, getenv: os.Getenv}, nil
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

func (l lazyIndex) Explain(id pcommon.TraceID) (correlate.TraceExplanation, bool) {
	if idx, ok := l.lookup(l.id); ok {
		return idx.Explain(id)
	}
	return correlate.TraceExplanation{}, false
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
	if e.cfg.Peers.enabled() {
		if dc.Peers, err = e.peers(ctx); err != nil {
			return err
		}
	}
	api, err := drill.NewServer(dc)
	if err != nil {
		e.closePeerConns()
		return err
	}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := e.lookup(e.procID); !ok {
			w.Header().Set(drill.InstanceHeader, api.InstanceID())
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintf(w, "{\"error\":%q}\n", "correlation processor "+e.procID.String()+" is not running in this collector")
			return
		}
		api.ServeHTTP(w, r)
	})

	ln, err := e.cfg.ToListener(ctx)
	if err != nil {
		e.closePeerConns()
		return fmt.Errorf("drill api listen on %s: %w", e.cfg.NetAddr.Endpoint, err)
	}
	srv, err := e.cfg.ToServer(ctx, host.GetExtensions(), e.set.TelemetrySettings, handler)
	if err != nil {
		ln.Close()
		e.closePeerConns()
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.shutdown {
		ln.Close()
		e.closePeerConnsLocked()
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

// peers builds how the API reaches the other replicas.
func (e *drillExtension) peers(ctx context.Context) (*drill.PeersConfig, error) {
	pc := e.cfg.Peers
	out := &drill.PeersConfig{Timeout: pc.Timeout, Scheme: "http", Self: e.selfAddrs()}
	if len(pc.Static) > 0 {
		out.Source = drill.StaticPeers(pc.Static)
	} else {
		src, err := drill.NewDNSPeers(drill.DNSPeersConfig{
			Address: pc.DNS, Resolver: e.resolver, Refresh: pc.Refresh, Self: e.selfIPs(),
		})
		if err != nil {
			return nil, fmt.Errorf("peers::dns: %w", err)
		}
		out.Source = src
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	if e.cfg.TLS.HasValue() {
		tlsCfg, err := pc.TLS.LoadTLSConfig(ctx)
		if err != nil {
			return nil, fmt.Errorf("peers::tls: %w", err)
		}
		transport.TLSClientConfig = tlsCfg
		out.Scheme = "https"
	}
	out.Client = &http.Client{Transport: transport}
	observe, err := peerCounter(e.set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	out.Observe = observe
	switch {
	case pc.Auth.BearerToken != "":
		token := string(pc.Auth.BearerToken)
		out.Token = func() (string, error) { return token, nil }
	case pc.Auth.BearerTokenFile != "":
		file := pc.Auth.BearerTokenFile
		if _, err := os.Stat(file); err != nil {
			return nil, fmt.Errorf("peers::auth::bearer_token_file: %w", err)
		}
		out.Token = func() (string, error) {
			b, err := os.ReadFile(file)
			if err != nil {
				return "", fmt.Errorf("read peers::auth::bearer_token_file: %w", err)
			}
			return strings.TrimSpace(string(b)), nil
		}
	}
	e.mu.Lock()
	e.peerConns = transport
	e.mu.Unlock()
	return out, nil
}

// selfIPs are this replica's addresses as its peers' DNS name lists them:
// POD_IP (the downward API's status.podIP), and the listen address when it
// is a specific IP.
func (e *drillExtension) selfIPs() []string {
	var ips []string
	if ip := strings.TrimSpace(e.getenv("POD_IP")); ip != "" {
		ips = append(ips, ip)
	}
	if host, _, err := net.SplitHostPort(e.cfg.NetAddr.Endpoint); err == nil {
		if ip := net.ParseIP(host); ip != nil && !ip.IsUnspecified() && !ip.IsLoopback() {
			ips = append(ips, ip.String())
		}
	}
	return ips
}

// selfAddrs are the host:port forms under which a static peer list may
// name this replica.
func (e *drillExtension) selfAddrs() []string {
	addrs := []string{e.cfg.NetAddr.Endpoint}
	host, port, err := net.SplitHostPort(e.cfg.NetAddr.Endpoint)
	if err != nil {
		return addrs
	}
	for _, ip := range e.selfIPs() {
		addrs = append(addrs, net.JoinHostPort(ip, port))
	}
	if ip := net.ParseIP(host); host == "" || host == "localhost" || (ip != nil && (ip.IsUnspecified() || ip.IsLoopback())) {
		addrs = append(addrs, net.JoinHostPort("localhost", port), net.JoinHostPort("127.0.0.1", port))
	}
	return addrs
}

func (e *drillExtension) closePeerConns() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.closePeerConnsLocked()
}

func (e *drillExtension) closePeerConnsLocked() {
	if e.peerConns != nil {
		e.peerConns.CloseIdleConnections()
	}
}

func (e *drillExtension) Shutdown(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.shutdown = true
	if e.server == nil {
		e.closePeerConnsLocked()
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	err := e.server.Shutdown(ctx)
	<-e.done
	e.server = nil
	e.closePeerConnsLocked()
	return err
}
