package correlationprocessor

import (
	"context"
	"errors"
	"fmt"
	"net"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/client"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/braidobs/braid/correlate"
)

const scopeName = "github.com/braidobs/braid/processors/correlationprocessor"

// engine is the state that the traces, logs and metrics processors of one
// component ID share.
type engine struct {
	cfg       *Config
	extractor *correlate.Extractor
	index     *correlate.TraceIndex
	// resolver is what the engine was built with; start adds the
	// pod_resolver extension to it. Read through current().
	resolver correlate.PodResolver
	active   atomic.Pointer[resolverBox]
	now      func() time.Time
	tel      *telemetry

	// identifier says which pod identity sources are on.
	identifier correlate.PodIdentifier
	// multiline bounds the records that joined container log lines make.
	multiline correlate.MultilineConfig
	// markExtracted is whether records linked from their own attributes or
	// body get the source attribute (trace_context::source_attribute).
	markExtracted bool

	// delayed counts log records held by the logs processors' delay
	// buffers.
	delayed atomic.Int64

	startOnce sync.Once
	startErr  error
	stopOnce  sync.Once
	stop      chan struct{}
	done      chan struct{}
}

// indexConfig is the trace index configuration of cfg, without its clock.
func indexConfig(cfg *Config) correlate.IndexConfig {
	return correlate.IndexConfig{
		MaxTraces:        cfg.MaxTraces,
		MaxLogOnlyTraces: cfg.MaxLogOnlyTraces,
		TTL:              cfg.TTL,
		Shards:           cfg.Shards,
		MaxKeys:          cfg.MaxKeys,
		SpansPerKey:      cfg.SpansPerKey,
		UnlinkedPerKey:   cfg.UnlinkedLinesPerPod,
		NoUnlinkedLines:  cfg.UnlinkedLinesPerPod == 0,
		// Recent spans serve only inference and exemplars.
		NoSpanHistory: !cfg.InferLogLinks.Enabled && !cfg.Exemplars.Enabled,
	}
}

// newEngine builds the engine of cfg around idx, a trace index kept from an
// engine of the same ID and index configuration, or a new one if nil.
func newEngine(cfg *Config, set component.TelemetrySettings, resolver correlate.PodResolver, now func() time.Time, idx *correlate.TraceIndex) (*engine, error) {
	x, err := correlate.NewExtractor(cfg.TraceContext.extractorConfig())
	if err != nil {
		return nil, fmt.Errorf("trace_context::%w", err)
	}
	if idx == nil {
		ic := indexConfig(cfg)
		ic.Now = now
		if idx, err = correlate.NewTraceIndex(ic); err != nil {
			return nil, err
		}
	}
	e := &engine{
		cfg: cfg, extractor: x, index: idx, resolver: resolver, now: now,
		markExtracted: cfg.TraceContext.SourceAttribute != SourceAttributeInferredOnly,
		multiline:     correlate.MultilineConfig{MaxLines: cfg.Multiline.MaxLines, MaxBytes: cfg.Multiline.MaxBytes},
		stop:          make(chan struct{}), done: make(chan struct{}),
	}
	if resolver != nil {
		e.active.Store(&resolverBox{resolver})
	}
	for _, s := range cfg.PodIdentity.Sources {
		switch s {
		case PodSourceAttributes:
			e.identifier.Attributes = true
		case PodSourceLogPath:
			e.identifier.LogPath = true
		case PodSourceSenderAddress:
			e.identifier.SenderAddress = true
		}
	}
	e.tel, err = newTelemetry(set, e)
	if err != nil {
		return nil, err
	}
	return e, nil
}

type resolverBox struct{ r correlate.PodResolver }

// current returns the resolver in use, nil when there is none.
func (e *engine) current() correlate.PodResolver {
	if b := e.active.Load(); b != nil {
		return b.r
	}
	return nil
}

