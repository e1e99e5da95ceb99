package links

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// TimeRange is the time range an Explore link opens on. A zero From or To
// stands for "an hour ago" and "now".
type TimeRange struct {
	From, To time.Time
}

// Selector picks a service or a pod. Empty fields are left out of queries.
// With neither Service, Services nor Pod set, a logs query reads every
// stream that has a service name (correct, but costly on a large Loki).
type Selector struct {
	Cluster   string
	Namespace string
	Service   string
	// Services selects any of several services (the services of one trace);
	// Service, when also set, is one of them.
	Services []string
	Pod      string
}

// services returns the selector's services, Service first, without
// duplicates.
func (s Selector) services() []string {
	var out []string
	for _, v := range append([]string{s.Service}, s.Services...) {
		if v != "" && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// LinkBuilder renders Grafana Explore URLs (the panes form, schemaVersion 1)
// into Braid's datasources. The zero value is not usable; create one with
// NewLinkBuilder. A LinkBuilder is immutable and safe for concurrent use.
type LinkBuilder struct {
	base  string // Grafana root URL without trailing slash
	org   int64
	ds    Datasources
	shift time.Duration
}

// Option changes a LinkBuilder.
type Option func(*LinkBuilder)

// WithOrgID sets the Grafana organisation links open in (default 1).
func WithOrgID(id int64) Option { return func(b *LinkBuilder) { b.org = id } }

// WithLogWindow widens a trace's logs link by d on each side of the trace's
// time range, for logs written a little before or after their spans
// (default one minute).
func WithLogWindow(d time.Duration) Option { return func(b *LinkBuilder) { b.shift = d } }

// NewLinkBuilder returns a builder for links into the Grafana at grafanaURL
// (e.g. http://127.0.0.1:3000, or a sub-path such as https://example.com/grafana).
func NewLinkBuilder(grafanaURL string, ds Datasources, opts ...Option) (*LinkBuilder, error) {
	u, err := url.Parse(grafanaURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("grafana url %q is not an absolute http(s) URL", grafanaURL)
	}
	if err := ds.Validate(); err != nil {
		return nil, err
	}
	b := &LinkBuilder{base: strings.TrimRight(grafanaURL, "/"), org: 1, ds: ds, shift: time.Minute}
	for _, o := range opts {
		o(b)
	}
	return b, nil
}

// Trace links to the trace in the Jaeger datasource.
func (b *LinkBuilder) Trace(id pcommon.TraceID, r TimeRange) string {
	return b.explore(b.ds.Jaeger, r, []map[string]any{{
		"refId":      "A",
		"datasource": ref(b.ds.Jaeger),
		"query":      hex.EncodeToString(id[:]),
	}})
}

// TraceLogs links to the trace's log lines in the Loki datasource: the
// stream of the selected service or pod, filtered by the trace_id structured
// metadata. The range is widened by the builder's log window.
func (b *LinkBuilder) TraceLogs(id pcommon.TraceID, sel Selector, r TimeRange) string {
	if !r.From.IsZero() {
		r.From = r.From.Add(-b.shift)
	}
	if !r.To.IsZero() {
		r.To = r.To.Add(b.shift)
	}
	return b.explore(b.ds.Loki, r, []map[string]any{{
		"refId":      "A",
		"datasource": ref(b.ds.Loki),
		"expr":       TraceLogsQuery(id, sel),
		"queryType":  "range",
	}})
}

// ServiceMetrics links to the selected service's or pod's RED series in the
// Prometheus datasource: request rate, error rate and p99 latency by
// operation, with exemplars.
func (b *LinkBuilder) ServiceMetrics(sel Selector, r TimeRange) string {
	m := MetricMatchers(sel)
	queries := []string{
		fmt.Sprintf(`sum by (%s) (rate(%s{%s}[5m]))`, MetricLabelSpanName, MetricSpanCalls, m),
		fmt.Sprintf(`sum by (%s) (rate(%s{%s}[5m]))`, MetricLabelSpanName, MetricSpanCalls,
			joinMatchers(m, matcher(MetricLabelStatusCode, StatusCodeError))),
		fmt.Sprintf(`histogram_quantile(0.99, sum by (%s, %s) (rate(%s{%s}[5m])))`,
			MetricLabelSpanName, MetricLabelBucket, MetricSpanDurationBucket, m),
	}
	qs := make([]map[string]any, len(queries))
	for i, q := range queries {
		qs[i] = map[string]any{
			"refId":      string(rune('A' + i)),
			"datasource": ref(b.ds.Prometheus),
			"expr":       q,
			"range":      true,
			"exemplar":   true,
		}
	}
	return b.explore(b.ds.Prometheus, r, qs)
}

// Dashboard links to a generated dashboard with its variables preselected
// (e.g. links.VarService: "checkout").
func (b *LinkBuilder) Dashboard(uid string, vars map[string]string, r TimeRange) string {
	q := url.Values{}
	q.Set("orgId", strconv.FormatInt(b.org, 10))
	for k, v := range vars {
		q.Set("var-"+k, v)
	}
	from, to := rangeBounds(r)
	q.Set("from", from)
	q.Set("to", to)
	return b.base + "/d/" + url.PathEscape(uid) + "?" + q.Encode()
}

// TraceLogsQuery is the LogQL query for a trace's log lines: the selected
// streams, filtered by the trace_id structured metadata field.
func TraceLogsQuery(id pcommon.TraceID, sel Selector) string {
	return "{" + LogMatchers(sel) + "} | " + LogFieldTraceID + "=" + strconv.Quote(hex.EncodeToString(id[:]))
}

// LogMatchers renders the selector as Loki label matchers
// (service_name="checkout", ...). With an empty selector it matches every
// stream that has a service name.
func LogMatchers(sel Selector) string {
	m := joinMatchers(
		matcher(LogLabelCluster, sel.Cluster),
		matcher(LogLabelNamespace, sel.Namespace),
		anyOf(LogLabelService, sel.services()),
		matcher(LogLabelPod, sel.Pod),
	)
	if m == "" {
		return LogLabelService + `=~".+"`
	}
	return m
}

// MetricMatchers renders the selector as PromQL label matchers on span
// metrics.
func MetricMatchers(sel Selector) string {
	return joinMatchers(
		matcher(MetricLabelCluster, sel.Cluster),
		matcher(MetricLabelNamespace, sel.Namespace),
		anyOf(MetricLabelService, sel.services()),
		matcher(MetricLabelPod, sel.Pod),
	)
}

func matcher(label, value string) string {
	if value == "" {
		return ""
	}
	return label + "=" + strconv.Quote(value)
}

// anyOf matches one value exactly, or any of several with an (anchored)
// regular expression.
func anyOf(label string, values []string) string {
	switch len(values) {
	case 0:
		return ""
	case 1:
		return matcher(label, values[0])
	}
	quoted := make([]string, len(values))
	for i, v := range values {
		quoted[i] = regexp.QuoteMeta(v)
	}
	return label + "=~" + strconv.Quote(strings.Join(quoted, "|"))
}

func joinMatchers(ms ...string) string {
	out := make([]string, 0, len(ms))
	for _, m := range ms {
		if m != "" {
			out = append(out, m)
		}
	}
	return strings.Join(out, ", ")
}

func ref(ds Datasource) map[string]string {
	return map[string]string{"type": ds.Type, "uid": ds.UID}
}

// explore renders one Explore pane. Grafana reads the pane state from the
// panes parameter as JSON keyed by an arbitrary pane ID.
func (b *LinkBuilder) explore(ds Datasource, r TimeRange, queries []map[string]any) string {
	from, to := rangeBounds(r)
	panes := map[string]any{
		"braid": map[string]any{
			"datasource": ds.UID,
			"queries":    queries,
			"range":      map[string]string{"from": from, "to": to},
		},
	}
	raw, err := json.Marshal(panes)
	if err != nil {
		// Only strings, bools and maps of them: marshalling cannot fail.
		panic(fmt.Sprintf("links: marshal explore panes: %v", err))
	}
	q := url.Values{}
	q.Set("schemaVersion", "1")
	q.Set("panes", string(raw))
	q.Set("orgId", strconv.FormatInt(b.org, 10))
	return b.base + "/explore?" + q.Encode()
}

// rangeBounds renders a range the way Grafana URLs carry it: epoch
// milliseconds, or relative times for open ends.
func rangeBounds(r TimeRange) (from, to string) {
	from, to = "now-1h", "now"
	if !r.From.IsZero() {
		from = strconv.FormatInt(r.From.UnixMilli(), 10)
	}
	if !r.To.IsZero() {
		to = strconv.FormatInt(r.To.UnixMilli(), 10)
	}
	return from, to
}
