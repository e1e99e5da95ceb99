// Package drill is Braid's drill-down API: it answers "which traces are
// behind this alert, service or pod, and where are their logs?" from the
// correlation engine's trace index, falling back to Jaeger's query API for
// traces the index no longer holds, and returns Grafana Explore links built
// by the same link builder the generated dashboards agree with.
//
// Routes (all JSON):
//
//	GET  /api/v1/traces/{traceID}
//	GET  /api/v1/traces/{traceID}/explain  (why its signals are linked or not)
//	GET  /api/v1/pods/{uid}/traces?since=&errors_only=&min_duration=&limit=
//	GET  /api/v1/services/{name}/traces?since=&errors_only=&min_duration=&limit=
//	POST /api/v1/alerts                (Alertmanager webhook payload, version 4)
//	GET  /api/v1/alerts/{fingerprint}  (the last enrichment of that alert)
//	GET  /api/v1/traces?id=&id=        (this index's parts only; for peers)
//
// since is a duration back from now ("15m") or an RFC 3339 time; traces are
// ordered errors first, then slowest first.
//
// A gateway runs as several replicas, each with its own index. With
// Config.Peers set, a server answers a client from its own index and every
// peer's, merged by trace ID (MergeTraces); it asks its peers with
// LocalHeader, so that they answer from their index alone. A peer that does
// not answer in time makes the answer partial ("partial": true and
// "missing_peers"), never an error.
package drill
