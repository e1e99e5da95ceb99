// Package lokilabels is the one place where Braid maps OpenTelemetry
// attributes to Loki label names and back: the Loki exporter writes labels
// with it, the Loki push receiver reverses it, and the dashboards check their
// LogQL label names against it.
//
// It also formats and parses the label string of a Loki push request
// (`{name="value", other="value"}`), the Prometheus-style selector syntax
// that the push protocol carries in Stream.Labels.
package lokilabels
