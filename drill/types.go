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
	// Source is where the answer came from: "braid" (the live index) or
	// "jaeger" (the fallback, when the index no longer holds the trace; its
	// log count is then unknown and 0).
	Source string `json:"source"`
	Links  Links  `json:"links"`
}

// Links are Grafana Explore links for a trace.
type Links struct {
	Trace   string `json:"trace"`
	Logs    string `json:"logs"`
	Metrics string `json:"metrics"`
}

// TraceList answers the pod and service routes.
type TraceList struct {
	Traces []Trace `json:"traces"`
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
}

// AlertResponse answers POST /api/v1/alerts.
type AlertResponse struct {
	Alerts []AlertEnrichment `json:"alerts"`
}

// Error is the body of every non-2xx answer.
type Error struct {
	Error string `json:"error"`
}
