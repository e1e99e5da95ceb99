package faults

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.yaml.in/yaml/v3"
	"google.golang.org/grpc/codes"

	"github.com/braidobs/braid/internal/loadgen"
)

// Settings says what the harness runs and how hard.
type Settings struct {
	Braid         string // the braid binary
	GatewayConfig string // the shipped gateway configuration
	AgentConfig   string // the shipped node agent configuration
	// KafkaAgentConfig and KafkaGatewayConfig are the Kafka tier's
	// overlays on them; Broker runs a Kafka-protocol broker when given
	// "kafka --ports N" (braid-loadgen itself).
	KafkaAgentConfig, KafkaGatewayConfig string
	Broker                               string
	WorkDir                              string
	// Rate is items per second for each stream; Batch items per request.
	Rate  float64
	Batch int
	// Load is how long each kill scenario sends; Kills how often it kills.
	Load  time.Duration
	Kills int
	// Outage is how long the backends are down in the outage scenario.
	Outage time.Duration
	// DiskMiB is the size of the full disk's tmpfs.
	DiskMiB int
	// Drain bounds the wait for delivery after the load.
	Drain time.Duration
	Seed  uint64
	Out   io.Writer // progress
}

// Result is one scenario's outcome.
type Result struct {
	Scenario string  `json:"scenario"`
	Tallies  []Tally `json:"tallies"`
	// Notes say what happened along the way (kills, refusals while full).
	Notes []string `json:"notes,omitempty"`
	// Failure says why the scenario failed; empty when it passed.
	Failure string `json:"failure,omitempty"`
}

// Scenario is one fault the harness can inject.
type Scenario struct {
	Name string
	run  func(ctx context.Context, s Settings, r *Result) error
}

// Scenarios lists the harness's scenarios in the order make faults runs them.
func Scenarios() []Scenario {
	return []Scenario{
		{"gateway-kill", gatewayKill},
		{"gateway-kill-admission", gatewayKillAdmission},
		{"agent-kill", agentKill},
		{"agent-kill-infer", agentKillInfer},
		{"gateway-affinity", gatewayAffinity},
		{"gateway-reload", gatewayReload},
		{"kafka-tier", kafkaTier},
		{"backend-outage", backendOutage},
		{"disk-full", diskFull},
		{"corrupt-queue", corruptQueue},
	}
}

// Run runs one scenario and tallies its ledger.
func (sc Scenario) Run(ctx context.Context, s Settings) Result {
	r := Result{Scenario: sc.Name}
	if err := sc.run(ctx, s, &r); err != nil {
		r.Failure = err.Error()
	}
	return r
}

// rig is one scenario's sink, ledger and braid process.
type rig struct {
	s      Settings
	name   string
	dir    string
	ledger *Ledger
	sink   *loadgen.Sink
	grpc   string // the sink's addresses, kept across an outage
	http   string
	braid  *Braid
	otlp   string // braid's OTLP gRPC address
	r      *Result
	// observer sees what the backends receive (default a Recorder).
	observer loadgen.Observer
	// suffix tells apart the logs of several braid processes.
	suffix string
	// procs are the braid processes of a scenario that runs several.
	procs []*Braid
	// concurrency is each sender's requests in flight (default 4); burst
	// sends them together.
	concurrency int
	burst       bool
}

