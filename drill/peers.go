package drill

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

const (
	// LocalHeader marks a request from another replica: with the value "1"
	// a server answers from its own index only, never asking its peers or
	// Jaeger in turn, so a fan-out is one hop and cannot loop.
	LocalHeader = "X-Braid-Drill-Local"
	// InstanceHeader is on every answer: the answering server's instance ID.
	// A server that reaches itself through its peer list (a static list that
	// names every replica, or a DNS answer that holds its own address) sees
	// its own ID and skips the answer.
	InstanceHeader = "X-Braid-Drill-Instance"

	defaultPeerTimeout = 2 * time.Second
	maxPeerAnswerBytes = 16 << 20
)

// PeerSource lists the drill-down APIs (host:port) of the other replicas of
// a gateway. Implementations are safe for concurrent use.
type PeerSource interface {
	Peers(ctx context.Context) ([]string, error)
}

// StaticPeers is a fixed list of peers.
type StaticPeers []string

// Peers returns the list.
func (p StaticPeers) Peers(context.Context) ([]string, error) { return slices.Clone(p), nil }

func (p StaticPeers) String() string { return strings.Join(p, ",") }

// Resolver is the part of *net.Resolver that DNSPeers uses.
type Resolver interface {
	LookupHost(ctx context.Context, host string) ([]string, error)
}

var _ Resolver = (*net.Resolver)(nil)

