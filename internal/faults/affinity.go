package faults

import (
	"encoding/hex"
	"regexp"
	"sync"

	"github.com/grafana/loki/pkg/push"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// clusterAttr is the resource attribute the harness's gateways each set to
// their own name (resource/cluster, BRAID_CLUSTER_NAME), so the backends can
// tell which gateway an item came through.
const clusterAttr = "k8s.cluster.name"

// Affinity records, on top of a Recorder, which gateways each trace's spans
// and log records came through.
type Affinity struct {
	Recorder
	mu     sync.Mutex
	traces map[pcommon.TraceID]map[string]bool
	spans  map[pcommon.TraceID]int // spans delivered, by trace
	logs   map[pcommon.TraceID]int // traced log records delivered, by trace
}

// NewAffinity records into l.
func NewAffinity(l *Ledger) *Affinity {
	return &Affinity{Recorder: NewRecorder(l), traces: map[pcommon.TraceID]map[string]bool{},
		spans: map[pcommon.TraceID]int{}, logs: map[pcommon.TraceID]int{}}
}

func (a *Affinity) saw(id pcommon.TraceID, gateway string) {
	g := a.traces[id]
	if g == nil {
		g = map[string]bool{}
		a.traces[id] = g
	}
	g[gateway] = true
}

func gatewayOf(r pcommon.Resource) string {
	v, _ := r.Attributes().Get(clusterAttr)
	return v.AsString()
}

func (a *Affinity) Traces(td ptrace.Traces) {
	a.Recorder.Traces(td)
	a.mu.Lock()
	defer a.mu.Unlock()
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		gw := gatewayOf(rss.At(i).Resource())
		sss := rss.At(i).ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				a.saw(spans.At(k).TraceID(), gw)
				a.spans[spans.At(k).TraceID()]++
			}
		}
	}
}

func (a *Affinity) Logs(ld plog.Logs) {
	a.Recorder.Logs(ld)
	a.mu.Lock()
	defer a.mu.Unlock()
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		gw := gatewayOf(rls.At(i).Resource())
		sls := rls.At(i).ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				if id := lrs.At(k).TraceID(); !id.IsEmpty() {
					a.saw(id, gw)
					a.logs[id]++
				}
			}
		}
	}
}

// Split counts the traces seen so far, those that came through more than
// one gateway, and the traces per gateway.
func (a *Affinity) Split() (traces, split int, perGateway map[string]int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	perGateway = map[string]int{}
	for _, gws := range a.traces {
		traces++
		if len(gws) > 1 {
			split++
		}
		for gw := range gws {
			perGateway[gw]++
		}
	}
	return traces, split, perGateway
}

// Gateways returns, for each trace seen, the gateways it came through.
func (a *Affinity) Gateways() map[pcommon.TraceID][]string {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make(map[pcommon.TraceID][]string, len(a.traces))
	for id, gws := range a.traces {
		for gw := range gws {
			out[id] = append(out[id], gw)
		}
	}
	return out
}

var clusterLabel = regexp.MustCompile(`k8s_cluster_name="([^"]*)"`)

// LokiPush takes log lines as the gateways' Loki exporter writes them: the
// gateway in the stream's k8s_cluster_name label, the trace ID in the
// entry's structured metadata.
func (a *Affinity) LokiPush(req *push.PushRequest) {
	a.Recorder.LokiPush(req)
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, st := range req.Streams {
		gw := ""
		if m := clusterLabel.FindStringSubmatch(st.Labels); m != nil {
			gw = m[1]
		}
		for _, e := range st.Entries {
			for _, md := range e.StructuredMetadata {
				if md.Name != "trace_id" {
					continue
				}
				var id pcommon.TraceID
				if b, err := hex.DecodeString(md.Value); err == nil && len(b) == len(id) {
					copy(id[:], b)
					a.saw(id, gw)
					a.logs[id]++
				}
			}
		}
	}
}

// Counts returns the spans and traced log records delivered for a trace.
func (a *Affinity) Counts(id pcommon.TraceID) (spans, logs int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.spans[id], a.logs[id]
}
