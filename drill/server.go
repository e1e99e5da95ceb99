package drill

import (
	"cmp"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/braidobs/braid/correlate"
	"github.com/braidobs/braid/correlate/links"
)

// Index is the part of the correlation engine's trace index the API reads;
// *correlate.TraceIndex implements it.
type Index interface {
	Get(traceID pcommon.TraceID) (correlate.TraceSummary, bool)
	TracesForPod(uid string, q correlate.Query) []correlate.TraceSummary
	TracesForService(name string, q correlate.Query) []correlate.TraceSummary
	// Explain says why a trace's signals are linked or not.
	Explain(traceID pcommon.TraceID) (correlate.TraceExplanation, bool)
}

var _ Index = (*correlate.TraceIndex)(nil)

// Config wires a Server.
type Config struct {
	// Index is the live trace index. Required.
	Index Index
	// Links renders Grafana links. Required.
	Links *links.LinkBuilder
	// Jaeger, when set, answers for traces the index no longer holds.
	Jaeger *JaegerClient
	// Pods, when set, turns an alert's pod name into the pod's UID, and pod
	// UIDs in answers into namespace/name.
	Pods correlate.PodResolver
	// ServiceDashboardUID is the dashboard alerts link to, with the service
	// preselected; empty means no dashboard link.
	ServiceDashboardUID string
	// AlertLookback is how far before an alert's start its traces are looked
	// for (default 15 minutes).
	AlertLookback time.Duration
	// AlertsRetained bounds how many alert enrichments are kept for
	// GET /api/v1/alerts/{fingerprint} (default 1000).
	AlertsRetained int
	// Alerts, when set, is where the enrichments are kept (its own bound
	// applies, not AlertsRetained): a server built later with the same
	// store answers for the alerts this one received.
	Alerts *AlertStore
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Peers, when set, are the other replicas of the gateway: a client's
	// request is answered from this index and theirs, merged.
	Peers *PeersConfig
	// InstanceID identifies this server in its answers (InstanceHeader);
	// empty means a random one.
	InstanceID string
}

// Server serves the drill-down API. It is safe for concurrent use.
type Server struct {
	cfg        Config
	mux        *http.ServeMux
	alerts     *AlertStore
	instanceID string
}

const (
	defaultLimit    = 20
	maxLimit        = 1000
	maxRequestBytes = 4 << 20
)

// NewServer checks cfg and returns a server.
func NewServer(cfg Config) (*Server, error) {
	if cfg.Index == nil {
		return nil, errors.New("drill: an index is required")
	}
	if cfg.Links == nil {
		return nil, errors.New("drill: a link builder is required")
	}
	if cfg.AlertLookback <= 0 {
		cfg.AlertLookback = 15 * time.Minute
	}
	if cfg.AlertsRetained <= 0 {
		cfg.AlertsRetained = 1000
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Peers != nil {
		p := *cfg.Peers
		if p.Source == nil {
			return nil, errNoPeerSource
		}
		if p.Timeout <= 0 {
			p.Timeout = defaultPeerTimeout
		}
		if p.Client == nil {
			p.Client = &http.Client{}
		}
		if p.Scheme == "" {
			p.Scheme = "http"
		}
		if p.Scheme != "http" && p.Scheme != "https" {
			return nil, fmt.Errorf("drill: peer scheme %q is neither http nor https", p.Scheme)
		}
		cfg.Peers = &p
	}
	if cfg.InstanceID == "" {
		cfg.InstanceID = newInstanceID()
	}
	alerts := cfg.Alerts
	if alerts == nil {
		alerts = NewAlertStore(cfg.AlertsRetained)
	}
	s := &Server{cfg: cfg, mux: http.NewServeMux(), alerts: alerts, instanceID: cfg.InstanceID}
	s.mux.HandleFunc("GET /api/v1/traces/{traceID}", s.getTrace)
	s.mux.HandleFunc("GET /api/v1/traces/{traceID}/explain", s.explainTrace)
	s.mux.HandleFunc("GET /api/v1/traces", s.tracesByID)
	s.mux.HandleFunc("GET /api/v1/pods/{uid}/traces", s.podTraces)
	s.mux.HandleFunc("GET /api/v1/services/{name}/traces", s.serviceTraces)
	s.mux.HandleFunc("POST /api/v1/alerts", s.postAlerts)
	s.mux.HandleFunc("GET /api/v1/alerts/{fingerprint}", s.getAlert)
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no route %s %s", r.Method, r.URL.Path))
	})
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set(InstanceHeader, s.instanceID)
	s.mux.ServeHTTP(w, r)
}

