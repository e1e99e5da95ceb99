package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/braidobs/braid/internal/loadgen"
)

// The self-metrics a fairness run reads, by their names in the usage and
// admission processors' READMEs.
const (
	usageReceivedItems   = "braid_usage_received_items"
	usageReceivedBytes   = "braid_usage_received_bytes"
	admissionRefusedByNS = "braid_admission_namespace_refused_items"
	namespaceLabel       = "k8s_namespace_name"
)

// namespaceOutcome is one namespace's row of a fairness run: what its
// senders saw, and what Braid's self-metrics say about it.
type namespaceOutcome struct {
	Namespace string  `json:"namespace"`
	Flood     bool    `json:"flood"`
	Target    float64 `json:"target_per_second"`
	Senders   int     `json:"senders"`
	// HonorRetryInfo says whether its senders waited the delay a refusal
	// asked for (the quiet ones) or sent again at once (the flood).
	HonorRetryInfo bool           `json:"honor_retry_info"`
	Load           loadgen.Result `json:"load"`
	// Accepted is the share of the items sent that Braid accepted.
	Accepted float64 `json:"accepted_share"`
	// UsageItems and UsageBytes are braid_usage_received_items and
	// braid_usage_received_bytes for the namespace; AdmissionRefused is
	// braid_admission_namespace_refused_items.
	UsageItems       float64 `json:"usage_received_items"`
	UsageBytes       float64 `json:"usage_received_bytes"`
	AdmissionRefused float64 `json:"admission_refused_items"`
}

