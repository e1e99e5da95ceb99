package dashboards

import (
	"bytes"
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/braidobs/braid/correlate/links"
)

// Grafana's datasource provisioning file, written from Braid's own types:
// the foundation SDK builds dashboards, not provisioning. In provisioning
// files "$$" stands for a literal "$".

type datasourcesFile struct {
	APIVersion  int                     `yaml:"apiVersion"`
	Datasources []provisionedDatasource `yaml:"datasources"`
}

type provisionedDatasource struct {
	Name      string         `yaml:"name"`
	Type      string         `yaml:"type"`
	UID       string         `yaml:"uid"`
	Access    string         `yaml:"access"`
	URL       string         `yaml:"url"`
	IsDefault bool           `yaml:"isDefault"`
	Editable  bool           `yaml:"editable"`
	JSONData  map[string]any `yaml:"jsonData"`
}

// DerivedField is one Loki derived field: a trace ID found in a log line or
// its structured metadata, turned into a link to the Jaeger datasource.
type DerivedField struct {
	Name            string `yaml:"name"`
	MatcherType     string `yaml:"matcherType"`
	MatcherRegex    string `yaml:"matcherRegex"`
	URL             string `yaml:"url"`
	DatasourceUID   string `yaml:"datasourceUid"`
	URLDisplayLabel string `yaml:"urlDisplayLabel"`
}

// Regular expressions of the in-line trace ID derived fields; the first
// group is the trace ID. Grafana evaluates them in the browser, so they use
// only syntax that JavaScript and Go's RE2 read alike (no inline flags).
const (
	// trace_id=…, "traceId":"…", trace.id: … as JSON, logfmt and plain text print them.
	TraceIDFieldRegex = `(?:[tT]race_?[iI][dD]|trace\.id)["']?\s*[:=]\s*["']?([0-9a-fA-F]{32})\b`
	// A W3C traceparent value: version-traceid-spanid-flags.
	TraceparentRegex = `\b[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}\b`
)

// LokiDerivedFields are the trace links of the Loki datasource: the trace_id
// structured metadata field first (what Braid's Loki exporter writes), then
// trace IDs printed in the line.
func LokiDerivedFields(ds links.Datasources) []DerivedField {
	link := func(name, matcherType, regex string) DerivedField {
		return DerivedField{
			Name: name, MatcherType: matcherType, MatcherRegex: regex,
			URL: "$${__value.raw}", DatasourceUID: ds.Jaeger.UID, URLDisplayLabel: "Open trace in Jaeger",
		}
	}
	return []DerivedField{
		link("Trace", "label", links.LogFieldTraceID),
		link("Trace in line", "regex", TraceIDFieldRegex),
		link("Trace in traceparent", "regex", TraceparentRegex),
	}
}

// TracesToLogsQuery is the Jaeger datasource's traces-to-logs query: the
// span's service and pod streams, filtered by the trace_id structured
// metadata field. Grafana fills ${__tags} from the mapped span attributes.
func TracesToLogsQuery() string {
	return "{$${__tags}} | " + links.LogFieldTraceID + `="$${__trace.traceId}"`
}

// TracesToMetricsQueries are the Jaeger datasource's traces-to-metrics
// links; Grafana fills $__tags from the mapped span attributes.
func TracesToMetricsQueries() []map[string]string {
	return []map[string]string{
		{"name": "Request rate", "query": fmt.Sprintf(`sum by (%s) (rate(%s{$$__tags}[5m]))`, links.MetricLabelSpanName, links.MetricSpanCalls)},
		{"name": "Error rate", "query": fmt.Sprintf(`sum by (%s) (rate(%s{$$__tags, %s="%s"}[5m]))`, links.MetricLabelSpanName, links.MetricSpanCalls, links.MetricLabelStatusCode, links.StatusCodeError)},
		{"name": "p99 latency", "query": fmt.Sprintf(`histogram_quantile(0.99, sum by (%s, %s) (rate(%s{$$__tags}[5m])))`, links.MetricLabelSpanName, links.MetricLabelBucket, links.MetricSpanDurationBucket)},
	}
}

