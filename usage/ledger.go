package usage

import (
	"cmp"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
)

// Key is who sent an item: its Kubernetes namespace, workload and service.
// An unknown part is [Unknown].
type Key struct {
	Namespace, Workload, Service string
}

// Label values of the keys that are not a sender's own.
const (
	// Unknown is a key part that the item does not carry.
	Unknown = "unknown"
	// OtherValue is every part of [Other].
	OtherValue = "other"
)

// Other is the key that every key without its own count is folded into.
var Other = Key{Namespace: OtherValue, Workload: OtherValue, Service: OtherValue}

// Counts are the items and their encoded bytes counted for one key.
type Counts struct {
	Items, Bytes int64
}

// Limits bound a ledger.
type Limits struct {
	// TopN is how many keys are counted under their own name; the rest are
	// counted as [Other]. Positive.
	TopN int
	// Candidates is how many keys beyond TopN are tracked (by volume only)
	// so that one that grows can be promoted. Positive.
	Candidates int
}

// Validate names the bad limit.
func (l Limits) Validate() error {
	if l.TopN <= 0 {
		return fmt.Errorf("top_n: must be positive, got %d", l.TopN)
	}
	if l.Candidates <= 0 {
		return fmt.Errorf("candidates: must be positive, got %d", l.Candidates)
	}
	return nil
}

// Ledger counts items and bytes per key, the top keys under their own name
// and the rest as [Other]. The zero value is not usable: use [NewLedger]. A
// Ledger is safe for concurrent use; [Ledger.Add] on a tracked key takes a
// read lock and a few atomic adds.
type Ledger struct {
	limits Limits

	// mu guards the membership of entries and every entry's named flag;
	// the counters themselves are atomic, added to under the read lock.
	mu      sync.RWMutex
	entries map[Key]*entry
	named   int
	other   counters
	// misses counts adds of untracked keys to a full ledger.
	misses atomic.Uint32
	// minScore is the least score of a candidate as of the last eviction
	// or Rank (updated under mu, read without it).
	minScore atomic.Int64
}

type counters struct {
	items, bytes atomic.Int64
}

func (c *counters) add(items, bytes int64) {
	c.items.Add(items)
	c.bytes.Add(bytes)
}

func (c *counters) load() Counts { return Counts{Items: c.items.Load(), Bytes: c.bytes.Load()} }

// entry is one tracked key.
type entry struct {
	// own counts what the key sent while named (its own series).
	own counters
	// score is the key's recent volume in bytes (items when a caller
	// counts no bytes), halved at every Rank: what ranks keys.
	score atomic.Int64
	// named is whether the key is counted under its own name; guarded by
	// Ledger.mu.
	named bool
}

// NewLedger returns an empty ledger with limits, which must be valid.
func NewLedger(limits Limits) (*Ledger, error) {
	if err := limits.Validate(); err != nil {
		return nil, err
	}
	return &Ledger{limits: limits, entries: make(map[Key]*entry, limits.TopN+limits.Candidates)}, nil
}

// Add counts items and their encoded bytes for k.
func (l *Ledger) Add(k Key, items, bytes int64) {
	weight := bytes
	if weight == 0 {
		weight = items
	}
	l.mu.RLock()
	if e := l.entries[k]; e != nil {
		e.score.Add(weight)
		if e.named {
			e.own.add(items, bytes)
		} else {
			l.other.add(items, bytes)
		}
		l.mu.RUnlock()
		return
	}
	if len(l.entries) >= l.limits.TopN+l.limits.Candidates && weight < l.minScore.Load() && l.misses.Add(1)%insertEvery != 0 {
		// Full, and the add is smaller than the least candidate's score:
		// most such adds are counted in Other without the write lock and
		// the scan for a victim. A key that sends a lot at once gets in at
		// once, one that keeps sending small adds gets in after a few; a
		// flood of one-off keys mostly does not.
		l.other.add(items, bytes)
		l.mu.RUnlock()
		return
	}
	l.mu.RUnlock()
	l.insert(k, items, bytes, weight)
}

// insertEvery is how many adds of untracked keys to a full ledger it takes
// for one to be tracked.
const insertEvery = 16

// insert starts tracking k. While fewer than TopN keys are named, a new key
// is named at once. When the ledger is full, the candidate with the least
// recent volume makes room, and k inherits its score (the Space-Saving
// algorithm's overestimate): a key that keeps sending climbs past the
// one-off keys and is named at the next Rank.
func (l *Ledger) insert(k Key, items, bytes, weight int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e := l.entries[k]; e != nil { // inserted since the read lock was let go
		e.score.Add(weight)
		if e.named {
			e.own.add(items, bytes)
		} else {
			l.other.add(items, bytes)
		}
		return
	}
	e := &entry{}
	if len(l.entries) >= l.limits.TopN+l.limits.Candidates {
		var minKey Key
		var minEntry *entry
		for key, c := range l.entries {
			if !c.named && (minEntry == nil || c.score.Load() < minEntry.score.Load()) {
				minKey, minEntry = key, c
			}
		}
		if minEntry == nil { // only named keys: cannot happen with Candidates > 0
			l.other.add(items, bytes)
			return
		}
		delete(l.entries, minKey)
		e.score.Store(minEntry.score.Load())
		l.minScore.Store(minEntry.score.Load())
	}
	e.score.Add(weight)
	if l.named < l.limits.TopN {
		e.named = true
		l.named++
		e.own.add(items, bytes)
	} else {
		l.other.add(items, bytes)
	}
	l.entries[k] = e
}

// Rank names the TopN tracked keys with the most recent volume, and halves
// every key's recent volume, so that the ranking follows what keys send now
// while remembering the last few intervals. A key that loses its name starts
// again from zero if it is named again later (a new series); what it sent
// while not named is counted in Other. Call it at a steady interval (every
// few scrapes).
func (l *Ledger) Rank() {
	l.mu.Lock()
	defer l.mu.Unlock()
	type ranked struct {
		e     *entry
		score int64
	}
	all := make([]ranked, 0, len(l.entries))
	for _, e := range l.entries {
		all = append(all, ranked{e, e.score.Load()})
	}
	// Highest score first; on a tie the key already named keeps its name,
	// so equal senders do not swap series at every Rank.
	slices.SortFunc(all, func(a, b ranked) int {
		if c := cmp.Compare(b.score, a.score); c != 0 {
			return c
		}
		switch {
		case a.e.named && !b.e.named:
			return -1
		case b.e.named && !a.e.named:
			return 1
		}
		return 0
	})
	l.named = 0
	minScore := int64(0)
	if n := len(all); n > l.limits.TopN {
		minScore = all[n-1].score / 2
	}
	l.minScore.Store(minScore)
	for i, r := range all {
		named := i < l.limits.TopN && r.score > 0
		if named != r.e.named {
			r.e.own.items.Store(0)
			r.e.own.bytes.Store(0)
			r.e.named = named
		}
		if named {
			l.named++
		}
		r.e.score.Store(r.score / 2)
	}
}

// Each calls fn with every named key and its counts since it was named,
// then with [Other] and the counts of everything else, Other only when it
// has counted something. fn must not call the ledger.
func (l *Ledger) Each(fn func(Key, Counts)) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	for k, e := range l.entries {
		if e.named {
			fn(k, e.own.load())
		}
	}
	if c := l.other.load(); c.Items != 0 || c.Bytes != 0 {
		fn(Other, c)
	}
}

// Tracked is how many keys the ledger tracks, named or not: at most
// TopN + Candidates.
func (l *Ledger) Tracked() int {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return len(l.entries)
}
