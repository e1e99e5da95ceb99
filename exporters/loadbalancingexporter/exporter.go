package loadbalancingexporter

import (
	"context"
	"errors"
	"fmt"
	"net"
	"regexp"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/otlpexporter"
	"go.opentelemetry.io/otel/metric/noop"
	"go.uber.org/zap"
)

// errNoBackends is returned while the resolver has found no backend: the
// batch stays in the queue and is retried.
var errNoBackends = errors.New("no backends resolved yet")

// signal is what the router needs to know of one signal's data type.
type signal[T any] struct {
	name  string
	split func(data T, owner owners) map[int]T
	// create builds the OTLP exporter that sends to one backend.
	create func(ctx context.Context, set exporter.Settings, cfg *otlpexporter.Config) (consume func(context.Context, T) error, c component.Component, err error)
	// failed wraps err with the data to retry.
	failed func(err error, data T) error
	// merge moves src's contents into dst.
	merge func(dst, src T)
}

// backend is one resolved endpoint and the OTLP exporter that reaches it.
type backend[T any] struct {
	endpoint  string
	consume   func(context.Context, T) error
	comp      component.Component
	downUntil atomic.Int64 // unix nanoseconds; 0 when healthy
	// unreachable is set when a send failed and cleared once the endpoint
	// accepts a TCP connection again (probing checks every second): a
	// backend that is gone stays passed over however long the retries
	// wait, not only for the cooldown.
	unreachable atomic.Bool
	probing     atomic.Bool
	stop        chan struct{}
}

// passedOver says whether the router should send elsewhere now.
func (b *backend[T]) passedOver(now int64) bool {
	return b.downUntil.Load() > now || b.unreachable.Load()
}

// failed passes the backend over for cooldown, and until it accepts
// connections again.
func (b *backend[T]) failed(cooldown time.Duration) {
	b.downUntil.Store(time.Now().Add(cooldown).UnixNano())
	b.unreachable.Store(true)
	if !b.probing.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer b.probing.Store(false)
		t := time.NewTicker(probeInterval)
		defer t.Stop()
		for {
			select {
			case <-b.stop:
				return
			case <-t.C:
			}
			if c, err := net.DialTimeout("tcp", b.endpoint, probeInterval); err == nil {
				c.Close()
				b.unreachable.Store(false)
				return
			}
		}
	}()
}

// probeInterval is how often a backend that failed is dialled.
const probeInterval = time.Second

// router routes each batch's items to the backends of the current ring and
// sends the parts in parallel.
type router[T any] struct {
	sig      signal[T]
	cfg      *Config
	set      exporter.Settings
	resolver resolver
	host     component.Host
	logger   *zap.Logger

	mu       sync.RWMutex
	ring     *ring
	backends []*backend[T]          // in ring.endpoints order
	byName   map[string]*backend[T] // by endpoint
}

func newRouter[T any](sig signal[T], cfg *Config, set exporter.Settings, lookup lookupFunc) *router[T] {
	r := &router[T]{sig: sig, cfg: cfg, set: set, logger: set.Logger, ring: newRing(nil), byName: map[string]*backend[T]{}}
	if cfg.Resolver.Static.HasValue() {
		r.resolver = staticResolver{endpoints: cfg.Resolver.Static.Get().Hostnames}
	} else {
		r.resolver = &dnsResolver{cfg: *cfg.Resolver.DNS.Get(), lookup: lookup, logger: set.Logger}
	}
	return r
}

func (r *router[T]) start(ctx context.Context, host component.Host) error {
	r.host = host
	return r.resolver.start(ctx, r.update)
}

