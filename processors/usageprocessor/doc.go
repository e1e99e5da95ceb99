// Package usageprocessor is Braid's usage processor (component type
// "usage"): it counts the items and encoded bytes each Kubernetes
// namespace, workload and service sends through a pipeline, as
// braid_usage_* self-metrics with a bounded number of series, and, through
// [WrapExporter], what each exporter took of them.
//
// The counting itself is package usage; this package translates pdata and
// the collector's lifecycle to it. See README.md.
package usageprocessor // import "github.com/braidobs/braid/processors/usageprocessor"
