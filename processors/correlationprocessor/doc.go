// Package correlationprocessor is Braid's correlation processor (component
// type "correlation"): it gives every signal its pod identity, feeds traces
// into a bounded trace index, and links logs (and, when asked, metric
// exemplars) to traces. It is a thin adapter over package correlate.
//
// The traces, logs and metrics pipelines that name the same processor ID
// share one engine, so logs and metrics can be linked against the traces
// the traces pipeline has seen. See README.md for every configuration key.
package correlationprocessor // import "github.com/braidobs/braid/processors/correlationprocessor"
