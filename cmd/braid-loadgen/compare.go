package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/braidobs/braid/internal/loadgen"
	"github.com/braidobs/braid/internal/testnet"
)

// pipelineFlag collects repeated --pipeline
// name=config.yaml[+overlay.yaml...][:signal,...] flags.
type pipelineFlag []pipeline

// pipeline is a Braid configuration to load, one or more files merged in
// order; signals, when set, narrows --signals for it (a logs-only pipeline
// is not loaded with traces).
type pipeline struct {
	name    string
	configs []string
	signals []loadgen.Signal
}

// args are Braid's --config flags for the pipeline.
func (p pipeline) args() []string {
	var a []string
	for _, c := range p.configs {
		a = append(a, "--config", c)
	}
	return a
}

// namedPaths collects repeated name=path flags (--kafka-front, --binary).
type namedPaths map[string]string

func (f namedPaths) String() string { return fmt.Sprint(map[string]string(f)) }

func (f namedPaths) Set(v string) error {
	name, cfg, ok := strings.Cut(v, "=")
	if !ok || name == "" || cfg == "" {
		return fmt.Errorf("want name=path, got %q", v)
	}
	f[name] = cfg
	return nil
}

func (p *pipelineFlag) String() string { return fmt.Sprint(*p) }

func (p *pipelineFlag) Set(v string) error {
	name, cfg, ok := strings.Cut(v, "=")
	if !ok || name == "" || cfg == "" {
		return fmt.Errorf("want name=config.yaml[+overlay.yaml...][:signal,...], got %q", v)
	}
	files := cfg
	var list string
	if path, l, ok := strings.Cut(cfg, ":"); ok {
		files, list = path, l
	}
	pl := pipeline{name: name, configs: strings.Split(files, "+")}
	if list != "" {
		for _, sig := range strings.Split(list, ",") {
			s, err := loadgen.ParseSignal(strings.TrimSpace(sig))
			if err != nil {
				return fmt.Errorf("pipeline %s: %w", name, err)
			}
			pl.signals = append(pl.signals, s)
		}
	}
	*p = append(*p, pl)
	return nil
}

// wants reports whether the pipeline is to be loaded with sig.
func (p pipeline) wants(sig loadgen.Signal) bool {
	return len(p.signals) == 0 || slices.Contains(p.signals, sig)
}

type compareSettings struct {
	braid       string
	pipelines   pipelineFlag
	signals     []loadgen.Signal
	rates       []float64
	cpuRate     float64
	step        time.Duration
	connections int
	batch       int
	workDir     string
	// profileDir, when set, receives a CPU profile of Braid taken during
	// each CPU step.
	profileDir string
	// cpuQuota, when positive, limits Braid to that many CPUs (a cgroup).
	cpuQuota float64
	// braidCPUs, when set, is the CPU list Braid runs on (taskset -c).
	braidCPUs string
	// kafkaFronts names, per pipeline, the relay's configuration: the load
	// goes to a relay Braid that writes it to a Kafka-protocol broker (in
	// this process), which the Braid under test reads.
	kafkaFronts namedPaths
	// binaries names, per pipeline, a collector binary to run instead of
	// braid (the upstream-only baseline, say).
	binaries namedPaths
}

// stepResult is one load step against one pipeline.
type stepResult struct {
	Pipeline      string         `json:"pipeline"`
	Signal        string         `json:"signal"`
	Load          loadgen.Result `json:"load"`
	Delivered     int64          `json:"delivered"`
	CPUSeconds    float64        `json:"cpu_seconds"`
	CPUPerMillion float64        `json:"cpu_seconds_per_million"`
	// LoadgenCPUSeconds is what this process (generator and sink) used in
	// the step: it shares the machine with Braid.
	LoadgenCPUSeconds float64 `json:"loadgen_cpu_seconds"`
	// Load1 is the machine's one-minute load average at the end of the step.
	Load1     float64 `json:"load1"`
	Sustained bool    `json:"sustained"`
	Why       string  `json:"why,omitempty"`
}

type pipelineReport struct {
	Pipeline string `json:"pipeline"`
	Signal   string `json:"signal"`
	// MaxSustained is the highest target rate met with nothing refused or lost.
	MaxSustained float64 `json:"max_sustained_per_second"`
	// CPUPerMillion is measured at the common --cpu-rate.
	CPUPerMillion float64 `json:"cpu_seconds_per_million"`
	PeakRSSMiB    float64 `json:"peak_rss_mib"`
	// Load1 is the one-minute load average at the end of the CPU step.
	Load1 float64      `json:"load1"`
	Steps []stepResult `json:"steps"`
}

func compareCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	s := compareSettings{}
	fs.StringVar(&s.braid, "braid", "bin/braid", "the braid binary")
	fs.Var(&s.pipelines, "pipeline", "name=config.yaml[+overlay.yaml...][:signal,...], repeated; run in the order given, the first is the baseline")
	s.kafkaFronts = namedPaths{}
	s.binaries = namedPaths{}
	fs.Var(s.binaries, "binary", "name=path, repeated: run pipeline name on this collector binary instead of --braid (it takes the same --config flags)")
	fs.Var(s.kafkaFronts, "kafka-front", "name=relay.yaml, repeated: pipeline name reads its load from Kafka, written there by a relay Braid on relay.yaml (on this process's CPUs; only the Braid under test is measured) through a broker in this process")
	signals := fs.String("signals", "traces,logs", "signals to load, comma separated")
	rates := fs.String("rates", "10000,20000,40000,60000,80000,100000,150000,200000,250000", "target rates (items/s) tried in order until one is not sustained")
	fs.Float64Var(&s.cpuRate, "cpu-rate", 20000, "rate at which CPU per million items is compared")
	fs.DurationVar(&s.step, "step", 10*time.Second, "duration of each load step")
	fs.IntVar(&s.connections, "connections", 4, "gRPC connections")
	fs.IntVar(&s.batch, "batch", 500, "items per export request")
	fs.Float64Var(&s.cpuQuota, "cpu-quota", 0, "limit Braid to this many CPUs with a cgroup (needs root); 0 = no limit")
	fs.StringVar(&s.braidCPUs, "braid-cpus", "", "run Braid on these CPUs only (taskset -c list, e.g. 1): keeps the load generator off its core, and gives rates per core")
	fs.StringVar(&s.profileDir, "profile", "", "save a CPU profile of Braid taken during each CPU step to this directory (the config needs the pprof extension on ${env:BRAID_PPROF_ENDPOINT})")
	out := fs.String("json", "", "also write the full results as JSON to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if len(s.pipelines) == 0 {
		return errors.New("at least one --pipeline name=config.yaml is needed")
	}
	for _, name := range strings.Split(*signals, ",") {
		sig, err := loadgen.ParseSignal(strings.TrimSpace(name))
		if err != nil {
			return err
		}
		s.signals = append(s.signals, sig)
	}
	var err error
	if s.rates, err = parseRates("rates", *rates); err != nil {
		return err
	}
	if s.workDir, err = os.MkdirTemp("", "braid-compare-"); err != nil {
		return err
	}
	defer os.RemoveAll(s.workDir)
	if s.profileDir != "" {
		if err := os.MkdirAll(s.profileDir, 0o755); err != nil {
			return err
		}
	}

	var reports []pipelineReport
	for _, p := range s.pipelines {
		for _, sig := range s.signals {
			if !p.wants(sig) {
				continue
			}
			r, err := measure(ctx, s, p, sig)
			if err != nil {
				return fmt.Errorf("pipeline %s, %s: %w", p.name, sig, err)
			}
			reports = append(reports, r)
		}
	}
	printTable(os.Stdout, reports)
	if *out != "" {
		b, err := json.MarshalIndent(reports, "", "  ")
		if err != nil {
			return err
		}
		return os.WriteFile(*out, b, 0o644)
	}
	return nil
}

