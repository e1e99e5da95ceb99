package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"text/tabwriter"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/spf13/cobra"

	"github.com/braidobs/braid/internal/promtext"
	"github.com/braidobs/braid/processors/usageprocessor"
)

// defaultMetricsURL is the self-metrics endpoint of the embedded default.
const defaultMetricsURL = "http://localhost:8888/metrics"

type usageOptions struct {
	metricsURL, by, signal string
	window, timeout        time.Duration
	top                    int
	asJSON                 bool
}

// usageRow is one sender's use over the window.
type usageRow struct {
	Namespace      string  `json:"namespace"`
	Workload       string  `json:"workload,omitempty"`
	Service        string  `json:"service,omitempty"`
	Bytes          float64 `json:"bytes"`
	Items          float64 `json:"items"`
	BytesPerSecond float64 `json:"bytes_per_second"`
	ItemsPerSecond float64 `json:"items_per_second"`
	// Share is the sender's part of all bytes received over the window.
	Share float64 `json:"share"`
}

// usageReport is what `braid usage --json` prints.
type usageReport struct {
	Window  string     `json:"window"`
	Signal  string     `json:"signal"`
	By      string     `json:"by"`
	Total   usageRow   `json:"total"`
	Senders []usageRow `json:"senders"`
}

func newUsageCommand() *cobra.Command {
	o := usageOptions{}
	cmd := &cobra.Command{
		Use:   "usage",
		Short: "Show who sends the most telemetry through a running Braid",
		Long: "usage reads a running Braid's self-metrics (the usage processor's braid_usage_received_*)\n" +
			"twice, --window apart, and prints the top senders by bytes per second: namespaces, or services\n" +
			"with --by service. Senders past the usage processor's top_n show as other.\n" +
			"It reads " + defaultMetricsURL + " unless --metrics-url or BRAID_METRICS_URL says otherwise.",
		Example: "  braid usage\n" +
			"  braid usage --by service --signal logs --window 1m --top 20\n" +
			"  braid usage --json",
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return runUsage(c.Context(), c.OutOrStdout(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.metricsURL, "metrics-url", envOr("BRAID_METRICS_URL", defaultMetricsURL), "self-metrics endpoint of a running Braid")
	f.StringVar(&o.by, "by", "namespace", "group senders by namespace or service (namespace, workload and service)")
	f.StringVar(&o.signal, "signal", "all", "traces, logs, metrics or all")
	f.DurationVar(&o.window, "window", 30*time.Second, "how long to measure; 0 prints the totals counted so far")
	f.IntVar(&o.top, "top", 10, "at most this many senders")
	f.BoolVar(&o.asJSON, "json", false, "print JSON instead of a table")
	f.DurationVar(&o.timeout, "timeout", 10*time.Second, "how long to wait for each read of the metrics")
	return cmd
}

// usageKey is one sender as grouped.
type usageKey struct{ namespace, workload, service string }

type usageCounts struct{ bytes, items float64 }

func runUsage(ctx context.Context, out io.Writer, o usageOptions) error {
	switch {
	case o.by != "namespace" && o.by != "service":
		return fmt.Errorf("--by must be namespace or service, got %q", o.by)
	case o.signal != "all" && o.signal != "traces" && o.signal != "logs" && o.signal != "metrics":
		return fmt.Errorf("--signal must be traces, logs, metrics or all, got %q", o.signal)
	case o.window < 0:
		return fmt.Errorf("--window must not be negative, got %v", o.window)
	case o.top <= 0:
		return fmt.Errorf("--top must be positive, got %d", o.top)
	}
	before := map[usageKey]usageCounts{}
	if o.window > 0 {
		var err error
		if before, err = readUsage(ctx, o); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(o.window):
		}
	}
	after, err := readUsage(ctx, o)
	if err != nil {
		return err
	}
	r := usageReport{Window: o.window.String(), Signal: o.signal, By: o.by, Total: usageRow{Namespace: "total"}}
	for k, a := range after {
		b := before[k]
		d := usageCounts{bytes: a.bytes - b.bytes, items: a.items - b.items}
		if d.bytes < 0 || d.items < 0 { // a new series, or Braid restarted
			d = a
		}
		if d.bytes == 0 && d.items == 0 {
			continue
		}
		r.Senders = append(r.Senders, usageRow{Namespace: k.namespace, Workload: k.workload, Service: k.service, Bytes: d.bytes, Items: d.items})
		r.Total.Bytes += d.bytes
		r.Total.Items += d.items
	}
	slices.SortFunc(r.Senders, func(a, b usageRow) int {
		return cmp.Or(cmp.Compare(b.Bytes, a.Bytes), cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Service, b.Service))
	})
	if len(r.Senders) > o.top {
		r.Senders = r.Senders[:o.top]
	}
	rate := func(row *usageRow) {
		if o.window > 0 {
			row.BytesPerSecond = row.Bytes / o.window.Seconds()
			row.ItemsPerSecond = row.Items / o.window.Seconds()
		}
		if r.Total.Bytes > 0 {
			row.Share = row.Bytes / r.Total.Bytes
		}
	}
	for i := range r.Senders {
		rate(&r.Senders[i])
	}
	rate(&r.Total)
	if o.asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	return printUsage(out, r, o)
}

