package loadbalancingexporter

import (
	"encoding/binary"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// traceKey places a trace ID on the ring.
func traceKey(id [16]byte) uint64 {
	return mix(binary.BigEndian.Uint64(id[:8]) ^ binary.BigEndian.Uint64(id[8:]))
}

// resourceKey places a resource on the ring by the pod it comes from, or
// else its service: a pod's untraced records and metrics stay together.
func resourceKey(r pcommon.Resource) uint64 {
	a := r.Attributes()
	get := func(k string) string {
		if v, ok := a.Get(k); ok {
			return v.AsString()
		}
		return ""
	}
	switch {
	case get("k8s.pod.uid") != "":
		return hashString(get("k8s.pod.uid"))
	case get("k8s.pod.name") != "":
		return hashString(get("k8s.namespace.name") + "/" + get("k8s.pod.name"))
	default:
		return hashString(get("service.namespace") + "/" + get("service.name"))
	}
}

// owners maps a ring key to the index of the backend that takes it.
type owners func(key uint64) int

// splitTraces moves td's spans into one Traces per owner. td is left empty
// unless every span has one owner, in which case it is returned as it is.
func splitTraces(td ptrace.Traces, owner owners, byTrace bool) map[int]ptrace.Traces {
	key := func(rs ptrace.ResourceSpans, s ptrace.Span) uint64 {
		if byTrace {
			return traceKey(s.TraceID())
		}
		return resourceKey(rs.Resource())
	}
	// One owner for all: no copying.
	rss := td.ResourceSpans()
	single, mixed := -1, false
	for i := 0; i < rss.Len() && !mixed; i++ {
		sss := rss.At(i).ScopeSpans()
		for j := 0; j < sss.Len() && !mixed; j++ {
			spans := sss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				o := owner(key(rss.At(i), spans.At(k)))
				if single == -1 {
					single = o
				} else if o != single {
					mixed = true
					break
				}
			}
		}
	}
	if !mixed {
		if single == -1 {
			return nil
		}
		return map[int]ptrace.Traces{single: td}
	}
	out := map[int]ptrace.Traces{}
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		rsOf := map[int]ptrace.ResourceSpans{}
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			ss := sss.At(j)
			ssOf := map[int]ptrace.ScopeSpans{}
			spans := ss.Spans()
			for k := 0; k < spans.Len(); k++ {
				o := owner(key(rs, spans.At(k)))
				dst, ok := ssOf[o]
				if !ok {
					drs, ok := rsOf[o]
					if !ok {
						t, ok := out[o]
						if !ok {
							t = ptrace.NewTraces()
							out[o] = t
						}
						drs = t.ResourceSpans().AppendEmpty()
						rs.Resource().CopyTo(drs.Resource())
						drs.SetSchemaUrl(rs.SchemaUrl())
						rsOf[o] = drs
					}
					dst = drs.ScopeSpans().AppendEmpty()
					ss.Scope().CopyTo(dst.Scope())
					dst.SetSchemaUrl(ss.SchemaUrl())
					ssOf[o] = dst
				}
				spans.At(k).MoveTo(dst.Spans().AppendEmpty())
			}
		}
	}
	return out
}

// splitLogs moves ld's records into one Logs per owner: records with a
// trace ID by it (when byTrace), the others by their resource.
func splitLogs(ld plog.Logs, owner owners, byTrace bool) map[int]plog.Logs {
	key := func(rl plog.ResourceLogs, lr plog.LogRecord) uint64 {
		if id := lr.TraceID(); byTrace && !id.IsEmpty() {
			return traceKey(id)
		}
		return resourceKey(rl.Resource())
	}
	rls := ld.ResourceLogs()
	single, mixed := -1, false
	for i := 0; i < rls.Len() && !mixed; i++ {
		sls := rls.At(i).ScopeLogs()
		for j := 0; j < sls.Len() && !mixed; j++ {
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				o := owner(key(rls.At(i), lrs.At(k)))
				if single == -1 {
					single = o
				} else if o != single {
					mixed = true
					break
				}
			}
		}
	}
	if !mixed {
		if single == -1 {
			return nil
		}
		return map[int]plog.Logs{single: ld}
	}
	out := map[int]plog.Logs{}
	for i := 0; i < rls.Len(); i++ {
		rl := rls.At(i)
		rlOf := map[int]plog.ResourceLogs{}
		sls := rl.ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			sl := sls.At(j)
			slOf := map[int]plog.ScopeLogs{}
			lrs := sl.LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				o := owner(key(rl, lrs.At(k)))
				dst, ok := slOf[o]
				if !ok {
					drl, ok := rlOf[o]
					if !ok {
						l, ok := out[o]
						if !ok {
							l = plog.NewLogs()
							out[o] = l
						}
						drl = l.ResourceLogs().AppendEmpty()
						rl.Resource().CopyTo(drl.Resource())
						drl.SetSchemaUrl(rl.SchemaUrl())
						rlOf[o] = drl
					}
					dst = drl.ScopeLogs().AppendEmpty()
					sl.Scope().CopyTo(dst.Scope())
					dst.SetSchemaUrl(sl.SchemaUrl())
					slOf[o] = dst
				}
				lrs.At(k).MoveTo(dst.LogRecords().AppendEmpty())
			}
		}
	}
	return out
}

// splitMetrics moves md's resources into one Metrics per owner, by
// resource.
func splitMetrics(md pmetric.Metrics, owner owners) map[int]pmetric.Metrics {
	rms := md.ResourceMetrics()
	out := map[int]pmetric.Metrics{}
	if rms.Len() == 0 {
		return nil
	}
	single, mixed := owner(resourceKey(rms.At(0).Resource())), false
	for i := 1; i < rms.Len(); i++ {
		if owner(resourceKey(rms.At(i).Resource())) != single {
			mixed = true
			break
		}
	}
	if !mixed {
		return map[int]pmetric.Metrics{single: md}
	}
	for i := 0; i < rms.Len(); i++ {
		rm := rms.At(i)
		o := owner(resourceKey(rm.Resource()))
		m, ok := out[o]
		if !ok {
			m = pmetric.NewMetrics()
			out[o] = m
		}
		rm.MoveTo(m.ResourceMetrics().AppendEmpty())
	}
	return out
}
