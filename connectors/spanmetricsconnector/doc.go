// Package spanmetricsconnector is Braid's span-metrics connector (component
// type "braid_span_metrics"): it turns spans into request-rate, error and
// duration (RED) metrics with exemplars that point back at the spans.
//
// Its output is the same series the contrib span_metrics connector writes
// with the same settings (traces.span.metrics.calls and .duration, labelled
// by service.name, span.name, span.kind, status.code, collector.instance.id
// and the configured dimensions), so dashboards and alert rules work with
// either. It differs in cost and in bounds: a series is found by hashing the
// span's fields in place, without building a key string or an attribute map
// per span, and exemplars are kept in one slot per histogram bucket instead
// of one pdata exemplar per span, until a newer span replaces them. See
// README.md for every configuration key.
package spanmetricsconnector // import "github.com/braidobs/braid/connectors/spanmetricsconnector"