// DNSPeersConfig wires DNSPeers.
type DNSPeersConfig struct {
	// Address is host:port: a headless Service's name, whose A records are
	// the ready replicas, and the drill-down API's port on each.
	Address string
	// Resolver looks the name up; nil means net.DefaultResolver.
	Resolver Resolver
	// Refresh is how long an answer is used before the name is looked up
	// again (default 10s).
	Refresh time.Duration
	// Self are this replica's own IPs (its pod IP), left out of the peers.
	Self []string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// DNSPeers finds the peers by resolving a name, at most once per refresh.
// A failed lookup keeps the last good answer for another refresh; with no
// good answer yet, it is an error.
type DNSPeers struct {
	host, port string
	resolver   Resolver
	refresh    time.Duration
	self       map[string]bool
	now        func() time.Time

	// mu guards peers and expires; it is held during a lookup, so that
	// concurrent requests wait for one lookup rather than each making one.
	mu      sync.Mutex
	peers   []string
	expires time.Time
}

// NewDNSPeers checks cfg and returns a DNS peer source.
func NewDNSPeers(cfg DNSPeersConfig) (*DNSPeers, error) {
	host, port, err := SplitPeerAddress(cfg.Address)
	if err != nil {
		return nil, err
	}
	d := &DNSPeers{host: host, port: port, resolver: cfg.Resolver, refresh: cfg.Refresh, now: cfg.Now, self: map[string]bool{}}
	if d.resolver == nil {
		d.resolver = net.DefaultResolver
	}
	if d.refresh <= 0 {
		d.refresh = 10 * time.Second
	}
	if d.now == nil {
		d.now = time.Now
	}
	for _, ip := range cfg.Self {
		if ip != "" {
			d.self[ip] = true
		}
	}
	return d, nil
}

// SplitPeerAddress splits host:port and checks that both are there and the
// port is a number from 1 to 65535.
func SplitPeerAddress(addr string) (host, port string, err error) {
	host, port, err = net.SplitHostPort(addr)
	if err != nil {
		return "", "", fmt.Errorf("peer address %q is not host:port: %w", addr, err)
	}
	if host == "" {
		return "", "", fmt.Errorf("peer address %q has no host", addr)
	}
	n, err := net.LookupPort("tcp", port)
	if err != nil || n <= 0 || n > 65535 || strings.TrimLeft(port, "0123456789") != "" {
		return "", "", fmt.Errorf("peer address %q: port %q is not a number from 1 to 65535", addr, port)
	}
	return host, port, nil
}

func (d *DNSPeers) String() string { return net.JoinHostPort(d.host, d.port) }

// Peers returns the resolved addresses other than this replica's, sorted.
func (d *DNSPeers) Peers(ctx context.Context) ([]string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.now()
	if d.peers != nil && now.Before(d.expires) {
		return slices.Clone(d.peers), nil
	}
	ips, err := d.resolver.LookupHost(ctx, d.host)
	if err != nil {
		if d.peers != nil {
			d.expires = now.Add(d.refresh)
			return slices.Clone(d.peers), nil
		}
		return nil, fmt.Errorf("look up drill peers %s: %w", d.host, err)
	}
	peers := make([]string, 0, len(ips))
	for _, ip := range ips {
		if !d.self[ip] {
			peers = append(peers, net.JoinHostPort(ip, d.port))
		}
	}
	slices.Sort(peers)
	d.peers, d.expires = slices.Compact(peers), now.Add(d.refresh)
	return slices.Clone(d.peers), nil
}

// PeersConfig is how a server reaches the other replicas.
type PeersConfig struct {
	// Source lists them. Required.
	Source PeerSource
	// Client makes the calls; nil means a client of its own.
	Client *http.Client
	// Timeout bounds each peer call (default 2s).
	Timeout time.Duration
	// Token, when set, returns the bearer token peer calls carry (read at
	// each fan-out, so a rotated token file is picked up).
	Token func() (string, error)
	// Scheme is http (the default) or https.
	Scheme string
	// Observe, when set, is told the outcome of each peer call: "answered",
	// "not_found", "failed" (unreachable, timed out, an error status or an
	// unreadable answer), "skipped" (failed earlier in the same request),
	// "self" (this server's own answer), or "no_peers" once per fan-out
	// whose peer list could not be had. It must be quick and safe for
	// concurrent use (a self-metric counter).
	Observe func(outcome string)
	// Self are addresses (host:port) of this server that the source may
	// list; they are not asked. An address missed here is still recognised
	// by the instance ID of its answer, but only if it answers at all (an
	// authenticator in front may refuse first).
	Self []string
}

func newInstanceID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// peerAnswer is one peer's answer to a fan-out.
type peerAnswer struct {
	peer   string
	status int
	body   []byte
	self   bool
	err    error
}

// askPeers sends GET path to every peer, marked local, in parallel, each
// bounded by the peer timeout. keep is called with each 200 answer's body,
// in peer order (sorted), after all have answered. A peer that cannot be
// reached, times out or answers anything but 200 (or 404 when notFoundOK)
// is returned as missing, as is one whose answer keep refuses.
func (s *Server) askPeers(ctx context.Context, path string, notFoundOK bool, keep func(peer string, body []byte) error) (missing []string) {
	peers, missing := s.peerList(ctx)
	if len(missing) > 0 {
		return missing
	}
	return s.askEach(ctx, peers, func(string) string { return path }, notFoundOK, keep)
}

// peerList returns the peers to ask, sorted, or, when they cannot be
// listed, the source as missing.
func (s *Server) peerList(ctx context.Context) (peers, missing []string) {
	p := s.cfg.Peers
	if p == nil {
		return nil, nil
	}
	lookupCtx, cancel := context.WithTimeout(ctx, p.Timeout)
	peers, err := p.Source.Peers(lookupCtx)
	cancel()
	if err != nil {
		p.observe("no_peers")
		return nil, []string{sourceName(p.Source)}
	}
	peers = slices.DeleteFunc(peers, func(peer string) bool { return slices.Contains(p.Self, peer) })
	slices.Sort(peers)
	return slices.Compact(peers), nil
}

// askEach asks each of peers for its own path, as askPeers does.
func (s *Server) askEach(ctx context.Context, peers []string, path func(peer string) string, notFoundOK bool, keep func(peer string, body []byte) error) (missing []string) {
	p := s.cfg.Peers
	if p == nil || len(peers) == 0 {
		return nil
	}
	token := ""
	if p.Token != nil {
		var err error
		if token, err = p.Token(); err != nil {
			return peers
		}
	}
	failed, _ := ctx.Value(failedPeersKey{}).(*failedPeers)
	answers := make([]peerAnswer, len(peers))
	var wg sync.WaitGroup
	for i, peer := range peers {
		if failed.has(peer) {
			answers[i] = peerAnswer{peer: peer, err: errPeerFailedBefore}
			continue
		}
		wg.Go(func() { answers[i] = s.askPeer(ctx, peer, path(peer), token) })
	}
	wg.Wait()
	for _, a := range answers {
		outcome := "failed"
		switch {
		case a.self:
			outcome = "self"
		case errors.Is(a.err, errPeerFailedBefore):
			outcome = "skipped"
		case a.err != nil:
		case a.status == http.StatusOK:
			if keep(a.peer, a.body) == nil {
				outcome = "answered"
			}
		case a.status == http.StatusNotFound && notFoundOK:
			outcome = "not_found"
		}
		p.observe(outcome)
		if outcome == "failed" || outcome == "skipped" {
			missing = append(missing, a.peer)
			failed.add(a.peer)
		}
	}
	return missing
}

func (p *PeersConfig) observe(outcome string) {
	if p.Observe != nil {
		p.Observe(outcome)
	}
}

// failedPeers are the peers that failed earlier in one client request, not
// asked again by it: a webhook of many alerts waits for a hung peer once,
// not once per alert.
type failedPeers struct {
	mu  sync.Mutex // guards set
	set map[string]bool
}

type failedPeersKey struct{}

var errPeerFailedBefore = errors.New("peer failed earlier in this request")

// withFailedPeers makes the peers that fail under ctx skipped for the rest
// of it.
func withFailedPeers(ctx context.Context) context.Context {
	return context.WithValue(ctx, failedPeersKey{}, &failedPeers{set: map[string]bool{}})
}

func (f *failedPeers) has(peer string) bool {
	if f == nil {
		return false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.set[peer]
}

func (f *failedPeers) add(peer string) {
	if f == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.set[peer] = true
}

func (s *Server) askPeer(ctx context.Context, peer, path, token string) peerAnswer {
	p := s.cfg.Peers
	ctx, cancel := context.WithTimeout(ctx, p.Timeout)
	defer cancel()
	a := peerAnswer{peer: peer}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.Scheme+"://"+peer+path, nil)
	if err != nil {
		a.err = err
		return a
	}
	req.Header.Set(LocalHeader, "1")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := p.Client.Do(req)
	if err != nil {
		a.err = err
		return a
	}
	defer resp.Body.Close()
	if resp.Header.Get(InstanceHeader) == s.instanceID {
		a.self = true
		return a
	}
	a.status = resp.StatusCode
	a.body, a.err = io.ReadAll(io.LimitReader(resp.Body, maxPeerAnswerBytes))
	return a
}

func sourceName(src PeerSource) string {
	if s, ok := src.(fmt.Stringer); ok {
		return s.String()
	}
	return "peers"
}

var errNoPeerSource = errors.New("drill: peers need a source")
