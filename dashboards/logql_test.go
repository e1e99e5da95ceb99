package dashboards_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/braidobs/braid/correlate/links"
	"github.com/braidobs/braid/dashboards"
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

// logqlSyntaxErrors parses queries with Grafana's LogQL grammar
// (@grafana/lezer-logql on Node.js, installed by `npm ci --prefix
// dashboards/logqlcheck`) and returns, per query, "" or its first error.
func logqlSyntaxErrors(t *testing.T, queries []string) []string {
	t.Helper()
	node, err := exec.LookPath("node")
	_, modErr := os.Stat(filepath.Join("logqlcheck", "node_modules", "@grafana", "lezer-logql"))
	if err != nil || modErr != nil {
		msg := "LogQL grammar not installed: run make dashboards-deps (npm ci --prefix dashboards/logqlcheck)"
		// make test installs the grammar and sets BRAID_LOGQL_CHECK=require,
		// so there the check cannot be skipped.
		if os.Getenv("BRAID_LOGQL_CHECK") == "require" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	in, err := json.Marshal(queries)
	require.NoError(t, err)
	cmd := exec.Command(node, "check.mjs")
	cmd.Dir = "logqlcheck"
	cmd.Stdin = bytes.NewReader(in)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	require.NoError(t, err)
	var res []*struct {
		At   int    `json:"at"`
		Near string `json:"near"`
	}
	require.NoError(t, json.Unmarshal(out, &res))
	require.Len(t, res, len(queries))
	errs := make([]string, len(res))
	for i, r := range res {
		if r != nil {
			errs[i] = fmt.Sprintf("syntax error at %d near %q", r.At, r.Near)
		}
	}
	return errs
}

// Every generated LogQL query parses with Grafana's own LogQL grammar.
func TestLogQLSyntax(t *testing.T) {
	files, err := dashboards.Generate(dashboards.DefaultConfig(), dashboards.DefaultDashboardsPath)
	require.NoError(t, err)
	var where, queries []string
	for _, q := range append(generatedQueries(t, files), linkQueries(t, dashboards.DefaultConfig())...) {
		if q.lang == "logql" {
			where = append(where, q.where)
			queries = append(queries, expand(q.expr, links.TraceLogLabels()))
		}
	}
	require.NotEmpty(t, queries)
	// Controls: the grammar must refuse broken queries.
	broken := []string{`{service_name="a"`, `sum(rate({service_name="a"}[5m])`, `{service_name="a"} | trace_id=`}
	errs := logqlSyntaxErrors(t, append(queries, broken...))
	for i, e := range errs[:len(queries)] {
		assert.Empty(t, e, "%s: %s", where[i], queries[i])
	}
	for i, e := range errs[len(queries):] {
		assert.NotEmpty(t, e, "the grammar accepts the broken %s", broken[i])
	}
}