// start, once whichever pipeline's processor starts first, finds the
// pod_resolver extension and launches the index's expiry loop.
func (e *engine) start(host component.Host) error {
	e.startOnce.Do(func() {
		r := e.resolver
		if e.cfg.PodResolver != "" {
			var id component.ID
			if err := id.UnmarshalText([]byte(e.cfg.PodResolver)); err != nil {
				e.startErr = fmt.Errorf("pod_resolver: %w", err)
				return
			}
			ext, ok := host.GetExtensions()[id]
			if !ok {
				e.startErr = fmt.Errorf("pod_resolver: extension %q is not configured", id)
				return
			}
			fromExt, ok := ext.(correlate.PodResolver)
			if !ok {
				e.startErr = fmt.Errorf("pod_resolver: extension %q does not resolve pods", id)
				return
			}
			if r == nil {
				r = fromExt
			} else {
				r = chainResolver{r, fromExt}
			}
		}
		if r != nil {
			e.active.Store(&resolverBox{r})
		}
		go e.expireLoop()
	})
	return e.startErr
}

func (e *engine) expireLoop() {
	defer close(e.done)
	interval := min(max(e.cfg.TTL/10, time.Second), 30*time.Second)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-e.stop:
			return
		case <-t.C:
			e.index.Expire()
		}
	}
}

// shutdown stops the expiry loop (if it ever started) and unregisters the
// self-metrics.
func (e *engine) shutdown() error {
	e.stopOnce.Do(func() {
		close(e.stop)
		started := true
		e.startOnce.Do(func() { started = false })
		if started && e.startErr == nil {
			<-e.done
		}
	})
	return e.tel.shutdown()
}

// Registry holds the engines of the correlation processors built by one
// factory: one per component ID, reference-counted by the processors (one
// per pipeline) that share it, released by the last Shutdown. Give the same
// Registry to the factory ([WithRegistry]) and to whatever reads the trace
// indexes (the drill-down API). Safe for concurrent use.
type Registry struct {
	keepIndexes bool
	// mu guards engines and kept.
	mu      sync.Mutex
	engines map[component.ID]*registryEntry
	// kept are the trace indexes of released engines, by ID (KeepIndexes).
	kept map[component.ID]keptIndex
}

// RegistryOption configures a Registry.
type RegistryOption func(*Registry)

// KeepIndexes makes the registry keep the trace index of an engine when its
// last processor shuts down, and hand it to the next engine built for the
// same ID with the same index settings (max_traces, ttl, shards, max_keys,
// spans_per_key, and whether spans are kept for inference or exemplars). A
// configuration reload that rebuilds the pipelines then keeps what the index
// knows. At most one index is kept per ID, each bounded by its max_traces;
// one whose ID is not configured again stays until the process ends.
func KeepIndexes() RegistryOption {
	return func(r *Registry) { r.keepIndexes = true }
}

// NewRegistry returns an empty registry.
func NewRegistry(opts ...RegistryOption) *Registry {
	r := newRegistry()
	for _, o := range opts {
		o(r)
	}
	return r
}

// TraceIndex returns the trace index of the correlation processor id while
// it runs.
func (r *Registry) TraceIndex(id component.ID) (*correlate.TraceIndex, bool) {
	if e := r.get(id); e != nil {
		return e.index, true
	}
	return nil, false
}

type registryEntry struct {
	e     *engine
	index correlate.IndexConfig
	refs  int
}

type keptIndex struct {
	config correlate.IndexConfig
	idx    *correlate.TraceIndex
}

// sameIndexConfig compares two index configurations but for their clocks.
func sameIndexConfig(a, b correlate.IndexConfig) bool {
	a.Now, b.Now = nil, nil
	return reflect.DeepEqual(a, b)
}

func newRegistry() *Registry {
	return &Registry{engines: make(map[component.ID]*registryEntry), kept: make(map[component.ID]keptIndex)}
}

