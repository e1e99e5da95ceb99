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

// pipelineFlag collects repeated --pipeline
// name=config.yaml[+overlay.yaml...][:signal,...] flags.
type pipelineFlag []loadgen.Pipeline

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
	pl := loadgen.Pipeline{Name: name, Configs: strings.Split(files, "+")}
	if list != "" {
		for _, sig := range strings.Split(list, ",") {
			s, err := loadgen.ParseSignal(strings.TrimSpace(sig))
			if err != nil {
				return fmt.Errorf("pipeline %s: %w", name, err)
			}
			pl.Signals = append(pl.Signals, s)
		}
	}
	*p = append(*p, pl)
	return nil
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

func compareCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	s := loadgen.CompareSettings{Binaries: namedPaths{}, KafkaFronts: namedPaths{}, Log: os.Stderr}
	var pipelines pipelineFlag
	fs.StringVar(&s.Braid, "braid", "bin/braid", "the braid binary")
	fs.Var(&pipelines, "pipeline", "name=config.yaml[+overlay.yaml...][:signal,...], repeated; run in the order given, the first is the baseline; a name ending in -<n> (upstream-1, braid-1, upstream-2 …) is round n, compared with the same round of the first pipeline run in rounds (a bare name is round 1 when name-2 follows)")
	fs.Var(namedPaths(s.Binaries), "binary", "name=path, repeated: run pipeline name on this collector binary instead of --braid (it takes the same --config flags)")
	fs.Var(namedPaths(s.KafkaFronts), "kafka-front", "name=relay.yaml, repeated: pipeline name reads its load from Kafka, written there by a relay Braid on relay.yaml (on this process's CPUs; only the Braid under test is measured) through a broker in this process")
	signals := fs.String("signals", "traces,logs", "signals to load, comma separated")
	rates := fs.String("rates", "10000,20000,40000,60000,80000,100000,150000,200000,250000", "target rates (items/s) tried in order until one is not sustained")
	fs.Float64Var(&s.CPURate, "cpu-rate", 20000, "rate at which CPU per million items is compared")
	fs.DurationVar(&s.Step, "step", 10*time.Second, "duration of each load step")
	fs.IntVar(&s.Connections, "connections", 4, "gRPC connections")
	fs.IntVar(&s.Batch, "batch", 500, "items per export request")
	fs.Float64Var(&s.CPUQuota, "cpu-quota", 0, "limit Braid to this many CPUs with a cgroup (needs root); 0 = no limit")
	fs.StringVar(&s.CPUs, "braid-cpus", "", "run Braid on these CPUs only (taskset -c list, e.g. 1): keeps the load generator off its core, and gives rates per core")
	fs.StringVar(&s.ProfileDir, "profile", "", "save a CPU profile of Braid taken during each CPU step to this directory (the config needs the pprof extension on ${env:BRAID_PPROF_ENDPOINT})")
	out := fs.String("json", "", "also write the full results as JSON to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if len(pipelines) == 0 {
		return errors.New("at least one --pipeline name=config.yaml is needed")
	}
	sigs, err := parseSignals(*signals)
	if err != nil {
		return err
	}
	if s.Rates, err = parseRates("rates", *rates); err != nil {
		return err
	}
	if s.WorkDir, err = os.MkdirTemp("", "braid-compare-"); err != nil {
		return err
	}
	defer os.RemoveAll(s.WorkDir)
	if s.ProfileDir != "" {
		if err := os.MkdirAll(s.ProfileDir, 0o755); err != nil {
			return err
		}
	}

	var reports []loadgen.PipelineReport
	for _, p := range pipelines {
		for _, sig := range sigs {
			if !p.Wants(sig) {
				continue
			}
			r, err := loadgen.Measure(ctx, s, p, sig)
			if err != nil {
				return fmt.Errorf("pipeline %s, %s: %w", p.Name, sig, err)
			}
			reports = append(reports, r)
		}
	}
	c := loadgen.Compare(reports)
	printComparison(os.Stdout, c)
	if *out != "" {
		b, err := json.MarshalIndent(c, "", "  ")
		if err != nil {
			return err
		}
		return os.WriteFile(*out, b, 0o644)
	}
	return nil
}

