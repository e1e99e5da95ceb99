// Package loadgen produces realistic OTLP load for Braid and counts what
// comes out the other side: a generator of traces, logs and metrics shaped
// like a Kubernetes cluster's telemetry, a rate-controlled OTLP gRPC sender
// that reports sent, accepted and refused items and request latency, and a
// sink that counts what exporters deliver over OTLP, Loki push and
// Prometheus remote write. The braid-loadgen command drives it.
package loadgen
