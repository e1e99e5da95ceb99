package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/braidobs/braid/internal/loadgen"
)

// overloadReport is what one overload run saw.
type overloadReport struct {
	Config         string `json:"config"`
	Signal         string `json:"signal"`
	MemoryLimitMiB int    `json:"memory_limit_mib"`
	SpikeLimitMiB  int    `json:"spike_limit_mib"`
	GoMemLimitMiB  int    `json:"gomemlimit_mib,omitempty"`
	// CPUQuota is the CPUs Braid was limited to (0: none).
	CPUQuota float64 `json:"cpu_quota,omitempty"`
	// HonorRetryInfo says whether refused senders waited the RetryInfo delay.
	HonorRetryInfo bool           `json:"honor_retry_info"`
	Load           loadgen.Result `json:"load"`
	// OfferedPerSecond is what the senders got an answer for (accepted or
	// refused) per second.
	OfferedPerSecond float64 `json:"offered_per_second"`
	// Sustained is the rate given with --sustained, or measured first under
	// the same CPU quota; Overload the ratio of the offered rate to it.
	Sustained  float64 `json:"sustained_per_second,omitempty"`
	Overload   float64 `json:"overload,omitempty"`
	PeakRSSMiB float64 `json:"peak_rss_mib"`
	// PeakHeapMiB is the highest Go heap Braid reported (its own
	// otelcol_process_runtime_heap_alloc_bytes, sampled once a second): what
	// the memory_limiter watches.
	PeakHeapMiB float64 `json:"peak_heap_mib"`
	// PeakAnonMiB is the highest anonymous resident memory sampled (RssAnon,
	// once a second): RSS less the file pages bbolt maps for the
	// persistent queues.
	PeakAnonMiB float64 `json:"peak_rss_anon_mib"`
	// ErrorsLogged counts error lines in Braid's log (export failures,
	// queue full); FirstError is the first of them.
	ErrorsLogged int    `json:"errors_logged"`
	FirstError   string `json:"first_error,omitempty"`
	// Alive says Braid still answered its health check after the run.
	Alive bool    `json:"alive"`
	Load1 float64 `json:"load1"`
	// MemoryUnderLimit, RetryableRefusals and NoCrash are the three checks.
	MemoryUnderLimit  bool `json:"memory_under_limit"`
	RetryableRefusals bool `json:"retryable_refusals"`
	NoCrash           bool `json:"no_crash"`
}

