// Package remotewriteexporter is Braid's prometheus_remote_write exporter:
// the contrib Prometheus remote-write exporter, unchanged, behind the
// collector's sending queue. With the queue on a storage extension, a batch
// of metrics is acknowledged once it is on disk and leaves the disk once
// Prometheus took it, as the other exporters' batches do; the contrib
// exporter's own write-ahead log is not needed (and crashes the process when
// its disk is full).
package remotewriteexporter
