package lokilabels

import (
	"strings"
)

// Mapping pairs an OpenTelemetry attribute with the Loki label that carries it.
type Mapping struct {
	Attribute string // attribute name, e.g. "k8s.pod.name"
	Label     string // Loki label name, e.g. "k8s_pod_name"
}

// Attribute names with a special meaning between Braid's Loki receiver and
// exporter.
const (
	// TenantAttribute is the resource attribute that carries the Loki tenant
	// (the X-Scope-OrgID header). The receiver sets it; the exporter routes
	// on it by default and never writes it as a label or metadata.
	TenantAttribute = "loki.tenant"

	// LabelsHintAttribute is a resource attribute holding a comma-separated
	// list of resource attribute names that must become stream labels, on
	// top of the configured set. The receiver sets it to the attributes that
	// came from stream labels, so a push that passes through Braid keeps its
	// streams. The exporter never writes it as a label or metadata.
	LabelsHintAttribute = "loki.resource.labels"

	// UnknownService is the service_name label value of a stream that would
	// otherwise have no label at all (Loki refuses label-less streams); it
	// is the value Loki's own OTLP ingestion uses.
	UnknownService = "unknown_service"
)

// Structured metadata fields with a fixed meaning.
const (
	MetadataTraceID      = "trace_id"
	MetadataSpanID       = "span_id"
	MetadataSeverityText = "severity_text"
)

// defaultMappings is the default label set: the resource attributes that
// Loki's own OTLP ingestion turns into index labels (service, namespace,
// cluster, pod, container, workload, environment).
var defaultMappings = []Mapping{
	{"service.name", "service_name"},
	{"service.namespace", "service_namespace"},
	{"k8s.cluster.name", "k8s_cluster_name"},
	{"k8s.namespace.name", "k8s_namespace_name"},
	{"k8s.pod.name", "k8s_pod_name"},
	{"k8s.container.name", "k8s_container_name"},
	{"k8s.deployment.name", "k8s_deployment_name"},
	{"k8s.statefulset.name", "k8s_statefulset_name"},
	{"k8s.daemonset.name", "k8s_daemonset_name"},
	{"k8s.job.name", "k8s_job_name"},
	{"k8s.cronjob.name", "k8s_cronjob_name"},
	{"deployment.environment.name", "deployment_environment_name"},
}

// DefaultMappings returns the resource attributes that Braid's Loki exporter
// writes as stream labels by default, with their label names. The slice is a
// fresh copy on every call.
func DefaultMappings() []Mapping {
	return append([]Mapping(nil), defaultMappings...)
}

// DefaultResourceAttributes returns the attribute names of DefaultMappings.
func DefaultResourceAttributes() []string {
	out := make([]string, len(defaultMappings))
	for i, m := range defaultMappings {
		out[i] = m.Attribute
	}
	return out
}

// DefaultLabelNames returns the label names of DefaultMappings.
func DefaultLabelNames() []string {
	out := make([]string, len(defaultMappings))
	for i, m := range defaultMappings {
		out[i] = m.Label
	}
	return out
}

// LabelName turns an attribute name into a valid Loki label name: every
// character outside [a-zA-Z0-9_] becomes an underscore, and a leading digit
// gets an underscore in front. "k8s.pod.name" becomes "k8s_pod_name".
// A name that is already valid is returned without allocating.
func LabelName(attribute string) string {
	if attribute == "" {
		return "_"
	}
	valid := !isDigit(attribute[0])
	if valid {
		for i := 0; i < len(attribute); i++ {
			if !isLabelChar(attribute[i]) {
				valid = false
				break
			}
		}
	}
	if valid {
		return attribute
	}
	var b strings.Builder
	b.Grow(len(attribute) + 1)
	if isDigit(attribute[0]) {
		b.WriteByte('_')
	}
	for _, r := range attribute {
		if r < 0x80 && isLabelChar(byte(r)) {
			b.WriteByte(byte(r))
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

// AttributeName reverses the default mapping: a label of DefaultMappings
// gives its attribute ("k8s_pod_name" gives "k8s.pod.name"); any other label
// is returned unchanged, since its original spelling cannot be known.
func AttributeName(label string) string {
	for i := range defaultMappings {
		if defaultMappings[i].Label == label {
			return defaultMappings[i].Attribute
		}
	}
	return label
}

// IsValidLabelName reports whether name matches [a-zA-Z_][a-zA-Z0-9_]*.
func IsValidLabelName(name string) bool {
	if name == "" || isDigit(name[0]) {
		return false
	}
	for i := 0; i < len(name); i++ {
		if !isLabelChar(name[i]) {
			return false
		}
	}
	return true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isLabelChar(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || isDigit(c)
}
