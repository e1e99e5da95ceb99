package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/otelcol"
	"go.opentelemetry.io/collector/service"
	"go.uber.org/zap"

	"github.com/braidobs/braid/connectors/spanmetricsconnector"
	"github.com/braidobs/braid/extensions/drillextension"
	"github.com/braidobs/braid/internal/authmetrics"
	"github.com/braidobs/braid/internal/reloadmetrics"
	"github.com/braidobs/braid/processors/correlationprocessor"
)

// configReloader makes configuration reloads safe: a configuration that does
// not resolve, unmarshal or validate never reaches the running collector, so
// a bad edit cannot stop Braid.
//
// otelcol's Collector re-reads its configuration from its providers on SIGHUP
// and whenever the watcher it passed to a provider fires; it shuts the
// running service down first and exits if the new configuration fails. Braid
// keeps otelcol as it is and puts snapshots between the collector and the
// real providers (embedded, file, env, yaml, http):
//
//   - A candidate is the whole configuration resolved from the command-line
//     locations through fresh instances of the real providers, every value
//     retrieved on the way recorded: the files, and the ${env:…} or ${file:…}
//     references inside them. It is checked by Collector.DryRun, the check
//     `braid validate` runs (resolve, unmarshal with the same factories,
//     Validate, build the pipeline graph).
//   - The collector's own resolver only ever gets snapshot providers, which
//     answer from the served snapshot. A resolve of the collector (its first
//     Retrieve after the previous resolve ended, which the converter at the
//     end of the resolver marks) serves a candidate checked for it: a valid
//     one becomes the served snapshot; an invalid one is logged and refused,
//     and the collector is answered from the last good snapshot again. This
//     is what covers SIGHUP, which otelcol handles itself.
//   - Reload (POST /-/reload, a changed --config file) checks a candidate
//     first and fires the resolver's watcher only when it is valid and
//     differs from the served one; the resolve that follows serves that
//     very candidate.
//   - With the service.partialReload feature gate, which Braid turns on,
//     otelcol compares the new configuration with the running one before it
//     shuts anything down: the last good snapshot served again changes
//     nothing, so after a refused SIGHUP the pipelines run on untouched, and
//     a change to receivers only restarts those receivers. Any other change
//     still rebuilds every component; the correlation processors' trace
//     indexes, the span-metric series and the drill-down API's alerts are
//     kept across it (keptState).
//   - A configuration can pass its check and fail to start (a port taken):
//     otelcol's Run then returns, and runBraid starts a new collector that
//     fallBack has served the snapshot that ran before.
//
// The outcome of the last check is exposed on the collector's own telemetry
// (internal/reloadmetrics). The converter also pins service.instance.id, so
// that a rebuilt service keeps the identity of the process.
type configReloader struct {
	// providers are the real providers; candidates are resolved through
	// fresh instances of them, the collector's resolver through snapshots.
	providers []confmap.ProviderFactory
	// factories build the running collector's components, with one
	// keptState for the process: trace indexes, span-metric series and
	// drill alerts survive a rebuild. checkFactories build a candidate's,
	// apart: the check builds components without ever shutting them down.
	factories, checkFactories func() (otelcol.Factories, error)
	instanceID                string
	status                    *reloadmetrics.Status
	// adminAuth counts the admin endpoint's refusals.
	adminAuth *authmetrics.Admin
	// uris are the configuration locations, as otelcol orders them: the
	// --config values, then the --set overrides.
	uris []string
	// resolved is the configuration the collector read last, for the
	// start summary.
	resolved atomic.Pointer[confmap.Conf]

	// reloadMu serializes Reload, so that one candidate at a time waits for
	// the collector.
	reloadMu sync.Mutex

	// mu guards the fields below.
	mu     sync.Mutex
	logger *zap.Logger
	// served is the snapshot the collector's resolver is answered from; nil
	// until the collector's first resolve. previous is the one served before
	// it changed last, to fall back to if the change fails to start.
	served, previous *snapshot
	// startFailures counts the configurations that passed their check but
	// failed to start; startErr is the last one's error.
	startFailures int
	startErr      error
	// pending is a candidate Reload checked, for the next resolve to serve;
	// pendingFallback when it is the snapshot fallBack goes back to.
	pending         *snapshot
	pendingFallback bool
	// pendingDone are closed when the resolve that serves pending ends,
	// resolveDone when the resolve under way ends, and rebuildDone when the
	// next one does: otelcol resolves again when it rebuilds the service.
	pendingDone, resolveDone, rebuildDone []chan struct{}
	// appliedSections are the parts of the last resolved configuration
	// that make otelcol rebuild every component when they change.
	appliedSections []byte
	// resolving is true between the first Retrieve of a collector resolve
	// and the converter that ends it.
	resolving bool
	// watcher is the collector resolver's change callback, kept from its
	// Retrieve calls; fired is true while an event sent to it has not led
	// to a resolve yet; closed once the resolver shut its providers down.
	watcher confmap.WatcherFunc
	fired   bool
	closed  bool
}

