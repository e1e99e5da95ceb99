package k8spodsextension

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension"

	"github.com/braidobs/braid/correlate"
	"github.com/braidobs/braid/kube"
)

// podsExtension is the k8s_pods extension. It resolves pods once started.
type podsExtension struct {
	cfg      *Config
	set      extension.Settings
	provider kube.ClientProvider

	// resolver is nil before Start and after Shutdown.
	resolver atomic.Pointer[kube.Resolver]
	// mu serialises Start and Shutdown.
	mu sync.Mutex
}

var (
	_ extension.Extension   = (*podsExtension)(nil)
	_ correlate.PodResolver = (*podsExtension)(nil)
	_ kube.LogPathResolver  = (*podsExtension)(nil)
)

func newPodsExtension(cfg *Config, set extension.Settings, provider kube.ClientProvider) *podsExtension {
	return &podsExtension{cfg: cfg, set: set, provider: provider}
}

// Start connects to the API server and waits for the pod cache to sync.
func (e *podsExtension) Start(ctx context.Context, _ component.Host) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.resolver.Load() != nil {
		return nil
	}
	client, err := e.provider(e.cfg.AuthType)
	if err != nil {
		return fmt.Errorf("%s: %w", e.set.ID, err)
	}
	r, err := kube.NewResolver(e.cfg.resolverConfig(), client, kube.WithMeterProvider(e.set.MeterProvider))
	if err != nil {
		return fmt.Errorf("%s: %w", e.set.ID, err)
	}
	if err := r.Start(ctx); err != nil {
		r.Shutdown()
		return fmt.Errorf("%s: %w", e.set.ID, err)
	}
	e.resolver.Store(r)
	return nil
}

// Shutdown stops the informers. It is safe without Start and more than once.
func (e *podsExtension) Shutdown(context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if r := e.resolver.Swap(nil); r != nil {
		r.Shutdown()
	}
	return nil
}

// ByUID implements [correlate.PodResolver].
func (e *podsExtension) ByUID(uid string) (correlate.Pod, bool) {
	if r := e.resolver.Load(); r != nil {
		return r.ByUID(uid)
	}
	return correlate.Pod{}, false
}

// ByIP implements [correlate.PodResolver]. ip may carry a port.
func (e *podsExtension) ByIP(ip string) (correlate.Pod, bool) {
	if r := e.resolver.Load(); r != nil {
		return r.ByIP(ip)
	}
	return correlate.Pod{}, false
}

// ByName implements [correlate.PodResolver].
func (e *podsExtension) ByName(namespace, name string) (correlate.Pod, bool) {
	if r := e.resolver.Load(); r != nil {
		return r.ByName(namespace, name)
	}
	return correlate.Pod{}, false
}

// ByLogPath resolves the pod a kubelet container log path names, with the
// container from the path (see [kube.Resolver.ByLogPath]).
func (e *podsExtension) ByLogPath(path string) (correlate.Pod, bool) {
	if r := e.resolver.Load(); r != nil {
		return r.ByLogPath(path)
	}
	return correlate.Pod{}, false
}
