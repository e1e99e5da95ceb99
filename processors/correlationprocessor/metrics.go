package correlationprocessor

import (
	"context"
	"math"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/braidobs/braid/correlate"
)

type metricsProcessor struct {
	*base
}

func (p *metricsProcessor) shutdown(ctx context.Context) error { return p.base.shutdown(ctx) }

// process gives each resource its pod identity and, when exemplars are on,
// adds inferred exemplars to the sum and histogram points that have none.
func (p *metricsProcessor) process(ctx context.Context, md pmetric.Metrics) (pmetric.Metrics, error) {
	var lc lookupCounts
	added := int64(0)
	rms := md.ResourceMetrics()
	for i := 0; i < rms.Len(); i++ {
		rm := rms.At(i)
		id := p.e.identify(ctx, rm.Resource().Attributes(), "", &lc)
		if !p.e.cfg.Exemplars.Enabled || (!id.known() && id.service == "") {
			continue
		}
		sms := rm.ScopeMetrics()
		for j := 0; j < sms.Len(); j++ {
			ms := sms.At(j).Metrics()
			for k := 0; k < ms.Len(); k++ {
				added += p.addExemplars(ms.At(k), &id)
			}
		}
	}
	p.e.tel.recordLookups(ctx, &lc)
	if added > 0 {
		p.e.tel.exemplars.Add(ctx, added)
	}
	return md, nil
}

// unitScale is the number of nanoseconds in one unit of a duration metric,
// or zero when the unit is not a time unit.
func unitScale(unit string) float64 {
	switch unit {
	case "ns":
		return 1
	case "us", "µs":
		return 1e3
	case "ms":
		return 1e6
	case "s":
		return 1e9
	case "min":
		return 60e9
	}
	return 0
}

func (p *metricsProcessor) window(ts pcommon.Timestamp) correlate.SpanFilter {
	if ts == 0 {
		ts = pcommon.NewTimestampFromTime(p.e.now())
	}
	from := ts.AsTime().Add(-p.e.cfg.Exemplars.MaxAge)
	return correlate.SpanFilter{From: pcommon.NewTimestampFromTime(from), To: ts}
}

func (p *metricsProcessor) addExemplars(m pmetric.Metric, id *podIdentity) int64 {
	added := int64(0)
	switch m.Type() {
	case pmetric.MetricTypeHistogram:
		scale := unitScale(m.Unit())
		if scale == 0 {
			return 0 // the units do not agree with span durations
		}
		dps := m.Histogram().DataPoints()
		for i := 0; i < dps.Len(); i++ {
			added += p.histogramExemplars(dps.At(i), scale, id)
		}
	case pmetric.MetricTypeExponentialHistogram:
		scale := unitScale(m.Unit())
		if scale == 0 {
			return 0
		}
		dps := m.ExponentialHistogram().DataPoints()
		for i := 0; i < dps.Len(); i++ {
			added += p.exponentialExemplars(dps.At(i), scale, id)
		}
	case pmetric.MetricTypeSum:
		dps := m.Sum().DataPoints()
		errorMetric := isErrorName(m.Name())
		for i := 0; i < dps.Len(); i++ {
			dp := dps.At(i)
			if dp.Exemplars().Len() > 0 {
				continue
			}
			f := p.window(dp.Timestamp())
			f.ErrorsOnly = errorMetric || isErrorPoint(dp.Attributes())
			ref, ok := p.e.index.RecentSpan(f, id.service, id.key, id.altKey)
			if !ok {
				continue
			}
			ex := newExemplar(dp.Exemplars(), ref)
			p.e.index.AddExemplar(ref.TraceID)
			if dp.ValueType() == pmetric.NumberDataPointValueTypeInt {
				ex.SetIntValue(1)
			} else {
				ex.SetDoubleValue(1)
			}
			added++
		}
	}
	return added
}

// histogramExemplars adds exemplars to an explicit-bucket histogram point.
func (p *metricsProcessor) histogramExemplars(dp pmetric.HistogramDataPoint, unit float64, id *podIdentity) int64 {
	bounds, counts := dp.ExplicitBounds(), dp.BucketCounts()
	if counts.Len() == 0 || counts.Len() != bounds.Len()+1 {
		return 0
	}
	return p.bucketExemplars(dp.Exemplars(), dp.Timestamp(), counts.Len(), unit, id, func(b int) (uint64, bucket) {
		bk := bucket{hasLo: b > 0, hasHi: b < bounds.Len()}
		if bk.hasLo {
			bk.lo = bounds.At(b - 1)
		}
		if bk.hasHi {
			bk.hi = bounds.At(b)
		}
		return counts.At(b), bk
	})
}

