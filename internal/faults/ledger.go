package faults

import (
	"fmt"
	"sync"
)

// Stream names a kind of item the harness follows. Each has its own ID
// sequence and its own letter in the IDs it renders (fid=t42).
type Stream byte

const (
	Spans      Stream = 't'
	LogRecords Stream = 'l'
	Points     Stream = 'm'
	FileLines  Stream = 'f'
)

func (s Stream) String() string {
	switch s {
	case Spans:
		return "spans"
	case LogRecords:
		return "log records"
	case Points:
		return "data points"
	case FileLines:
		return "file log lines"
	}
	return fmt.Sprintf("stream %q", byte(s))
}

// Ledger records, per stream, which IDs were acknowledged to the sender and
// how often each arrived at a backend. IDs are handed out from 1 up, so the
// ledger keeps them in slices indexed by ID.
type Ledger struct {
	mu      sync.Mutex
	streams map[Stream]*book
}

type book struct {
	next      uint64
	acked     []bool  // by ID
	delivered []uint8 // arrivals by ID, saturating at 255
	unknown   int64   // arrivals of IDs never handed out
	// cut is the last ID handed out before MarkCut; Report tells the items
	// acknowledged before it from the ones after it.
	cut uint64
}

// NewLedger returns an empty ledger.
func NewLedger() *Ledger { return &Ledger{streams: map[Stream]*book{}} }

func (l *Ledger) book(s Stream) *book {
	b := l.streams[s]
	if b == nil {
		b = &book{acked: []bool{false}, delivered: []uint8{0}}
		l.streams[s] = b
	}
	return b
}

// Reserve hands out n consecutive IDs for one request and returns the first.
func (l *Ledger) Reserve(s Stream, n int) uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.book(s)
	first := b.next + 1
	b.next += uint64(n)
	for len(b.acked) <= int(b.next) {
		b.acked = append(b.acked, false)
		b.delivered = append(b.delivered, 0)
	}
	return first
}

// Ack records that the n IDs from first were acknowledged.
func (l *Ledger) Ack(s Stream, first uint64, n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.book(s)
	for id := first; id < first+uint64(n) && id <= b.next; id++ {
		b.acked[id] = true
	}
}

// Delivered records that the items with these IDs arrived at a backend.
func (l *Ledger) Delivered(s Stream, ids ...uint64) {
	if len(ids) == 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.book(s)
	for _, id := range ids {
		if id == 0 || id > b.next {
			b.unknown++
			continue
		}
		if b.delivered[id] < 255 {
			b.delivered[id]++
		}
	}
}

// MarkCut divides every stream's items in two: those handed out so far and
// those after. The corrupt-file scenario cuts at the corruption, since what
// the file held may be lost but nothing after it may.
func (l *Ledger) MarkCut() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, b := range l.streams {
		b.cut = b.next
	}
}

// Tally is what a Ledger holds for one stream.
type Tally struct {
	Stream string `json:"stream"`
	// Sent counts IDs handed out; Acknowledged the ones the sender saw
	// accepted.
	Sent         int64 `json:"sent"`
	Acknowledged int64 `json:"acknowledged"`
	// Delivered counts acknowledged items that arrived at least once;
	// Duplicates the arrivals beyond the first of any item.
	Delivered  int64 `json:"delivered"`
	Duplicates int64 `json:"duplicates"`
	// Lost counts acknowledged items that never arrived; LostBeforeCut the
	// part of them acknowledged before MarkCut.
	Lost          int64 `json:"lost"`
	LostBeforeCut int64 `json:"lost_before_cut"`
	// UnackedDelivered counts items whose request failed for the sender
	// (a timeout, a kill) but that arrived all the same: allowed.
	UnackedDelivered int64 `json:"unacked_delivered"`
	// Unknown counts arrivals of IDs the harness never sent: a defect.
	Unknown int64 `json:"unknown"`
	// MissingIDs lists a few lost IDs, for the log.
	MissingIDs []uint64 `json:"missing_ids,omitempty"`
}

// Report tallies every stream the ledger has seen.
func (l *Ledger) Report() map[Stream]Tally {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[Stream]Tally, len(l.streams))
	for s, b := range l.streams {
		t := Tally{Stream: s.String(), Sent: int64(b.next), Unknown: b.unknown}
		for id := uint64(1); id <= b.next; id++ {
			d := int64(b.delivered[id])
			if d > 1 {
				t.Duplicates += d - 1
			}
			switch {
			case !b.acked[id]:
				if d > 0 {
					t.UnackedDelivered++
				}
			case d > 0:
				t.Acknowledged++
				t.Delivered++
			default:
				t.Acknowledged++
				t.Lost++
				if id <= b.cut {
					t.LostBeforeCut++
				}
				if len(t.MissingIDs) < 5 {
					t.MissingIDs = append(t.MissingIDs, id)
				}
			}
		}
		out[s] = t
	}
	return out
}

// Missing counts acknowledged items not (yet) delivered, over all streams,
// leaving out those acknowledged before the cut when beforeCutAllowed.
func (l *Ledger) Missing(beforeCutAllowed bool) int64 {
	var n int64
	for _, t := range l.Report() {
		n += t.Lost
		if beforeCutAllowed {
			n -= t.LostBeforeCut
		}
	}
	return n
}

// acknowledged counts the items acknowledged so far, over all streams.
func (l *Ledger) acknowledged() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	var n int64
	for _, b := range l.streams {
		for _, a := range b.acked {
			if a {
				n++
			}
		}
	}
	return n
}

// handedOut is the last ID handed out for s.
func (l *Ledger) handedOut(s Stream) uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.book(s).next
}
