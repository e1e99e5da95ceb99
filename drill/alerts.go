package drill

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/braidobs/braid/correlate"
	"github.com/braidobs/braid/correlate/links"
)

// WebhookPayload is Alertmanager's webhook body (version 4), taken as
// Alertmanager sends it.
type WebhookPayload struct {
	Version           string            `json:"version"`
	GroupKey          string            `json:"groupKey"`
	TruncatedAlerts   int               `json:"truncatedAlerts"`
	Status            string            `json:"status"`
	Receiver          string            `json:"receiver"`
	GroupLabels       map[string]string `json:"groupLabels"`
	CommonLabels      map[string]string `json:"commonLabels"`
	CommonAnnotations map[string]string `json:"commonAnnotations"`
	ExternalURL       string            `json:"externalURL"`
	Alerts            []WebhookAlert    `json:"alerts"`
}

// WebhookAlert is one alert of a webhook payload.
type WebhookAlert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
}

// Label names read from alerts, in order of preference: Braid's own metric
// labels first, then the names Kubernetes alerting rules commonly use.
var (
	serviceLabels   = []string{links.MetricLabelService, "service", "job"}
	namespaceLabels = []string{links.MetricLabelNamespace, "namespace"}
	podLabels       = []string{links.MetricLabelPod, "pod"}
	podUIDLabels    = []string{"k8s_pod_uid", "pod_uid", "uid"}
)

func firstLabel(l map[string]string, names []string) string {
	for _, n := range names {
		if v := l[n]; v != "" {
			return v
		}
	}
	return ""
}

// DecodeWebhook reads and checks an Alertmanager webhook body.
func DecodeWebhook(r io.Reader) (WebhookPayload, error) {
	var p WebhookPayload
	dec := json.NewDecoder(r)
	if err := dec.Decode(&p); err != nil {
		return p, fmt.Errorf("decode alertmanager webhook: %w", err)
	}
	if p.Version != "" && p.Version != "4" {
		return p, fmt.Errorf("alertmanager webhook version %q: only version 4 is understood", p.Version)
	}
	if len(p.Alerts) == 0 {
		return p, errors.New("alertmanager webhook has no alerts")
	}
	for i, a := range p.Alerts {
		if a.StartsAt.IsZero() {
			return p, fmt.Errorf("alerts[%d]: startsAt is missing", i)
		}
	}
	return p, nil
}

const alertTraceLimit = 5

func (s *Server) postAlerts(w http.ResponseWriter, r *http.Request) {
	p, err := DecodeWebhook(http.MaxBytesReader(w, r.Body, maxRequestBytes))
	if tooBig := (*http.MaxBytesError)(nil); errors.As(err, &tooBig) {
		writeError(w, http.StatusRequestEntityTooLarge,
			fmt.Sprintf("alertmanager webhook larger than %d bytes", tooBig.Limit))
		return
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	resp := AlertResponse{Alerts: make([]AlertEnrichment, 0, len(p.Alerts))}
	var missing []string
	r = r.WithContext(withFailedPeers(r.Context()))
	for _, a := range p.Alerts {
		e, err := s.enrich(r, p, a)
		if err != nil {
			writeError(w, http.StatusBadGateway, err.Error())
			return
		}
		s.alerts.put(e)
		resp.Alerts = append(resp.Alerts, e)
		missing = union(missing, e.MissingPeers)
	}
	resp.Fleet = fleet(missing)
	writeJSON(w, http.StatusOK, resp)
}

// enrich picks the traces most likely behind one alert: those of its pod
// when it names one, else of its service, from a little before it started;
// errors first, then slowest.
func (s *Server) enrich(r *http.Request, p WebhookPayload, a WebhookAlert) (AlertEnrichment, error) {
	labels := make(map[string]string, len(p.CommonLabels)+len(a.Labels))
	for k, v := range p.CommonLabels {
		labels[k] = v
	}
	for k, v := range a.Labels {
		labels[k] = v
	}
	e := AlertEnrichment{
		Fingerprint: a.Fingerprint, Status: a.Status, Labels: labels, StartsAt: a.StartsAt.UTC(),
		Service:   serviceName(firstLabel(labels, serviceLabels)),
		Namespace: firstLabel(labels, namespaceLabels),
		Pod:       firstLabel(labels, podLabels),
		Scope:     "none",
		Traces:    []Trace{},
	}
	q := correlate.Query{Since: a.StartsAt.Add(-s.cfg.AlertLookback), Limit: alertTraceLimit}
	ctx, local := r.Context(), isLocal(r)
	var missing []string
	list := func(kind, key string) ([]Trace, error) {
		found, m, err := s.traceList(ctx, local, kind, key, q)
		missing = union(missing, m)
		return found, err
	}

	if key := s.podKey(labels, e.Namespace, e.Pod); key != "" {
		found, err := list("pods", key)
		if err != nil {
			return e, err
		}
		if len(found) > 0 {
			e.Scope, e.Traces = "pod", found
		}
	}
	if e.Scope == "none" && e.Service != "" {
		found, err := list("services", e.Service)
		if err != nil {
			return e, err
		}
		// The index keys services as namespace/name when service.namespace is set.
		if len(found) == 0 && e.Namespace != "" {
			if found, err = list("services", correlate.ServiceKey(e.Namespace, e.Service)); err != nil {
				return e, err
			}
		}
		e.Scope, e.Traces = "service", found
	}
	e.Fleet = fleet(missing)
	if e.Service != "" && s.cfg.ServiceDashboardUID != "" {
		e.Dashboard = s.cfg.Links.Dashboard(s.cfg.ServiceDashboardUID,
			map[string]string{links.VarService: e.Service},
			links.TimeRange{From: a.StartsAt.Add(-s.cfg.AlertLookback), To: a.StartsAt.Add(s.cfg.AlertLookback)})
	}
	return e, nil
}

// podKey is the index key of the alert's pod: its UID from the labels or
// the resolver, else namespace/name.
func (s *Server) podKey(labels map[string]string, namespace, pod string) string {
	if uid := firstLabel(labels, podUIDLabels); uid != "" {
		return uid
	}
	if pod == "" {
		return ""
	}
	if s.cfg.Pods != nil && namespace != "" {
		if p, ok := s.cfg.Pods.ByName(namespace, pod); ok && p.UID != "" {
			return p.UID
		}
	}
	if namespace == "" {
		return ""
	}
	return namespace + "/" + pod
}

func (s *Server) getAlert(w http.ResponseWriter, r *http.Request) {
	fp := strings.TrimSpace(r.PathValue("fingerprint"))
	if e, ok := s.alerts.get(fp); ok {
		writeJSON(w, http.StatusOK, e)
		return
	}
	// Alertmanager's webhook reached one replica, through the Service.
	var found *AlertEnrichment
	var missing []string
	if !isLocal(r) {
		missing = s.askPeers(r.Context(), "/api/v1/alerts/"+url.PathEscape(fp), true, func(_ string, body []byte) error {
			var e AlertEnrichment
			if err := json.Unmarshal(body, &e); err != nil {
				return err
			}
			if found == nil || e.StartsAt.After(found.StartsAt) {
				found = &e
			}
			return nil
		})
	}
	if found != nil {
		writeJSON(w, http.StatusOK, found)
		return
	}
	writeJSON(w, http.StatusNotFound, Error{Error: "no enrichment for alert fingerprint " + fp, Fleet: fleet(missing)})
}