// InstanceID is the ID this server puts in InstanceHeader.
func (s *Server) InstanceID() string { return s.instanceID }

// isLocal says whether r came from a peer, which wants this replica's own
// part only.
func isLocal(r *http.Request) bool { return r.Header.Get(LocalHeader) == "1" }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, Error{Error: msg})
}

// ParseTraceID reads a trace ID as 32 hex digits (16 digits are left-padded,
// as W3C and B3 do).
func ParseTraceID(s string) (pcommon.TraceID, error) {
	var id pcommon.TraceID
	s = strings.ToLower(strings.TrimSpace(s))
	if len(s) == 16 {
		s = strings.Repeat("0", 16) + s
	}
	if len(s) != 32 {
		return id, fmt.Errorf("trace id %q: want 32 hex digits", s)
	}
	if _, err := hex.Decode(id[:], []byte(s)); err != nil {
		return id, fmt.Errorf("trace id %q is not hex", s)
	}
	if id.IsEmpty() {
		return id, fmt.Errorf("trace id %q is all zeros", s)
	}
	return id, nil
}

func (s *Server) getTrace(w http.ResponseWriter, r *http.Request) {
	id, err := ParseTraceID(r.PathValue("traceID"))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	var parts []Trace
	if sum, ok := s.cfg.Index.Get(id); ok {
		parts = append(parts, s.fromIndex(sum))
	}
	if isLocal(r) {
		if len(parts) == 0 {
			writeError(w, http.StatusNotFound, "trace "+id.String()+" is not in this replica's index")
			return
		}
		writeJSON(w, http.StatusOK, TraceAnswer{Trace: parts[0]})
		return
	}
	missing := s.askPeers(r.Context(), "/api/v1/traces/"+id.String(), true, func(_ string, body []byte) error {
		var t Trace
		if err := json.Unmarshal(body, &t); err != nil {
			return err
		}
		if t.TraceID != id.String() {
			return fmt.Errorf("peer answered for trace %q", t.TraceID)
		}
		parts = append(parts, t)
		return nil
	})
	var merged Trace
	found := len(parts) > 0
	if found {
		merged = MergeTraces(parts)
	}
	// Jaeger fills in what the replicas lack: the whole trace when none
	// holds it, the rest when one did not answer or none saw the root span.
	if s.cfg.Jaeger != nil && (!found || len(missing) > 0 || merged.RootOperation == "") {
		t, ok, err := s.cfg.Jaeger.Trace(r.Context(), id.String())
		switch {
		case err != nil && !found:
			writeJSON(w, http.StatusBadGateway, Error{Error: err.Error(), Fleet: fleet(missing)})
			return
		case ok && found:
			merged = mergeWithJaeger(merged, t)
		case ok:
			merged, found = t, true
		}
	}
	if !found {
		msg := "trace " + id.String() + " is neither in Braid's index nor in Jaeger"
		if len(missing) > 0 {
			msg += " (replicas " + strings.Join(missing, ", ") + " did not answer)"
		}
		writeJSON(w, http.StatusNotFound, Error{Error: msg, Fleet: fleet(missing)})
		return
	}
	writeJSON(w, http.StatusOK, TraceAnswer{Trace: s.withLinks(merged), Fleet: fleet(missing)})
}

