package drill

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/braidobs/braid/correlate"
)

// Explanation answers GET /api/v1/traces/{traceID}/explain: why the
// trace's signals are linked or not, as the correlation indexes of the
// replicas that answered know it.
type Explanation struct {
	TraceID  string   `json:"trace_id"`
	Services []string `json:"services"`
	// Start and End span the trace's spans seen (zero when only log
	// records named it); the unlinked lines shown are those of this window.
	Start     time.Time `json:"start"`
	End       time.Time `json:"end"`
	SpanCount int       `json:"span_count"`
	// LogCount is the number of log records linked to the trace, and
	// LogLinks says how they were: from the record's own trace ID field
	// (present), from an attribute or the body (Braid read them), or
	// inferred from the only span active in their pod.
	LogCount int                `json:"log_count"`
	LogLinks correlate.LogLinks `json:"log_links"`
	// InferredExemplars is how many exemplars Braid added to metric points
	// that point at the trace. Exemplars that came with the points (span
	// metrics) are not counted here: they are on the span-metrics endpoint
	// until its next flush, and in Prometheus once scraped.
	InferredExemplars int `json:"inferred_exemplars"`
	// Pods are the pods that sent spans or linked log records of the trace.
	Pods  []PodExplanation `json:"pods"`
	Links Links            `json:"links"`
	Fleet
}

// PodExplanation is one pod's part of an Explanation.
type PodExplanation struct {
	// Pod is namespace/name when known (from the pod resolver, or the
	// pod's spans), else the pod's UID.
	Pod string `json:"pod"`
	// Spans are the pod's spans of the trace still in its history of
	// recent spans (kept when inferred links or exemplars are on), by
	// start.
	Spans []ExplainedSpan `json:"spans"`
	// History is false when the index no longer holds the pod's history
	// (aged out, or pushed out by other pods): its spans and unlinked
	// lines are then unknown.
	History bool `json:"history"`
	// Unlinked are the pod's log lines from the trace's start to its end
	// that got no trace context, oldest first.
	Unlinked []UnlinkedLine `json:"unlinked"`
	// UnlinkedComplete is false when more lines of that window were left
	// unlinked than the pod's ring (unlinked_lines_per_pod) still holds.
	UnlinkedComplete bool `json:"unlinked_complete"`
}

// ExplainedSpan is a span of the trace in a pod's history.
type ExplainedSpan struct {
	SpanID string    `json:"span_id"`
	Start  time.Time `json:"start"`
	End    time.Time `json:"end"`
	Error  bool      `json:"error,omitempty"`
}

// UnlinkedLine is a log line that got no trace context, and why:
// inference_off, no_span_active, ambiguous (spans of more than one trace
// active in the pod at its time), history_too_short (the pod's span
// history no longer reaches back to it), pod_has_no_spans.
type UnlinkedLine struct {
	Time   time.Time `json:"time"`
	Reason string    `json:"reason"`
	// Body is the first bytes of the line's body (64 at most; empty when
	// the body is not a string).
	Body string `json:"body"`
}

func (s *Server) explainTrace(w http.ResponseWriter, r *http.Request) {
	id, err := ParseTraceID(r.PathValue("traceID"))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	var parts []Explanation
	if x, ok := s.cfg.Index.Explain(id); ok {
		parts = append(parts, s.explanation(x))
	}
	if isLocal(r) {
		if len(parts) == 0 {
			writeError(w, http.StatusNotFound, "trace "+id.String()+" is not in this replica's index")
			return
		}
		writeJSON(w, http.StatusOK, parts[0])
		return
	}
	missing := s.askPeers(r.Context(), "/api/v1/traces/"+id.String()+"/explain", true, func(_ string, body []byte) error {
		var x Explanation
		if err := json.Unmarshal(body, &x); err != nil {
			return err
		}
		if x.TraceID != id.String() {
			return fmt.Errorf("peer answered for trace %q", x.TraceID)
		}
		parts = append(parts, x)
		return nil
	})
	if len(parts) == 0 {
		msg := "trace " + id.String() + " is not in Braid's index: it aged out (the correlation processor's ttl) or was pushed out (max_traces), or no span or linked log line of it reached this Braid"
		if len(missing) > 0 {
			msg += " (replicas " + strings.Join(missing, ", ") + " did not answer)"
		}
		writeJSON(w, http.StatusNotFound, Error{Error: msg, Fleet: fleet(missing)})
		return
	}
	x := MergeExplanations(parts)
	x.Links = s.withLinks(Trace{TraceID: x.TraceID, Services: x.Services, Start: x.Start, End: x.End}).Links
	x.Fleet = fleet(missing)
	writeJSON(w, http.StatusOK, x)
}