func newRig(s Settings, r *Result) (*rig, error) {
	dir := filepath.Join(s.WorkDir, r.Scenario)
	if err := os.RemoveAll(dir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	g := &rig{s: s, name: r.Scenario, dir: dir, ledger: NewLedger(), r: r}
	var err error
	if g.grpc, err = FreeAddr(); err != nil {
		return nil, err
	}
	if g.http, err = FreeAddr(); err != nil {
		return nil, err
	}
	return g, nil
}

func (g *rig) note(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	g.r.Notes = append(g.r.Notes, msg)
	if g.s.Out != nil {
		fmt.Fprintf(g.s.Out, "  %s: %s\n", g.name, msg)
	}
}

// backendsUp starts the sink on the rig's addresses.
func (g *rig) backendsUp() error {
	var err error
	for attempt := 0; attempt < 50; attempt++ {
		obs := g.observer
		if obs == nil {
			obs = NewRecorder(g.ledger)
		}
		if g.sink, err = loadgen.StartObservedSink(g.grpc, g.http, obs); err == nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("start the backends: %w", err)
}

// backendsDown stops the sink: connections are refused until backendsUp.
func (g *rig) backendsDown() {
	if g.sink == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = g.sink.Close(ctx)
	g.sink = nil
}

// overlay writes a configuration that adjusts the shipped one for a
// machine without a cluster: the pod cache is left out, and whatever
// refers to it resolves pods from attributes and log paths only.
func (g *rig) overlay(shipped string, extra map[string]any) (string, error) {
	raw, err := os.ReadFile(shipped)
	if err != nil {
		return "", err
	}
	var cfg struct {
		Extensions map[string]any `yaml:"extensions"`
		Service    struct {
			Extensions []string `yaml:"extensions"`
		} `yaml:"service"`
	}
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		return "", fmt.Errorf("%s: %w", shipped, err)
	}
	exts := slices.DeleteFunc(slices.Clone(cfg.Service.Extensions), func(e string) bool { return e == "k8s_pods" })
	over := map[string]any{
		"service":    map[string]any{"extensions": exts},
		"processors": map[string]any{"correlation": map[string]any{"pod_resolver": ""}},
	}
	if _, ok := cfg.Extensions["drill"]; ok {
		over["extensions"] = map[string]any{"drill": map[string]any{"pod_resolver": ""}}
	}
	for k, v := range extra {
		over[k] = v
	}
	out, err := yaml.Marshal(over)
	if err != nil {
		return "", err
	}
	// One file per process (g.suffix): a braid process reloads when its
	// file changes.
	path := filepath.Join(g.dir, "overlay"+g.suffix+"-"+filepath.Base(shipped))
	return path, os.WriteFile(path, out, 0o644)
}

// ports gives braid a free loopback address for each listener variable.
func ports(names ...string) (env []string, addrs map[string]string, err error) {
	addrs = map[string]string{}
	for _, n := range names {
		a, err := FreeAddr()
		if err != nil {
			return nil, nil, err
		}
		addrs[n] = a
		env = append(env, n+"="+a)
	}
	return env, addrs, nil
}

func (g *rig) newBraid(shipped, overlay, storage string, env []string, addrs map[string]string) {
	_, telemetryPort, _ := net.SplitHostPort(addrs["BRAID_TELEMETRY"])
	env = slices.DeleteFunc(env, func(e string) bool { return strings.HasPrefix(e, "BRAID_TELEMETRY=") })
	env = append(env,
		"BRAID_TELEMETRY_HOST=127.0.0.1",
		"BRAID_TELEMETRY_PORT="+telemetryPort,
		"BRAID_STORAGE_DIR="+storage,
	)
	g.braid = &Braid{
		Binary:  g.s.Braid,
		Configs: []string{shipped, overlay},
		Env:     env,
		LogPath: filepath.Join(g.dir, "braid"+g.suffix+".log"),
		Health:  addrs["BRAID_HEALTH_ENDPOINT"],
	}
	if telemetryPort != "" {
		g.braid.Telemetry = net.JoinHostPort("127.0.0.1", telemetryPort)
	}
	g.otlp = addrs["BRAID_OTLP_GRPC_ENDPOINT"]
}

// gateway sets up the shipped gateway with its backends at the sink.
func (g *rig) gateway(storage string) error {
	overlay, err := g.overlay(g.s.GatewayConfig, nil)
	if err != nil {
		return err
	}
	env, addrs, err := ports("BRAID_OTLP_GRPC_ENDPOINT", "BRAID_OTLP_HTTP_ENDPOINT", "BRAID_LOKI_RECEIVER_ENDPOINT",
		"BRAID_PROMETHEUS_ENDPOINT", "BRAID_HEALTH_ENDPOINT", "BRAID_DRILL_ENDPOINT", "BRAID_TELEMETRY")
	if err != nil {
		return err
	}
	env = append(env,
		"BRAID_JAEGER_OTLP_ENDPOINT="+g.grpc,
		"BRAID_PROMETHEUS_REMOTE_WRITE_URL=http://"+g.http+"/api/v1/write",
		"BRAID_LOKI_ENDPOINT=http://"+g.http+"/loki/api/v1/push",
		"BRAID_SPAN_METRICS_FLUSH_INTERVAL=1s",
	)
	g.newBraid(g.s.GatewayConfig, overlay, storage, env, addrs)
	return nil
}

// agent sets up the shipped node agent with its gateway at the sink and its
// log files under the rig's directory; extra is merged into its
// configuration.
func (g *rig) agent(storage string, extra map[string]any) (logRoot string, err error) {
	overlay, err := g.overlay(g.s.AgentConfig, extra)
	if err != nil {
		return "", err
	}
	env, addrs, err := ports("BRAID_OTLP_GRPC_ENDPOINT", "BRAID_OTLP_HTTP_ENDPOINT", "BRAID_HEALTH_ENDPOINT", "BRAID_TELEMETRY")
	if err != nil {
		return "", err
	}
	logRoot = filepath.Join(g.dir, "pods")
	env = append(env,
		// The agent resolves its gateways by DNS: an IP resolves to itself.
		"BRAID_GATEWAY_DNS="+host(g.grpc),
		"BRAID_GATEWAY_PORT="+port(g.grpc),
		"BRAID_LOG_INCLUDE="+logRoot+"/*/*/*.log",
		"K8S_NODE_NAME=faults-node",
	)
	g.newBraid(g.s.AgentConfig, overlay, storage, env, addrs)
	return logRoot, nil
}

// load runs senders (and a file writer) until ctx ends.
type load struct {
	wg      sync.WaitGroup
	cancel  context.CancelFunc
	senders []*Sender
	errs    chan error
}

func (g *rig) startLoad(ctx context.Context, streams []Stream, file string) *load {
	ctx, cancel := context.WithCancel(ctx)
	l := &load{cancel: cancel, errs: make(chan error, len(streams)+1)}
	for _, st := range streams {
		snd := &Sender{Ledger: g.ledger, Endpoint: g.otlp, Stream: st, Rate: g.s.Rate, Batch: g.s.Batch,
			Timeout: 5 * time.Second, Concurrency: cmp.Or(g.concurrency, 4), Burst: g.burst}
		l.senders = append(l.senders, snd)
		l.wg.Add(1)
		go func() { defer l.wg.Done(); l.errs <- snd.Run(ctx) }()
	}
	if file != "" {
		w := &FileWriter{Ledger: g.ledger, Path: file, Rate: g.s.Rate, Batch: g.s.Batch}
		l.wg.Add(1)
		go func() { defer l.wg.Done(); l.errs <- w.Run(ctx) }()
	}
	return l
}

func (l *load) failures() int64 {
	var n int64
	for _, s := range l.senders {
		n += s.Failures()
	}
	return n
}

// failureCodes counts the failed requests of every sender by status code.
func (l *load) failureCodes() map[codes.Code]int64 {
	out := map[codes.Code]int64{}
	for _, s := range l.senders {
		for c, n := range s.FailureCodes() {
			out[c] += n
		}
	}
	return out
}

func (l *load) stop() error {
	l.cancel()
	l.wg.Wait()
	close(l.errs)
	var errs []error
	for err := range l.errs {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// drain waits until every acknowledged item arrived, or the drain time is up.
func (g *rig) drain(ctx context.Context, beforeCutAllowed bool) {
	deadline := time.Now().Add(g.s.Drain)
	for g.ledger.Missing(beforeCutAllowed) > 0 && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(200 * time.Millisecond)
	}
}

// finish stops braid and the sink and tallies the ledger; any acknowledged
// item missing (after the cut, when beforeCutAllowed) fails the scenario.
func (g *rig) finish(beforeCutAllowed bool) error {
	alive, logs := true, g.dir
	if g.braid != nil {
		alive, logs = g.braid.Running(), g.braid.LogPath
		g.braid.Stop()
	}
	g.backendsDown()
	rep := g.ledger.Report()
	keys := make([]Stream, 0, len(rep))
	for s := range rep {
		keys = append(keys, s)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	var fails []string
	for _, s := range keys {
		t := rep[s]
		g.r.Tallies = append(g.r.Tallies, t)
		lost := t.Lost
		if beforeCutAllowed {
			lost -= t.LostBeforeCut
		}
		if lost > 0 {
			fails = append(fails, fmt.Sprintf("%d acknowledged %s lost (first missing IDs %v)", lost, s, t.MissingIDs))
		}
		if t.Acknowledged == 0 {
			fails = append(fails, fmt.Sprintf("no %s acknowledged at all", s))
		}
		if t.Unknown > 0 {
			fails = append(fails, fmt.Sprintf("%d %s arrived with IDs never sent", t.Unknown, s))
		}
	}
	if !alive {
		fails = append(fails, "braid was not running at the end")
	}
	if len(fails) > 0 {
		return fmt.Errorf("%s (braid logs: %s)", strings.Join(fails, "; "), logs)
	}
	return nil
}

// track adds a braid process to those stopAll stops.
func (g *rig) track(b *Braid) { g.procs = append(g.procs, b) }

// stopAll stops every tracked process, returning an error for each one that
// had exited on its own.
func (g *rig) stopAll() []error {
	var errs []error
	for _, b := range g.procs {
		if !b.Running() {
			errs = append(errs, fmt.Errorf("%s was not running at the end", b.LogPath))
		}
		b.Stop()
	}
	g.procs = nil
	return errs
}

// killInstants picks n distinct instants in the middle of d, in order.
func killInstants(rng *rand.Rand, d time.Duration, n int) []time.Duration {
	out := make([]time.Duration, n)
	if n <= 0 {
		return out
	}
	for i := range out {
		// One kill in each of n equal slices of the middle 80%.
		slice := d * 8 / 10 / time.Duration(n)
		out[i] = d/10 + slice*time.Duration(i) + time.Duration(rng.Int64N(int64(slice)))
	}
	return out
}

// killsUnderLoad kills braid at random instants while load runs, restarting
// it on the same storage each time.
func (g *rig) killsUnderLoad(ctx context.Context, streams []Stream, file string) error {
	l := g.startLoad(ctx, streams, file)
	err := g.kills(ctx, l)
	if serr := l.stop(); err == nil {
		err = serr
	}
	return err
}

// kills kills and restarts braid at random instants over the load time,
// then waits for the load time to end.
func (g *rig) kills(ctx context.Context, l *load) error {
	rng := newRand(g.s.Seed ^ uint64(len(g.name)))
	start := time.Now()
	for _, at := range killInstants(rng, g.s.Load, g.s.Kills) {
		time.Sleep(time.Until(start.Add(at)))
		g.braid.Kill()
		g.note("kill -9 at %.1fs", time.Since(start).Seconds())
		time.Sleep(500 * time.Millisecond)
		if err := g.braid.Start(ctx); err != nil {
			return fmt.Errorf("restart after kill: %w", err)
		}
	}
	time.Sleep(time.Until(start.Add(g.s.Load)))
	return nil
}

// upGateway sets up a scenario's rig with its backends up and the shipped
// gateway started on it; tweak, when given, adjusts the process before it
// starts.
func upGateway(ctx context.Context, s Settings, r *Result, tweak func(*rig) error) (*rig, error) {
	g, err := newRig(s, r)
	if err != nil {
		return nil, err
	}
	if err := g.backendsUp(); err != nil {
		return nil, err
	}
	if err := g.gateway(filepath.Join(g.dir, "storage")); err != nil {
		return nil, err
	}
	if tweak != nil {
		if err := tweak(g); err != nil {
			return nil, err
		}
	}
	return g, g.braid.Start(ctx)
}

func gatewayKill(ctx context.Context, s Settings, r *Result) error {
	g, err := upGateway(ctx, s, r, nil)
	if err != nil {
		return err
	}
	if err := g.killsUnderLoad(ctx, []Stream{Spans, LogRecords, Points}, ""); err != nil {
		return err
	}
	g.drain(ctx, false)
	return g.finish(false)
}

// gatewayKillAdmission is gatewayKill with the admission limit so low that
// the admission processor refuses a good share of the requests while the
// kills happen: refused items must not count as acknowledged, and the rest
// must all arrive.
func gatewayKillAdmission(ctx context.Context, s Settings, r *Result) error {
	g, err := upGateway(ctx, s, r, func(g *rig) error {
		// Eight requests at once against room for one: most of each burst
		// is refused.
		g.braid.Env = append(g.braid.Env, "BRAID_MAX_IN_FLIGHT_ITEMS="+strconv.Itoa(s.Batch))
		g.concurrency, g.burst = 8, true
		return nil
	})
	if err != nil {
		return err
	}
	l := g.startLoad(ctx, []Stream{Spans, LogRecords, Points}, "")
	err = g.kills(ctx, l)
	refused := l.failureCodes()
	if serr := l.stop(); err == nil {
		err = serr
	}
	if err != nil {
		return err
	}
	g.note("requests refused: %v", refused)
	g.drain(ctx, false)
	err = g.finish(false)
	if refused[codes.ResourceExhausted] == 0 {
		err = errors.Join(err, errors.New("the admission processor refused nothing: lower its limit"))
	}
	return err
}

func agentKill(ctx context.Context, s Settings, r *Result) error {
	g, err := newRig(s, r)
	if err != nil {
		return err
	}
	if err := g.backendsUp(); err != nil {
		return err
	}
	logRoot, err := g.agent(filepath.Join(g.dir, "storage"), nil)
	if err != nil {
		return err
	}
	if err := g.braid.Start(ctx); err != nil {
		return err
	}
	// The file appears after the agent started, as a new pod's would: the
	// agent reads it from its start (start_at: end applies to files found
	// at startup only).
	file := filepath.Join(logRoot, "faults_probe-0_0f4a17e2-0000-4000-8000-000000000001", "app", "0.log")
	if err := g.killsUnderLoad(ctx, []Stream{Spans, LogRecords}, file); err != nil {
		return err
	}
	g.drain(ctx, false)
	return g.finish(false)
}

// agentKillInfer is agentKill with inferred log links on: untraced records
// wait in the correlation processor's delay buffer, inside their request,
// when the agent is killed. Container log files are left out: a file is read
// one request at a time, each held for the delay.
func agentKillInfer(ctx context.Context, s Settings, r *Result) error {
	g, err := newRig(s, r)
	if err != nil {
		return err
	}
	if err := g.backendsUp(); err != nil {
		return err
	}
	_, err = g.agent(filepath.Join(g.dir, "storage"), map[string]any{
		"processors": map[string]any{"correlation": map[string]any{
			"pod_resolver":    "",
			"infer_log_links": map[string]any{"enabled": true},
		}},
	})
	if err != nil {
		return err
	}
	if err := g.braid.Start(ctx); err != nil {
		return err
	}
	// The delay (2s) holds each request: more in flight keep the rate.
	g.concurrency = 16
	if err := g.killsUnderLoad(ctx, []Stream{Spans, LogRecords}, ""); err != nil {
		return err
	}
	g.drain(ctx, false)
	return g.finish(false)
}

// gatewayAffinity runs three gateways behind two agents whose loadbalancing
// exporter lists them, and sends every trace through both agents: each
// trace's spans and log records must reach one gateway. Then one gateway is
// killed under load: only its traces move, and once it is back (to drain
// its queue) nothing acknowledged is lost.
func gatewayAffinity(ctx context.Context, s Settings, r *Result) error {
	g, err := newRig(s, r)
	if err != nil {
		return err
	}
	aff := NewAffinity(g.ledger)
	g.observer = aff
	if err := g.backendsUp(); err != nil {
		return err
	}
	defer g.stopAll()
	var gateways []*Braid
	var gatewayAddrs, drillAddrs []any
	for i := range 3 {
		g.suffix = fmt.Sprintf("-gateway%d", i+1)
		if err := g.gateway(filepath.Join(g.dir, "storage"+g.suffix)); err != nil {
			return err
		}
		drill, err := FreeAddr()
		if err != nil {
			return err
		}
		g.braid.Env = append(g.braid.Env, fmt.Sprintf("BRAID_CLUSTER_NAME=gateway%d", i+1), "BRAID_DRILL_ENDPOINT="+drill)
		gateways = append(gateways, g.braid)
		gatewayAddrs = append(gatewayAddrs, g.otlp)
		drillAddrs = append(drillAddrs, drill)
	}
	// Each gateway's drill-down API answers for all three (peers).
	for i := range gateways {
		g.suffix = fmt.Sprintf("-gateway%d", i+1)
		if _, err := g.overlay(g.s.GatewayConfig, map[string]any{
			"extensions": map[string]any{"drill": map[string]any{
				"pod_resolver": "",
				"peers":        map[string]any{"dns": nil, "static": drillAddrs},
			}},
		}); err != nil {
			return err
		}
	}
	for _, gw := range gateways {
		if err := gw.Start(ctx); err != nil {
			return err
		}
		g.track(gw)
	}
	var agents [2]string
	var agentProcs []*Braid
	for i := range agents {
		g.suffix = fmt.Sprintf("-agent%d", i+1)
		_, err := g.agent(filepath.Join(g.dir, "storage"+g.suffix), map[string]any{
			"exporters": map[string]any{"loadbalancing/gateway": map[string]any{
				"resolver": map[string]any{"dns": nil, "static": map[string]any{"hostnames": gatewayAddrs}},
			}},
		})
		if err != nil {
			return err
		}
		if g.braid.Admin, err = FreeAddr(); err != nil {
			return err
		}
		g.braid.Env = append(g.braid.Env, "BRAID_ADMIN_ENDPOINT="+g.braid.Admin)
		if err := g.braid.Start(ctx); err != nil {
			return err
		}
		g.track(g.braid)
		agentProcs = append(agentProcs, g.braid)
		agents[i] = g.otlp
	}
	run := func(ctx context.Context, d time.Duration, again bool) (map[pcommon.TraceID]bool, error) {
		ctx, cancel := context.WithTimeout(ctx, d)
		defer cancel()
		var wg sync.WaitGroup
		errs := make([]error, 2)
		senders := make([]*PairSender, 2)
		for i, st := range []Stream{Spans, LogRecords} {
			p := &PairSender{Ledger: g.ledger, Endpoints: agents, Stream: st, Rate: s.Rate, Batch: s.Batch, Timeout: 5 * time.Second}
			if again {
				// The same traces as the first run.
				p.TraceBase = g.ledger.handedOut(st)
			}
			senders[i] = p
			wg.Add(1)
			go func() { defer wg.Done(); errs[i] = p.Run(ctx) }()
		}
		wg.Wait()
		sent := senders[0].Traces()
		for id := range senders[1].Traces() {
			sent[id] = true
		}
		return sent, errors.Join(errs...)
	}
	if _, err := run(ctx, s.Load, false); err != nil {
		return err
	}
	g.drain(ctx, false)
	traces, split, per := aff.Split()
	g.note("three gateways: %d traces, %d split across gateways, per gateway %v", traces, split, per)
	var fails []error
	if split > 0 {
		fails = append(fails, fmt.Errorf("%d of %d traces reached more than one gateway", split, traces))
	}
	if len(per) != 3 {
		fails = append(fails, fmt.Errorf("traces reached %d gateways, not 3", len(per)))
	}
	before := aff.Gateways()
	// Ask the first gateway's drill-down API for traces of every gateway:
	// it answers for all three, with every span and log record the
	// backends received.
	asked, wrong := 0, []string{}
	for id := range before {
		if asked == 30 {
			break
		}
		asked++
		spans, logs := aff.Counts(id)
		got, err := drillTrace(drillAddrs[0].(string), id)
		switch {
		case err != nil:
			wrong = append(wrong, fmt.Sprintf("%s: %v", id, err))
		case got.Partial || got.SpanCount != spans || got.LogCount != logs:
			wrong = append(wrong, fmt.Sprintf("%s on %v: drill says %d spans, %d logs, partial %v; the backends got %d, %d",
				id, before[id], got.SpanCount, got.LogCount, got.Partial, spans, logs))
		}
	}
	g.note("gateway1's drill-down API asked for %d traces of all three gateways: %d answers differ from what the backends received", asked, len(wrong))
	if len(wrong) > 0 {
		fails = append(fails, fmt.Errorf("drill-down across gateways: %s", strings.Join(wrong[:min(3, len(wrong))], "; ")))
	}

	gateways[2].Kill()
	g.note("gateway3 killed with SIGKILL; the same traces sent again")
	if _, err := run(ctx, s.Load/2, true); err != nil {
		return err
	}
	// Back on its storage, so that what it acknowledged before the kill
	// drains.
	if err := gateways[2].Start(ctx); err != nil {
		return err
	}
	g.drain(ctx, false)
	moved, movedOfKilled := 0, 0
	for id, gws := range aff.Gateways() {
		was, ok := before[id]
		if !ok || len(gws) == len(was) {
			continue
		}
		if was[0] == "gateway3" {
			movedOfKilled++
		} else {
			moved++
		}
	}
	g.note("after the kill: %d traces of gateway3 moved to the others, %d traces of the gateways still up moved", movedOfKilled, moved)
	if moved > 0 {
		fails = append(fails, fmt.Errorf("%d traces of gateways that stayed up moved", moved))
	}

	// A fourth gateway joins: the agents' configuration lists it and is
	// reloaded (POST /-/reload), and the same traces are sent again.
	g.suffix = "-gateway4"
	if err := g.gateway(filepath.Join(g.dir, "storage"+g.suffix)); err != nil {
		return err
	}
	g.braid.Env = append(g.braid.Env, "BRAID_CLUSTER_NAME=gateway4")
	if err := g.braid.Start(ctx); err != nil {
		return err
	}
	g.track(g.braid)
	withFourth := append(gatewayAddrs, g.otlp)
	for i := range agentProcs {
		g.suffix = fmt.Sprintf("-agent%d", i+1)
		if _, err := g.overlay(g.s.AgentConfig, map[string]any{
			"exporters": map[string]any{"loadbalancing/gateway": map[string]any{
				"resolver": map[string]any{"dns": nil, "static": map[string]any{"hostnames": withFourth}},
			}},
		}); err != nil {
			return err
		}
	}
	for _, a := range agentProcs {
		if err := a.Reload(); err != nil {
			return fmt.Errorf("agent %s: %w", a.LogPath, err)
		}
	}
	before = aff.Gateways()
	resent, err := run(ctx, s.Load/2, true)
	if err != nil {
		return err
	}
	g.drain(ctx, false)
	after := aff.Gateways()
	movedTo4, movedElsewhere, resentSeen := 0, 0, 0
	for id := range resent {
		was, ok := before[id]
		if !ok {
			continue
		}
		resentSeen++
		now := after[id]
		if len(now) == len(was) {
			continue
		}
		if slices.Contains(now, "gateway4") {
			movedTo4++
		} else {
			movedElsewhere++
		}
	}
	share := 0.0
	if resentSeen > 0 {
		share = float64(movedTo4) / float64(resentSeen)
	}
	perNow := map[string]int{}
	for id := range resent {
		for _, gw := range after[id] {
			if !slices.Contains(before[id], gw) {
				perNow[gw]++
			}
		}
	}
	g.note("new gateways of the traces sent again: %v", perNow)
	g.note("a fourth gateway joined (agents reloaded): of %d traces sent again, %d (%.0f%%) moved to it and are split across two gateways; %d moved elsewhere", resentSeen, movedTo4, share*100, movedElsewhere)
	if movedElsewhere > 0 {
		fails = append(fails, fmt.Errorf("%d traces moved to a gateway other than the new one", movedElsewhere))
	}
	if share < 0.1 || share > 0.4 {
		fails = append(fails, fmt.Errorf("%.0f%% of the traces moved to the fourth gateway, far from a quarter", share*100))
	}
	fails = append(fails, g.stopAll()...)
	g.braid = nil
	return errors.Join(append(fails, g.finish(false))...)
}

// gatewayReload changes the gateway's configuration under load and has it
// reloaded (POST /-/reload) every second of the load, each change one that
// rebuilds every component (the admission limit), with a bad configuration
// in between that must be refused: nothing acknowledged is lost, and the
// notes say what the reloads cost the senders.
func gatewayReload(ctx context.Context, s Settings, r *Result) error {
	g, err := upGateway(ctx, s, r, func(g *rig) error {
		var err error
		if g.braid.Admin, err = FreeAddr(); err != nil {
			return err
		}
		g.braid.Env = append(g.braid.Env, "BRAID_ADMIN_ENDPOINT="+g.braid.Admin)
		return nil
	})
	if err != nil {
		return err
	}
	withAdmission := func(limit any) map[string]any {
		return map[string]any{"processors": map[string]any{
			"correlation": map[string]any{"pod_resolver": ""},
			"admission":   map[string]any{"max_in_flight_items": limit},
		}}
	}
	l := g.startLoad(ctx, []Stream{Spans, LogRecords, Points}, "")
	start := time.Now()
	var fails []error
	reloads, refusedBad := 0, 0
	var slowestReload time.Duration
	for i := 0; time.Since(start) < s.Load; i++ {
		time.Sleep(time.Second)
		limit := any(40000 + i%2*1000)
		bad := i%5 == 2
		if bad {
			limit = "lots" // not a number: the check refuses it
		}
		if _, err := g.overlay(g.s.GatewayConfig, withAdmission(limit)); err != nil {
			l.stop()
			return err
		}
		began := time.Now()
		err := g.braid.Reload()
		took := time.Since(began)
		switch {
		case bad && err == nil:
			fails = append(fails, errors.New("a configuration with max_in_flight_items: lots was applied"))
		case bad:
			refusedBad++
		case err != nil:
			fails = append(fails, fmt.Errorf("reload %d: %w", i, err))
		default:
			reloads++
			slowestReload = max(slowestReload, took)
		}
	}
	if err := l.stop(); err != nil {
		return err
	}
	var slowest time.Duration
	for _, snd := range l.senders {
		slowest = max(slowest, snd.Slowest())
	}
	g.note("%d reloads that rebuilt every component (slowest answered in %s), %d bad configurations refused; senders: %d requests refused (%v), slowest request %s",
		reloads, slowestReload.Round(time.Millisecond), refusedBad, l.failures(), l.failureCodes(), slowest.Round(time.Millisecond))
	if reloads == 0 {
		fails = append(fails, errors.New("no reload was applied"))
	}
	g.drain(ctx, false)
	return errors.Join(append(fails, g.finish(false))...)
}

// kafkaTier runs the Kafka tier: a Kafka-protocol broker process, an agent
// writing to it (kafka-agent.yaml) and two gateways reading it as one
// consumer group (kafka-gateway.yaml). One gateway is killed under load:
// its partitions move to the other, and what it had not taken is read
// again; nothing the agent acknowledged is lost.
func kafkaTier(ctx context.Context, s Settings, r *Result) error {
	g, err := newRig(s, r)
	if err != nil {
		return err
	}
	brokerAddr, err := FreeAddr()
	if err != nil {
		return err
	}
	broker := exec.Command(s.Broker, "kafka", "--ports", port(brokerAddr), "--partitions", "6")
	brokerLog, err := os.Create(filepath.Join(g.dir, "kafka.log"))
	if err != nil {
		return err
	}
	defer brokerLog.Close()
	broker.Stdout, broker.Stderr = brokerLog, brokerLog
	broker.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := broker.Start(); err != nil {
		return fmt.Errorf("start the broker: %w", err)
	}
	defer func() { _ = broker.Process.Kill(); _ = broker.Wait() }()
	for deadline := time.Now().Add(10 * time.Second); ; {
		if c, err := net.Dial("tcp", brokerAddr); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			return errors.New("the broker did not listen within 10s: " + Tail(brokerLog.Name(), 2000))
		}
		time.Sleep(50 * time.Millisecond)
	}
	g.note("Kafka-protocol broker on %s (kfake, 6 partitions a topic)", brokerAddr)
	brokers := "BRAID_KAFKA_BROKERS=[" + brokerAddr + "]"
	aff := NewAffinity(g.ledger)
	g.observer = aff
	if err := g.backendsUp(); err != nil {
		return err
	}
	defer g.stopAll()
	var gateways []*Braid
	for i := range 2 {
		g.suffix = fmt.Sprintf("-gateway%d", i+1)
		if err := g.gateway(filepath.Join(g.dir, "storage"+g.suffix)); err != nil {
			return err
		}
		g.braid.Configs = append(g.braid.Configs, s.KafkaGatewayConfig)
		g.braid.Env = append(g.braid.Env, brokers, fmt.Sprintf("BRAID_CLUSTER_NAME=gateway%d", i+1),
			fmt.Sprintf("BRAID_KAFKA_INSTANCE_ID=gateway%d", i+1))
		if err := g.braid.Start(ctx); err != nil {
			return err
		}
		gateways = append(gateways, g.braid)
		g.track(g.braid)
	}
	g.suffix = "-agent"
	if _, err := g.agent(filepath.Join(g.dir, "storage"+g.suffix), nil); err != nil {
		return err
	}
	// The harness tells gateways apart by the k8s.cluster.name each sets
	// (Affinity); the shipped Kafka agent sets its own cluster's, which a
	// gateway keeps. Here the agent's resource/cluster removes it instead.
	noCluster := filepath.Join(g.dir, "kafka-agent-no-cluster.yaml")
	if err := os.WriteFile(noCluster, []byte("processors:\n  resource/cluster:\n    attributes:\n      - {key: k8s.cluster.name, action: delete}\n"), 0o644); err != nil {
		return err
	}
	g.braid.Configs = append(g.braid.Configs, s.KafkaAgentConfig, noCluster)
	g.braid.Env = append(g.braid.Env, brokers)
	if err := g.braid.Start(ctx); err != nil {
		return err
	}
	// The second gateway's joining the group rebalances the partitions;
	// let it settle before the load.
	time.Sleep(3 * time.Second)
	g.track(g.braid)
	l := g.startLoad(ctx, []Stream{Spans, LogRecords, Points}, "")
	time.Sleep(s.Load / 2)
	traces, split, per := aff.Split()
	g.note("before the kill: %d traces, %d split across gateways, per gateway %v", traces, split, per)
	var fails []error
	if len(per) != 2 {
		fails = append(fails, fmt.Errorf("traces came through %d gateways, not 2: the group did not share the partitions", len(per)))
	}
	// A rebalance moves partitions with their traces in flight: a few may
	// split then, not more.
	if split*100 > traces {
		fails = append(fails, fmt.Errorf("%d of %d traces came through both gateways before any kill", split, traces))
	}
	// Each gateway reports its consumer lag per partition it reads, which
	// the Braid dashboard's Kafka consumer lag panel shows.
	for i, gw := range gateways {
		lag, partitions, err := KafkaLag(gw.Telemetry)
		if err != nil {
			fails = append(fails, fmt.Errorf("gateway%d: %w", i+1, err))
			continue
		}
		g.note("gateway%d under load: consumer lag %.0f records over %d partitions (%s)", i+1, lag, partitions, MetricKafkaOffsetLag)
	}
	gateways[1].Kill()
	g.note("gateway2 killed with SIGKILL under load; gateway1 takes its partitions")
	time.Sleep(s.Load / 2)
	if err := l.stop(); err != nil {
		return err
	}
	// Back on its storage: what it took before the kill is in its queues.
	if err := gateways[1].Start(ctx); err != nil {
		return err
	}
	g.drain(ctx, false)
	for i, gw := range gateways {
		if lag, partitions, err := KafkaLag(gw.Telemetry); err == nil {
			g.note("gateway%d after the drain: consumer lag %.0f records over %d partitions", i+1, lag, partitions)
		}
	}
	fails = append(fails, g.stopAll()...)
	g.braid = nil
	return errors.Join(append(fails, g.finish(false))...)
}

func backendOutage(ctx context.Context, s Settings, r *Result) error {
	g, err := upGateway(ctx, s, r, nil)
	if err != nil {
		return err
	}
	l := g.startLoad(ctx, []Stream{Spans, LogRecords, Points}, "")
	time.Sleep(3 * time.Second)
	g.backendsDown()
	g.note("backends down for %s", s.Outage)
	time.Sleep(s.Outage)
	if err := g.backendsUp(); err != nil {
		l.stop()
		return err
	}
	g.note("backends back; %d requests refused during the run", l.failures())
	time.Sleep(5 * time.Second)
	if err := l.stop(); err != nil {
		return err
	}
	g.drain(ctx, false)
	return g.finish(false)
}

// diskFull puts the gateway's storage on a small tmpfs with the backends
// down, so the queues fill it; then the backends come back.
func diskFull(ctx context.Context, s Settings, r *Result) error {
	g, err := newRig(s, r)
	if err != nil {
		return err
	}
	storage := filepath.Join(g.dir, "storage")
	if err := os.MkdirAll(storage, 0o755); err != nil {
		return err
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%dm", s.DiskMiB), "braid-faults", storage).CombinedOutput(); err != nil {
		return fmt.Errorf("mount a %d MiB tmpfs at %s (needs root): %v: %s", s.DiskMiB, storage, err, out)
	}
	defer func() {
		if out, err := exec.Command("umount", storage).CombinedOutput(); err != nil {
			g.note("umount %s: %v: %s", storage, err, out)
		}
	}()
	if err := g.gateway(storage); err != nil {
		return err
	}
	if err := g.braid.Start(ctx); err != nil {
		return err
	}
	// Four times the rate, to fill the disk in seconds.
	g.s.Rate *= 4
	l := g.startLoad(ctx, []Stream{Spans, LogRecords, Points}, "")
	// Backends down until the disk is full and requests are refused.
	full := false
	deadline := time.Now().Add(s.Load * 3)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(time.Second)
		if l.failures() > 10 && diskUse(storage) > 0.9 {
			full = true
			break
		}
	}
	g.note("disk %.0f%% used, %d requests refused (%v), braid running: %v", diskUse(storage)*100, l.failures(), l.failureCodes(), g.braid.Running())
	// A full disk must be a refusal the sender retries, not a permanent one.
	var notRetryable []string
	for c, n := range l.failureCodes() {
		if c != codes.Unavailable && c != codes.ResourceExhausted && c != codes.DeadlineExceeded {
			notRetryable = append(notRetryable, fmt.Sprintf("%d %s", n, c))
		}
	}
	if err := g.backendsUp(); err != nil {
		l.stop()
		return err
	}
	refusedWhileFull, ackedWhileFull := l.failures(), g.ledger.acknowledged()
	time.Sleep(s.Load)
	if err := l.stop(); err != nil {
		return err
	}
	recovered := g.ledger.acknowledged() - ackedWhileFull
	g.note("backends back: %d more items acknowledged, %d more requests refused", recovered, l.failures()-refusedWhileFull)
	g.drain(ctx, false)
	err = g.finish(false)
	if !full {
		err = errors.Join(err, errors.New("the disk never filled: raise the rate or lower the tmpfs size"))
	}
	if len(notRetryable) > 0 {
		err = errors.Join(err, fmt.Errorf("requests refused with a code senders do not retry while the disk was full: %s", strings.Join(notRetryable, ", ")))
	}
	if recovered == 0 {
		err = errors.Join(err, errors.New("nothing was acknowledged after the backends came back: braid did not recover"))
	}
	return err
}

// diskUse is the share of the file system at path in use.
func diskUse(path string) float64 {
	out, err := exec.Command("df", "--output=pcent", path).Output()
	if err != nil {
		return 0
	}
	var pct float64
	fields := strings.Fields(string(out))
	if len(fields) > 0 {
		fmt.Sscanf(strings.TrimSuffix(fields[len(fields)-1], "%"), "%g", &pct)
	}
	return pct / 100
}

// corruptQueue kills the gateway while its queues hold data, damages every
// file in its storage, and starts it again: it must start, move the damage
// aside, and deliver everything acknowledged after the restart.
func corruptQueue(ctx context.Context, s Settings, r *Result) error {
	g, err := newRig(s, r)
	if err != nil {
		return err
	}
	storage := filepath.Join(g.dir, "storage")
	if err := g.gateway(storage); err != nil {
		return err
	}
	if err := g.braid.Start(ctx); err != nil {
		return err
	}
	l := g.startLoad(ctx, []Stream{Spans, LogRecords, Points}, "")
	time.Sleep(s.Load / 2)
	g.braid.Kill()
	if err := l.stop(); err != nil {
		return err
	}
	damaged, err := damage(storage)
	if err != nil {
		return err
	}
	g.note("damaged %s", strings.Join(damaged, ", "))
	g.ledger.MarkCut()
	if err := g.backendsUp(); err != nil {
		return err
	}
	if err := g.braid.Start(ctx); err != nil {
		return fmt.Errorf("start on the damaged storage: %w", err)
	}
	l = g.startLoad(ctx, []Stream{Spans, LogRecords, Points}, "")
	time.Sleep(s.Load / 2)
	if err := l.stop(); err != nil {
		return err
	}
	g.drain(ctx, true)
	return g.finish(true)
}

// damage truncates every file under dir to two thirds of its size and
// overwrites a stretch in its middle, as a torn write or a bad disk would.
func damage(dir string) ([]string, error) {
	var done []string
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil || info.Size() < 64 {
			return err
		}
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			return err
		}
		defer f.Close()
		size := info.Size() * 2 / 3
		if err := f.Truncate(size); err != nil {
			return err
		}
		junk := make([]byte, min(4096, size/4))
		for i := range junk {
			junk[i] = 0xA5
		}
		if _, err := f.WriteAt(junk, size/2); err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		done = append(done, fmt.Sprintf("%s (%d → %d bytes)", rel, info.Size(), size))
		return nil
	})
	return done, err
}

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x6272616964)) }

func host(addr string) string { h, _, _ := net.SplitHostPort(addr); return h }
func port(addr string) string { _, p, _ := net.SplitHostPort(addr); return p }

// drillAnswer is the part of the drill-down API's trace answer the harness
// checks.
type drillAnswer struct {
	SpanCount int  `json:"span_count"`
	LogCount  int  `json:"log_count"`
	Partial   bool `json:"partial"`
}

func drillTrace(addr string, id pcommon.TraceID) (drillAnswer, error) {
	var a drillAnswer
	c := http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get("http://" + addr + "/api/v1/traces/" + id.String())
	if err != nil {
		return a, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		return a, fmt.Errorf("%s: %s", resp.Status, body)
	}
	return a, json.NewDecoder(resp.Body).Decode(&a)
}