// newConfigReloader returns a reloader over Braid's providers and
// components, for the configuration locations uris (the embedded default if
// none).
func newConfigReloader(uris ...string) *configReloader {
	if len(uris) == 0 {
		uris = []string{defaultConfigURI}
	}
	r := &configReloader{
		providers:  braidProviderFactories(),
		instanceID: pinnedInstanceID(),
		status:     &reloadmetrics.Status{},
		adminAuth:  &authmetrics.Admin{},
		uris:       uris,
		logger:     zap.NewNop(),
	}
	kept := keptState{
		engines: correlationprocessor.NewRegistry(correlationprocessor.KeepIndexes()),
		spans:   spanmetricsconnector.NewAggregates(),
		alerts:  drillextension.NewAlertStores(),
	}
	r.factories = func() (otelcol.Factories, error) {
		f, err := componentsWith(kept)
		if err != nil {
			return otelcol.Factories{}, err
		}
		f.Telemetry = r.status.TelemetryFactory(f.Telemetry, r.adminAuth.Register)
		return f, nil
	}
	r.checkFactories = components
	return r
}

func (r *configReloader) locations() []string { return append([]string(nil), r.uris...) }

// settings are the settings of the collector that Braid runs: the one whose
// configuration this reloader guards.
func (r *configReloader) settings() otelcol.CollectorSettings {
	snapshots := make([]confmap.ProviderFactory, len(r.providers))
	for i, f := range r.providers {
		snapshots[i] = confmap.NewProviderFactory(func(set confmap.ProviderSettings) confmap.Provider {
			r.setLogger(set.Logger)
			return snapshotProvider{Provider: f.Create(set), r: r}
		})
	}
	return otelcol.CollectorSettings{
		BuildInfo: buildInfo(),
		Factories: r.factories,
		ConfigProviderSettings: otelcol.ConfigProviderSettings{
			ResolverSettings: confmap.ResolverSettings{
				URIs:               r.locations(),
				ProviderFactories:  snapshots,
				ConverterFactories: []confmap.ConverterFactory{r.converterFactory(true)},
				DefaultScheme:      "env",
			},
		},
	}
}

func (r *configReloader) setLogger(l *zap.Logger) {
	if l == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.logger = l
}

func (r *configReloader) log() *zap.Logger {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.logger
}

// invalidConfigError is a candidate that failed its check.
type invalidConfigError struct{ err error }

func (e *invalidConfigError) Error() string { return e.err.Error() }
func (e *invalidConfigError) Unwrap() error { return e.err }

// errNotRunning is returned by Reload before the collector has read its
// configuration, or once it has stopped.
var errNotRunning = errors.New("the collector is not running")

