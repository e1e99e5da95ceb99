package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/pflag"
	"go.opentelemetry.io/collector/otelcol"
	"go.uber.org/zap"
)

// partialReloadGate is otelcol's gate for comparing a reloaded configuration
// with the running one: see configReloader.
const partialReloadGate = "service.partialReload"

// runOptions are the gateway's own flags.
type runOptions struct {
	// adminEndpoint is where POST /-/reload is served; empty: nowhere.
	adminEndpoint string
	// adminEndpointChosen is true when the user set adminEndpoint: failing
	// to listen there stops Braid, while a default address already taken
	// (another Braid on the host) only costs the endpoint.
	adminEndpointChosen bool
	// watchConfig reloads when a --config file changes.
	watchConfig bool
	// summary prints, once Braid first runs, where it listens and sends.
	summary bool
}

// runBraid runs the gateway until it is stopped: the collector with reload
// safety, the admin endpoint and the configuration file watcher.
//
// A configuration can pass its check and still fail to start (a port already
// taken, a certificate file missing): otelcol then returns from Run, leaving
// its state short of StateClosed, which a stop or a failed first start set.
// Braid then starts a new collector on the configuration that ran before;
// the state kept across rebuilds (keptState) carries over.
func runBraid(ctx context.Context, r *configReloader, opts runOptions) error {
	// SIGHUP between two collectors, or before the first one runs, must not
	// stop the process (Go's default for it).
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	var current atomic.Pointer[otelcol.Collector]
	state := func() otelcol.State {
		if col := current.Load(); col != nil {
			return col.GetState()
		}
		return otelcol.StateStarting
	}
	adminAddr := ""
	if opts.adminEndpoint != "" {
		admin, err := startAdmin(opts.adminEndpoint, r, state)
		switch {
		case err == nil:
			adminAddr = opts.adminEndpoint
			defer admin.Close()
		case opts.adminEndpointChosen:
			return err
		default:
			r.log().Warn("No admin endpoint; reload with SIGHUP or set "+adminEndpointEnv, zap.Error(err))
		}
	}
	if opts.watchConfig {
		if paths := configFilePaths(r.locations()); len(paths) > 0 {
			stop, err := watchConfigFiles(r, paths, watchDebounce)
			if err != nil {
				// The other ways to reload still work.
				r.log().Warn("Cannot watch the configuration files; reload with SIGHUP or POST /-/reload",
					zap.Strings("paths", paths), zap.Error(err))
			} else {
				defer stop()
			}
		}
	}
	fallbackStarts := 0 // starts of the collector going back, while none ran
	var summarized atomic.Bool
	onRun := func() {
		if opts.summary && !summarized.Swap(true) {
			printSummary(os.Stderr, r, adminAddr)
		}
	}
	for {
		col, err := otelcol.NewCollector(r.settings())
		if err != nil {
			return err
		}
		current.Store(col)
		ran := watchRunning(col, onRun)
		err = col.Run(ctx)
		switch {
		case err == nil || ctx.Err() != nil:
			return err
		case col.GetState() != otelcol.StateClosed:
			// A reload failed to start.
			if !r.fallBack(err) {
				return err
			}
			fallbackStarts = 0
		case !ran() && fallbackStarts > 0 && fallbackStarts < maxFallbackStarts:
			// The failed service may still be releasing its ports.
			r.log().Warn("The last good configuration failed to start again; retrying", zap.Error(err))
			time.Sleep(fallbackRetryDelay)
			r.retryFallback()
		default:
			return err
		}
		fallbackStarts++
	}
}

// printSummary writes the summary of the configuration the collector read
// last, unless its logs are JSON (read by machines, not people).
func printSummary(w io.Writer, r *configReloader, admin string) {
	conf := r.resolved.Load()
	if conf == nil || str(conf, "service::telemetry::logs::encoding") == "json" {
		return
	}
	uris := r.locations()
	s := describe(conf, len(uris) == 1 && uris[0] == defaultConfigURI)
	if admin != "" {
		s.listeners = append(s.listeners, listener{"admin", "http://" + admin, "POST /-/reload"})
	}
	s.print(w, version+" ("+commit+")")
}

const (
	maxFallbackStarts  = 10
	fallbackRetryDelay = 500 * time.Millisecond
)

// watchRunning returns whether col has been seen running, checked every
// 50 ms until it runs (then it calls onRun) or stops.
func watchRunning(col *otelcol.Collector, onRun func()) func() bool {
	var ran atomic.Bool
	go func() {
		for {
			switch col.GetState() {
			case otelcol.StateRunning:
				ran.Store(true)
				onRun()
				return
			case otelcol.StateClosed:
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	return ran.Load
}

// recordLocations makes flags record the configuration locations they are
// given, as otelcol orders them (otelcol/flags.go): every --config value,
// then every --set as a yaml: location. The returned function lists them, or
// the embedded default when there are none.
func recordLocations(flags *pflag.FlagSet) func() []string {
	var configs, sets []string
	if f := flags.Lookup("config"); f != nil {
		f.Value = recordingValue{Value: f.Value, record: func(s string) { configs = append(configs, s) }}
	}
	if f := flags.Lookup("set"); f != nil {
		f.Value = recordingValue{Value: f.Value, record: func(s string) {
			key, value, _ := strings.Cut(s, "=")
			sets = append(sets, "yaml:"+strings.TrimSpace(strings.ReplaceAll(key, ".", "::"))+": "+strings.TrimSpace(value))
		}}
	}
	return func() []string {
		uris := append([]string(nil), configs...)
		if len(uris) == 0 && len(sets) == 0 {
			uris = []string{defaultConfigURI}
		}
		return append(uris, sets...)
	}
}

// recordingValue passes each value a flag is set to on to record, once the
// flag's own Value took it.
type recordingValue struct {
	pflag.Value
	record func(string)
}

func (v recordingValue) Set(s string) error {
	if err := v.Value.Set(s); err != nil {
		return err
	}
	v.record(s)
	return nil
}

// configFilePaths are the files among the configuration locations: file:
// URIs and locations without a scheme.
func configFilePaths(uris []string) []string {
	var paths []string
	for _, uri := range uris {
		switch {
		case strings.HasPrefix(uri, "file:"):
			paths = append(paths, strings.TrimPrefix(uri, "file:"))
		case !strings.Contains(uri, ":") || driverLetter(uri):
			paths = append(paths, uri)
		}
	}
	return paths
}

func driverLetter(uri string) bool {
	return len(uri) >= 2 && uri[1] == ':' && (uri[0] >= 'a' && uri[0] <= 'z' || uri[0] >= 'A' && uri[0] <= 'Z')
}
