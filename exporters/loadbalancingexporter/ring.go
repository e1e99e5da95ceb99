package loadbalancingexporter

import (
	"hash/fnv"
	"slices"
	"strconv"
)

// pointsPerEndpoint is how many places each endpoint takes on the ring:
// enough that each of 2–10 endpoints gets close to its share of keys.
const pointsPerEndpoint = 160

// ring is a consistent-hash ring over endpoints: adding or removing one of N
// endpoints moves about 1/N of the keys. It is immutable; a change of the
// endpoint set builds a new one.
type ring struct {
	points    []uint64 // sorted
	owners    []int    // endpoint index of each point
	endpoints []string // sorted
}

func newRing(endpoints []string) *ring {
	eps := slices.Clone(endpoints)
	slices.Sort(eps)
	eps = slices.Compact(eps)
	type point struct {
		hash  uint64
		owner int
	}
	pts := make([]point, 0, len(eps)*pointsPerEndpoint)
	for i, ep := range eps {
		for v := range pointsPerEndpoint {
			pts = append(pts, point{hashString(ep + "#" + strconv.Itoa(v)), i})
		}
	}
	slices.SortFunc(pts, func(a, b point) int {
		switch {
		case a.hash < b.hash:
			return -1
		case a.hash > b.hash:
			return 1
		}
		return a.owner - b.owner
	})
	r := &ring{endpoints: eps, points: make([]uint64, len(pts)), owners: make([]int, len(pts))}
	for i, p := range pts {
		r.points[i], r.owners[i] = p.hash, p.owner
	}
	return r
}

func hashString(s string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(s))
	return mix(h.Sum64())
}

// mix spreads a 64-bit value over the ring (fnv's low bits vary little for
// similar inputs).
func mix(x uint64) uint64 {
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x
}

// owner returns the index of the endpoint that owns key, skipping those for
// which skip says so (replicas that just failed), unless every one is
// skipped. It returns -1 on an empty ring.
func (r *ring) owner(key uint64, skip func(int) bool) int {
	if len(r.points) == 0 {
		return -1
	}
	i, _ := slices.BinarySearch(r.points, key)
	first := -1
	for n := 0; n < len(r.points); n++ {
		o := r.owners[(i+n)%len(r.points)]
		if first < 0 {
			first = o
		}
		if skip == nil || !skip(o) {
			return o
		}
		// Each endpoint has many points: stop after a full turn of owners.
		if n > len(r.endpoints)*pointsPerEndpoint {
			break
		}
	}
	return first
}
