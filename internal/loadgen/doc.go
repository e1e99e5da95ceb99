// Package loadgen produces realistic OTLP load for Braid and counts what
// comes out the other side: a generator of traces, logs and metrics shaped
// like a Kubernetes cluster's telemetry, a rate-controlled OTLP gRPC sender
// that reports sent, accepted and refused items and request latency, and a
// sink that counts what exporters deliver over OTLP, Loki push and
// Prometheus remote write.
//
// On top of them it measures collector pipelines end to end: Measure runs a
// fresh collector on one pipeline through a CPU step and a ladder of rates,
// Compare sets the reports side by side as CPU-per-item ratios with their
// median and range (rate by rate, and round by round for pipelines run in
// interleaved rounds), and Overload drives a pipeline far beyond what it
// sustains and checks that it refuses only retryably, stays under its
// memory limit and keeps running. The braid-loadgen command drives it.
package loadgen