// measure starts a fresh Braid on pipeline p and runs the CPU step and the
// rate ladder for one signal.
func measure(ctx context.Context, s compareSettings, p pipeline, sig loadgen.Signal) (pipelineReport, error) {
	rep := pipelineReport{Pipeline: p.name, Signal: string(sig)}
	sink, err := loadgen.StartSink("127.0.0.1:0", "127.0.0.1:0")
	if err != nil {
		return rep, err
	}
	defer sink.Close(context.Background())

	var env []string
	endpoint := ""
	if relayConfig, ok := s.kafkaFronts[p.name]; ok {
		broker, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(6, "otlp_spans", "otlp_logs", "otlp_metrics"))
		if err != nil {
			return rep, fmt.Errorf("start the broker: %w", err)
		}
		defer broker.Close()
		env = []string{"BRAID_KAFKA_BROKERS=[" + broker.ListenAddrs()[0] + "]",
			"BRAID_KAFKA_GROUP=bench-" + p.name, "BRAID_KAFKA_INSTANCE_ID=bench"}
		rs := s
		rs.braidCPUs, rs.cpuQuota = "", 0 // the relay runs beside the load generator
		relay, err := startBraid(ctx, rs, pipeline{name: p.name + "-relay", configs: []string{relayConfig}}, sig, sink, env...)
		if err != nil {
			return rep, fmt.Errorf("start the relay: %w", err)
		}
		defer relay.stop()
		endpoint = relay.otlp
	}
	b, err := startBraid(ctx, s, p, sig, sink, env...)
	if err != nil {
		return rep, err
	}
	defer b.stop()
	if endpoint == "" {
		endpoint = b.otlp
	}

	step := func(rate float64, profile string) (stepResult, error) {
		cpu0, err := cpuSeconds(b.cmd.Process.Pid)
		if err != nil {
			return stepResult{}, err
		}
		self0, _ := cpuSeconds(os.Getpid())
		var profileDone chan error
		if profile != "" {
			profileDone = make(chan error, 1)
			go func() { profileDone <- fetchProfile(ctx, b.pprof, s.step-time.Second, profile) }()
		}
		before := delivered(sig, sink.Counts())
		res, err := loadgen.Run(ctx, loadgen.LoadConfig{
			Endpoint: endpoint, Signal: sig, Rate: rate, Connections: s.connections, BatchSize: s.batch,
			Duration: s.step, Shape: loadgen.DefaultShape, Seed: uint64(rate),
		}, nil)
		if err != nil {
			return stepResult{}, err
		}
		got := waitDelivered(ctx, sink, sig, before+res.Accepted)
		cpu1, err := cpuSeconds(b.cmd.Process.Pid)
		if err != nil {
			return stepResult{}, fmt.Errorf("braid exited during the run (log: %s): %w", b.logPath, err)
		}
		self1, _ := cpuSeconds(os.Getpid())
		if profileDone != nil {
			if err := <-profileDone; err != nil {
				fmt.Fprintf(os.Stderr, "profile %s: %v\n", profile, err)
			}
		}
		sr := stepResult{Pipeline: p.name, Signal: string(sig), Load: res, Delivered: got - before,
			CPUSeconds: cpu1 - cpu0, LoadgenCPUSeconds: self1 - self0, Load1: loadAverage()}
		if res.Accepted > 0 {
			sr.CPUPerMillion = sr.CPUSeconds / (float64(res.Accepted) / 1e6)
		}
		switch {
		case res.Refused > 0:
			sr.Why = fmt.Sprintf("%d refused", res.Refused)
		case res.Failed > 0:
			sr.Why = fmt.Sprintf("%d failed: %s", res.Failed, res.FirstError)
		case res.AcceptedPerSecond() < 0.95*rate:
			sr.Why = fmt.Sprintf("only %.0f/s accepted", res.AcceptedPerSecond())
		case sr.Delivered < res.Accepted:
			sr.Why = fmt.Sprintf("%d accepted but %d delivered", res.Accepted, sr.Delivered)
		default:
			sr.Sustained = true
		}
		fmt.Fprintf(os.Stderr, "%-12s %-7s target=%-7.0f accepted/s=%-8.0f delivered=%-9d cpu/M=%.2fs loadgen-cpu=%.1fs load1=%.1f %s\n",
			p.name, sig, rate, res.AcceptedPerSecond(), sr.Delivered, sr.CPUPerMillion, sr.LoadgenCPUSeconds, sr.Load1, sr.Why)
		return sr, nil
	}

	var profile string
	if s.profileDir != "" {
		profile = filepath.Join(s.profileDir, fmt.Sprintf("%s-%s.pprof", p.name, sig))
	}
	cpuStep, err := step(s.cpuRate, profile)
	if err != nil {
		return rep, err
	}
	rep.CPUPerMillion = cpuStep.CPUPerMillion
	rep.Load1 = cpuStep.Load1
	rep.Steps = append(rep.Steps, cpuStep)
	if cpuStep.Sustained {
		rep.MaxSustained = s.cpuRate
	}
	for _, rate := range s.rates {
		if cpuStep.Sustained && rate <= s.cpuRate {
			continue // the CPU step showed it
		}
		sr, err := step(rate, "")
		if err != nil {
			return rep, err
		}
		rep.Steps = append(rep.Steps, sr)
		if !sr.Sustained {
			break
		}
		rep.MaxSustained = rate
	}
	rep.PeakRSSMiB, err = peakRSSMiB(b.cmd.Process.Pid)
	return rep, err
}

// parseRates reads a comma-separated list of positive rates given with
// --name.
func parseRates(name, list string) ([]float64, error) {
	var rates []float64
	for _, r := range strings.Split(list, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(r), 64)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("bad rate %q in --%s", r, name)
		}
		rates = append(rates, v)
	}
	return rates, nil
}