// candidate resolves the configuration afresh and checks it as `braid
// validate` does. The snapshot holds what was retrieved even when the check
// fails (possibly not every location).
func (r *configReloader) candidate(ctx context.Context) (*snapshot, error) {
	snap := &snapshot{values: map[string]retrievedValue{}}
	recording := make([]confmap.ProviderFactory, len(r.providers))
	for i, f := range r.providers {
		recording[i] = confmap.NewProviderFactory(func(set confmap.ProviderSettings) confmap.Provider {
			return recordingProvider{Provider: f.Create(set), snap: snap}
		})
	}
	col, err := otelcol.NewCollector(otelcol.CollectorSettings{
		BuildInfo: buildInfo(),
		Factories: r.checkFactories,
		ConfigProviderSettings: otelcol.ConfigProviderSettings{
			ResolverSettings: confmap.ResolverSettings{
				URIs:               r.locations(),
				ProviderFactories:  recording,
				ConverterFactories: []confmap.ConverterFactory{r.converterFactory(false)},
				DefaultScheme:      "env",
			},
		},
		SkipSettingGRPCLogger: true,
	})
	if err != nil {
		return snap, &invalidConfigError{err}
	}
	if err := col.DryRun(ctx); err != nil {
		return snap, &invalidConfigError{err}
	}
	return snap, nil
}

// Reload checks a candidate and, when it is valid and differs from the
// running configuration, has the collector apply it; it returns once the
// collector has read it. An invalid candidate is refused with an
// *invalidConfigError and nothing else happens. trigger names the cause in
// the log.
func (r *configReloader) Reload(ctx context.Context, trigger string) error {
	r.reloadMu.Lock()
	defer r.reloadMu.Unlock()

	snap, err := r.candidate(ctx)
	if err != nil {
		r.refuse(err, trigger)
		return err
	}

	r.mu.Lock()
	if r.watcher == nil || r.closed {
		r.mu.Unlock()
		return errNotRunning
	}
	if snap.equal(r.served) {
		r.pending, r.pendingFallback = nil, false // left by a Reload that gave up waiting
		r.mu.Unlock()
		r.status.Succeeded()
		r.log().Info("Configuration unchanged", zap.String("trigger", trigger))
		return nil
	}
	r.pending, r.pendingFallback = snap, false
	done := make(chan struct{})
	r.pendingDone = append(r.pendingDone, done)
	if !r.fired {
		r.fired = true
		notify(r.watcher)
	}
	r.mu.Unlock()

	select {
	case <-done:
		r.log().Info("Configuration reloaded", zap.String("trigger", trigger))
		return nil
	case <-ctx.Done():
		return fmt.Errorf("wait for the collector to read the configuration: %w", ctx.Err())
	}
}

// notify tells the collector's resolver that the configuration changed. The
// resolver's channel holds one event, so the send may wait for the collector
// to take the previous one; the resolver closes that channel when it shuts
// down, which makes a send still waiting then panic: that send is dropped.
func notify(watcher confmap.WatcherFunc) {
	go func() {
		defer func() { _ = recover() }()
		watcher(&confmap.ChangeEvent{})
	}()
}

func (r *configReloader) refuse(err error, trigger string) {
	r.status.Failed()
	r.log().Error("Configuration refused, the last good one keeps running",
		zap.String("trigger", trigger), zap.Error(err))
}

// retrieve answers a Retrieve of the collector's resolver from the served
// snapshot, starting a resolve first if none is under way. ok is false for a
// location the snapshot lacks: only when the first configuration failed to
// resolve, and then the real provider reports the error.
func (r *configReloader) retrieve(ctx context.Context, uri string, watcher confmap.WatcherFunc) (v retrievedValue, ok bool) {
	r.mu.Lock()
	if watcher != nil {
		r.watcher = watcher
		r.closed = false
	}
	begin := !r.resolving
	r.resolving = true
	r.mu.Unlock()

	if begin {
		r.beginResolve(ctx)
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	if r.served == nil {
		return retrievedValue{}, false
	}
	return r.served.get(uri)
}

// beginResolve picks the snapshot a collector resolve is served: the one
// Reload checked, or else a candidate checked now (SIGHUP, the first start).
func (r *configReloader) beginResolve(ctx context.Context) {
	r.mu.Lock()
	r.fired = false
	if r.pending != nil {
		r.serve(r.pending)
		fallback := r.pendingFallback
		r.pending, r.pendingFallback = nil, false
		r.resolveDone, r.pendingDone = append(r.resolveDone, r.pendingDone...), nil
		r.mu.Unlock()
		if !fallback {
			r.status.Succeeded()
		}
		return
	}
	first := r.served == nil
	r.mu.Unlock()

	snap, err := r.candidate(ctx)

	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case err == nil:
		r.serve(snap)
		r.status.Succeeded()
	case first:
		// Nothing runs yet: the collector gets the configuration as it is
		// and reports what is wrong with it itself, as without Braid.
		r.served = snap
		r.status.Failed()
		r.logger.Warn("Configuration check failed", zap.Error(err))
	default:
		r.status.Failed()
		r.logger.Error("Configuration refused, the last good one keeps running",
			zap.String("trigger", "collector reload (SIGHUP)"), zap.Error(err))
	}
}

