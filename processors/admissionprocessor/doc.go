// Package admissionprocessor is Braid's admission processor (component type
// "admission"): it bounds the telemetry a pipeline holds in flight and
// refuses the rest at once, with a retryable error, instead of letting
// requests queue while Braid is behind.
//
// Listed first in a pipeline, everything a request does downstream (the
// memory limiter, correlation, a batch processor that is full, an exporter
// that blocks) counts as in flight until the request returns. When a new
// request would take the pipeline over max_in_flight_items, the sender gets
// gRPC RESOURCE_EXHAUSTED with a RetryInfo delay (HTTP 429 from the OTLP and
// Loki receivers), which OpenTelemetry senders retry after backing off.
//
// With fair_share (the default), from half of the limit on, a namespace
// (k8s.namespace.name) that holds more than its weighted share of the limit
// is refused first, so that one namespace's flood does not starve the
// others; optional per-namespace rate limits refuse the same way.
// See README.md.
package admissionprocessor // import "github.com/braidobs/braid/processors/admissionprocessor"