// parseQuery reads since, errors_only, min_duration and limit.
func (s *Server) parseQuery(r *http.Request) (correlate.Query, error) {
	q := correlate.Query{Limit: defaultLimit}
	v := r.URL.Query()
	if since := v.Get("since"); since != "" {
		if d, err := time.ParseDuration(since); err == nil {
			if d < 0 {
				return q, fmt.Errorf("since %q must not be negative", since)
			}
			q.Since = s.cfg.Now().Add(-d)
		} else if t, err := time.Parse(time.RFC3339, since); err == nil {
			q.Since = t
		} else {
			return q, fmt.Errorf("since %q is neither a duration (15m) nor an RFC 3339 time", since)
		}
	}
	if e := v.Get("errors_only"); e != "" {
		b, err := strconv.ParseBool(e)
		if err != nil {
			return q, fmt.Errorf("errors_only %q is not a boolean", e)
		}
		q.ErrorsOnly = b
	}
	if m := v.Get("min_duration"); m != "" {
		d, err := time.ParseDuration(m)
		if err != nil || d < 0 {
			return q, fmt.Errorf("min_duration %q is not a non-negative duration", m)
		}
		q.MinDuration = d
	}
	if l := v.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n <= 0 || n > maxLimit {
			return q, fmt.Errorf("limit %q must be between 1 and %d", l, maxLimit)
		}
		q.Limit = n
	}
	return q, nil
}

func (s *Server) podTraces(w http.ResponseWriter, r *http.Request) {
	s.traceListRoute(w, r, "pods", r.PathValue("uid"))
}

func (s *Server) serviceTraces(w http.ResponseWriter, r *http.Request) {
	s.traceListRoute(w, r, "services", r.PathValue("name"))
}

