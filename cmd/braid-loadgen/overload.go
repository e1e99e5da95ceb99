package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/braidobs/braid/internal/loadgen"
)

// overloadCmd drives one pipeline far beyond what it sustains, with a low
// memory limit, and checks that Braid refuses with retryable codes, stays
// under its memory limit and keeps running.
func overloadCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("overload", flag.ContinueOnError)
	s := loadgen.OverloadSettings{Log: os.Stderr,
		Load: loadgen.LoadConfig{Shape: loadgen.DefaultShape, Seed: 1}}
	fs.StringVar(&s.Braid, "braid", "bin/braid", "the braid binary")
	fs.StringVar(&s.Config, "config", "bench/gateway.yaml", "Braid config; its memory_limiter must read ${env:BRAID_MEMORY_LIMIT_MIB} and ${env:BRAID_MEMORY_SPIKE_MIB}")
	signals := fs.String("signals", "traces,logs", "signals to overload, one run each, comma separated")
	fs.IntVar(&s.MemoryLimitMiB, "memory-limit-mib", 400, "memory_limiter limit_mib given to Braid (the agent DaemonSet's)")
	fs.IntVar(&s.SpikeLimitMiB, "spike-limit-mib", 80, "memory_limiter spike_limit_mib given to Braid")
	fs.IntVar(&s.GoMemLimitMiB, "gomemlimit-mib", -1, "GOMEMLIMIT given to Braid, in MiB; -1 = 80% of memory-limit-mib, as the memory_limiter's docs advise; 0 = none")
	fs.Float64Var(&s.Load.Rate, "rate", 0, "target items/s; 0 = as fast as Braid answers")
	fs.Float64Var(&s.Sustained, "sustained", 0, "the pipeline's sustained rate (from compare), to report the overload factor")
	fs.Float64Var(&s.CPUQuota, "cpu-quota", 0, "limit Braid to this many CPUs with a cgroup (needs root), so that this machine can offer it many times what it takes; without --sustained, the sustained rate is then measured first under the same limit")
	ladder := fs.String("sustained-rates", "2500,5000,7500,10000,15000,20000,30000,40000,60000,80000", "rates (items/s) tried in order to find the sustained rate under --cpu-quota")
	fs.IntVar(&s.Load.Connections, "connections", 32, "gRPC connections")
	fs.IntVar(&s.Load.SendersPerConnection, "senders-per-connection", 1, "senders sharing each connection, one request in flight each: more keep the demand up when Braid answers slowly")
	fs.BoolVar(&s.Load.HonorRetryInfo, "honor-retry-info", true, "after a refusal with gRPC RetryInfo, a sender waits the delay it asks for, as OpenTelemetry exporters do; false sends again at once")
	fs.IntVar(&s.Load.BatchSize, "batch", 500, "items per export request")
	fs.IntVar(&s.Load.Reuse, "reuse", 20, "batches each sender generates up front and sends in turn (generation must not be the bottleneck)")
	fs.DurationVar(&s.Load.Duration, "duration", 30*time.Second, "how long to overload")
	fs.DurationVar(&s.SinkDelay, "sink-delay", 0, "make the sink answer this late, as a slow backend")
	out := fs.String("json", "", "also write the results as JSON to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var err error
	if s.SustainedRates, err = parseRates("sustained-rates", *ladder); err != nil {
		return err
	}
	if err := s.Validate(); err != nil {
		return err
	}
	if s.GoMemLimitMiB < 0 {
		s.GoMemLimitMiB = s.MemoryLimitMiB * 8 / 10
	}
	if s.WorkDir, err = os.MkdirTemp("", "braid-overload-"); err != nil {
		return err
	}
	defer os.RemoveAll(s.WorkDir)

	var reports []loadgen.OverloadReport
	for _, name := range strings.Split(*signals, ",") {
		sig, err := loadgen.ParseSignal(strings.TrimSpace(name))
		if err != nil {
			return err
		}
		rep, err := loadgen.Overload(ctx, s, sig)
		if err != nil {
			return fmt.Errorf("%s: %w", sig, err)
		}
		reports = append(reports, rep)
	}

	printOverload(os.Stdout, reports)
	if *out != "" {
		b, err := json.MarshalIndent(reports, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(*out, b, 0o644); err != nil {
			return err
		}
	}
	for _, r := range reports {
		if !r.Passed() {
			return errors.New("an overload check failed (see above)")
		}
	}
	return nil
}

// printOverload prints a row per run, then each run's first error logged
// and its three checks.
func printOverload(w io.Writer, reports []loadgen.OverloadReport) {
	fmt.Fprintln(w, "| signal | CPUs | offered (items/s) | overload | accepted (items/s) | refused | failed | codes | peak RSS (MiB) | peak RssAnon (MiB) | peak heap (MiB) | limit (MiB) | errors logged | alive | load1 |")
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
	for _, r := range reports {
		factor := "–"
		if r.Overload > 0 {
			factor = fmt.Sprintf("%.1fx", r.Overload)
		}
		cpus := "all"
		if r.CPUQuota > 0 {
			cpus = strconv.FormatFloat(r.CPUQuota, 'g', -1, 64)
		}
		fmt.Fprintf(w, "| %s | %s | %.0f | %s | %.0f | %d | %d | %s | %.0f | %.0f | %.0f | %d | %d | %t | %.1f |\n", r.Signal, cpus, r.OfferedPerSecond, factor,
			r.Load.AcceptedPerSecond(), r.Load.Refused, r.Load.Failed, formatCodes(r.Load.Codes), r.PeakRSSMiB, r.PeakAnonMiB,
			r.PeakHeapMiB, r.MemoryLimitMiB, r.ErrorsLogged, r.Alive, r.Load1)
	}
	fmt.Fprintln(w)
	for _, r := range reports {
		if r.FirstError != "" {
			fmt.Fprintf(w, "%s: first error logged: %s\n", r.Signal, r.FirstError)
		}
		fmt.Fprintf(w, "%s: peak RssAnon under the memory_limiter's limit: %t; no refusal but retryable ones (%d refused): %t; no crash: %t\n",
			r.Signal, r.MemoryUnderLimit, r.Load.Refused, r.RetryableRefusals, r.NoCrash)
	}
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
