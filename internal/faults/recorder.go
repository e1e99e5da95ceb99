package faults

import (
	"fmt"

	"github.com/grafana/loki/pkg/push"
	"github.com/prometheus/prometheus/prompb"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/braidobs/braid/internal/loadgen"
)

// Recorder is the backends' side of the ledger: a loadgen.Observer that
// finds the IDs in what a sink receives and records them as delivered.
// Items without an ID (span metrics, Braid's own telemetry) are ignored.
type Recorder struct{ l *Ledger }

var _ loadgen.Observer = Recorder{}

// NewRecorder records into l.
func NewRecorder(l *Ledger) Recorder { return Recorder{l: l} }

func (r Recorder) Traces(td ptrace.Traces) {
	var ids []uint64
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		sss := rss.At(i).ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				if v, ok := spans.At(k).Attributes().Get(idAttr); ok && v.Int() > 0 {
					ids = append(ids, uint64(v.Int()))
				}
			}
		}
	}
	r.l.Delivered(Spans, ids...)
}

// Logs takes OTLP log records: those sent over OTLP carry their ID in an
// attribute, lines read from files in their body.
func (r Recorder) Logs(ld plog.Logs) {
	byStream := map[Stream][]uint64{}
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		sls := rls.At(i).ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				if s, id, ok := ParseLine(lrs.At(k).Body().AsString()); ok {
					byStream[s] = append(byStream[s], id)
				}
			}
		}
	}
	for s, ids := range byStream {
		r.l.Delivered(s, ids...)
	}
}

func (r Recorder) Metrics(md pmetric.Metrics) {
	var ids []uint64
	rms := md.ResourceMetrics()
	for i := 0; i < rms.Len(); i++ {
		sms := rms.At(i).ScopeMetrics()
		for j := 0; j < sms.Len(); j++ {
			ms := sms.At(j).Metrics()
			for k := 0; k < ms.Len(); k++ {
				m := ms.At(k)
				if m.Name() != ProbeMetric || m.Type() != pmetric.MetricTypeGauge {
					continue
				}
				dps := m.Gauge().DataPoints()
				for d := 0; d < dps.Len(); d++ {
					ids = append(ids, uint64(dps.At(d).DoubleValue()))
				}
			}
		}
	}
	r.l.Delivered(Points, ids...)
}

func (r Recorder) LokiPush(req *push.PushRequest) {
	byStream := map[Stream][]uint64{}
	for _, st := range req.Streams {
		for _, e := range st.Entries {
			if s, id, ok := ParseLine(e.Line); ok {
				byStream[s] = append(byStream[s], id)
			}
		}
	}
	for s, ids := range byStream {
		r.l.Delivered(s, ids...)
	}
}

func (r Recorder) RemoteWrite(raw []byte) error {
	var req prompb.WriteRequest
	if err := req.Unmarshal(raw); err != nil {
		return fmt.Errorf("decode write request: %w", err)
	}
	var ids []uint64
	for _, ts := range req.Timeseries {
		probe := false
		for _, l := range ts.Labels {
			if l.Name == "__name__" && l.Value == ProbeMetric {
				probe = true
				break
			}
		}
		if !probe {
			continue
		}
		for _, smp := range ts.Samples {
			ids = append(ids, uint64(smp.Value))
		}
	}
	r.l.Delivered(Points, ids...)
	return nil
}
