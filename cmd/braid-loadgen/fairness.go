package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/braidobs/braid/internal/loadgen"
)

// fairnessCmd runs ten namespaces (by default) against a Braid held to a
// CPU quota, one of them flooding, and checks that fair share keeps the
// others whole and that the usage metrics count each namespace exactly.
func fairnessCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("fairness", flag.ContinueOnError)
	braid := fs.String("braid", "bin/braid", "the braid binary")
	config := fs.String("config", "bench/fairness-cpu.yaml", "Braid config: OTLP in, admission with fair_share, usage, an OTLP exporter to ${env:BENCH_SINK_OTLP}, self-metrics on ${env:BRAID_TELEMETRY_PORT}")
	sig := fs.String("signal", "traces", "traces or logs")
	cpuQuota := fs.Float64("cpu-quota", 0.25, "limit Braid to this many CPUs with a cgroup (needs root and a writable CPU controller)")
	sustained := fs.Float64("sustained", 0, "what Braid sustains under the quota on this config, items/s; 0 = measure it first (compare's paced ladder, 5 s a step)")
	ladder := fs.String("sustained-rates", "5000,10000,15000,20000,30000,40000,50000,60000,80000,100000", "rates (items/s) tried in order to measure the sustained rate")
	namespaces := fs.Int("namespaces", 10, "namespaces sending at once: flood-0 and ns-1 … ns-<n-1>")
	floodFactor := fs.Float64("flood-factor", 10, "how many times each other namespace's rate flood-0 sends")
	floodSenders := fs.Int("flood-senders", 20, "flood-0's senders, which send again at once when refused (the others have one each and wait the RetryInfo delay)")
	rate := fs.Float64("rate", 0, "items/s offered over all namespaces; 0 = --overload times the sustained rate")
	overloadFactor := fs.Float64("overload", 2, "with --rate 0: the offered rate as a multiple of the sustained rate")
	batch := fs.Int("batch", 500, "items per export request")
	duration := fs.Duration("duration", 20*time.Second, "how long the namespaces send")
	minQuiet := fs.Float64("min-quiet-accepted", 0.99, "the share of its items sent every namespace but the flood must get accepted")
	out := fs.String("json", "", "also write the report as JSON to this file")
	// Few services, so that each namespace's senders (namespace, workload,
	// service) fit in the usage processor's top_n and none is counted as
	// other.
	shape := loadgen.DefaultShape
	fs.IntVar(&shape.Services, "services", 2, "distinct service.name values in each namespace; with the config's top_n, no sender may be counted as other")
	if err := fs.Parse(args); err != nil {
		return err
	}
	signal, err := loadgen.ParseSignal(*sig)
	if err != nil {
		return err
	}
	if signal == loadgen.Metrics {
		return errors.New("fairness runs traces or logs, the pipelines of bench/fairness-cpu.yaml")
	}
	if *cpuQuota <= 0 {
		return fmt.Errorf("cpu-quota must be positive, got %g: without it the machine, not Braid, may be the bottleneck", *cpuQuota)
	}
	workDir, err := os.MkdirTemp("", "braid-fairness-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(workDir)

	rep := loadgen.FairnessReport{Config: *config, Signal: string(signal), CPUQuota: *cpuQuota, Sustained: *sustained, Duration: *duration}
	if rep.Sustained == 0 {
		rates, err := parseRates("sustained-rates", *ladder)
		if err != nil {
			return err
		}
		ls := loadgen.CompareSettings{Braid: *braid, WorkDir: workDir, CPUQuota: *cpuQuota, Log: os.Stderr,
			CPURate: rates[0], Rates: rates[1:], Step: 5 * time.Second, Connections: 4, Batch: *batch}
		m, err := loadgen.Measure(ctx, ls, loadgen.Pipeline{Name: "sustained", Configs: []string{*config}}, signal)
		if err != nil {
			return fmt.Errorf("sustained rate under %g CPUs: %w", *cpuQuota, err)
		}
		if m.MaxSustained == 0 {
			return fmt.Errorf("braid sustained none of --sustained-rates under %g CPUs (lowest %g/s)", *cpuQuota, rates[0])
		}
		rep.Sustained = m.MaxSustained
		fmt.Fprintf(os.Stderr, "sustained under %g CPUs: %.0f %s/s\n", *cpuQuota, rep.Sustained, signal)
	}
	total := *rate
	if total == 0 {
		total = *overloadFactor * rep.Sustained
	}
	loads, err := loadgen.FloodLoads(*namespaces, *floodFactor, total, *floodSenders)
	if err != nil {
		return err
	}
	settings := loadgen.FairnessSettings{Braid: *braid, Config: *config, Signal: signal, CPUQuota: *cpuQuota,
		WorkDir: workDir, Loads: loads, Batch: *batch, Shape: shape, Duration: *duration}
	if err := loadgen.RunFairness(ctx, settings, &rep); err != nil {
		return err
	}
	rep.Checks = loadgen.FairnessChecks(rep.Namespaces, *minQuiet)
	rep.Checks = append(rep.Checks, loadgen.FairnessCheck{Check: "braid still healthy after the run", OK: rep.Alive, Detail: fmt.Sprintf("health check answered: %t", rep.Alive)})

	printFairness(os.Stdout, rep)
	if *out != "" {
		b, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(*out, b, 0o644); err != nil {
			return err
		}
	}
	for _, c := range rep.Checks {
		if !c.OK {
			return errors.New("a fairness check failed (see above)")
		}
	}
	return nil
}

func printFairness(w io.Writer, rep loadgen.FairnessReport) {
	fmt.Fprintf(w, "%s on %s, %g CPUs: sustained %.0f/s; offered %.0f/s (%.1fx) for %s, %.0f/s accepted; load1 %.1f\n\n",
		rep.Signal, rep.Config, rep.CPUQuota, rep.Sustained, rep.Offered, rep.Overload, rep.Duration, rep.Accepted, rep.Load1)
	fmt.Fprintln(w, "| namespace | target (items/s) | sent (items/s) | senders | sent | accepted | refused | failed | requests by code | accepted % | usage received items | usage received bytes | admission refused |")
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
	for _, o := range rep.Namespaces {
		var pace float64
		if o.Load.Elapsed > 0 {
			pace = float64(o.Load.Sent) / o.Load.Elapsed.Seconds()
		}
		fmt.Fprintf(w, "| %s | %.0f | %.0f | %d | %d | %d | %d | %d | %s | %.2f | %.0f | %.0f | %.0f |\n", o.Namespace, o.Target, pace, o.Senders,
			o.Load.Sent, o.Load.Accepted, o.Load.Refused, o.Load.Failed, loadgen.CodeList(o.Load.Codes), 100*o.Accepted, o.UsageItems, o.UsageBytes, o.AdmissionRefused)
	}
	fmt.Fprintln(w)
	for _, c := range rep.Checks {
		mark := "ok  "
		if !c.OK {
			mark = "FAIL"
		}
		fmt.Fprintf(w, "%s %s: %s\n", mark, c.Check, c.Detail)
	}
}
