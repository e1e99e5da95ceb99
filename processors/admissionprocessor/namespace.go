package admissionprocessor

import (
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/braidobs/braid/correlate"
	"github.com/braidobs/braid/usage"
)

// A request is judged as a whole, by the namespace that has the most items
// in it: most senders (an SDK, an agent's per-pod pipelines) send one
// namespace per request.

func namespaceOf(res pcommon.Resource) string {
	if v, ok := res.Attributes().Get(correlate.AttrNamespaceName); ok && v.Type() == pcommon.ValueTypeStr && v.Str() != "" {
		return v.Str()
	}
	return usage.Unknown
}

// dominant finds the namespace with the most items among the first few
// distinct ones of a request.
type dominant struct {
	names [8]string
	items [8]int
	n     int
}

func (d *dominant) add(name string, items int) {
	for i := range d.n {
		if d.names[i] == name {
			d.items[i] += items
			return
		}
	}
	if d.n < len(d.names) {
		d.names[d.n], d.items[d.n] = name, items
		d.n++
	}
}

func (d *dominant) name() string {
	best := 0
	for i := 1; i < d.n; i++ {
		if d.items[i] > d.items[best] {
			best = i
		}
	}
	if d.n == 0 {
		return usage.Unknown
	}
	return d.names[best]
}

func tracesNamespace(td ptrace.Traces) string {
	rss := td.ResourceSpans()
	if rss.Len() == 1 {
		return namespaceOf(rss.At(0).Resource())
	}
	var d dominant
	for i := range rss.Len() {
		rs := rss.At(i)
		n := 0
		for j := range rs.ScopeSpans().Len() {
			n += rs.ScopeSpans().At(j).Spans().Len()
		}
		d.add(namespaceOf(rs.Resource()), n)
	}
	return d.name()
}

func logsNamespace(ld plog.Logs) string {
	rls := ld.ResourceLogs()
	if rls.Len() == 1 {
		return namespaceOf(rls.At(0).Resource())
	}
	var d dominant
	for i := range rls.Len() {
		rl := rls.At(i)
		n := 0
		for j := range rl.ScopeLogs().Len() {
			n += rl.ScopeLogs().At(j).LogRecords().Len()
		}
		d.add(namespaceOf(rl.Resource()), n)
	}
	return d.name()
}

func metricsNamespace(md pmetric.Metrics) string {
	rms := md.ResourceMetrics()
	if rms.Len() == 1 {
		return namespaceOf(rms.At(0).Resource())
	}
	var d dominant
	for i := range rms.Len() {
		rm := rms.At(i)
		// Metrics are weighed by their count, not their data points: close
		// enough to pick the main sender without walking every point.
		n := 0
		for j := range rm.ScopeMetrics().Len() {
			n += rm.ScopeMetrics().At(j).Metrics().Len()
		}
		d.add(namespaceOf(rm.Resource()), n)
	}
	return d.name()
}