func (r *router[T]) shutdown(ctx context.Context) error {
	r.resolver.stop()
	r.mu.Lock()
	bs := r.backends
	r.backends, r.byName, r.ring = nil, map[string]*backend[T]{}, newRing(nil)
	r.mu.Unlock()
	var errs []error
	for _, b := range bs {
		close(b.stop)
		errs = append(errs, b.comp.Shutdown(ctx))
	}
	return errors.Join(errs...)
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// update replaces the ring with one over endpoints, starting an exporter
// for each new endpoint and stopping those of endpoints gone. Batches in
// flight to a backend gone finish or fail; a failed part is routed again.
func (r *router[T]) update(endpoints []string) {
	r.mu.Lock()
	next := newRing(endpoints)
	byName := make(map[string]*backend[T], len(next.endpoints))
	backends := make([]*backend[T], 0, len(next.endpoints))
	for _, ep := range next.endpoints {
		b := r.byName[ep]
		if b == nil {
			var err error
			if b, err = r.newBackend(ep); err != nil {
				r.logger.Error("cannot reach a backend; leaving it out", zap.String("endpoint", ep), zap.Error(err))
				continue
			}
		}
		byName[ep] = b
		backends = append(backends, b)
	}
	var gone []*backend[T]
	for ep, b := range r.byName {
		if byName[ep] == nil {
			gone = append(gone, b)
		}
	}
	// Backends that failed to start were left out: build the ring again
	// over the ones there are.
	if len(backends) != len(next.endpoints) {
		eps := make([]string, len(backends))
		for i, b := range backends {
			eps[i] = b.endpoint
		}
		next = newRing(eps)
	}
	r.ring, r.backends, r.byName = next, backends, byName
	r.mu.Unlock()
	for _, b := range gone {
		close(b.stop)
		go func() { _ = b.comp.Shutdown(context.Background()) }()
	}
}

func (r *router[T]) newBackend(endpoint string) (*backend[T], error) {
	cfg := otlpexporter.NewFactory().CreateDefaultConfig().(*otlpexporter.Config)
	cfg.TimeoutConfig = r.cfg.Protocol.OTLP.TimeoutConfig
	cfg.ClientConfig = r.cfg.Protocol.OTLP.ClientConfig
	cfg.ClientConfig.Endpoint = endpoint
	// The router's queue and retry are ahead: the backend's exporter makes
	// one attempt and answers.
	cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
	cfg.RetryConfig = configretry.BackOffConfig{Enabled: false}
	set := r.set
	set.ID = component.NewIDWithName(otlpexporter.NewFactory().Type(), r.set.ID.String()+"_"+unsafeName.ReplaceAllString(endpoint, "_"))
	set.Logger = r.logger.With(zap.String("backend", endpoint))
	// Their own exporter counts would count every item a second time; the
	// router's are this exporter's.
	set.MeterProvider = noop.NewMeterProvider()
	consume, comp, err := r.sig.create(context.Background(), set, cfg)
	if err != nil {
		return nil, err
	}
	if err := comp.Start(context.Background(), r.host); err != nil {
		return nil, err
	}
	return &backend[T]{endpoint: endpoint, consume: consume, comp: comp, stop: make(chan struct{})}, nil
}

// push routes data and sends every part; the parts that failed are
// returned for the retry, which routes them again (the backends that just
// failed are passed over for cooldown).
func (r *router[T]) push(ctx context.Context, data T) error {
	r.mu.RLock()
	ring, backends := r.ring, r.backends
	r.mu.RUnlock()
	if len(backends) == 0 {
		return errNoBackends
	}
	now := time.Now().UnixNano()
	down := func(i int) bool { return backends[i].passedOver(now) }
	parts := r.sig.split(data, func(key uint64) int { return ring.owner(key, down) })
	if len(parts) == 0 {
		return nil
	}
	type outcome struct {
		part T
		err  error
	}
	results := make(chan outcome, len(parts))
	for i, part := range parts {
		b := backends[i]
		go func() {
			err := b.consume(ctx, part)
			if err != nil && !consumererror.IsPermanent(err) {
				b.failed(r.cfg.Cooldown)
				err = fmt.Errorf("backend %s: %w", b.endpoint, err)
			}
			results <- outcome{part, err}
		}()
	}
	var (
		errs      []error
		retry     T
		hasRetry  bool
		permanent []error
	)
	for range parts {
		o := <-results
		switch {
		case o.err == nil:
		case consumererror.IsPermanent(o.err):
			permanent = append(permanent, o.err)
		default:
			errs = append(errs, o.err)
			if !hasRetry {
				retry, hasRetry = o.part, true
			} else {
				r.sig.merge(retry, o.part)
			}
		}
	}
	switch {
	case hasRetry:
		// Parts refused for good are dropped (and counted by the retry
		// as failed only if nothing else is retried: they cannot be).
		return r.sig.failed(errors.Join(append(errs, permanent...)...), retry)
	case len(permanent) > 0:
		return consumererror.NewPermanent(errors.Join(permanent...))
	}
	return nil
}
