package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/braidobs/braid/internal/promtext"
)

type doctorOptions struct {
	metrics, spanMetrics string
	// trace, when set, asks about one trace through the drill-down API at
	// endpoint (with token, when it needs one).
	trace, endpoint, token string
	asJSON                 bool
	timeout                time.Duration
}

func newDoctorCommand() *cobra.Command {
	o := doctorOptions{}
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Say what a running Braid does and what to change: exporters, reloads, trace context, pod identity, exemplars",
		Long: "doctor reads a running Braid's self-metrics (and its span-metrics endpoint, for exemplars)\n" +
			"and prints what each exporter holds, sent and failed, whether the last configuration was\n" +
			"taken, how log records got their trace context, how often pods were identified, and\n" +
			"for each problem found what to change.\n\n" +
			"With --trace it asks the drill-down API (--endpoint) why one trace's signals are linked or\n" +
			"not: its spans (when, which pods), its log records by how they were linked, the lines of its\n" +
			"pods in its time window left unlinked and why, and the exemplars that point at it.",
		Example: "  braid doctor\n" +
			"  braid doctor --metrics http://braid-gateway:8888/metrics --span-metrics http://braid-gateway:8889/metrics --json\n" +
			"  braid doctor --trace 4bf92f3577b34da6a3ce929d0e0e4736 --endpoint braid-gateway:8890",
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			var rep interface{ print(io.Writer) }
			var err error
			if o.trace != "" {
				rep, err = explainTrace(c.Context(), o)
			} else {
				rep, err = diagnose(c.Context(), o)
			}
			if err != nil {
				return err
			}
			if o.asJSON {
				enc := json.NewEncoder(c.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(rep)
			}
			rep.print(c.OutOrStdout())
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.metrics, "metrics", envOr("BRAID_DOCTOR_METRICS", "http://localhost:8888/metrics"), "Braid's self-metrics endpoint")
	f.StringVar(&o.spanMetrics, "span-metrics", envOr("BRAID_DOCTOR_SPAN_METRICS", "http://localhost:8889/metrics"), "Braid's span-metrics endpoint (empty: skip the exemplar check)")
	f.StringVar(&o.trace, "trace", "", "explain one trace (32 hex digits): why its signals are linked or not")
	f.StringVar(&o.endpoint, "endpoint", envOr("BRAID_DRILL_ENDPOINT", defaultDrillEndpoint), "drill-down API of a running Braid (for --trace)")
	f.StringVar(&o.token, "token", os.Getenv("BRAID_DRILL_TOKEN"), "bearer token, when the drill-down API requires one (or BRAID_DRILL_TOKEN)")
	f.BoolVar(&o.asJSON, "json", false, "print JSON")
	f.DurationVar(&o.timeout, "timeout", 5*time.Second, "bound on each request")
	return cmd
}

// doctorReport is what doctor found.
type doctorReport struct {
	Reload    *reloadState     `json:"reload,omitempty"`
	Exporters []exporterState  `json:"exporters"`
	Logs      map[string]int64 `json:"log_records_by_trace_context"`
	Pods      map[string]int64 `json:"pod_lookups_by_result"`
	Exemplars *bool            `json:"span_metrics_have_exemplars,omitempty"`
	Findings  []finding        `json:"findings"`
}

type reloadState struct {
	Successful bool   `json:"last_successful"`
	ConfigHash string `json:"config_hash,omitempty"`
}

type exporterState struct {
	Exporter      string  `json:"exporter"`
	DataType      string  `json:"data_type,omitempty"`
	QueueSize     float64 `json:"queue_size"`
	QueueCapacity float64 `json:"queue_capacity"`
	Sent          float64 `json:"sent"`
	SendFailed    float64 `json:"send_failed"`
	EnqueueFailed float64 `json:"enqueue_failed"`
}

type finding struct {
	Problem string `json:"problem"`
	Fix     string `json:"fix"`
}

func fetch(ctx context.Context, url, accept string, timeout time.Duration) ([]byte, string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, "", err
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("%s: %s", url, resp.Status)
	}
	return body, resp.Header.Get("Content-Type"), err
}