func (s *Server) traceListRoute(w http.ResponseWriter, r *http.Request, kind, key string) {
	q, err := s.parseQuery(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	traces, missing, err := s.traceList(r.Context(), isLocal(r), kind, key, q)
	if err != nil {
		writeJSON(w, http.StatusBadGateway, Error{Error: err.Error(), Fleet: fleet(missing)})
		return
	}
	writeJSON(w, http.StatusOK, TraceList{Traces: traces, Fleet: fleet(missing)})
}

// traceList answers for a pod ("pods") or a service ("services"): from
// this index, and unless local from every peer's, merged; for a service,
// from Jaeger when no replica has any (the traces aged out, or the
// replicas restarted).
func (s *Server) traceList(ctx context.Context, local bool, kind, key string, q correlate.Query) ([]Trace, []string, error) {
	var found []correlate.TraceSummary
	if kind == "pods" {
		found = s.cfg.Index.TracesForPod(key, q)
	} else {
		found = s.cfg.Index.TracesForService(key, q)
	}
	traces := s.summaries(found)
	if local {
		return traces, nil, nil
	}
	var missing []string
	if s.cfg.Peers != nil {
		lists := [][]Trace{traces}
		var answered []string
		missing = s.askPeers(ctx, "/api/v1/"+kind+"/"+url.PathEscape(key)+"/traces?"+peerQuery(q), false, func(peer string, body []byte) error {
			var l TraceList
			if err := json.Unmarshal(body, &l); err != nil {
				return err
			}
			lists = append(lists, l.Traces)
			answered = append(answered, peer)
			return nil
		})
		var more []string
		traces, more = s.completeParts(ctx, MergeTraceLists(lists, q.Limit), lists, answered)
		missing = union(missing, more)
		for i := range traces {
			traces[i] = s.withLinks(traces[i])
		}
	}
	if kind != "services" || s.cfg.Jaeger == nil || (len(traces) > 0 && len(missing) == 0) {
		return traces, missing, nil
	}
	fromJaeger, err := s.searchJaeger(ctx, key, q)
	if len(traces) == 0 {
		return fromJaeger, missing, err
	}
	// Some replicas did not answer: Jaeger has the spans of the traces they
	// hold. The answer stays partial (their log counts are unknown), and a
	// failed search leaves it as it was.
	if err != nil {
		return traces, missing, nil
	}
	return s.completeWithJaeger(traces, fromJaeger, q.Limit), missing, nil
}

// searchJaeger finds a service's traces in Jaeger, filtered as the index
// filters them.
func (s *Server) searchJaeger(ctx context.Context, key string, q correlate.Query) ([]Trace, error) {
	end := s.cfg.Now()
	start := q.Since
	if start.IsZero() {
		start = end.Add(-time.Hour)
	}
	found, err := s.cfg.Jaeger.FindTraces(ctx, serviceName(key), start, end, q.ErrorsOnly, q.Limit)
	if err != nil {
		return nil, err
	}
	out := make([]Trace, 0, len(found))
	for _, t := range found {
		if time.Duration(t.DurationMS*float64(time.Millisecond)) < q.MinDuration {
			continue
		}
		out = append(out, s.withLinks(t))
	}
	sortTraces(out)
	return out, nil
}

// completeWithJaeger adds Jaeger's traces to the replicas' list: a trace in
// both is merged (mergeWithJaeger), one only in Jaeger is added; then the
// list is ordered and limited again.
func (s *Server) completeWithJaeger(traces, fromJaeger []Trace, limit int) []Trace {
	at := make(map[string]int, len(traces))
	for i, t := range traces {
		at[t.TraceID] = i
	}
	for _, j := range fromJaeger {
		if i, ok := at[j.TraceID]; ok {
			traces[i] = s.withLinks(mergeWithJaeger(traces[i], j))
			continue
		}
		traces = append(traces, j)
	}
	sortTraces(traces)
	if limit > 0 && len(traces) > limit {
		traces = traces[:limit]
	}
	return traces
}

// completeParts asks each replica that answered a list (lists[0] is this
// one's, lists[i+1] answered[i]'s) for its parts of the top traces it did
// not list — parts that did not match the query by themselves (another
// service's spans, below min_duration there, past its limit) — so that
// each top trace is the merge of every replica's part, as the trace route
// gives it. Merged traces only grow longer and gain errors, so they still
// match the query.
func (s *Server) completeParts(ctx context.Context, top []Trace, lists [][]Trace, answered []string) ([]Trace, []string) {
	if len(top) == 0 {
		return top, nil
	}
	need := make(map[string][]string, len(answered))
	var local []Trace
	for i, l := range lists {
		listed := make(map[string]bool, len(l))
		for _, t := range l {
			listed[t.TraceID] = true
		}
		for _, t := range top {
			if listed[t.TraceID] {
				continue
			}
			if i > 0 {
				need[answered[i-1]] = append(need[answered[i-1]], t.TraceID)
				continue
			}
			if id, err := ParseTraceID(t.TraceID); err == nil {
				if sum, ok := s.cfg.Index.Get(id); ok {
					local = append(local, s.fromIndex(sum))
				}
			}
		}
	}
	extra := [][]Trace{local}
	var peers []string
	for _, peer := range answered {
		if len(need[peer]) > 0 {
			peers = append(peers, peer)
		}
	}
	missing := s.askEach(ctx, peers, func(peer string) string {
		return "/api/v1/traces?" + url.Values{"id": need[peer]}.Encode()
	}, false, func(peer string, body []byte) error {
		var l TraceList
		if err := json.Unmarshal(body, &l); err != nil {
			return err
		}
		for _, t := range l.Traces {
			if !slices.Contains(need[peer], t.TraceID) {
				return fmt.Errorf("peer answered for trace %q, not asked", t.TraceID)
			}
		}
		extra = append(extra, l.Traces)
		return nil
	})
	if len(extra) == 1 && len(local) == 0 {
		return top, missing
	}
	wanted := make(map[string]bool, len(top))
	for _, t := range top {
		wanted[t.TraceID] = true
	}
	out := slices.DeleteFunc(MergeTraceLists(append(lists, extra...), 0), func(t Trace) bool { return !wanted[t.TraceID] })
	return out, missing
}

// tracesByID answers GET /api/v1/traces?id=…&id=…, which the replicas use
// between them: this index's part of each trace it holds, nothing else.
func (s *Server) tracesByID(w http.ResponseWriter, r *http.Request) {
	raw := r.URL.Query()["id"]
	if len(raw) == 0 || len(raw) > maxLimit {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("give 1 to %d trace ids as id=", maxLimit))
		return
	}
	out := TraceList{Traces: []Trace{}}
	for _, v := range raw {
		id, err := ParseTraceID(v)
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		if sum, ok := s.cfg.Index.Get(id); ok {
			out.Traces = append(out.Traces, s.fromIndex(sum))
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// peerQuery is q as the list routes read it, with since as a time, so that
// every replica looks back to the same instant.
func peerQuery(q correlate.Query) string {
	v := url.Values{}
	if !q.Since.IsZero() {
		v.Set("since", q.Since.UTC().Format(time.RFC3339Nano))
	}
	if q.ErrorsOnly {
		v.Set("errors_only", "true")
	}
	if q.MinDuration > 0 {
		v.Set("min_duration", q.MinDuration.String())
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	return v.Encode()
}

func (s *Server) summaries(in []correlate.TraceSummary) []Trace {
	out := make([]Trace, len(in))
	for i, sum := range in {
		out[i] = s.fromIndex(sum)
	}
	return out
}

func (s *Server) fromIndex(sum correlate.TraceSummary) Trace {
	t := Trace{
		TraceID:       sum.TraceID.String(),
		RootOperation: sum.RootName,
		RootService:   sum.RootService,
		Services:      append([]string{}, sum.Services...),
		Pods:          make([]string, 0, len(sum.Pods)),
		Start:         sum.Start.UTC(),
		End:           sum.End.UTC(),
		DurationMS:    float64(sum.Duration()) / float64(time.Millisecond),
		Error:         sum.Error,
		SpanCount:     sum.SpanCount,
		LogCount:      sum.LogCount,
		Source:        "braid",
	}
	for _, key := range sum.Pods {
		t.Pods = append(t.Pods, s.podName(key))
	}
	return s.withLinks(t)
}

// podName shows a pod key as namespace/name when the resolver knows it.
func (s *Server) podName(key string) string {
	if s.cfg.Pods == nil || strings.Contains(key, "/") {
		return key
	}
	if p, ok := s.cfg.Pods.ByUID(key); ok && p.Name != "" {
		return p.Namespace + "/" + p.Name
	}
	return key
}

// serviceName drops the service namespace of an index service key.
func serviceName(key string) string {
	if i := strings.LastIndexByte(key, '/'); i >= 0 {
		return key[i+1:]
	}
	return key
}

func (s *Server) withLinks(t Trace) Trace {
	id, err := ParseTraceID(t.TraceID)
	if err != nil {
		return t
	}
	sel := links.Selector{}
	switch {
	case t.RootService != "":
		sel.Service = serviceName(t.RootService)
	case len(t.Services) > 0:
		sel.Service = serviceName(t.Services[0])
	}
	tr := links.TimeRange{From: t.Start, To: t.End}
	if !t.Start.IsZero() {
		// A little room either side, so the trace is not on the edge of the view.
		tr = links.TimeRange{From: t.Start.Add(-time.Minute), To: t.End.Add(time.Minute)}
	}
	t.Links = Links{
		Trace:   s.cfg.Links.Trace(id, tr),
		Logs:    s.cfg.Links.TraceLogs(id, sel, links.TimeRange{From: t.Start, To: t.End}),
		Metrics: s.cfg.Links.ServiceMetrics(sel, tr),
	}
	return t
}

// sortTraces orders errors first, then slowest first, as the index does.
func sortTraces(ts []Trace) {
	slices.SortStableFunc(ts, func(a, b Trace) int {
		if a.Error != b.Error {
			if a.Error {
				return -1
			}
			return 1
		}
		return cmp.Compare(b.DurationMS, a.DurationMS)
	})
}

// AlertStore keeps the latest alert enrichment per fingerprint, at most max
// of them, the oldest dropped first. Safe for concurrent use.
type AlertStore struct {
	mu    sync.Mutex // guards byFP and order
	max   int
	byFP  map[string]AlertEnrichment
	order []string
}

// NewAlertStore returns an empty store for at most max enrichments (1000 if
// max is not positive).
func NewAlertStore(max int) *AlertStore {
	if max <= 0 {
		max = 1000
	}
	return &AlertStore{max: max, byFP: make(map[string]AlertEnrichment)}
}

// Max is the store's bound.
func (a *AlertStore) Max() int { return a.max }

func (a *AlertStore) put(e AlertEnrichment) {
	if e.Fingerprint == "" {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.byFP[e.Fingerprint]; !ok {
		a.order = append(a.order, e.Fingerprint)
		if len(a.order) > a.max {
			delete(a.byFP, a.order[0])
			a.order = a.order[1:]
		}
	}
	a.byFP[e.Fingerprint] = e
}

func (a *AlertStore) get(fp string) (AlertEnrichment, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	e, ok := a.byFP[fp]
	return e, ok
}
