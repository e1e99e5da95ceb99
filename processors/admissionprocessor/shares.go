package admissionprocessor

import (
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// Why a request was refused: the reason label of the refusal counters.
const (
	reasonLimit     = "limit"      // the pipeline was at max_in_flight_items
	reasonFairShare = "fair_share" // its namespace held more than its share
	reasonRateLimit = "rate_limit" // its namespace was over its rate limit
)

// otherNamespace is the entry the namespaces past max_namespaces share.
const otherNamespace = "other"

// sweepEvery is how often idle namespaces stop counting for the shares.
const sweepEvery = time.Second

// shares decides, for one pipeline, which namespace's request is admitted:
// the items each namespace holds in flight against its fair share of the
// limit, and each namespace's rate limit. Safe for concurrent use.
type shares struct {
	cfg   *Config
	limit int64
	fair  bool
	now   func() time.Time

	// mu guards everything below, and the in-flight counts of every entry.
	mu     sync.Mutex
	byName map[string]*namespaceState
	// activeWeight is the sum of the weights of the active namespaces.
	activeWeight float64
	lastSweep    time.Time
}

// namespaceState is one namespace's share of a pipeline.
type namespaceState struct {
	name         string
	weight, rate float64
	inFlight     int64
	lastSeen     time.Time
	// active is whether the weight counts in activeWeight: the namespace
	// holds items in flight or sent within share_window.
	active bool
	// tokens is the rate limit's bucket (items), refilled at rate up to
	// one second's worth; it may go below zero after a large request,
	// which then waits its turn.
	tokens   float64
	refilled time.Time
}

func newShares(cfg *Config, now func() time.Time) *shares {
	return &shares{cfg: cfg, limit: cfg.MaxInFlightItems, fair: cfg.FairShare, now: now,
		byName: map[string]*namespaceState{}, lastSweep: now()}
}

// needed reports whether cfg asks for per-namespace decisions at all.
func needed(cfg *Config) bool {
	if cfg.FairShare || cfg.DefaultRateLimit > 0 {
		return true
	}
	for _, ns := range cfg.Namespaces {
		if ns.RateLimit > 0 {
			return true
		}
	}
	return false
}

// admit takes n items of namespace name into flight, with total the items
// in flight in the whole pipeline (changed under mu only; read by the
// in-flight gauge without it). It returns the namespace's state, to give to
// leave, or the reason for a refusal.
func (s *shares) admit(name string, n int64, total *atomic.Int64) (*namespaceState, string) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if now.Sub(s.lastSweep) >= sweepEvery {
		s.sweep(now)
	}
	ns := s.state(name, now)
	ns.lastSeen = now
	if !ns.active {
		ns.active = true
		s.activeWeight += ns.weight
	}
	if ns.rate > 0 {
		ns.tokens = math.Min(ns.rate, ns.tokens+ns.rate*now.Sub(ns.refilled).Seconds())
		ns.refilled = now
		if ns.tokens <= 0 {
			return nil, reasonRateLimit
		}
	}
	cur := total.Load()
	if cur > 0 && cur+n > s.limit {
		return nil, reasonLimit
	}
	// From half of the limit on, a namespace that already holds more than
	// its share is refused, so that the others still find room. A
	// namespace with nothing in flight is never over its share, so any one
	// request of it can pass.
	if s.fair && cur+n > s.limit/2 && ns.inFlight > 0 && float64(ns.inFlight+n) > s.share(ns) {
		return nil, reasonFairShare
	}
	total.Store(cur + n)
	ns.inFlight += n
	if ns.rate > 0 {
		ns.tokens -= float64(n)
	}
	return ns, ""
}

// leave takes n items of ns out of flight.
func (s *shares) leave(ns *namespaceState, n int64, total *atomic.Int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ns.inFlight -= n
	total.Add(-n)
}

// share is the items ns may hold in flight when the pipeline is under
// pressure.
func (s *shares) share(ns *namespaceState) float64 {
	if s.activeWeight <= 0 {
		return float64(s.limit)
	}
	return float64(s.limit) * ns.weight / s.activeWeight
}

// state returns the state of namespace name, created when new; past
// max_namespaces, new namespaces share one state.
func (s *shares) state(name string, now time.Time) *namespaceState {
	if ns := s.byName[name]; ns != nil {
		return ns
	}
	if len(s.byName) >= s.cfg.MaxNamespaces {
		name = otherNamespace
		if ns := s.byName[name]; ns != nil {
			return ns
		}
	}
	weight, rate := s.cfg.namespace(name)
	ns := &namespaceState{name: name, weight: weight, rate: rate, tokens: rate, refilled: now}
	s.byName[name] = ns
	return ns
}

// sweep makes the namespaces idle for share_window inactive, forgets those
// idle for twice as long, and sums the active weights again (so that float
// rounding never accumulates).
func (s *shares) sweep(now time.Time) {
	s.lastSweep = now
	s.activeWeight = 0
	for name, ns := range s.byName {
		idle := ns.inFlight == 0 && now.Sub(ns.lastSeen) > s.cfg.ShareWindow
		// Forgotten after long enough for a rate limit's bucket to be full
		// again, as a new state's is.
		if idle && now.Sub(ns.lastSeen) > max(2*s.cfg.ShareWindow, time.Second) {
			delete(s.byName, name)
			continue
		}
		ns.active = !idle
		if ns.active {
			s.activeWeight += ns.weight
		}
	}
}