// acquire returns the engine of id, creating it with build on first use;
// build gets the index kept for id if its configuration is index, else nil.
func (r *Registry) acquire(id component.ID, index correlate.IndexConfig, build func(kept *correlate.TraceIndex) (*engine, error)) (*engine, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if ent, ok := r.engines[id]; ok {
		ent.refs++
		return ent.e, nil
	}
	var idx *correlate.TraceIndex
	if k, ok := r.kept[id]; ok && sameIndexConfig(k.config, index) {
		idx = k.idx
	}
	e, err := build(idx)
	if err != nil {
		return nil, err
	}
	delete(r.kept, id)
	r.engines[id] = &registryEntry{e: e, index: index, refs: 1}
	return e, nil
}

// release drops one reference; the last one shuts the engine down.
func (r *Registry) release(id component.ID) error {
	r.mu.Lock()
	ent, ok := r.engines[id]
	if !ok {
		r.mu.Unlock()
		return nil
	}
	ent.refs--
	if ent.refs > 0 {
		r.mu.Unlock()
		return nil
	}
	delete(r.engines, id)
	if r.keepIndexes {
		r.kept[id] = keptIndex{config: ent.index, idx: ent.e.index}
	}
	r.mu.Unlock()
	return ent.e.shutdown()
}

func (r *Registry) get(id component.ID) *engine {
	r.mu.Lock()
	defer r.mu.Unlock()
	if ent, ok := r.engines[id]; ok {
		return ent.e
	}
	return nil
}

// identify gives a resource its pod identity from the configured sources
// and writes what it learns into attrs. logPath is a log record's file path
// (empty for other signals).
func (e *engine) identify(ctx context.Context, attrs pcommon.Map, logPath string, lc *correlate.PodLookups) correlate.PodIdentity {
	return e.identifier.Identify(attrs, logPath, func() string { return senderIP(ctx) }, e.current(), lc)
}

func senderIP(ctx context.Context) string {
	switch a := client.FromContext(ctx).Addr.(type) {
	case nil:
		return ""
	case *net.TCPAddr:
		return a.IP.String()
	case *net.UDPAddr:
		return a.IP.String()
	case *net.IPAddr:
		return a.IP.String()
	default:
		host, _, err := net.SplitHostPort(a.String())
		if err != nil {
			return a.String()
		}
		return host
	}
}

// chainResolver asks each resolver in turn.
type chainResolver []correlate.PodResolver

func (c chainResolver) ByUID(uid string) (correlate.Pod, bool) {
	for _, r := range c {
		if p, ok := r.ByUID(uid); ok {
			return p, true
		}
	}
	return correlate.Pod{}, false
}

func (c chainResolver) ByIP(ip string) (correlate.Pod, bool) {
	for _, r := range c {
		if p, ok := r.ByIP(ip); ok {
			return p, true
		}
	}
	return correlate.Pod{}, false
}

func (c chainResolver) ByName(namespace, name string) (correlate.Pod, bool) {
	for _, r := range c {
		if p, ok := r.ByName(namespace, name); ok {
			return p, true
		}
	}
	return correlate.Pod{}, false
}

// Log outcomes, as reported in braid_correlation_logs.
const (
	outcomePresent = iota
	outcomeExtracted
	outcomeInferred
	outcomeNone
	numOutcomes
)

var outcomeNames = [numOutcomes]string{"present", "extracted", "inferred", "none"}

type telemetry struct {
	logs          metric.Int64Counter
	exemplars     metric.Int64Counter
	joinedLines   metric.Int64Counter
	podLookups    metric.Int64Counter
	registration  metric.Registration
	outcomeAttrs  [numOutcomes]metric.AddOption
	lookupAttrs   [correlate.NumPodSources][2]metric.AddOption
	shutdownOnce  sync.Once
	unregisterErr error
}