// exponentialExemplars adds exemplars to an exponential histogram point.
// Positive bucket i covers (2^(i·2^-scale), 2^((i+1)·2^-scale)]; the zero
// and negative buckets hold no span duration.
func (p *metricsProcessor) exponentialExemplars(dp pmetric.ExponentialHistogramDataPoint, unit float64, id *podIdentity) int64 {
	pos := dp.Positive()
	counts := pos.BucketCounts()
	width := math.Exp2(-float64(dp.Scale())) // a bucket's width in log2
	return p.bucketExemplars(dp.Exemplars(), dp.Timestamp(), counts.Len(), unit, id, func(k int) (uint64, bucket) {
		i := float64(pos.Offset()) + float64(k)
		return counts.At(k), bucket{lo: math.Exp2(i * width), hi: math.Exp2((i + 1) * width), hasLo: true, hasHi: true}
	})
}

// bucket is a histogram bucket's range (lo, hi] in the metric's unit; an
// end that is not set is open.
type bucket struct {
	lo, hi       float64
	hasLo, hasHi bool
}

// bucketExemplars adds to a point that has none, from the highest of its n
// buckets down, one exemplar per non-empty bucket for which a recent span's
// duration falls in the bucket, up to MaxPerPoint.
func (p *metricsProcessor) bucketExemplars(exs pmetric.ExemplarSlice, ts pcommon.Timestamp, n int, unit float64, id *podIdentity, at func(b int) (uint64, bucket)) int64 {
	if exs.Len() > 0 {
		return 0
	}
	added := int64(0)
	for b := n - 1; b >= 0 && added < int64(p.e.cfg.Exemplars.MaxPerPoint); b-- {
		count, bk := at(b)
		if count == 0 {
			continue
		}
		f := p.window(ts)
		if bk.hasLo {
			f.MinDuration, f.MinExclusive = toDuration(bk.lo, unit), true
		}
		if bk.hasHi {
			f.MaxDuration = toDuration(bk.hi, unit)
			if f.MaxDuration <= 0 {
				continue // a bucket at or below zero holds no span
			}
		}
		ref, ok := p.e.index.RecentSpan(f, id.service, id.key, id.altKey)
		if !ok {
			continue
		}
		ex := newExemplar(exs, ref)
		p.e.index.AddExemplar(ref.TraceID)
		ex.SetDoubleValue(float64(ref.Duration()) / unit)
		added++
	}
	return added
}

func toDuration(v, scale float64) time.Duration {
	ns := v * scale
	switch {
	case ns <= 0:
		return 0
	case ns >= math.MaxInt64:
		return math.MaxInt64
	}
	return time.Duration(ns)
}

func newExemplar(exs pmetric.ExemplarSlice, ref correlate.SpanRef) pmetric.Exemplar {
	ex := exs.AppendEmpty()
	ex.SetTimestamp(ref.End)
	ex.SetTraceID(ref.TraceID)
	ex.SetSpanID(ref.SpanID)
	ex.FilteredAttributes().PutStr(correlate.SourceAttributeKey, correlate.SourceInferred.String())
	return ex
}

func isErrorName(name string) bool {
	n := strings.ToLower(name)
	return strings.Contains(n, "error") || strings.Contains(n, "fail") || strings.Contains(n, "fault") || strings.Contains(n, "exception")
}

// isErrorPoint recognises the attributes that mark error series: span
// metrics' status code, OpenTelemetry's error.type, HTTP 5xx.
func isErrorPoint(attrs pcommon.Map) bool {
	if v, ok := attrs.Get("status.code"); ok && v.Str() == "STATUS_CODE_ERROR" {
		return true
	}
	if v, ok := attrs.Get("status_code"); ok && v.Str() == "STATUS_CODE_ERROR" {
		return true
	}
	if v, ok := attrs.Get("otel.status_code"); ok && v.Str() == "ERROR" {
		return true
	}
	if _, ok := attrs.Get("error.type"); ok {
		return true
	}
	if v, ok := attrs.Get("http.response.status_code"); ok && v.Type() == pcommon.ValueTypeInt && v.Int() >= 500 {
		return true
	}
	return false
}