// serve makes snap the served snapshot. r.mu must be held.
func (r *configReloader) serve(snap *snapshot) {
	if !snap.equal(r.served) {
		r.previous, r.served = r.served, snap
	}
}

// fallBack is called when the collector stopped because the configuration
// it was given last passed its check but failed to start (a port taken, a
// certificate missing): the next collector is served the snapshot that ran
// before, without a check. It is false when there is none to go back to.
func (r *configReloader) fallBack(err error) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.previous == nil {
		return false
	}
	r.served, r.previous, r.pending, r.pendingFallback = r.previous, nil, r.previous, true
	r.startFailures++
	r.startErr = err
	r.resolving = false
	r.status.Failed()
	r.logger.Error("Configuration failed to start, going back to the last good one", zap.Error(err))
	return true
}

// retryFallback has the next collector served the snapshot fallBack went
// back to, again.
func (r *configReloader) retryFallback() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pending, r.pendingFallback, r.resolving = r.served, true, false
}

// startFailure returns how many configurations failed to start so far, and
// the last one's error.
func (r *configReloader) startFailure() (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.startFailures, r.startErr
}

// endResolve is called by the converter at the end of a collector resolve,
// with the rebuildSections of its configuration. Reload waits for the
// collector to have read its configuration: when otelcol compares it with the
// running one first (partial reload), a change outside the receivers makes it
// shut the service down and resolve again, and only that second resolve feeds
// the new service.
func (r *configReloader) endResolve(sections []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.resolving = false
	for _, done := range r.rebuildDone {
		close(done)
	}
	r.rebuildDone = nil
	rebuild := service.ReceiverPartialReloadEnabled() && sections != nil && r.appliedSections != nil &&
		!bytes.Equal(sections, r.appliedSections)
	r.appliedSections = sections
	if rebuild {
		r.rebuildDone, r.resolveDone = r.resolveDone, nil
		return
	}
	for _, done := range r.resolveDone {
		close(done)
	}
	r.resolveDone = nil
}

// rebuildSections encodes what otelcol's partial reload compares beyond the
// receivers (otelcol/config_diff.go): service::telemetry, the extensions,
// processors, exporters and connectors, the enabled extensions, and each
// pipeline's processors and exporters. nil if it cannot be encoded.
func rebuildSections(conf *confmap.Conf) []byte {
	sections := map[string]any{}
	for _, key := range []string{"service::telemetry", "extensions", "processors", "exporters", "connectors", "service::extensions"} {
		sections[key] = conf.Get(key)
	}
	pipelines, _ := conf.Get("service::pipelines").(map[string]any)
	for id, p := range pipelines {
		if m, ok := p.(map[string]any); ok {
			p = []any{m["processors"], m["exporters"]}
		}
		sections["service::pipelines::"+id] = p
	}
	b, err := json.Marshal(sections)
	if err != nil {
		return nil
	}
	return b
}

func (r *configReloader) shutdown() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
}

// snapshotProvider answers the collector's resolver from the reloader's
// served snapshot; the provider it wraps only serves locations the snapshot
// lacks, and is never asked to watch: Braid watches files itself.
type snapshotProvider struct {
	confmap.Provider
	r *configReloader
}