// diagnose reads the endpoints and draws the findings.
func diagnose(ctx context.Context, o doctorOptions) (doctorReport, error) {
	rep := doctorReport{Logs: map[string]int64{}, Pods: map[string]int64{}}
	body, _, err := fetch(ctx, o.metrics, "text/plain", o.timeout)
	if err != nil {
		return rep, fmt.Errorf("read Braid's self-metrics (--metrics): %w", err)
	}
	families, err := promtext.Parse(bytes.NewReader(body))
	if err != nil {
		return rep, fmt.Errorf("parse %s: %w", o.metrics, err)
	}
	value := func(name string, each func(labels map[string]string, v float64)) {
		f := families[name]
		if f == nil {
			return
		}
		for _, m := range f.GetMetric() {
			ls := map[string]string{}
			for _, l := range m.GetLabel() {
				ls[l.GetName()] = l.GetValue()
			}
			var v float64
			switch {
			case m.GetCounter() != nil:
				v = m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				v = m.GetGauge().GetValue()
			case m.GetUntyped() != nil:
				v = m.GetUntyped().GetValue()
			}
			each(ls, v)
		}
	}

	value("braid_config_last_reload_successful", func(_ map[string]string, v float64) {
		if rep.Reload == nil {
			rep.Reload = &reloadState{}
		}
		rep.Reload.Successful = v == 1
	})
	value("braid_config_info", func(ls map[string]string, _ float64) {
		if rep.Reload != nil {
			rep.Reload.ConfigHash = ls["config_hash"]
		}
	})

	exporters := map[string]*exporterState{}
	get := func(exp, dataType string) *exporterState {
		key := exp + "\x00" + dataType
		e := exporters[key]
		if e == nil {
			e = &exporterState{Exporter: exp, DataType: dataType}
			exporters[key] = e
		}
		return e
	}
	for _, sig := range []struct{ dataType, suffix string }{{"traces", "spans"}, {"metrics", "metric_points"}, {"logs", "log_records"}} {
		value("otelcol_exporter_sent_"+sig.suffix, func(ls map[string]string, v float64) { get(ls["exporter"], sig.dataType).Sent += v })
		value("otelcol_exporter_send_failed_"+sig.suffix, func(ls map[string]string, v float64) { get(ls["exporter"], sig.dataType).SendFailed += v })
		value("otelcol_exporter_enqueue_failed_"+sig.suffix, func(ls map[string]string, v float64) { get(ls["exporter"], sig.dataType).EnqueueFailed += v })
	}
	value("otelcol_exporter_queue_size", func(ls map[string]string, v float64) { get(ls["exporter"], ls["data_type"]).QueueSize += v })
	value("otelcol_exporter_queue_capacity", func(ls map[string]string, v float64) { get(ls["exporter"], ls["data_type"]).QueueCapacity += v })
	for _, e := range exporters {
		rep.Exporters = append(rep.Exporters, *e)
	}
	sort.Slice(rep.Exporters, func(i, j int) bool {
		a, b := rep.Exporters[i], rep.Exporters[j]
		return a.Exporter+a.DataType < b.Exporter+b.DataType
	})

	value("braid_correlation_logs", func(ls map[string]string, v float64) { rep.Logs[ls["outcome"]] += int64(v) })
	value("braid_correlation_pod_lookups", func(ls map[string]string, v float64) { rep.Pods[ls["result"]] += int64(v) })

	if o.spanMetrics != "" {
		body, ctype, err := fetch(ctx, o.spanMetrics, "application/openmetrics-text; version=1.0.0", o.timeout)
		if err == nil {
			has := strings.Contains(string(body), " # {")
			rep.Exemplars = &has
			if !has && strings.Contains(string(body), "traces_span_metrics_calls") {
				fix := "turn on exemplars on the span-metrics connector (exemplars::enabled: true) and the Prometheus exporter's enable_open_metrics: true; Prometheus must scrape with OpenMetrics (it does by default) and store exemplars (--enable-feature=exemplar-storage)"
				if !strings.HasPrefix(ctype, "application/openmetrics-text") {
					fix = "the span-metrics endpoint answered " + ctype + ", not OpenMetrics, which is the only format that carries exemplars: set enable_open_metrics: true on the prometheus exporter"
				}
				rep.Findings = append(rep.Findings, finding{"The span metrics carry no exemplars: Grafana cannot jump from a latency panel to a trace.", fix})
			}
		}
	}
	rep.Findings = append(rep.Findings, rep.findings()...)
	return rep, nil
}