// parseSignals reads a comma-separated list of signal names.
func parseSignals(list string) ([]loadgen.Signal, error) {
	var sigs []loadgen.Signal
	for _, name := range strings.Split(list, ",") {
		sig, err := loadgen.ParseSignal(strings.TrimSpace(name))
		if err != nil {
			return nil, err
		}
		sigs = append(sigs, sig)
	}
	return sigs, nil
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

// printComparison prints the comparison: one row per pipeline and signal
// at the CPU step's rate; then the ratio to the baseline at every rate
// both sustained, with its median (the steadier figure on a shared
// machine) and range; then, for pipelines run in rounds, the ratio in each
// round with its median and range.
func printComparison(w io.Writer, c loadgen.Comparison) {
	if len(c.Pipelines) == 0 {
		return
	}
	fmt.Fprintf(w, "| pipeline | signal | max sustained (items/s) | CPU-s per million at %.0f/s | vs %s | peak RSS (MiB) | load1 |\n", c.CPURate, c.Baseline)
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- | --- | --- |")
	base := map[string]float64{}
	for _, r := range c.Pipelines {
		if r.Pipeline == c.Baseline {
			base[r.Signal] = r.CPUPerMillion
		}
	}
	for _, r := range c.Pipelines {
		ratio := "–"
		if b := base[r.Signal]; b > 0 {
			ratio = fmt.Sprintf("%.2fx", r.CPUPerMillion/b)
		}
		fmt.Fprintf(w, "| %s | %s | %.0f | %.2f | %s | %.0f | %.1f |\n", r.Pipeline, r.Signal, r.MaxSustained, r.CPUPerMillion, ratio, r.PeakRSSMiB, r.Load1)
	}
	fmt.Fprintf(w, "\n| pipeline | signal | rates both sustained (items/s) | CPU per million vs %s at each | median | min–max |\n", c.Baseline)
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- | --- |")
	for _, r := range c.RateRatios {
		var rs []string
		for _, rate := range r.Rates {
			rs = append(rs, fmt.Sprintf("%.0fk", rate/1000))
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %.2fx | %s |\n", r.Pipeline, r.Signal, strings.Join(rs, ", "), formatRatios(r.Ratios), r.Median, formatRange(r.Spread))
	}
	if len(c.Rounds) == 0 {
		return
	}
	fmt.Fprintf(w, "\n| pipeline | signal | rounds | CPU per million vs %s in the same round | median | min–max |\n", c.Rounds[0].Baseline)
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- | --- |")
	for _, r := range c.Rounds {
		var ns []string
		for _, n := range r.Rounds {
			ns = append(ns, strconv.Itoa(n))
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %.2fx | %s |\n", r.Pipeline, r.Signal, strings.Join(ns, ", "), formatRatios(r.Ratios), r.Median, formatRange(r.Spread))
	}
}

func formatRatios(xs []float64) string {
	var s []string
	for _, x := range xs {
		s = append(s, fmt.Sprintf("%.2f", x))
	}
	return strings.Join(s, " ")
}

func formatRange(s loadgen.Spread) string { return fmt.Sprintf("%.2f–%.2f", s.Min, s.Max) }

// reportCmd prints compare's tables again from the JSON it wrote: a
// Comparison, or the bare list of pipeline reports of bench/results'
// older runs.
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
	reports, err := readReports(b)
	if err != nil {
		return fmt.Errorf("%s: %w", *in, err)
	}
	printComparison(os.Stdout, loadgen.Compare(reports))
	return nil
}

// readReports reads the pipeline reports out of compare's JSON, either
// form; the ratios are worked out again from them.
func readReports(b []byte) ([]loadgen.PipelineReport, error) {
	var reports []loadgen.PipelineReport
	if err := json.Unmarshal(b, &reports); err == nil {
		return reports, nil
	}
	var c loadgen.Comparison
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, err
	}
	return c.Pipelines, nil
}
