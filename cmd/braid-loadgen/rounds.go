package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// roundRatio is one interleaved round: the candidate's CPU per million items
// over the baseline's, both measured at compare's --cpu-rate.
type roundRatio struct {
	Round     string  `json:"round"`
	Signal    string  `json:"signal"`
	Baseline  float64 `json:"baseline_cpu_seconds_per_million"`
	Candidate float64 `json:"candidate_cpu_seconds_per_million"`
	Ratio     float64 `json:"ratio"`
}

// roundsCmd reads what compare wrote for interleaved rounds (pipelines
// named <baseline>-N and <candidate>-N) and prints each round's ratio of
// CPU per million items, then the median and the range per signal: on a
// shared machine, a pair measured back to back cancels the drift between
// rounds.
func roundsCmd(args []string) error {
	fs := flag.NewFlagSet("rounds", flag.ContinueOnError)
	in := fs.String("json", "", "results written by compare --json")
	baseline := fs.String("baseline", "full", "the baseline pipelines' name before -N")
	candidate := fs.String("candidate", "usage", "the candidate pipelines' name before -N")
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
	ratios := pairRounds(reports, *baseline, *candidate)
	if len(ratios) == 0 {
		return fmt.Errorf("%s: no round has both %s-N and %s-N", *in, *baseline, *candidate)
	}
	printRounds(os.Stdout, *baseline, *candidate, ratios)
	return nil
}

// pairRounds pairs <baseline>-N with <candidate>-N, signal by signal, in the
// order the rounds ran.
func pairRounds(reports []pipelineReport, baseline, candidate string) []roundRatio {
	base := map[[2]string]float64{}
	for _, r := range reports {
		if round, ok := strings.CutPrefix(r.Pipeline, baseline+"-"); ok && r.CPUPerMillion > 0 {
			base[[2]string{round, r.Signal}] = r.CPUPerMillion
		}
	}
	var out []roundRatio
	for _, r := range reports {
		round, ok := strings.CutPrefix(r.Pipeline, candidate+"-")
		b := base[[2]string{round, r.Signal}]
		if !ok || b == 0 || r.CPUPerMillion == 0 {
			continue
		}
		out = append(out, roundRatio{Round: round, Signal: r.Signal, Baseline: b, Candidate: r.CPUPerMillion, Ratio: r.CPUPerMillion / b})
	}
	return out
}

func printRounds(w io.Writer, baseline, candidate string, ratios []roundRatio) {
	fmt.Fprintf(w, "| round | signal | %s CPU-s per million | %s CPU-s per million | %s / %s |\n", baseline, candidate, candidate, baseline)
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- |")
	bySignal := map[string][]float64{}
	var signals []string
	for _, r := range ratios {
		fmt.Fprintf(w, "| %s | %s | %.2f | %.2f | %.3f |\n", r.Round, r.Signal, r.Baseline, r.Candidate, r.Ratio)
		if _, ok := bySignal[r.Signal]; !ok {
			signals = append(signals, r.Signal)
		}
		bySignal[r.Signal] = append(bySignal[r.Signal], r.Ratio)
	}
	fmt.Fprintln(w)
	for _, sig := range signals {
		xs := bySignal[sig]
		fmt.Fprintf(w, "%s: %s over %s, median %+.1f%% (%.3fx), range %.3f–%.3f over %d rounds\n", sig, candidate, baseline,
			100*(median(xs)-1), median(xs), slices.Min(xs), slices.Max(xs), len(xs))
	}
}
