package drill

import (
	"cmp"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
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
}

// Server serves the drill-down API. It is safe for concurrent use.
type Server struct {
	cfg    Config
	mux    *http.ServeMux
	alerts *AlertStore
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
	alerts := cfg.Alerts
	if alerts == nil {
		alerts = NewAlertStore(cfg.AlertsRetained)
	}
	s := &Server{cfg: cfg, mux: http.NewServeMux(), alerts: alerts}
	s.mux.HandleFunc("GET /api/v1/traces/{traceID}", s.getTrace)
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
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

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
	if sum, ok := s.cfg.Index.Get(id); ok {
		writeJSON(w, http.StatusOK, s.fromIndex(sum))
		return
	}
	if s.cfg.Jaeger != nil {
		t, ok, err := s.cfg.Jaeger.Trace(r.Context(), id.String())
		if err != nil {
			writeError(w, http.StatusBadGateway, err.Error())
			return
		}
		if ok {
			writeJSON(w, http.StatusOK, s.withLinks(t))
			return
		}
	}
	writeError(w, http.StatusNotFound, "trace "+id.String()+" is neither in Braid's index nor in Jaeger")
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
	q, err := s.parseQuery(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, TraceList{Traces: s.summaries(s.cfg.Index.TracesForPod(r.PathValue("uid"), q))})
}

func (s *Server) serviceTraces(w http.ResponseWriter, r *http.Request) {
	q, err := s.parseQuery(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	name := r.PathValue("name")
	traces, err := s.forService(r.Context(), name, q)
	if err != nil {
		writeError(w, http.StatusBadGateway, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, TraceList{Traces: traces})
}

// forService asks the index, then Jaeger when the index has nothing (the
// traces aged out, or Braid restarted).
func (s *Server) forService(ctx context.Context, name string, q correlate.Query) ([]Trace, error) {
	if found := s.cfg.Index.TracesForService(name, q); len(found) > 0 || s.cfg.Jaeger == nil {
		return s.summaries(found), nil
	}
	end := s.cfg.Now()
	start := q.Since
	if start.IsZero() {
		start = end.Add(-time.Hour)
	}
	found, err := s.cfg.Jaeger.FindTraces(ctx, serviceName(name), start, end, q.ErrorsOnly, q.Limit)
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