func (p snapshotProvider) Retrieve(ctx context.Context, uri string, watcher confmap.WatcherFunc) (*confmap.Retrieved, error) {
	if v, ok := p.r.retrieve(ctx, uri, watcher); ok {
		return v.retrieved()
	}
	return p.Provider.Retrieve(ctx, uri, nil)
}

func (p snapshotProvider) Shutdown(ctx context.Context) error {
	p.r.shutdown()
	return p.Provider.Shutdown(ctx)
}

// recordingProvider retrieves from a real provider and records each value in
// a candidate's snapshot; it serves the recorded copy, so that the check sees
// exactly what the collector would be served.
type recordingProvider struct {
	confmap.Provider
	snap *snapshot
}

func (p recordingProvider) Retrieve(ctx context.Context, uri string, _ confmap.WatcherFunc) (*confmap.Retrieved, error) {
	ret, err := p.Provider.Retrieve(ctx, uri, nil)
	if err != nil {
		return nil, err
	}
	v, err := recordRetrieved(ret)
	if closeErr := ret.Close(ctx); err == nil {
		err = closeErr
	}
	if err != nil {
		return nil, err
	}
	p.snap.values[uri] = v
	return v.retrieved()
}

// snapshot is every value one resolve retrieved, by location. It is written
// only while its candidate resolves, and read-only afterwards.
type snapshot struct {
	values map[string]retrievedValue
}

func (s *snapshot) get(uri string) (retrievedValue, bool) {
	v, ok := s.values[uri]
	return v, ok
}

func (s *snapshot) equal(o *snapshot) bool {
	if s == nil || o == nil {
		return s == o
	}
	return reflect.DeepEqual(s.values, o.values)
}

// retrievedValue is one retrieved value kept so that it can be served again:
// its text when the provider gave one (every provider Braid ships parses YAML
// text), or else a copy of the raw value.
type retrievedValue struct {
	text    string
	hasText bool
	raw     any
}

func recordRetrieved(ret *confmap.Retrieved) (retrievedValue, error) {
	if s, err := ret.AsString(); err == nil {
		return retrievedValue{text: s, hasText: true}, nil
	}
	raw, err := ret.AsRaw()
	if err != nil {
		return retrievedValue{}, err
	}
	return retrievedValue{raw: copyRaw(raw)}, nil
}

func (v retrievedValue) retrieved() (*confmap.Retrieved, error) {
	if v.hasText {
		return confmap.NewRetrievedFromYAML([]byte(v.text))
	}
	return confmap.NewRetrieved(copyRaw(v.raw))
}

// copyRaw copies the maps and slices of a raw configuration value, which the
// resolver may modify.
func copyRaw(v any) any {
	switch v := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, x := range v {
			m[k] = copyRaw(x)
		}
		return m
	case []any:
		s := make([]any, len(v))
		for i, x := range v {
			s[i] = copyRaw(x)
		}
		return s
	default:
		return v
	}
}

// converterFactory returns the converter Braid's resolvers end with: it pins
// service.instance.id and, in the collector's resolver (endsResolve), marks
// the end of a resolve.
func (r *configReloader) converterFactory(endsResolve bool) confmap.ConverterFactory {
	return confmap.NewConverterFactory(func(confmap.ConverterSettings) confmap.Converter {
		return resolveEnd{r: r, endsResolve: endsResolve}
	})
}

type resolveEnd struct {
	r           *configReloader
	endsResolve bool
}

func (c resolveEnd) Convert(_ context.Context, conf *confmap.Conf) error {
	err := pinInstanceID(conf, c.r.instanceID)
	if c.endsResolve {
		c.r.endResolve(rebuildSections(conf))
		m := conf.ToStringMap()
		c.r.status.SetConfig(m)
		c.r.resolved.Store(confmap.NewFromStringMap(m))
	}
	return err
}

func buildInfo() component.BuildInfo {
	return component.BuildInfo{
		Command:     "braid",
		Description: "Braid observability gateway",
		Version:     version + " (" + commit + ")",
	}
}
