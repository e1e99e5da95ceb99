// Package loadbalancingexporter is Braid's loadbalancing exporter: it sends
// every span and log record of one trace to the same backend of a set (the
// gateway replicas), by consistent hashing of the trace ID, so that the
// gateway that builds a trace's index and drill-down sees all of it. The set
// comes from a static list or from DNS (a headless Service), re-resolved.
//
// One sending queue (on disk with a storage extension) sits ahead of the
// routing: a batch leaves it once every part reached its replica; a part a
// replica refused is retried alone, and routed again, so a replica that goes
// away loses nothing and only its traces move.
package loadbalancingexporter
