package loadgen

// Fair share under a CPU quota: ten namespaces (by default) against a Braid
// held to a fraction of a core, one of them flooding; what each namespace
// saw, what Braid's usage and admission metrics counted for it, and the
// checks a fair run passes. braid-loadgen fairness prints it.

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/braidobs/braid/internal/promtext"
)

// The self-metrics a fairness run reads, by their names in the usage and
// admission processors' READMEs (the usage ones held to the processor's
// constants by a test).
const (
	UsageReceivedItems   = "braid_usage_received_items"
	UsageReceivedBytes   = "braid_usage_received_bytes"
	admissionRefusedByNS = "braid_admission_namespace_refused_items"
	namespaceLabel       = "k8s_namespace_name"
)

// NamespaceOutcome is one namespace's row of a fairness run: what its
// senders saw, and what Braid's self-metrics say about it.
type NamespaceOutcome struct {
	Namespace string  `json:"namespace"`
	Flood     bool    `json:"flood"`
	Target    float64 `json:"target_per_second"`
	Senders   int     `json:"senders"`
	// HonorRetryInfo says whether its senders waited the delay a refusal
	// asked for (the quiet ones) or sent again at once (the flood).
	HonorRetryInfo bool   `json:"honor_retry_info"`
	Load           Result `json:"load"`
	// Accepted is the share of the items sent that Braid accepted.
	Accepted float64 `json:"accepted_share"`
	// UsageItems and UsageBytes are braid_usage_received_items and
	// braid_usage_received_bytes for the namespace; AdmissionRefused is
	// braid_admission_namespace_refused_items.
	UsageItems       float64 `json:"usage_received_items"`
	UsageBytes       float64 `json:"usage_received_bytes"`
	AdmissionRefused float64 `json:"admission_refused_items"`
}

// FairnessCheck is one of the run's pass/fail checks.
type FairnessCheck struct {
	Check  string `json:"check"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

// FairnessReport is what one fairness run saw.
type FairnessReport struct {
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
	Namespaces []NamespaceOutcome `json:"namespaces"`
	Checks     []FairnessCheck    `json:"checks"`
}

// FairnessSettings say how RunFairness loads a Braid held to a CPU quota.
type FairnessSettings struct {
	Braid, Config string
	Signal        Signal
	CPUQuota      float64
	// WorkDir holds Braid's storage directory and log.
	WorkDir  string
	Loads    []NamespaceLoad
	Batch    int
	Shape    Shape
	Duration time.Duration
}

// RunFairness starts Braid under the quota, runs the loads at once, and
// fills rep with what each namespace saw and what Braid counted for it.
func RunFairness(ctx context.Context, s FairnessSettings, rep *FairnessReport) error {
	sig, loads := s.Signal, s.Loads
	sink, err := StartSink("127.0.0.1:0", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer sink.Close(context.Background())
	ps := processSettings{binary: s.Braid, workDir: s.WorkDir, cpuQuota: s.CPUQuota}
	b, err := startCollector(ctx, ps, Pipeline{Name: "fairness", Configs: []string{s.Config}}, sig, sink)
	if err != nil {
		return err
	}
	defer b.stop()

	fmt.Fprintf(os.Stderr, "%d namespaces for %s: flood-0 at %.0f/s from %d senders, the others at %.0f/s each\n",
		len(loads), rep.Duration, loads[0].Rate, loads[0].Senders, loads[len(loads)-1].Rate)
	results, err := RunNamespaces(ctx, LoadConfig{
		Endpoint: b.otlp, Signal: sig, BatchSize: s.Batch, Duration: rep.Duration,
		Shape: s.Shape, Seed: 1, Reuse: 10,
	}, loads)
	if err != nil {
		return err
	}
	rep.Load1 = loadAverage()
	// Every request has had its answer, and the usage processor counts
	// before it answers: the self-metrics are final.
	scrapeCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	families, err := promtext.Scrape(scrapeCtx, "http://"+b.metrics+"/metrics")
	cancel()
	if err != nil {
		return fmt.Errorf("read braid's self-metrics (log: %s): %w", b.logPath, err)
	}
	items := sumByNamespace(families, UsageReceivedItems)
	bytes := sumByNamespace(families, UsageReceivedBytes)
	refused := sumByNamespace(families, admissionRefusedByNS)
	rep.Alive = b.healthy()

	rep.Namespaces = NamespaceOutcomes(loads, results, items, bytes, refused)
	var sent, accepted float64
	var elapsed time.Duration
	for _, r := range results {
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

// NamespaceOutcomes puts together, per namespace of loads (the flood first,
// as FloodLoads makes them), what its senders saw and what Braid's
// self-metrics counted for it: braid_usage_received_items and _bytes and
// the admission refusals, by namespace (refused may be nil).
func NamespaceOutcomes(loads []NamespaceLoad, results map[string]Result, items, bytes, refused map[string]float64) []NamespaceOutcome {
	out := make([]NamespaceOutcome, 0, len(loads))
	for i, l := range loads {
		r := results[l.Namespace]
		o := NamespaceOutcome{Namespace: l.Namespace, Flood: i == 0, Target: l.Rate, Senders: l.Senders, HonorRetryInfo: l.HonorRetryInfo,
			Load: r, UsageItems: items[l.Namespace], UsageBytes: bytes[l.Namespace], AdmissionRefused: refused[l.Namespace]}
		if r.Sent > 0 {
			o.Accepted = float64(r.Accepted) / float64(r.Sent)
		}
		out = append(out, o)
	}
	return out
}

// FairnessChecks judges a run: every namespace but the flood keeps
// minQuiet of its items, the flood is refused and only retryably, Braid's
// usage metrics count what each namespace got accepted, item for item, and
// show the flood as the top consumer in proportion to what it got through.
func FairnessChecks(ns []NamespaceOutcome, minQuiet float64) []FairnessCheck {
	var checks []FairnessCheck
	add := func(ok bool, check, detail string, args ...any) {
		checks = append(checks, FairnessCheck{Check: check, OK: ok, Detail: fmt.Sprintf(detail, args...)})
	}
	var flood NamespaceOutcome
	var worst *NamespaceOutcome
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
		"%s: %d of %d refused (%s); other codes: %s", flood.Namespace, flood.Load.Refused, flood.Load.Sent, CodeList(flood.Load.Codes), orNone(other))

	exact, off := true, []string{}
	for _, o := range ns {
		if o.UsageItems != float64(o.Load.Accepted) {
			exact = false
			off = append(off, fmt.Sprintf("%s %+.0f", o.Namespace, o.UsageItems-float64(o.Load.Accepted)))
		}
	}
	add(exact, UsageReceivedItems+" = accepted, per namespace", "off (usage − accepted): %s", orNone(off))

	// Top consumer by bytes, and by the right amount: the shapes are alike,
	// so the flood's bytes over the largest quiet namespace's are its
	// accepted items over that namespace's, within 5%.
	var top NamespaceOutcome
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
	add(ok, "the flood the top consumer in "+UsageReceivedBytes, "%s", detail)
	return checks
}

// CodeList is a request count per gRPC code, in a stable order.
func CodeList(codes map[string]int64) string {
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

// sumByNamespace sums the counter name (or name_total, when Braid's
// telemetry adds type suffixes) by its k8s_namespace_name label.
func sumByNamespace(families map[string]*dto.MetricFamily, name string) map[string]float64 {
	return promtext.SumBy(promtext.Counter(families, name), namespaceLabel)
}
