package loadgen

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestLatencyBucketsAreOrderedAndNarrow(t *testing.T) {
	prev := time.Duration(-1)
	for i := range latencyBuckets {
		low := latencyBucketLow(i)
		if low <= prev {
			t.Fatalf("bucket %d starts at %s, not after bucket %d at %s", i, low, i-1, prev)
		}
		if got := latencyBucket(low); got != i {
			t.Fatalf("latency %s falls in bucket %d, want %d", low, got, i)
		}
		prev = low
	}
	for _, d := range []time.Duration{0, time.Microsecond, 63 * time.Microsecond, 64 * time.Microsecond,
		999 * time.Microsecond, 12 * time.Millisecond, 1500 * time.Millisecond, time.Hour} {
		low := latencyBucketLow(latencyBucket(d))
		if low > d || float64(d-low) > float64(d)/latencySubBuckets {
			t.Errorf("latency %s lands in a bucket starting at %s: more than 1/%d below it", d, low, latencySubBuckets)
		}
	}
	if got := latencyBucket(1000 * 24 * time.Hour); got != latencyBuckets-1 {
		t.Errorf("a latency past the range falls in bucket %d, want the last", got)
	}
	if got := latencyBucket(-time.Second); got != 0 {
		t.Errorf("a negative latency falls in bucket %d, want 0", got)
	}
}

// exactPercentile is what the loader computed before it kept a histogram:
// the sorted latencies, indexed by rank.
func exactPercentile(d []time.Duration, q float64) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

func TestLatencyPercentilesMatchTheSortedLatencies(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		name string
		gen  func() time.Duration
		n    int
	}{
		{"one request", func() time.Duration { return 3 * time.Millisecond }, 1},
		{"all equal", func() time.Duration { return 250 * time.Microsecond }, 1000},
		{"uniform 0-10ms", func() time.Duration { return time.Duration(rng.Int64N(int64(10 * time.Millisecond))) }, 100_000},
		{"long tail", func() time.Duration {
			return time.Duration(float64(time.Millisecond) * rng.ExpFloat64() * rng.ExpFloat64())
		}, 100_000},
		{"two modes", func() time.Duration {
			if rng.IntN(100) == 0 {
				return 2*time.Second + time.Duration(rng.Int64N(int64(time.Second)))
			}
			return time.Duration(rng.Int64N(int64(time.Millisecond)))
		}, 50_000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var h latencyHistogram
			all := make([]time.Duration, tc.n)
			for i := range all {
				all[i] = tc.gen()
				h.record(all[i])
			}
			for _, q := range []float64{0.5, 0.99, 1} {
				want := exactPercentile(all, q)
				got := h.percentile(q)
				// Within a bucket's width below the exact value, never above.
				if got > want || float64(want-got) > float64(want)/latencySubBuckets+float64(time.Microsecond) {
					t.Errorf("p%g = %s, sorted latencies give %s", q*100, got, want)
				}
			}
			if h.max != slices.Max(all) {
				t.Errorf("max = %s, want %s", h.max, slices.Max(all))
			}
		})
	}
	var empty latencyHistogram
	if got := empty.percentile(0.99); got != 0 {
		t.Errorf("p99 of no requests = %s, want 0", got)
	}
}

func BenchmarkLatencyHistogram(b *testing.B) {
	var h latencyHistogram
	d := time.Duration(0)
	b.ReportAllocs()
	for b.Loop() {
		d = (d + 7919*time.Microsecond) % (3 * time.Second)
		h.record(d)
	}
	sinkDuration = h.percentile(0.99)
}

var sinkDuration time.Duration
