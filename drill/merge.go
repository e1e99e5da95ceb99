package drill

import (
	"slices"
	"time"
)

// MergeTraces combines what several replicas know of one trace into one
// summary: services and pods are the union (first seen first), the start is
// the earliest, the end the latest, span and log counts are summed and the
// trace failed if any part did. The root operation is the first part's that
// has one. Links are left to the caller: they depend on the merged times.
// parts must hold at least one trace, all with the same ID.
func MergeTraces(parts []Trace) Trace {
	out := parts[0]
	out.Services = append([]string{}, out.Services...)
	out.Pods = append([]string{}, out.Pods...)
	for _, p := range parts[1:] {
		out.Services = union(out.Services, p.Services)
		out.Pods = union(out.Pods, p.Pods)
		if !p.Start.IsZero() && (out.Start.IsZero() || p.Start.Before(out.Start)) {
			out.Start = p.Start
		}
		if p.End.After(out.End) {
			out.End = p.End
		}
		if out.RootOperation == "" && p.RootOperation != "" {
			out.RootOperation, out.RootService = p.RootOperation, p.RootService
		}
		out.Error = out.Error || p.Error
		out.SpanCount += p.SpanCount
		out.LogCount += p.LogCount
		out.Source = mergeSource(out.Source, p.Source)
	}
	if len(parts) > 1 && !out.Start.IsZero() {
		out.DurationMS = float64(out.End.Sub(out.Start)) / float64(time.Millisecond)
	}
	return out
}

// MergeTraceLists merges the trace lists of several replicas by trace ID
// (MergeTraces for a trace more than one replica saw) and returns them in
// the single replica's order, errors first, then slowest, at most limit of
// them (no cap when limit is zero). The first list's traces come first among
// equals, so the answer does not depend on which peer was fastest.
func MergeTraceLists(lists [][]Trace, limit int) []Trace {
	byID := map[string][]Trace{}
	var order []string
	for _, l := range lists {
		for _, t := range l {
			if _, ok := byID[t.TraceID]; !ok {
				order = append(order, t.TraceID)
			}
			byID[t.TraceID] = append(byID[t.TraceID], t)
		}
	}
	out := make([]Trace, 0, len(order))
	for _, id := range order {
		out = append(out, MergeTraces(byID[id]))
	}
	sortTraces(out)
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out
}

// mergeWithJaeger completes what the replicas know of a trace with Jaeger's
// copy of its spans. Jaeger holds the spans the replicas indexed (they
// exported them there), so span counts are not summed: the larger is kept.
// Log counts only the replicas know.
func mergeWithJaeger(fromIndex, fromJaeger Trace) Trace {
	out := fromIndex
	out.Services = union(append([]string{}, fromIndex.Services...), fromJaeger.Services)
	out.Pods = union(append([]string{}, fromIndex.Pods...), fromJaeger.Pods)
	if !fromJaeger.Start.IsZero() && (out.Start.IsZero() || fromJaeger.Start.Before(out.Start)) {
		out.Start = fromJaeger.Start
	}
	if fromJaeger.End.After(out.End) {
		out.End = fromJaeger.End
	}
	if fromJaeger.RootOperation != "" && out.RootOperation == "" {
		out.RootOperation, out.RootService = fromJaeger.RootOperation, fromJaeger.RootService
	}
	out.Error = out.Error || fromJaeger.Error
	out.SpanCount = max(out.SpanCount, fromJaeger.SpanCount)
	out.DurationMS = float64(out.End.Sub(out.Start)) / float64(time.Millisecond)
	out.Source = mergeSource(out.Source, fromJaeger.Source)
	return out
}

func union(into, from []string) []string {
	for _, v := range from {
		if !slices.Contains(into, v) {
			into = append(into, v)
		}
	}
	return into
}

// mergeSource is the source of a merged trace: the parts' own when they
// agree, else braid+jaeger (the only sources are the index and Jaeger).
func mergeSource(a, b string) string {
	switch {
	case a == b || b == "":
		return a
	case a == "":
		return b
	default:
		return "braid+jaeger"
	}
}