// overloadCmd drives one pipeline far beyond what it sustains, with a low
// memory limit, and checks that Braid refuses with retryable codes, stays
// under its memory limit and keeps running.
func overloadCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("overload", flag.ContinueOnError)
	braid := fs.String("braid", "bin/braid", "the braid binary")
	config := fs.String("config", "bench/gateway.yaml", "Braid config; its memory_limiter must read ${env:BRAID_MEMORY_LIMIT_MIB} and ${env:BRAID_MEMORY_SPIKE_MIB}")
	signals := fs.String("signals", "traces,logs", "signals to overload, one run each, comma separated")
	limit := fs.Int("memory-limit-mib", 400, "memory_limiter limit_mib given to Braid (the agent DaemonSet's)")
	spike := fs.Int("spike-limit-mib", 80, "memory_limiter spike_limit_mib given to Braid")
	goMemLimit := fs.Int("gomemlimit-mib", -1, "GOMEMLIMIT given to Braid, in MiB; -1 = 80% of memory-limit-mib, as the memory_limiter's docs advise; 0 = none")
	rate := fs.Float64("rate", 0, "target items/s; 0 = as fast as Braid answers")
	sustained := fs.Float64("sustained", 0, "the pipeline's sustained rate (from compare), to report the overload factor")
	cpuQuota := fs.Float64("cpu-quota", 0, "limit Braid to this many CPUs with a cgroup (needs root), so that this machine can offer it many times what it takes; without --sustained, the sustained rate is then measured first under the same limit")
	ladder := fs.String("sustained-rates", "2500,5000,7500,10000,15000,20000,30000,40000,60000,80000", "rates (items/s) tried in order to find the sustained rate under --cpu-quota")
	connections := fs.Int("connections", 32, "gRPC connections")
	senders := fs.Int("senders-per-connection", 1, "senders sharing each connection, one request in flight each: more keep the demand up when Braid answers slowly")
	honorRetry := fs.Bool("honor-retry-info", true, "after a refusal with gRPC RetryInfo, a sender waits the delay it asks for, as OpenTelemetry exporters do; false sends again at once")
	batch := fs.Int("batch", 500, "items per export request")
	reuse := fs.Int("reuse", 20, "batches each sender generates up front and sends in turn (generation must not be the bottleneck)")
	duration := fs.Duration("duration", 30*time.Second, "how long to overload")
	sinkDelay := fs.Duration("sink-delay", 0, "make the sink answer this late, as a slow backend")
	out := fs.String("json", "", "also write the results as JSON to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *limit <= *spike || *spike <= 0 {
		return fmt.Errorf("want 0 < spike-limit-mib < memory-limit-mib, got %d and %d", *spike, *limit)
	}
	workDir, err := os.MkdirTemp("", "braid-overload-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(workDir)
	s := compareSettings{braid: *braid, workDir: workDir, cpuQuota: *cpuQuota}
	rates, err := parseRates("sustained-rates", *ladder)
	if err != nil {
		return err
	}
	if *goMemLimit < 0 {
		*goMemLimit = *limit * 8 / 10
	}

	var reports []overloadReport
	for _, name := range strings.Split(*signals, ",") {
		sig, err := loadgen.ParseSignal(strings.TrimSpace(name))
		if err != nil {
			return err
		}
		rep := overloadReport{Config: *config, Signal: string(sig), MemoryLimitMiB: *limit, SpikeLimitMiB: *spike,
			GoMemLimitMiB: *goMemLimit, CPUQuota: *cpuQuota, Sustained: *sustained, HonorRetryInfo: *honorRetry}
		if rep.Sustained == 0 && *cpuQuota > 0 {
			// The paced ladder of compare, on a fresh Braid under the
			// same quota.
			ls := s
			ls.cpuRate, ls.rates, ls.step, ls.connections, ls.batch = rates[0], rates[1:], 5*time.Second, 4, *batch
			m, err := measure(ctx, ls, pipeline{name: "sustained", configs: []string{*config}}, sig)
			if err != nil {
				return fmt.Errorf("%s: sustained rate under %g CPUs: %w", sig, *cpuQuota, err)
			}
			rep.Sustained = m.MaxSustained
		}
		if err := overload(ctx, s, pipeline{name: "overload", configs: []string{*config}}, sig, loadgen.LoadConfig{
			Signal: sig, Rate: *rate, Connections: *connections, SendersPerConnection: *senders, BatchSize: *batch, Duration: *duration,
			Shape: loadgen.DefaultShape, Seed: 1, Reuse: *reuse, HonorRetryInfo: *honorRetry,
		}, *sinkDelay, &rep); err != nil {
			return fmt.Errorf("%s: %w", sig, err)
		}
		reports = append(reports, rep)
	}

	fmt.Println("| signal | CPUs | offered (items/s) | overload | accepted (items/s) | refused | failed | codes | peak RSS (MiB) | peak RssAnon (MiB) | peak heap (MiB) | limit (MiB) | errors logged | alive | load1 |")
	fmt.Println("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
	ok := true
	for _, r := range reports {
		factor := "–"
		if r.Overload > 0 {
			factor = fmt.Sprintf("%.1fx", r.Overload)
		}
		cpus := "all"
		if r.CPUQuota > 0 {
			cpus = strconv.FormatFloat(r.CPUQuota, 'g', -1, 64)
		}
		fmt.Printf("| %s | %s | %.0f | %s | %.0f | %d | %d | %s | %.0f | %.0f | %.0f | %d | %d | %t | %.1f |\n", r.Signal, cpus, r.OfferedPerSecond, factor,
			r.Load.AcceptedPerSecond(), r.Load.Refused, r.Load.Failed, formatCodes(r.Load.Codes), r.PeakRSSMiB, r.PeakAnonMiB,
			r.PeakHeapMiB, r.MemoryLimitMiB, r.ErrorsLogged, r.Alive, r.Load1)
		ok = ok && r.MemoryUnderLimit && r.RetryableRefusals && r.NoCrash
	}
	fmt.Println()
	for _, r := range reports {
		if r.FirstError != "" {
			fmt.Printf("%s: first error logged: %s\n", r.Signal, r.FirstError)
		}
		fmt.Printf("%s: peak RssAnon under the memory_limiter's limit: %t; no refusal but retryable ones (%d refused): %t; no crash: %t\n",
			r.Signal, r.MemoryUnderLimit, r.Load.Refused, r.RetryableRefusals, r.NoCrash)
	}
	if *out != "" {
		b, err := json.MarshalIndent(reports, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(*out, b, 0o644); err != nil {
			return err
		}
	}
	if !ok {
		return errors.New("an overload check failed (see above)")
	}
	return nil
}

func overload(ctx context.Context, s compareSettings, p pipeline, sig loadgen.Signal, cfg loadgen.LoadConfig, sinkDelay time.Duration, rep *overloadReport) error {
	sink, err := loadgen.StartSink("127.0.0.1:0", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer sink.Close(context.Background())
	sink.SetDelay(sinkDelay)

	env := []string{
		"BRAID_MEMORY_LIMIT_MIB=" + strconv.Itoa(rep.MemoryLimitMiB),
		"BRAID_MEMORY_SPIKE_MIB=" + strconv.Itoa(rep.SpikeLimitMiB),
	}
	if rep.GoMemLimitMiB > 0 {
		env = append(env, "GOMEMLIMIT="+strconv.Itoa(rep.GoMemLimitMiB)+"MiB")
	}
	b, err := startBraid(ctx, s, p, sig, sink, env...)
	if err != nil {
		return err
	}
	defer b.stop()
	pid := b.cmd.Process.Pid

	cfg.Endpoint = b.otlp
	var last loadgen.Tick
	progress := func(t loadgen.Tick) {
		rss, _ := procStatusMiB(pid, "VmRSS:")
		if anon, _ := procStatusMiB(pid, "RssAnon:"); anon > rep.PeakAnonMiB {
			rep.PeakAnonMiB = anon
		}
		if heap := b.heapMiB(); heap > rep.PeakHeapMiB {
			rep.PeakHeapMiB = heap
		}
		fmt.Fprintf(os.Stderr, "%-7s %3ds offered/s=%-8d accepted/s=%-8d refused/s=%-8d failed=%-6d rss=%.0fMiB peak-heap=%.0fMiB p99=%s\n",
			sig, t.Second, t.Sent-last.Sent, t.Accepted-last.Accepted, t.Refused-last.Refused, t.Failed, rss, rep.PeakHeapMiB,
			t.LatencyP99.Round(time.Millisecond))
		last = t
	}
	res, err := loadgen.Run(ctx, cfg, progress)
	if err != nil {
		return err
	}
	rep.Load = res
	rep.Load1 = loadAverage()
	rep.OfferedPerSecond = float64(res.Sent) / res.Elapsed.Seconds()
	if rep.Sustained > 0 {
		rep.Overload = rep.OfferedPerSecond / rep.Sustained
	}
	// Give Braid a moment to work off what it took, then ask if it is well.
	time.Sleep(3 * time.Second)
	rep.Alive = b.healthy()
	rep.PeakRSSMiB, _ = peakRSSMiB(pid)
	rep.ErrorsLogged, rep.FirstError = logErrors(b.logPath)
	// The bar is anonymous memory: the file pages bbolt maps count in RSS
	// but are page cache the kernel can drop, and the memory_limiter does
	// not govern them. Both are reported.
	rep.MemoryUnderLimit = rep.PeakAnonMiB > 0 && rep.PeakAnonMiB < float64(rep.MemoryLimitMiB)
	rep.RetryableRefusals = res.Failed == 0
	rep.NoCrash = rep.Alive
	return nil
}

// healthy reports whether Braid is running and its health check answers 200.
func (b *braidProcess) healthy() bool {
	select {
	case err := <-b.done:
		b.done <- err // stop() reads it again
		return false
	default:
	}
	resp, err := http.Get("http://" + b.health + "/")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// logErrors counts the error-level lines of Braid's log and returns the
// first, shortened.
func logErrors(path string) (int, string) {
	f, err := os.Open(path)
	if err != nil {
		return 0, ""
	}
	defer f.Close()
	n, first := 0, ""
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		if line := sc.Text(); strings.Contains(line, "\terror\t") {
			if n == 0 {
				first = line
				if len(first) > 300 {
					first = first[:300] + "…"
				}
			}
			n++
		}
	}
	return n, first
}

// heapMiB reads the Go heap from Braid's own telemetry, 0 if it cannot.
func (b *braidProcess) heapMiB() float64 {
	resp, err := http.Get("http://" + b.metrics + "/metrics")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "otelcol_process_runtime_heap_alloc_bytes") {
			continue
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err == nil {
			return v / (1 << 20)
		}
	}
	return 0
}

func formatCodes(codes map[string]int64) string {
	var parts []string
	for _, c := range []string{"OK", "ResourceExhausted", "Unavailable"} {
		if n := codes[c]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", c, n))
		}
	}
	for c, n := range codes {
		if c != "OK" && c != "ResourceExhausted" && c != "Unavailable" {
			parts = append(parts, fmt.Sprintf("%s %d", c, n))
		}
	}
	return strings.Join(parts, ", ")
}