func (s *Server) explanation(x correlate.TraceExplanation) Explanation {
	out := Explanation{
		TraceID:           x.TraceID.String(),
		Services:          append([]string{}, x.Services...),
		SpanCount:         x.SpanCount,
		LogCount:          x.LogCount,
		LogLinks:          x.LogLinks,
		InferredExemplars: x.Exemplars,
		Pods:              make([]PodExplanation, 0, len(x.Pods)),
	}
	if x.SpanCount > 0 {
		out.Start, out.End = x.Start.UTC(), x.End.UTC()
	}
	for _, p := range x.Pods {
		name := s.podName(p.Pod)
		if name == p.Pod && p.Name != "" {
			name = p.Name
		}
		pe := PodExplanation{Pod: name, History: p.History, UnlinkedComplete: p.UnlinkedComplete,
			Spans: make([]ExplainedSpan, 0, len(p.Spans)), Unlinked: make([]UnlinkedLine, 0, len(p.Unlinked))}
		for _, sp := range p.Spans {
			pe.Spans = append(pe.Spans, ExplainedSpan{SpanID: sp.SpanID.String(), Start: sp.Start.AsTime().UTC(), End: sp.End.AsTime().UTC(), Error: sp.Error})
		}
		for _, l := range p.Unlinked {
			pe.Unlinked = append(pe.Unlinked, UnlinkedLine{Time: l.Time.AsTime().UTC(), Reason: l.Reason.String(), Body: l.Body})
		}
		out.Pods = append(out.Pods, pe)
	}
	return out
}

// MergeExplanations combines what several replicas know of one trace:
// counts are summed, the window is the union of theirs, and a pod more
// than one replica knows gets the union of its spans and lines (its lines
// complete only if every part's are). parts must hold at least one
// explanation, all with the same trace ID.
func MergeExplanations(parts []Explanation) Explanation {
	out := parts[0]
	out.Services = append([]string{}, out.Services...)
	out.Pods = slices.Clone(out.Pods)
	for _, p := range parts[1:] {
		out.Services = union(out.Services, p.Services)
		if !p.Start.IsZero() && (out.Start.IsZero() || p.Start.Before(out.Start)) {
			out.Start = p.Start
		}
		if p.End.After(out.End) {
			out.End = p.End
		}
		out.SpanCount += p.SpanCount
		out.LogCount += p.LogCount
		out.LogLinks.Present += p.LogLinks.Present
		out.LogLinks.Attribute += p.LogLinks.Attribute
		out.LogLinks.Body += p.LogLinks.Body
		out.LogLinks.Inferred += p.LogLinks.Inferred
		out.LogLinks.Unknown += p.LogLinks.Unknown
		out.InferredExemplars += p.InferredExemplars
		for _, pod := range p.Pods {
			i := slices.IndexFunc(out.Pods, func(q PodExplanation) bool { return q.Pod == pod.Pod })
			if i < 0 {
				out.Pods = append(out.Pods, pod)
				continue
			}
			q := &out.Pods[i]
			q.Spans, q.Unlinked = slices.Clone(q.Spans), slices.Clone(q.Unlinked)
			q.History = q.History || pod.History
			q.UnlinkedComplete = q.UnlinkedComplete && pod.UnlinkedComplete
			for _, sp := range pod.Spans {
				if !slices.Contains(q.Spans, sp) {
					q.Spans = append(q.Spans, sp)
				}
			}
			for _, l := range pod.Unlinked {
				if !slices.Contains(q.Unlinked, l) {
					q.Unlinked = append(q.Unlinked, l)
				}
			}
			slices.SortStableFunc(q.Spans, func(a, b ExplainedSpan) int { return a.Start.Compare(b.Start) })
			slices.SortStableFunc(q.Unlinked, func(a, b UnlinkedLine) int { return a.Time.Compare(b.Time) })
		}
	}
	return out
}
