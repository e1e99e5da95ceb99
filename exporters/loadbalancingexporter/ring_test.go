package loadbalancingexporter

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func endpoints(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("10.0.0.%d:4317", i+1)
	}
	return out
}

func keys(n int) []uint64 {
	rng := rand.New(rand.NewPCG(1, 2))
	out := make([]uint64, n)
	for i := range out {
		var b [16]byte
		binary.BigEndian.PutUint64(b[:8], rng.Uint64())
		binary.BigEndian.PutUint64(b[8:], rng.Uint64())
		out[i] = traceKey(b)
	}
	return out
}

func TestRingSharesKeysEvenly(t *testing.T) {
	for _, n := range []int{2, 3, 5, 10} {
		t.Run(fmt.Sprint(n, " endpoints"), func(t *testing.T) {
			r := newRing(endpoints(n))
			counts := make([]int, n)
			ks := keys(100000)
			for _, k := range ks {
				counts[r.owner(k, nil)]++
			}
			for i, c := range counts {
				share := float64(c) / float64(len(ks)) * float64(n)
				assert.InDelta(t, 1.0, share, 0.25, "endpoint %d has %.2f of its share", i, share)
			}
		})
	}
}

func TestRingMovesAboutOneNthOnChange(t *testing.T) {
	tests := []struct {
		name     string
		from, to []string
		want     float64 // share of keys that move
	}{
		{"add a fourth", endpoints(3), endpoints(4), 1.0 / 4},
		{"remove one of four", endpoints(4), endpoints(3), 1.0 / 4},
		{"add an eleventh", endpoints(10), endpoints(11), 1.0 / 11},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := newRing(tt.from), newRing(tt.to)
			ks := keys(50000)
			moved := 0
			for _, k := range ks {
				if a.endpoints[a.owner(k, nil)] != b.endpoints[b.owner(k, nil)] {
					moved++
				}
			}
			assert.InDelta(t, tt.want, float64(moved)/float64(len(ks)), tt.want*0.3)
		})
	}
}

func TestRingSkipsFailedEndpoints(t *testing.T) {
	r := newRing(endpoints(3))
	ks := keys(10000)
	down := 1
	for _, k := range ks {
		normal := r.owner(k, nil)
		got := r.owner(k, func(i int) bool { return i == down })
		require.NotEqual(t, down, got)
		if normal != down {
			assert.Equal(t, normal, got, "keys of healthy endpoints stay")
		}
	}
	assert.Equal(t, r.owner(ks[0], nil), r.owner(ks[0], func(int) bool { return true }), "all down: the owner is asked anyway")
	assert.Equal(t, -1, newRing(nil).owner(1, nil))
}

func TestRingIgnoresOrderAndDuplicates(t *testing.T) {
	a := newRing([]string{"b:1", "a:1", "c:1"})
	b := newRing([]string{"c:1", "a:1", "b:1", "a:1"})
	for _, k := range keys(1000) {
		assert.Equal(t, a.endpoints[a.owner(k, nil)], b.endpoints[b.owner(k, nil)])
	}
}