// delivered is what reached the backends for sig: OTLP to the next hop, or
// Loki push for logs.
func delivered(sig loadgen.Signal, c loadgen.Counts) int64 {
	switch sig {
	case loadgen.Traces:
		return c.Spans
	case loadgen.Logs:
		return c.LogRecords + c.LokiEntries
	default:
		return c.DataPoints
	}
}

// waitDelivered waits, bounded, until the sink has want items of sig or
// stops making progress, and returns what it has.
func waitDelivered(ctx context.Context, sink *loadgen.Sink, sig loadgen.Signal, want int64) int64 {
	deadline := time.Now().Add(30 * time.Second)
	last, lastChange := delivered(sig, sink.Counts()), time.Now()
	for time.Now().Before(deadline) && ctx.Err() == nil {
		got := delivered(sig, sink.Counts())
		if got >= want {
			return got
		}
		if got != last {
			last, lastChange = got, time.Now()
		} else if time.Since(lastChange) > 5*time.Second {
			return got
		}
		time.Sleep(100 * time.Millisecond)
	}
	return delivered(sig, sink.Counts())
}

type braidProcess struct {
	cmd     *exec.Cmd
	otlp    string
	pprof   string
	health  string
	metrics string // the internal telemetry's Prometheus endpoint
	logPath string
	done    chan error
	unlimit func() // removes the CPU cgroup, when there is one
}

func freePort() (string, error) { return testnet.Addr() }

// startBraid runs braid on p's config with every listener on a free loopback
// port and every exporter pointed at the sink, and waits for its health check.
func startBraid(ctx context.Context, s compareSettings, p pipeline, sig loadgen.Signal, sink *loadgen.Sink, extraEnv ...string) (*braidProcess, error) {
	addrs := make([]string, 6)
	for i := range addrs {
		a, err := freePort()
		if err != nil {
			return nil, err
		}
		addrs[i] = a
	}
	_, telemetryPort, _ := net.SplitHostPort(addrs[3])
	storage := filepath.Join(s.workDir, p.name+"-"+string(sig))
	logPath := storage + ".log"
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	bin := s.braid
	if b, ok := s.binaries[p.name]; ok {
		bin = b
	}
	cmd := exec.Command(bin, p.args()...)
	if s.braidCPUs != "" {
		// Set before exec, so every thread of Braid inherits it.
		taskset, err := exec.LookPath("taskset")
		if err != nil {
			return nil, fmt.Errorf("--braid-cpus needs taskset (util-linux): %w", err)
		}
		cmd = exec.Command(taskset, append([]string{"-c", s.braidCPUs, bin}, p.args()...)...)
	}
	cmd.Env = append(os.Environ(), extraEnv...)
	cmd.Env = append(cmd.Env,
		"BRAID_OTLP_GRPC_ENDPOINT="+addrs[0],
		"BRAID_OTLP_HTTP_ENDPOINT="+addrs[1],
		"BRAID_HEALTH_ENDPOINT="+addrs[2],
		"BRAID_TELEMETRY_HOST=127.0.0.1",
		"BRAID_TELEMETRY_PORT="+telemetryPort,
		"BRAID_PROMETHEUS_ENDPOINT="+addrs[4],
		"BRAID_STORAGE_DIR="+storage,
		"BRAID_PPROF_ENDPOINT="+addrs[5],
		"BENCH_SINK_OTLP="+sink.GRPCAddr(),
		"BENCH_SINK_HTTP=http://"+sink.HTTPAddr(),
	)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, err
	}
	b := &braidProcess{cmd: cmd, otlp: addrs[0], pprof: addrs[5], health: addrs[2], metrics: addrs[3], logPath: logPath, done: make(chan error, 1)}
	go func() { b.done <- cmd.Wait(); logFile.Close() }()
	if s.cpuQuota > 0 {
		if b.unlimit, err = limitCPU(cmd.Process.Pid, s.cpuQuota); err != nil {
			b.stop()
			return nil, err
		}
	}

	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case err := <-b.done:
			return nil, fmt.Errorf("braid exited at start: %v; log:\n%s", err, tail(logPath))
		default:
		}
		if resp, err := http.Get("http://" + addrs[2] + "/"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return b, nil
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			b.stop()
			return nil, fmt.Errorf("braid not healthy in time; log:\n%s", tail(logPath))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (b *braidProcess) stop() {
	_ = b.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-b.done:
	case <-time.After(30 * time.Second):
		_ = b.cmd.Process.Kill()
		<-b.done
	}
	if b.unlimit != nil {
		b.unlimit()
	}
}

