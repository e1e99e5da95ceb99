package correlationprocessor

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/braidobs/braid/correlate"
)

type metricsProcessor struct {
	*base
}

func (p *metricsProcessor) shutdown(ctx context.Context) error { return p.base.shutdown(ctx) }

// process gives each resource its pod identity and, when exemplars are on,
// adds inferred exemplars to the sum and histogram points that have none
// (correlate.TraceIndex.AddExemplars).
func (p *metricsProcessor) process(ctx context.Context, md pmetric.Metrics) (pmetric.Metrics, error) {
	var lc correlate.PodLookups
	added := int64(0)
	var exemplarCfg correlate.ExemplarConfig
	var now time.Time // stands for a point's timestamp when it has none
	if p.e.cfg.Exemplars.Enabled {
		exemplarCfg = correlate.ExemplarConfig{MaxAge: p.e.cfg.Exemplars.MaxAge, MaxPerPoint: p.e.cfg.Exemplars.MaxPerPoint}
		now = p.e.now()
	}
	rms := md.ResourceMetrics()
	for i := 0; i < rms.Len(); i++ {
		rm := rms.At(i)
		id := p.e.identify(ctx, rm.Resource().Attributes(), "", &lc)
		if !p.e.cfg.Exemplars.Enabled || (!id.Known() && id.Service == "") {
			continue
		}
		sms := rm.ScopeMetrics()
		for j := 0; j < sms.Len(); j++ {
			ms := sms.At(j).Metrics()
			for k := 0; k < ms.Len(); k++ {
				added += p.e.index.AddExemplars(ms.At(k), &id, exemplarCfg, now)
			}
		}
	}
	p.e.tel.recordLookups(ctx, &lc)
	if added > 0 {
		p.e.tel.exemplars.Add(ctx, added)
	}
	return md, nil
}
