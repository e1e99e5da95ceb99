// Package lokiexporter sends logs to Loki, or any store that speaks Loki's
// push API, as snappy-compressed protobuf push requests: stream labels from a
// small set of resource attributes, trace and span IDs, severity and the
// other attributes as structured metadata, one request per tenant, retried
// and queued by the collector's exporterhelper.
package lokiexporter