// findings turns what was read into problems and what to change.
func (r doctorReport) findings() []finding {
	var out []finding
	if r.Reload != nil && !r.Reload.Successful {
		out = append(out, finding{"The last configuration Braid read was refused; the one before is still running.",
			"Braid's log names the key at fault (\"Configuration refused\"); fix it and reload (SIGHUP, POST /-/reload, or save the file)."})
	}
	for _, e := range r.Exporters {
		name := e.Exporter
		if e.DataType != "" {
			name += " (" + e.DataType + ")"
		}
		if e.SendFailed > 0 {
			out = append(out, finding{fmt.Sprintf("Exporter %s gave up on %.0f items after retries: they are lost.", name, e.SendFailed),
				"Its backend refused them or is unreachable: Braid's log has the error (\"Exporting failed\"); check the exporter's endpoint and credentials. Behind a sending queue, set retry_on_failure::max_elapsed_time: 0 to keep retrying."})
		}
		if e.EnqueueFailed > 0 {
			out = append(out, finding{fmt.Sprintf("Exporter %s refused %.0f items because its queue was full (or its disk).", name, e.EnqueueFailed),
				"Its backend is slower than the input or down: check it; give the queue more room (sending_queue::queue_size) or disk."})
		}
		if e.QueueCapacity > 0 && e.QueueSize/e.QueueCapacity > 0.8 {
			out = append(out, finding{fmt.Sprintf("Exporter %s's queue is %.0f%% full.", name, 100*e.QueueSize/e.QueueCapacity),
				"Its backend is not keeping up or is down; when the queue is full new data is refused."})
		}
	}
	var logs int64
	for _, n := range r.Logs {
		logs += n
	}
	if logs > 0 {
		none := float64(r.Logs["none"]) / float64(logs)
		if none > 0.2 {
			fix := "If their pods send spans, turn on correlation::infer_log_links::enabled to link lines to the span active in their pod; else make the apps log their trace context (an OpenTelemetry log bridge, or trace_id in the line)."
			if r.Logs["inferred"] > 0 {
				fix = "Inference is on: the rest have no single span active in their pod at their time; make the apps log their trace context."
			}
			fix += " For one trace, `braid doctor --trace ID` shows which lines of its pods were left unlinked and why."
			out = append(out, finding{fmt.Sprintf("%.0f%% of log records carry no trace context (%d of %d).", 100*none, r.Logs["none"], logs), fix})
		}
	}
	lookups := r.Pods["hit"] + r.Pods["miss"]
	if lookups > 0 {
		if miss := float64(r.Pods["miss"]) / float64(lookups); miss > 0.2 {
			out = append(out, finding{fmt.Sprintf("%.0f%% of pod lookups found no pod (%d of %d): their telemetry has no pod names.", 100*miss, r.Pods["miss"], lookups),
				"Set pod_resolver: k8s_pods on the correlation processor with the k8s_pods extension (on Kubernetes), include_metadata: true on the receivers (so senders' addresses are known), or have the SDKs set k8s.pod.uid."})
		}
	}
	return out
}

func (r doctorReport) print(w io.Writer) {
	if r.Reload != nil {
		state := "taken"
		if !r.Reload.Successful {
			state = "REFUSED (the one before runs)"
		}
		fmt.Fprintf(w, "Configuration: last one %s, hash %s\n\n", state, r.Reload.ConfigHash)
	}
	if len(r.Exporters) > 0 {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "exporter\tsignal\tqueue\tsent\tsend failed\trefused (queue full)")
		for _, e := range r.Exporters {
			q := fmt.Sprintf("%.0f", e.QueueSize)
			if e.QueueCapacity > 0 {
				q += fmt.Sprintf("/%.0f", e.QueueCapacity)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%.0f\t%.0f\t%.0f\n", e.Exporter, e.DataType, q, e.Sent, e.SendFailed, e.EnqueueFailed)
		}
		tw.Flush()
		fmt.Fprintln(w)
	}
	var logs int64
	for _, n := range r.Logs {
		logs += n
	}
	if logs > 0 {
		fmt.Fprintf(w, "Log records by trace context (%d):", logs)
		for _, o := range []string{"present", "extracted", "inferred", "none"} {
			fmt.Fprintf(w, " %s %.0f%%", o, 100*float64(r.Logs[o])/float64(logs))
		}
		fmt.Fprintln(w)
	}
	if n := r.Pods["hit"] + r.Pods["miss"]; n > 0 {
		fmt.Fprintf(w, "Pod lookups: %.0f%% found (%d of %d)\n", 100*float64(r.Pods["hit"])/float64(n), r.Pods["hit"], n)
	}
	if r.Exemplars != nil {
		fmt.Fprintf(w, "Exemplars on the span metrics: %v\n", *r.Exemplars)
	}
	fmt.Fprintln(w)
	if len(r.Findings) == 0 {
		fmt.Fprintln(w, "No problem found.")
		return
	}
	for _, f := range r.Findings {
		fmt.Fprintf(w, "! %s\n  → %s\n", f.Problem, f.Fix)
	}
}
