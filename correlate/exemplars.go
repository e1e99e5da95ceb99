package correlate

import (
	"math"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// ExemplarConfig says which spans may become a metric point's exemplars.
type ExemplarConfig struct {
	// MaxAge is how long before a point's timestamp a span may have ended.
	MaxAge time.Duration
	// MaxPerPoint bounds the exemplars added to one histogram point (one
	// per bucket at most).
	MaxPerPoint int
}

// AddExemplars adds inferred exemplars, from the recent spans of id's pod
// and then of its service, to the points of m that have none, and returns
// how many it added:
//
//   - a histogram in a time unit (ns, us, ms, s, min), explicit or
//     exponential, gets from its highest non-empty bucket down one exemplar
//     per bucket whose bounds hold a recent span's duration (the value: that
//     duration in the metric's unit), at most cfg.MaxPerPoint; histograms
//     in other units get none, their values would not be durations;
//   - a sum point gets the most recent span, an error series (by its name
//     or its attributes) the most recent error span.
//
// Each exemplar carries SourceAttributeKey = inferred in its filtered
// attributes. now stands for a point's timestamp when it has none.
func (t *TraceIndex) AddExemplars(m pmetric.Metric, id *PodIdentity, cfg ExemplarConfig, now time.Time) int64 {
	x := exemplarAdder{index: t, id: id, cfg: cfg, now: now}
	return x.add(m)
}

type exemplarAdder struct {
	index *TraceIndex
	id    *PodIdentity
	cfg   ExemplarConfig
	now   time.Time
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

func (x *exemplarAdder) window(ts pcommon.Timestamp) SpanFilter {
	if ts == 0 {
		ts = pcommon.NewTimestampFromTime(x.now)
	}
	from := ts.AsTime().Add(-x.cfg.MaxAge)
	return SpanFilter{From: pcommon.NewTimestampFromTime(from), To: ts}
}

func (x *exemplarAdder) add(m pmetric.Metric) int64 {
	added := int64(0)
	switch m.Type() {
	case pmetric.MetricTypeHistogram:
		scale := unitScale(m.Unit())
		if scale == 0 {
			return 0 // the units do not agree with span durations
		}
		dps := m.Histogram().DataPoints()
		for i := 0; i < dps.Len(); i++ {
			added += x.histogram(dps.At(i), scale)
		}
	case pmetric.MetricTypeExponentialHistogram:
		scale := unitScale(m.Unit())
		if scale == 0 {
			return 0
		}
		dps := m.ExponentialHistogram().DataPoints()
		for i := 0; i < dps.Len(); i++ {
			added += x.exponential(dps.At(i), scale)
		}
	case pmetric.MetricTypeSum:
		dps := m.Sum().DataPoints()
		errorMetric := isErrorName(m.Name())
		for i := 0; i < dps.Len(); i++ {
			dp := dps.At(i)
			if dp.Exemplars().Len() > 0 {
				continue
			}
			f := x.window(dp.Timestamp())
			f.ErrorsOnly = errorMetric || isErrorPoint(dp.Attributes())
			ref, ok := x.index.RecentSpan(f, x.id.Service, x.id.Key, x.id.AltKey)
			if !ok {
				continue
			}
			ex := newExemplar(dp.Exemplars(), ref)
			x.index.AddExemplar(ref.TraceID)
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

// histogram adds exemplars to an explicit-bucket histogram point.
func (x *exemplarAdder) histogram(dp pmetric.HistogramDataPoint, unit float64) int64 {
	bounds, counts := dp.ExplicitBounds(), dp.BucketCounts()
	if counts.Len() == 0 || counts.Len() != bounds.Len()+1 {
		return 0
	}
	return x.buckets(dp.Exemplars(), dp.Timestamp(), counts.Len(), unit, func(b int) (uint64, bucket) {
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

// exponential adds exemplars to an exponential histogram point.
// Positive bucket i covers (2^(i·2^-scale), 2^((i+1)·2^-scale)]; the zero
// and negative buckets hold no span duration.
func (x *exemplarAdder) exponential(dp pmetric.ExponentialHistogramDataPoint, unit float64) int64 {
	pos := dp.Positive()
	counts := pos.BucketCounts()
	width := math.Exp2(-float64(dp.Scale())) // a bucket's width in log2
	return x.buckets(dp.Exemplars(), dp.Timestamp(), counts.Len(), unit, func(k int) (uint64, bucket) {
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

// buckets adds to a point that has none, from the highest of its n
// buckets down, one exemplar per non-empty bucket for which a recent span's
// duration falls in the bucket, up to MaxPerPoint.
func (x *exemplarAdder) buckets(exs pmetric.ExemplarSlice, ts pcommon.Timestamp, n int, unit float64, at func(b int) (uint64, bucket)) int64 {
	if exs.Len() > 0 {
		return 0
	}
	added := int64(0)
	for b := n - 1; b >= 0 && added < int64(x.cfg.MaxPerPoint); b-- {
		count, bk := at(b)
		if count == 0 {
			continue
		}
		f := x.window(ts)
		if bk.hasLo {
			f.MinDuration, f.MinExclusive = toDuration(bk.lo, unit), true
		}
		if bk.hasHi {
			f.MaxDuration = toDuration(bk.hi, unit)
			if f.MaxDuration <= 0 {
				continue // a bucket at or below zero holds no span
			}
		}
		ref, ok := x.index.RecentSpan(f, x.id.Service, x.id.Key, x.id.AltKey)
		if !ok {
			continue
		}
		ex := newExemplar(exs, ref)
		x.index.AddExemplar(ref.TraceID)
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

func newExemplar(exs pmetric.ExemplarSlice, ref SpanRef) pmetric.Exemplar {
	ex := exs.AppendEmpty()
	ex.SetTimestamp(ref.End)
	ex.SetTraceID(ref.TraceID)
	ex.SetSpanID(ref.SpanID)
	ex.FilteredAttributes().PutStr(SourceAttributeKey, SourceInferred.String())
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
