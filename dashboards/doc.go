// Package dashboards generates everything Grafana and Prometheus need for
// Braid's on-call path (alert → dashboard → exemplar → trace → the trace's
// logs): the dashboards as classic dashboard JSON, the datasource and
// dashboard provisioning files, and the Prometheus alert rules.
//
// Datasource UIDs, metric names and label names come from
// github.com/braidobs/braid/correlate/links, the same place Braid's link
// builder reads them from. The generated output is checked in under
// deploy/grafana/; refresh it with `go test ./dashboards/... -update`.
package dashboards