func tagMappings(ls []links.Label) []map[string]string {
	out := make([]map[string]string, len(ls))
	for i, l := range ls {
		out[i] = map[string]string{"key": l.Attribute, "value": l.Label}
	}
	return out
}

// DatasourcesYAML renders Grafana's datasource provisioning file: Prometheus
// with exemplar links to Jaeger, Loki with trace ID derived fields, Jaeger
// with traces-to-logs and traces-to-metrics.
func DatasourcesYAML(cfg Config) ([]byte, error) {
	ds := cfg.Datasources
	f := datasourcesFile{APIVersion: 1, Datasources: []provisionedDatasource{
		{
			Name: ds.Prometheus.Name, Type: links.TypePrometheus, UID: ds.Prometheus.UID, Access: "proxy", URL: ds.Prometheus.URL, IsDefault: true,
			JSONData: map[string]any{
				"httpMethod": "POST",
				"exemplarTraceIdDestinations": []map[string]string{{
					"name": links.ExemplarTraceIDLabel, "datasourceUid": ds.Jaeger.UID, "urlDisplayLabel": "Open trace in Jaeger",
				}},
			},
		},
		{
			Name: ds.Loki.Name, Type: links.TypeLoki, UID: ds.Loki.UID, Access: "proxy", URL: ds.Loki.URL,
			JSONData: map[string]any{
				"maxLines":      1000,
				"derivedFields": LokiDerivedFields(ds),
			},
		},
		{
			Name: ds.Jaeger.Name, Type: links.TypeJaeger, UID: ds.Jaeger.UID, Access: "proxy", URL: ds.Jaeger.URL,
			JSONData: map[string]any{
				"tracesToLogsV2": map[string]any{
					"datasourceUid":      ds.Loki.UID,
					"spanStartTimeShift": "-1m",
					"spanEndTimeShift":   "1m",
					"tags":               tagMappings(links.TraceLogLabels()),
					"customQuery":        true,
					"query":              TracesToLogsQuery(),
				},
				"tracesToMetrics": map[string]any{
					"datasourceUid":      ds.Prometheus.UID,
					"spanStartTimeShift": "-5m",
					"spanEndTimeShift":   "5m",
					"tags":               tagMappings(links.TraceMetricLabels()),
					"queries":            TracesToMetricsQueries(),
				},
				"nodeGraph":         map[string]bool{"enabled": true},
				"traceIdTimeParams": map[string]bool{"enabled": true},
			},
		},
	}}
	return marshalYAML("# Braid's Grafana datasources. Generated by `braid dashboards generate`; do not edit.\n", f)
}

type dashboardProvidersFile struct {
	APIVersion int                 `yaml:"apiVersion"`
	Providers  []dashboardProvider `yaml:"providers"`
}

type dashboardProvider struct {
	Name                  string            `yaml:"name"`
	OrgID                 int               `yaml:"orgId"`
	Folder                string            `yaml:"folder"`
	FolderUID             string            `yaml:"folderUid"`
	Type                  string            `yaml:"type"`
	DisableDeletion       bool              `yaml:"disableDeletion"`
	AllowUIUpdates        bool              `yaml:"allowUiUpdates"`
	UpdateIntervalSeconds int               `yaml:"updateIntervalSeconds"`
	Options               map[string]string `yaml:"options"`
}

// DashboardsYAML renders Grafana's dashboard provisioning file: a file
// provider loading the generated dashboards from dir into a Braid folder.
func DashboardsYAML(dir string) ([]byte, error) {
	f := dashboardProvidersFile{APIVersion: 1, Providers: []dashboardProvider{{
		Name: "braid", OrgID: 1, Folder: "Braid", FolderUID: "braid", Type: "file",
		DisableDeletion: true, AllowUIUpdates: false, UpdateIntervalSeconds: 30,
		Options: map[string]string{"path": dir},
	}}}
	return marshalYAML("# Braid's dashboards. Generated by `braid dashboards generate`; do not edit.\n", f)
}

func marshalYAML(header string, v any) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString(header)
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encode yaml: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encode yaml: %w", err)
	}
	return []byte(strings.TrimRight(buf.String(), "\n") + "\n"), nil
}