func tail(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	b, _ := io.ReadAll(f)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat CPU times on Linux.
const clockTicks = 100

// cpuSeconds is the user plus system CPU time the process has used.
func cpuSeconds(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name, which is in parentheses and may hold spaces.
	rest := string(b[strings.LastIndexByte(string(b), ')')+2:])
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	utime, err1 := strconv.ParseFloat(f[11], 64)
	stime, err2 := strconv.ParseFloat(f[12], 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return (utime + stime) / clockTicks, nil
}

// peakRSSMiB is the process's high-water mark of resident memory.
func peakRSSMiB(pid int) (float64, error) { return procStatusMiB(pid, "VmHWM:") }

// procStatusMiB reads one kB field of /proc/<pid>/status, in MiB.
func procStatusMiB(pid int, field string) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024, err
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}

// printTable prints the comparison, the first pipeline of reports being the
// baseline: one row per pipeline and signal at the CPU step's rate, then the
// ratio to the baseline at every rate both sustained, and its median, the
// steadier figure on a shared machine.
func printTable(w io.Writer, reports []pipelineReport) {
	if len(reports) == 0 {
		return
	}
	baseline := reports[0].Pipeline
	var cpuRate float64
	if len(reports[0].Steps) > 0 {
		cpuRate = reports[0].Steps[0].Load.Target
	}
	fmt.Fprintf(w, "| pipeline | signal | max sustained (items/s) | CPU-s per million at %.0f/s | vs %s | peak RSS (MiB) | load1 |\n", cpuRate, baseline)
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- | --- | --- |")
	base := map[string]pipelineReport{}
	for _, r := range reports {
		if r.Pipeline == baseline {
			base[r.Signal] = r
		}
	}
	for _, r := range reports {
		ratio := "–"
		if b := base[r.Signal].CPUPerMillion; b > 0 {
			ratio = fmt.Sprintf("%.2fx", r.CPUPerMillion/b)
		}
		fmt.Fprintf(w, "| %s | %s | %.0f | %.2f | %s | %.0f | %.1f |\n", r.Pipeline, r.Signal, r.MaxSustained, r.CPUPerMillion, ratio, r.PeakRSSMiB, r.Load1)
	}
	fmt.Fprintf(w, "\n| pipeline | signal | rates both sustained (items/s) | CPU per million vs %s at each | median |\n", baseline)
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- |")
	for _, r := range reports {
		rates, ratios := ratiosByRate(r, base[r.Signal])
		if r.Pipeline == baseline || len(ratios) == 0 {
			continue
		}
		var rs, xs []string
		for i := range rates {
			rs = append(rs, fmt.Sprintf("%.0fk", rates[i]/1000))
			xs = append(xs, fmt.Sprintf("%.2f", ratios[i]))
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %.2fx |\n", r.Pipeline, r.Signal, strings.Join(rs, ", "), strings.Join(xs, " "), median(ratios))
	}
}

// ratiosByRate pairs the sustained steps of r and base by target rate and
// returns, rate by rate, r's CPU per million over base's.
func ratiosByRate(r, base pipelineReport) (rates, ratios []float64) {
	baseCPU := map[float64]float64{}
	for _, s := range base.Steps {
		if s.Sustained && s.CPUPerMillion > 0 {
			baseCPU[s.Load.Target] = s.CPUPerMillion
		}
	}
	for _, s := range r.Steps {
		if b, ok := baseCPU[s.Load.Target]; ok && s.Sustained && !slices.Contains(rates, s.Load.Target) {
			rates = append(rates, s.Load.Target)
			ratios = append(ratios, s.CPUPerMillion/b)
		}
	}
	return rates, ratios
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if n := len(s); n%2 == 1 {
		return s[n/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// reportCmd prints compare's tables again from the JSON it wrote.
func reportCmd(args []string) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	in := fs.String("json", "", "results written by compare --json")
	if err := fs.Parse(args); err != nil {
		return err
	}
	b, err := os.ReadFile(*in)
	if err != nil {
		return err
	}
	var reports []pipelineReport
	if err := json.Unmarshal(b, &reports); err != nil {
		return fmt.Errorf("%s: %w", *in, err)
	}
	printTable(os.Stdout, reports)
	return nil
}

// fetchProfile saves a CPU profile of d from the pprof extension at addr.
func fetchProfile(ctx context.Context, addr string, d time.Duration, path string) error {
	secs := max(1, int(d.Seconds()))
	ctx, cancel := context.WithTimeout(ctx, d+30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", addr, secs), nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %d (is the pprof extension in the config?)", resp.StatusCode)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// loadAverage is the one-minute load average, 0 if unknown.
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}
