package correlate

import "sync/atomic"

// DelayBudget bounds the log records that wait for their spans. Logs often
// reach Braid before the spans they were written under, so a record that
// cannot be linked yet may wait a while inside its request and be tried
// again; a record waits only if it can take a place in the budget, and goes
// on unlinked at once when the budget is full, so that the records held in
// memory stay bounded under any number of concurrent requests. Safe for
// concurrent use.
type DelayBudget struct {
	limit int64
	held  atomic.Int64
}

// NewDelayBudget is a budget of limit places; zero or less holds nothing.
func NewDelayBudget(limit int) *DelayBudget { return &DelayBudget{limit: int64(limit)} }

// Reserve takes a place for one record and reports whether it got one.
func (b *DelayBudget) Reserve() bool {
	if b.held.Add(1) > b.limit {
		b.held.Add(-1)
		return false
	}
	return true
}

// Release gives back n places taken by Reserve.
func (b *DelayBudget) Release(n int) { b.held.Add(-int64(n)) }

// Held is how many places are taken.
func (b *DelayBudget) Held() int64 { return b.held.Load() }
