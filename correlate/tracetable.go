package correlate

import (
	"encoding/binary"
	"math/bits"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// traceTable maps trace IDs to slots of a shard's entries: an open-addressing
// hash table with linear probing. A lookup reads a run of 8-byte cells
// (usually within one cache line) and then the entry it names, where a Go
// map also reads a control word and a separate key. Each cell keeps a 32-bit
// hash of its ID, so the entries of other traces are rarely read. Deletion
// shifts the cells after it back, so no tombstones build up under the steady
// churn of a full index. The table doubles while it is more than half full.
type traceTable struct {
	cells []tableCell
	n     int
}

// tableCell is one cell: the entry's slot plus one (zero: empty), and the
// hash of the entry's ID, whose low bits are the cell's home position.
type tableCell struct {
	slot int32
	hash uint32
}

const minTableSize = 16

// hashTraceID mixes all 128 bits of an ID (the finalizer of MurmurHash3):
// trace IDs are meant to be random, but 64-bit IDs left-padded to 128 bits
// have a zero upper half, and test and benchmark IDs count up.
func hashTraceID(id pcommon.TraceID) uint32 {
	h := binary.LittleEndian.Uint64(id[:8]) ^ bits.RotateLeft64(binary.LittleEndian.Uint64(id[8:]), 31)
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return uint32(h)
}

// find returns the slot in entries of id.
func (t *traceTable) find(id pcommon.TraceID, entries []traceEntry) (int32, bool) {
	i, ok := t.cell(id, entries)
	if !ok {
		return 0, false
	}
	return t.cells[i].slot - 1, true
}

// cell returns the index of id's cell.
func (t *traceTable) cell(id pcommon.TraceID, entries []traceEntry) (int, bool) {
	if len(t.cells) == 0 {
		return 0, false
	}
	h := hashTraceID(id)
	mask := len(t.cells) - 1
	for i := int(h) & mask; ; i = (i + 1) & mask {
		c := t.cells[i]
		if c.slot == 0 {
			return 0, false
		}
		if c.hash == h && entries[c.slot-1].id == id {
			return i, true
		}
	}
}

// insert adds id, which must not be in the table, for entry slot.
func (t *traceTable) insert(id pcommon.TraceID, slot int32) {
	if 2*(t.n+1) > len(t.cells) {
		old := t.cells
		t.cells = make([]tableCell, max(minTableSize, 2*len(old)))
		for _, c := range old {
			if c.slot != 0 {
				t.put(c)
			}
		}
	}
	t.put(tableCell{slot: slot + 1, hash: hashTraceID(id)})
	t.n++
}

func (t *traceTable) put(c tableCell) {
	mask := len(t.cells) - 1
	i := int(c.hash) & mask
	for t.cells[i].slot != 0 {
		i = (i + 1) & mask
	}
	t.cells[i] = c
}

// remove deletes id from the table, if it is there.
func (t *traceTable) remove(id pcommon.TraceID, entries []traceEntry) {
	i, ok := t.cell(id, entries)
	if !ok {
		return
	}
	// Move back each later cell of the run whose home is not cyclically in
	// (i, j]: it may sit at i, and must, for lookups to reach it.
	mask := len(t.cells) - 1
	for j := (i + 1) & mask; t.cells[j].slot != 0; j = (j + 1) & mask {
		home := int(t.cells[j].hash) & mask
		if (i <= j && (home <= i || home > j)) || (i > j && home <= i && home > j) {
			t.cells[i] = t.cells[j]
			i = j
		}
	}
	t.cells[i] = tableCell{}
	t.n--
}

func (t *traceTable) len() int { return t.n }
