package loadgen

import (
	"math/bits"
	"time"
)

// latencySubBuckets is the number of buckets per power of two of
// microseconds: a latency is known to within 1/64 (1.6%) of itself.
const latencySubBuckets = 64

// latencyBuckets covers 0 to 2^42 µs (about 50 days).
const latencyBuckets = latencySubBuckets * (42 - 6 + 2)

// latencyHistogram counts request latencies in log-linear buckets, so that
// a run of any length keeps a fixed 19 KiB and a percentile costs one walk
// over the buckets, however many requests were sent.
type latencyHistogram struct {
	counts [latencyBuckets]int64
	n      int64
	max    time.Duration
}

func latencyBucket(d time.Duration) int {
	us := uint64(max(d, 0) / time.Microsecond)
	if us < latencySubBuckets {
		return int(us)
	}
	// Keep the top 7 bits: a mantissa in [64, 128) and the shift.
	shift := bits.Len64(us) - 7
	i := latencySubBuckets*(shift+1) + int(us>>shift) - latencySubBuckets
	return min(i, latencyBuckets-1)
}

// latencyBucketLow is the smallest latency of bucket i.
func latencyBucketLow(i int) time.Duration {
	if i < latencySubBuckets {
		return time.Duration(i) * time.Microsecond
	}
	shift := i/latencySubBuckets - 1
	mant := uint64(i%latencySubBuckets + latencySubBuckets)
	return time.Duration(mant<<shift) * time.Microsecond
}

func (h *latencyHistogram) record(d time.Duration) {
	h.counts[latencyBucket(d)]++
	h.n++
	h.max = max(h.max, d)
}

// percentile returns the latency below which a share q of the requests
// fell: the low end of the bucket holding the request of that rank, never
// above the largest latency seen.
func (h *latencyHistogram) percentile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := min(int64(q*float64(h.n)), h.n-1) // 0-based
	var seen int64
	for i, c := range h.counts {
		if seen += c; seen > rank {
			return min(latencyBucketLow(i), h.max)
		}
	}
	return h.max
}
