package correlate

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// tableModel runs a traceTable next to a Go map, with entries as a shard
// keeps them.
type tableModel struct {
	t       traceTable
	entries []traceEntry
	want    map[pcommon.TraceID]int32
}

func (m *tableModel) check(tb testing.TB, id pcommon.TraceID) {
	tb.Helper()
	got, ok := m.t.find(id, m.entries)
	want, wantOK := m.want[id]
	if ok != wantOK || got != want {
		tb.Fatalf("find(%s) = %d, %v; want %d, %v", id, got, ok, want, wantOK)
	}
}

func (m *tableModel) apply(tb testing.TB, op byte, id pcommon.TraceID) {
	tb.Helper()
	switch op % 3 {
	case 0: // insert, if new
		if _, ok := m.want[id]; !ok {
			slot := int32(len(m.entries))
			m.entries = append(m.entries, traceEntry{id: id})
			m.t.insert(id, slot)
			m.want[id] = slot
		}
	case 1:
		m.t.remove(id, m.entries)
		delete(m.want, id)
	}
	m.check(tb, id)
	if m.t.len() != len(m.want) {
		tb.Fatalf("len %d, want %d", m.t.len(), len(m.want))
	}
}

// ids from a few values, so that operations meet the same IDs again; some
// share their hash's low bits and build runs that wrap around the table.
func tableID(v uint16) pcommon.TraceID {
	var id pcommon.TraceID
	binary.LittleEndian.PutUint16(id[14:], v)
	return id
}

func TestTraceTableAgainstMap(t *testing.T) {
	for _, tc := range []struct {
		name   string
		ops    int
		values int
	}{
		{"small and crowded", 20_000, 24},
		{"growing", 50_000, 5_000},
		{"churn at a steady size", 200_000, 1_000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, uint64(tc.values)))
			m := &tableModel{want: map[pcommon.TraceID]int32{}}
			for range tc.ops {
				m.apply(t, byte(rng.IntN(3)), tableID(uint16(rng.IntN(tc.values))))
			}
			// Every value, present or not, is found as the map says.
			for v := range tc.values {
				m.check(t, tableID(uint16(v)))
			}
			if 2*m.t.len() > len(m.t.cells) {
				t.Fatalf("%d IDs in %d cells: more than half full", m.t.len(), len(m.t.cells))
			}
		})
	}
}

func TestTraceTableLeftPaddedIDs(t *testing.T) {
	// 64-bit IDs padded to 128 bits: the upper half is zero.
	m := &tableModel{want: map[pcommon.TraceID]int32{}}
	for v := range uint64(10_000) {
		var id pcommon.TraceID
		binary.BigEndian.PutUint64(id[8:], v+1)
		m.apply(t, 0, id)
	}
	// The hash spreads them: no long runs of occupied cells to probe.
	longest, run := 0, 0
	for _, c := range append(m.t.cells, m.t.cells...) { // runs may wrap
		if c.slot == 0 {
			run = 0
			continue
		}
		run++
		longest = max(longest, run)
	}
	if longest > 64 {
		t.Fatalf("a run of %d occupied cells among %d for %d IDs", longest, len(m.t.cells), m.t.len())
	}
}

func FuzzTraceTable(f *testing.F) {
	f.Add([]byte{0, 1, 0, 2, 0, 3, 1, 2, 0, 4, 2, 3})
	f.Add([]byte{0, 0, 0, 16, 0, 32, 1, 0, 2, 16, 2, 32})
	f.Fuzz(func(t *testing.T, ops []byte) {
		m := &tableModel{want: map[pcommon.TraceID]int32{}}
		for i := 0; i+1 < len(ops); i += 2 {
			m.apply(t, ops[i], tableID(uint16(ops[i+1])))
		}
		for v := range 256 {
			m.check(t, tableID(uint16(v)))
		}
	})
}
