package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/braidobs/braid/drill"
)

// traceReport is what `braid doctor --trace` found about one trace.
type traceReport struct {
	drill.Explanation
	// SpanMetricExemplars are the span-metric series whose exemplar on the
	// span-metrics endpoint points at the trace now; nil when the endpoint
	// was not read (ExemplarsNote says why).
	SpanMetricExemplars []string `json:"span_metric_exemplars"`
	ExemplarsNote       string   `json:"exemplars_note,omitempty"`
}

// explainTrace asks the drill-down API why the trace's signals are linked
// or not, and the span-metrics endpoint which exemplars point at it.
func explainTrace(ctx context.Context, o doctorOptions) (traceReport, error) {
	var rep traceReport
	id, err := drill.ParseTraceID(o.trace)
	if err != nil {
		return rep, fmt.Errorf("--trace: %w", err)
	}
	base := strings.TrimRight(o.endpoint, "/")
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/traces/"+id.String()+"/explain", nil)
	if err != nil {
		return rep, fmt.Errorf("--endpoint %q: %w", o.endpoint, err)
	}
	if o.token != "" {
		req.Header.Set("Authorization", "Bearer "+o.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return rep, fmt.Errorf("reach Braid's drill-down API at %s (is Braid running with the drill extension? --endpoint): %w", base, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return rep, fmt.Errorf("read answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		var e drill.Error
		if json.Unmarshal(raw, &e) == nil && e.Error != "" {
			return rep, fmt.Errorf("braid answered %s: %s", resp.Status, e.Error)
		}
		return rep, fmt.Errorf("braid answered %s: %s", resp.Status, strings.TrimSpace(string(raw)))
	}
	if err := json.Unmarshal(raw, &rep.Explanation); err != nil {
		return rep, fmt.Errorf("decode answer: %w", err)
	}

	switch {
	case o.spanMetrics == "":
		rep.ExemplarsNote = "span metrics not read (--span-metrics is empty)"
	default:
		body, _, err := fetch(ctx, o.spanMetrics, "application/openmetrics-text; version=1.0.0", o.timeout)
		if err != nil {
			rep.ExemplarsNote = fmt.Sprintf("span metrics not read (%v): their exemplars are not shown", err)
			break
		}
		rep.SpanMetricExemplars = exemplarsFor(string(body), id.String())
	}
	return rep, nil
}

// exemplarsFor returns the series (name and labels) of an OpenMetrics text
// whose exemplar carries trace_id="traceID", in the order they appear.
func exemplarsFor(body, traceID string) []string {
	want := `trace_id="` + traceID + `"`
	out := []string{}
	for line := range strings.SplitSeq(body, "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.Index(line, " # {")
		if i < 0 || !strings.Contains(line[i:], want) {
			continue
		}
		series := line[:i]
		// Drop the sample value (and timestamp) after the labels.
		if j := strings.LastIndexByte(series, '}'); j >= 0 {
			series = series[:j+1]
		} else if j := strings.IndexByte(series, ' '); j >= 0 {
			series = series[:j]
		}
		out = append(out, series)
	}
	return out
}

// reasonFix says, for each reason a line got no link, what it means and
// what would link lines like it.
var reasonFix = map[string]string{
	"inference_off":     "inferred links are off: correlation::infer_log_links::enabled: true links a line without trace context to the only span active in its pod at its time",
	"no_span_active":    "no span of this pod was active at the line's time (see the pod's spans above): the line was written outside the trace's work in this pod, or its spans have not reached Braid",
	"ambiguous":         "spans of more than one trace were active in this pod at the line's time; Braid does not guess: make the application log its trace context (an OpenTelemetry log bridge, or trace_id in the line)",
	"history_too_short": "the pod's history of recent spans no longer reached back to the line's time: raise correlation::spans_per_key",
	"pod_has_no_spans":  "the pod had no spans in Braid yet when the line came: lines that arrive before their spans can wait for them (correlation::infer_log_links::delay)",
}

func (r traceReport) print(w io.Writer) {
	x := r.Explanation
	if x.Partial {
		fmt.Fprintln(w, partialWarning(x.Fleet))
	}
	fmt.Fprintf(w, "Trace %s\n", x.TraceID)
	if x.SpanCount == 0 {
		fmt.Fprintln(w, "Spans: none seen; only log records named this trace (its spans never reached this Braid: sampled out, or sent elsewhere).")
	} else {
		fmt.Fprintf(w, "Spans: %d seen from %s to %s (%s), services %s\n", x.SpanCount,
			x.Start.Format(time.RFC3339Nano), x.End.Format(time.RFC3339Nano), x.End.Sub(x.Start), strings.Join(x.Services, ", "))
	}

	l := x.LogLinks
	fmt.Fprintf(w, "\nLog records linked: %d\n", x.LogCount)
	if x.LogCount == 0 {
		fmt.Fprintln(w, "  none carried its trace ID, and none was inferred to it (see the unlinked lines of its pods below)")
	}
	for _, c := range []struct {
		n    int
		what string
	}{
		{l.Present, "carried the trace ID in the record's own field (set by the application or its SDK)"},
		{l.Attribute, "had it in an attribute, where Braid read it"},
		{l.Body, "had it in the body (JSON, logfmt or traceparent), where Braid read it"},
		{l.Inferred, "had none: inferred from the only span active in their pod (marked braid.trace_context.source=inferred)"},
		{l.Unknown, "linked, how not recorded"},
	} {
		if c.n > 0 {
			fmt.Fprintf(w, "  %d %s\n", c.n, c.what)
		}
	}

	fmt.Fprintln(w, "\nPods (times UTC):")
	if len(x.Pods) == 0 {
		fmt.Fprintln(w, "  none known (the spans and lines carried no pod identity: see `braid doctor` for pod lookups)")
	}
	reasons := map[string]bool{}
	for _, p := range x.Pods {
		fmt.Fprintf(w, "  %s\n", p.Pod)
		if !p.History {
			fmt.Fprintln(w, "    its history has left the index (aged out or pushed out by other pods): spans and unlinked lines unknown")
			continue
		}
		if len(p.Spans) == 0 {
			fmt.Fprintln(w, "    spans: none of this trace in the pod's recent spans (they are kept only while inferred links or exemplars are on, spans_per_key per pod)")
		}
		for _, s := range p.Spans {
			mark := ""
			if s.Error {
				mark = " error"
			}
			fmt.Fprintf(w, "    span %s  %s – %s (%s)%s\n", s.SpanID, s.Start.Format("15:04:05.000"), s.End.Format("15:04:05.000"), s.End.Sub(s.Start), mark)
		}
		if x.SpanCount == 0 {
			continue
		}
		if len(p.Unlinked) == 0 {
			fmt.Fprintln(w, "    unlinked lines in the trace's window: none")
		}
		for _, u := range p.Unlinked {
			fmt.Fprintf(w, "    unlinked %s  %s  %q\n", u.Time.Format("15:04:05.000"), u.Reason, u.Body)
			reasons[u.Reason] = true
		}
		if !p.UnlinkedComplete {
			fmt.Fprintln(w, "    (more lines of this window were unlinked than the pod's ring keeps: unlinked_lines_per_pod)")
		}
	}
	if len(reasons) > 0 {
		fmt.Fprintln(w, "\nWhy lines were not linked:")
		for _, reason := range []string{"inference_off", "no_span_active", "ambiguous", "history_too_short", "pod_has_no_spans"} {
			if reasons[reason] {
				fmt.Fprintf(w, "  %s: %s\n", reason, reasonFix[reason])
			}
		}
	}

	fmt.Fprintln(w, "\nExemplars pointing at it:")
	fmt.Fprintf(w, "  %d added by Braid to metric points (inferred exemplars)\n", x.InferredExemplars)
	switch {
	case r.ExemplarsNote != "":
		fmt.Fprintf(w, "  %s\n", r.ExemplarsNote)
	case len(r.SpanMetricExemplars) == 0:
		fmt.Fprintln(w, "  none on the span-metrics endpoint now (an exemplar lasts there until the next flush; Prometheus keeps those it scraped: its /api/v1/query_exemplars)")
	default:
		fmt.Fprintf(w, "  %d on the span-metrics endpoint now:\n", len(r.SpanMetricExemplars))
		for _, s := range r.SpanMetricExemplars {
			fmt.Fprintf(w, "    %s\n", s)
		}
	}
	fmt.Fprintf(w, "\n  trace:   %s\n  logs:    %s\n  metrics: %s\n", x.Links.Trace, x.Links.Logs, x.Links.Metrics)
}
