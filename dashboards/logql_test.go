package dashboards_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/braidobs/braid/correlate/links"
	"github.com/braidobs/braid/internal/lokilabels"
)

// lokiLabels are the index labels Braid's Loki exporter writes by default,
// and lokiMetadata the structured metadata fields a query may filter on,
// read from the exporter's own label mapping.
var (
	lokiLabels   = lokilabels.DefaultLabelNames()
	lokiMetadata = []string{lokilabels.MetadataTraceID, lokilabels.MetadataSpanID, lokilabels.MetadataSeverityText}
)

// The names the link builder and the dashboards use are the exporter's.
func TestLinkNamesAreTheLokiExportersNames(t *testing.T) {
	assert.ElementsMatch(t, lokiLabels, links.LogLabels())
	assert.Equal(t, lokilabels.MetadataTraceID, links.LogFieldTraceID)
	assert.Equal(t, lokilabels.MetadataSpanID, links.LogFieldSpanID)
	assert.Equal(t, lokilabels.MetadataSeverityText, links.LogFieldSeverity)
	for _, l := range links.TraceLogLabels() {
		assert.Equal(t, lokilabels.LabelName(l.Attribute), l.Label, l.Attribute)
	}
}

var (
	quoted        = regexp.MustCompile("\"(?:[^\"\\\\]|\\\\.)*\"|`[^`]*`")
	streamMatcher = regexp.MustCompile(`^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*""\s*$`)
	labelFilter   = regexp.MustCompile(`\|\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=|>=|<=|>|<)`)
	grouping      = regexp.MustCompile(`\b(?:by|without)\s*\(([^)]*)\)`)
)

// checkLogQL reports label names in a LogQL query that Braid's Loki
// exporter does not write: in stream selectors (index labels only), in
// label filters and in groupings (index labels or structured metadata).
// It reads the query's structure, not its full grammar.
func checkLogQL(expr string) []string {
	// Blank out string contents so that nothing inside a value is read as syntax.
	bare := quoted.ReplaceAllString(expr, `""`)
	var problems []string
	isLabel := func(n string) bool { return contains(lokiLabels, n) }
	isField := func(n string) bool { return isLabel(n) || contains(lokiMetadata, n) }

	selectors := 0
	for rest := bare; ; {
		open := strings.IndexByte(rest, '{')
		if open < 0 {
			break
		}
		end := strings.IndexByte(rest[open:], '}')
		if end < 0 {
			problems = append(problems, "unclosed stream selector")
			break
		}
		selectors++
		nonEmpty := false
		for _, m := range strings.Split(rest[open+1:open+end], ",") {
			sm := streamMatcher.FindStringSubmatch(m)
			if sm == nil {
				problems = append(problems, fmt.Sprintf("stream matcher %q is not label op \"value\"", strings.TrimSpace(m)))
				continue
			}
			if !isLabel(sm[1]) {
				problems = append(problems, "stream label "+sm[1]+" is not written by the Loki exporter")
			}
			nonEmpty = true
		}
		if !nonEmpty {
			problems = append(problems, "empty stream selector")
		}
		rest = rest[open+end+1:]
	}
	if selectors == 0 {
		problems = append(problems, "no stream selector")
	}
	for _, m := range labelFilter.FindAllStringSubmatch(bare, -1) {
		if !isField(m[1]) {
			problems = append(problems, "label filter on "+m[1]+", which is neither a label nor structured metadata")
		}
	}
	for _, m := range grouping.FindAllStringSubmatch(bare, -1) {
		for _, l := range strings.Split(m[1], ",") {
			if l = strings.TrimSpace(l); l != "" && !isField(l) {
				problems = append(problems, "grouping by "+l+", which is neither a label nor structured metadata")
			}
		}
	}
	return problems
}

func contains(list []string, s string) bool {
	for _, l := range list {
		if l == s {
			return true
		}
	}
	return false
}

// The checker itself must catch what it is there to catch.
func TestCheckLogQL(t *testing.T) {
	tests := []struct {
		name    string
		expr    string
		wantErr string
	}{
		{name: "selector and metadata filter", expr: `{service_name="a", k8s_pod_name=~"b|c"} | trace_id="x"`},
		{name: "metric query", expr: `sum by (k8s_pod_name) (rate({service_name="a"} | severity_text=~"error" [5m]))`},
		{name: "braces in values are not syntax", expr: `{service_name="{a}"} |= "x=y | pod=1"`},
		{name: "unknown stream label", expr: `{pod="a"}`, wantErr: "stream label pod is not written"},
		{name: "metadata is not a stream label", expr: `{trace_id="a"}`, wantErr: "stream label trace_id is not written"},
		{name: "unknown filter label", expr: `{service_name="a"} | traceID="x"`, wantErr: "label filter on traceID"},
		{name: "unknown grouping", expr: `sum by (pod) (count_over_time({service_name="a"}[5m]))`, wantErr: "grouping by pod"},
		{name: "empty selector", expr: `{}`, wantErr: "empty stream selector"},
		{name: "no selector", expr: `trace_id="a"`, wantErr: "no stream selector"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			problems := checkLogQL(tt.expr)
			if tt.wantErr == "" {
				assert.Empty(t, problems)
				return
			}
			assert.Contains(t, strings.Join(problems, "; "), tt.wantErr)
		})
	}
}
