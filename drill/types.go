package drill

import (
	"time"
)

// Trace is what the API says about one trace.
type Trace struct {
	TraceID       string    `json:"trace_id"`
	RootOperation string    `json:"root_operation,omitempty"`
	RootService   string    `json:"root_service,omitempty"`
	Services      []string  `json:"services"`
	Pods          []string  `json:"pods"`
	Start         time.Time `json:"start"`
	End           time.Time `json:"end"`
	DurationMS    float64   `json:"duration_ms"`
	Error         bool      `json:"error"`
	SpanCount     int       `json:"span_count"`
	LogCount      int       `json:"log_count"`
	// Source is where the answer came from: "braid" (the live index of one
	// or more replicas), "jaeger" (the fallback, when no replica's index
	// holds the trace; its log count is then unknown and 0) or
	// "braid+jaeger" (the indexes held part of the trace and Jaeger filled
	// in the spans).
	Source string `json:"source"`
	Links  Links  `json:"links"`
}

// Links are Grafana Explore links for a trace.
type Links struct {
	Trace   string `json:"trace"`
	Logs    string `json:"logs"`
	Metrics string `json:"metrics"`
}

// Fleet says which replicas an answer covers. Partial is true when one or
// more of the other replicas did not answer in time; MissingPeers names
// them (host:port, or the DNS name when it could not be resolved).
type Fleet struct {
	Partial      bool     `json:"partial,omitempty"`
	MissingPeers []string `json:"missing_peers,omitempty"`
}

func fleet(missing []string) Fleet {
	return Fleet{Partial: len(missing) > 0, MissingPeers: missing}
}

// TraceAnswer answers GET /api/v1/traces/{traceID}: the trace, flat, and
// whether every replica answered.
type TraceAnswer struct {
	Trace
	Fleet
}

// TraceList answers the pod and service routes.
type TraceList struct {
	Traces []Trace `json:"traces"`
	Fleet
}

// AlertEnrichment is what Braid found for one alert of a webhook.
type AlertEnrichment struct {
	Fingerprint string            `json:"fingerprint"`
	Status      string            `json:"status"`
	Labels      map[string]string `json:"labels"`
	StartsAt    time.Time         `json:"starts_at"`
	// Scope says what the traces were picked by: "pod", "service" or "none"
	// (the alert's labels name neither).
	Scope     string  `json:"scope"`
	Service   string  `json:"service,omitempty"`
	Namespace string  `json:"namespace,omitempty"`
	Pod       string  `json:"pod,omitempty"`
	Traces    []Trace `json:"traces"`
	// Dashboard links to the service's generated dashboard, when the alert names a service.
	Dashboard string `json:"dashboard,omitempty"`
	Fleet
}

// AlertResponse answers POST /api/v1/alerts.
type AlertResponse struct {
	Alerts []AlertEnrichment `json:"alerts"`
	Fleet
}

// Error is the body of every non-2xx answer.
type Error struct {
	Error string `json:"error"`
	Fleet
}