func printUsage(out io.Writer, r usageReport, o usageOptions) error {
	if len(r.Senders) == 0 {
		_, err := fmt.Fprintf(out, "Nothing received over %s (%s).\n", r.Window, r.Signal)
		return err
	}
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', tabwriter.AlignRight)
	header := "NAMESPACE\t"
	if o.by == "service" {
		header += "WORKLOAD\tSERVICE\t"
	}
	if o.window > 0 {
		header += "BYTES/S\tITEMS/S\tSHARE\t"
	} else {
		header += "BYTES\tITEMS\tSHARE\t"
	}
	fmt.Fprintln(w, header)
	for _, row := range append(r.Senders, r.Total) {
		line := row.Namespace + "\t"
		if o.by == "service" {
			line += row.Workload + "\t" + row.Service + "\t"
		}
		b, n := row.Bytes, row.Items
		if o.window > 0 {
			b, n = row.BytesPerSecond, row.ItemsPerSecond
		}
		line += fmt.Sprintf("%s\t%.0f\t%.1f%%\t", humanBytes(b), n, 100*row.Share)
		fmt.Fprintln(w, line)
	}
	return w.Flush()
}

func humanBytes(b float64) string {
	for _, u := range []string{"B", "kB", "MB", "GB"} {
		if b < 1000 || u == "GB" {
			return fmt.Sprintf("%.1f %s", b, u)
		}
		b /= 1000
	}
	return ""
}

// readUsage reads the usage processor's received counters, grouped as o
// asks.
func readUsage(ctx context.Context, o usageOptions) (map[usageKey]usageCounts, error) {
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	families, err := promtext.Scrape(ctx, o.metricsURL)
	if err != nil {
		return nil, fmt.Errorf("read Braid's self-metrics at %s: %w", o.metricsURL, err)
	}
	bytesFamily := promtext.Counter(families, usageprocessor.MetricReceivedBytes)
	itemsFamily := promtext.Counter(families, usageprocessor.MetricReceivedItems)
	if bytesFamily == nil && itemsFamily == nil {
		return nil, errors.New("braid exposes no " + usageprocessor.MetricReceivedBytes + ": is a usage processor in its pipelines, and has anything been received?")
	}
	out := map[usageKey]usageCounts{}
	for i, f := range []*dto.MetricFamily{bytesFamily, itemsFamily} {
		if f == nil {
			continue
		}
		for _, m := range f.GetMetric() {
			var k usageKey
			signal := ""
			for _, l := range m.GetLabel() {
				switch l.GetName() {
				case usageprocessor.LabelNamespace:
					k.namespace = l.GetValue()
				case usageprocessor.LabelWorkload:
					k.workload = l.GetValue()
				case usageprocessor.LabelService:
					k.service = l.GetValue()
				case usageprocessor.LabelSignal:
					signal = l.GetValue()
				}
			}
			if o.signal != "all" && signal != o.signal {
				continue
			}
			if o.by == "namespace" {
				k.workload, k.service = "", ""
			}
			c := out[k]
			v := m.GetCounter().GetValue()
			if i == 0 {
				c.bytes += v
			} else {
				c.items += v
			}
			out[k] = c
		}
	}
	return out, nil
}
