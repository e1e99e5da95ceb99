// Package lokireceiver accepts Loki's push API (POST /loki/api/v1/push,
// snappy-compressed protobuf or JSON, optionally gzipped), so log shippers
// that speak Loki — Grafana Alloy, Promtail, Fluent Bit, Vector — can send to
// Braid unchanged. Stream labels become resource attributes (Braid's Loki
// label mapping reversed), structured metadata becomes log attributes and
// trace context.
package lokireceiver