func newTelemetry(set component.TelemetrySettings, e *engine) (*telemetry, error) {
	m := set.MeterProvider.Meter(scopeName)
	t := &telemetry{}
	var errs, err error
	t.logs, err = m.Int64Counter("braid_correlation_logs",
		metric.WithDescription("Log records seen, by where their trace context came from (present, extracted, inferred, none)."),
		metric.WithUnit("{record}"))
	errs = errors.Join(errs, err)
	t.exemplars, err = m.Int64Counter("braid_correlation_exemplars_added",
		metric.WithDescription("Inferred exemplars added to metric points."),
		metric.WithUnit("{exemplar}"))
	errs = errors.Join(errs, err)
	t.joinedLines, err = m.Int64Counter("braid_correlation_joined_lines",
		metric.WithDescription("Container log lines joined to the record they continue (multiline), such as the frames of a stack trace."),
		metric.WithUnit("{line}"))
	errs = errors.Join(errs, err)
	t.podLookups, err = m.Int64Counter("braid_correlation_pod_lookups",
		metric.WithDescription("Pod identity lookups, by source and result."),
		metric.WithUnit("{lookup}"))
	errs = errors.Join(errs, err)
	traces, err := m.Int64ObservableGauge("braid_correlation_index_traces",
		metric.WithDescription("Traces held in the correlation index."),
		metric.WithUnit("{trace}"))
	errs = errors.Join(errs, err)
	evictions, err := m.Int64ObservableCounter("braid_correlation_index_evictions",
		metric.WithDescription("Traces evicted from the correlation index, by reason (capacity: a trace with spans made room; log_only: a trace only logs had named made room for another; ttl)."),
		metric.WithUnit("{trace}"))
	errs = errors.Join(errs, err)
	delayed, err := m.Int64ObservableGauge("braid_correlation_delayed_logs",
		metric.WithDescription("Log records held in the inference delay buffer."),
		metric.WithUnit("{record}"))
	errs = errors.Join(errs, err)
	if errs != nil {
		return nil, fmt.Errorf("create self-metrics: %w", errs)
	}
	capacity := metric.WithAttributeSet(attribute.NewSet(attribute.String("reason", "capacity")))
	ttl := metric.WithAttributeSet(attribute.NewSet(attribute.String("reason", "ttl")))
	logOnly := metric.WithAttributeSet(attribute.NewSet(attribute.String("reason", "log_only")))
	t.registration, err = m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		st := e.index.Stats()
		o.ObserveInt64(traces, int64(st.Traces))
		o.ObserveInt64(evictions, int64(st.EvictedCapacity-st.EvictedLogOnly), capacity)
		o.ObserveInt64(evictions, int64(st.EvictedLogOnly), logOnly)
		o.ObserveInt64(evictions, int64(st.EvictedTTL), ttl)
		o.ObserveInt64(delayed, e.delayed.Load())
		return nil
	}, traces, evictions, delayed)
	if err != nil {
		return nil, fmt.Errorf("register self-metrics callback: %w", err)
	}
	for i, n := range outcomeNames {
		t.outcomeAttrs[i] = metric.WithAttributeSet(attribute.NewSet(attribute.String("outcome", n)))
	}
	for src := range correlate.NumPodSources {
		n := src.String()
		t.lookupAttrs[src][0] = metric.WithAttributeSet(attribute.NewSet(attribute.String("source", n), attribute.String("result", "hit")))
		t.lookupAttrs[src][1] = metric.WithAttributeSet(attribute.NewSet(attribute.String("source", n), attribute.String("result", "miss")))
	}
	return t, nil
}

func (t *telemetry) recordOutcomes(ctx context.Context, counts *[numOutcomes]int64) {
	for i, n := range counts {
		if n > 0 {
			t.logs.Add(ctx, n, t.outcomeAttrs[i])
		}
	}
}

func (t *telemetry) recordLookups(ctx context.Context, lc *correlate.PodLookups) {
	for src := range lc {
		for r, n := range lc[src] {
			if n > 0 {
				t.podLookups.Add(ctx, n, t.lookupAttrs[src][r])
			}
		}
	}
}

func (t *telemetry) shutdown() error {
	t.shutdownOnce.Do(func() {
		if t.registration != nil {
			t.unregisterErr = t.registration.Unregister()
		}
	})
	return t.unregisterErr
}
