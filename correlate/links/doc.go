// Package links is the one place that names Braid's Grafana datasources, the
// label names its backends carry, and the Grafana Explore URLs that point into
// them. The dashboards generator, the datasource provisioning and the
// drill-down API all read these names from here, so a dashboard, a datasource
// and a deep link can never disagree.
//
// The package is a plain library: it depends only on the standard library and
// pdata's trace ID type.
package links