// fairnessCheck is one of the run's pass/fail checks.
type fairnessCheck struct {
	Check  string `json:"check"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

// fairnessReport is what one fairness run saw.
type fairnessReport struct {
	Config   string  `json:"config"`
	Signal   string  `json:"signal"`
	CPUQuota float64 `json:"cpu_quota"`
	// Sustained is the rate Braid sustains under the quota on this config
	// (given, or measured first with compare's paced ladder); Offered what
	// the namespaces sent per second; Overload the ratio of the two.
	Sustained float64 `json:"sustained_per_second"`
	Offered   float64 `json:"offered_per_second"`
	Overload  float64 `json:"overload"`
	// Accepted is what Braid took per second over all namespaces during
	// the run: what the quota allowed it under this load.
	Accepted   float64            `json:"accepted_per_second"`
	Duration   time.Duration      `json:"duration"`
	Load1      float64            `json:"load1"`
	Alive      bool               `json:"alive"`
	Namespaces []namespaceOutcome `json:"namespaces"`
	Checks     []fairnessCheck    `json:"checks"`
}

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
	ladder := fs.String("sustained-rates", "20000,30000,40000,50000,60000,80000,100000", "rates (items/s) tried in order to measure the sustained rate")
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
	s := compareSettings{braid: *braid, workDir: workDir, cpuQuota: *cpuQuota}
	p := pipeline{name: "fairness", configs: []string{*config}}

	rep := fairnessReport{Config: *config, Signal: string(signal), CPUQuota: *cpuQuota, Sustained: *sustained, Duration: *duration}
	if rep.Sustained == 0 {
		rates, err := parseRates("sustained-rates", *ladder)
		if err != nil {
			return err
		}
		ls := s
		ls.cpuRate, ls.rates, ls.step, ls.connections, ls.batch = rates[0], rates[1:], 5*time.Second, 4, *batch
		m, err := measure(ctx, ls, pipeline{name: "sustained", configs: p.configs}, signal)
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
	if err := fairnessRun(ctx, s, p, signal, loads, *batch, shape, &rep); err != nil {
		return err
	}
	rep.Checks = fairnessChecks(rep.Namespaces, *minQuiet)
	rep.Checks = append(rep.Checks, fairnessCheck{Check: "braid still healthy after the run", OK: rep.Alive, Detail: fmt.Sprintf("health check answered: %t", rep.Alive)})

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

// fairnessRun starts Braid under the quota, runs the loads at once, and
// fills rep with what each namespace saw and what Braid counted for it.
func fairnessRun(ctx context.Context, s compareSettings, p pipeline, sig loadgen.Signal, loads []loadgen.NamespaceLoad, batch int, shape loadgen.Shape, rep *fairnessReport) error {
	sink, err := loadgen.StartSink("127.0.0.1:0", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer sink.Close(context.Background())
	b, err := startBraid(ctx, s, p, sig, sink)
	if err != nil {
		return err
	}
	defer b.stop()

	fmt.Fprintf(os.Stderr, "%d namespaces for %s: flood-0 at %.0f/s from %d senders, the others at %.0f/s each\n",
		len(loads), rep.Duration, loads[0].Rate, loads[0].Senders, loads[len(loads)-1].Rate)
	results, err := loadgen.RunNamespaces(ctx, loadgen.LoadConfig{
		Endpoint: b.otlp, Signal: sig, BatchSize: batch, Duration: rep.Duration,
		Shape: shape, Seed: 1, Reuse: 10,
	}, loads)
	if err != nil {
		return err
	}
	rep.Load1 = loadAverage()
	// Every request has had its answer, and the usage processor counts
	// before it answers: the self-metrics are final.
	families, err := scrapeFamilies(ctx, "http://"+b.metrics+"/metrics")
	if err != nil {
		return fmt.Errorf("read braid's self-metrics (log: %s): %w", b.logPath, err)
	}
	items := sumByNamespace(families, usageReceivedItems)
	bytes := sumByNamespace(families, usageReceivedBytes)
	refused := sumByNamespace(families, admissionRefusedByNS)
	rep.Alive = braidHealthy(b)

	var sent, accepted float64
	var elapsed time.Duration
	for i, l := range loads {
		r := results[l.Namespace]
		o := namespaceOutcome{Namespace: l.Namespace, Flood: i == 0, Target: l.Rate, Senders: l.Senders, HonorRetryInfo: l.HonorRetryInfo,
			Load: r, UsageItems: items[l.Namespace], UsageBytes: bytes[l.Namespace], AdmissionRefused: refused[l.Namespace]}
		if r.Sent > 0 {
			o.Accepted = float64(r.Accepted) / float64(r.Sent)
		}
		rep.Namespaces = append(rep.Namespaces, o)
		sent += float64(r.Sent)
		accepted += float64(r.Accepted)
		elapsed = max(elapsed, r.Elapsed)
	}
	if elapsed > 0 {
		rep.Offered = sent / elapsed.Seconds()
		rep.Accepted = accepted / elapsed.Seconds()
	}
	if rep.Sustained > 0 {
		rep.Overload = rep.Offered / rep.Sustained
	}
	return nil
}

// fairnessChecks judges a run: every namespace but the flood keeps
// minQuiet of its items, the flood is refused and only retryably, Braid's
// usage metrics count what each namespace got accepted, item for item, and
// show the flood as the top consumer in proportion to what it got through.
func fairnessChecks(ns []namespaceOutcome, minQuiet float64) []fairnessCheck {
	var checks []fairnessCheck
	add := func(ok bool, check, detail string, args ...any) {
		checks = append(checks, fairnessCheck{Check: check, OK: ok, Detail: fmt.Sprintf(detail, args...)})
	}
	var flood namespaceOutcome
	var worst *namespaceOutcome
	for i := range ns {
		if ns[i].Flood {
			flood = ns[i]
		} else if worst == nil || ns[i].Accepted < worst.Accepted {
			worst = &ns[i]
		}
	}
	if worst == nil || flood.Namespace == "" {
		add(false, "a flood and quiet namespaces", "got %d namespaces", len(ns))
		return checks
	}

	quietOK, failed := true, int64(0)
	for _, o := range ns {
		if !o.Flood {
			quietOK = quietOK && o.Load.Sent > 0 && o.Accepted >= minQuiet && o.Load.Failed == 0
			failed += o.Load.Failed
		}
	}
	add(quietOK, fmt.Sprintf("every quiet namespace ≥ %.0f%% accepted", 100*minQuiet),
		"lowest %s: %.2f%% of %d; %d items failed outright over all quiet namespaces", worst.Namespace, 100*worst.Accepted, worst.Load.Sent, failed)

	var other []string
	for code, n := range flood.Load.Codes {
		if code != "OK" && code != "ResourceExhausted" && code != "Unavailable" && n > 0 {
			other = append(other, fmt.Sprintf("%s %d", code, n))
		}
	}
	slices.Sort(other)
	add(flood.Load.Refused > 0 && flood.Load.Failed == 0 && len(other) == 0,
		"the flood throttled with retryable codes only",
		"%s: %d of %d refused (%s); other codes: %s", flood.Namespace, flood.Load.Refused, flood.Load.Sent, codeList(flood.Load.Codes), orNone(other))

	exact, off := true, []string{}
	for _, o := range ns {
		if o.UsageItems != float64(o.Load.Accepted) {
			exact = false
			off = append(off, fmt.Sprintf("%s %+.0f", o.Namespace, o.UsageItems-float64(o.Load.Accepted)))
		}
	}
	add(exact, usageReceivedItems+" = accepted, per namespace", "off (usage − accepted): %s", orNone(off))

	// Top consumer by bytes, and by the right amount: the shapes are alike,
	// so the flood's bytes over the largest quiet namespace's are its
	// accepted items over that namespace's, within 5%.
	var top namespaceOutcome
	for _, o := range ns {
		if !o.Flood && o.UsageBytes > top.UsageBytes {
			top = o
		}
	}
	ok := flood.UsageBytes > top.UsageBytes && top.Load.Accepted > 0
	detail := fmt.Sprintf("%s %.0f bytes against %s %.0f", flood.Namespace, flood.UsageBytes, top.Namespace, top.UsageBytes)
	if ok {
		byBytes := flood.UsageBytes / top.UsageBytes
		byItems := float64(flood.Load.Accepted) / float64(top.Load.Accepted)
		ok = byBytes > 0.95*byItems && byBytes < 1.05*byItems
		detail += fmt.Sprintf(": %.2fx by bytes, %.2fx by the items the generator saw accepted", byBytes, byItems)
	}
	add(ok, "the flood the top consumer in "+usageReceivedBytes, "%s", detail)
	return checks
}

func printFairness(w io.Writer, rep fairnessReport) {
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
			o.Load.Sent, o.Load.Accepted, o.Load.Refused, o.Load.Failed, codeList(o.Load.Codes), 100*o.Accepted, o.UsageItems, o.UsageBytes, o.AdmissionRefused)
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

// codeList is a request count per gRPC code, in a stable order.
func codeList(codes map[string]int64) string {
	var parts []string
	for code, n := range codes {
		parts = append(parts, fmt.Sprintf("%s %d", code, n))
	}
	slices.Sort(parts)
	return orNone(parts)
}

func orNone(parts []string) string {
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// scrapeFamilies reads a Prometheus text endpoint.
func scrapeFamilies(ctx context.Context, url string) (map[string]*dto.MetricFamily, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: HTTP %d", url, resp.StatusCode)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	return parser.TextToMetricFamilies(io.LimitReader(resp.Body, 64<<20))
}

// sumByNamespace sums the counter name (or name_total, when Braid's
// telemetry adds type suffixes) by its k8s_namespace_name label.
func sumByNamespace(families map[string]*dto.MetricFamily, name string) map[string]float64 {
	out := map[string]float64{}
	f := families[name]
	if f == nil {
		f = families[name+"_total"]
	}
	if f == nil {
		return out
	}
	for _, m := range f.GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == namespaceLabel {
				out[l.GetValue()] += m.GetCounter().GetValue()
			}
		}
	}
	return out
}

// braidHealthy reports whether Braid is running and its health check
// answers 200.
func braidHealthy(b *braidProcess) bool {
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
