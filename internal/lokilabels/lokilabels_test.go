package lokilabels_test

import (
	"strings"
	"testing"

	"github.com/grafana/loki/pkg/push"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/braidobs/braid/internal/lokilabels"
)

func TestDefaultMappingsMatchLabelNames(t *testing.T) {
	want := []string{
		"service_name", "service_namespace", "k8s_cluster_name", "k8s_namespace_name",
		"k8s_pod_name", "k8s_container_name", "k8s_deployment_name", "k8s_statefulset_name",
		"k8s_daemonset_name", "k8s_job_name", "k8s_cronjob_name", "deployment_environment_name",
	}
	assert.Equal(t, want, lokilabels.DefaultLabelNames())
	for _, m := range lokilabels.DefaultMappings() {
		assert.Equal(t, m.Label, lokilabels.LabelName(m.Attribute), "label of %s", m.Attribute)
		assert.Equal(t, m.Attribute, lokilabels.AttributeName(m.Label), "attribute of %s", m.Label)
	}
	// A caller cannot change the defaults through the returned slice.
	lokilabels.DefaultMappings()[0].Label = "changed"
	assert.Equal(t, "service_name", lokilabels.DefaultMappings()[0].Label)
}

func TestLabelName(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"already valid", "job", "job"},
		{"dots", "k8s.pod.name", "k8s_pod_name"},
		{"dashes and slashes", "app.kubernetes.io/name", "app_kubernetes_io_name"},
		{"leading digit", "1st", "_1st"},
		{"non ascii", "héllo", "h_llo"},
		{"empty", "", "_"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := lokilabels.LabelName(tt.in)
			assert.Equal(t, tt.want, got)
			assert.True(t, lokilabels.IsValidLabelName(got))
		})
	}
	assert.Equal(t, "job", lokilabels.AttributeName("job"), "unknown labels are kept")
}

func TestFormatParseRoundTrip(t *testing.T) {
	labels := []push.LabelAdapter{
		{Name: "service_name", Value: "checkout"},
		{Name: "k8s_pod_name", Value: `quote " backslash \ newline` + "\n" + ` unicode é`},
	}
	s := string(lokilabels.Format(nil, labels))
	assert.Equal(t, `{k8s_pod_name="quote \" backslash \\ newline\n unicode é", service_name="checkout"}`, s)
	got, err := lokilabels.Parse(s)
	require.NoError(t, err)
	assert.Equal(t, labels, got) // Format sorted labels in place
}

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []push.LabelAdapter
		wantErr string
	}{
		{name: "promtail style", in: `{job="varlogs", filename="/var/log/a.log"}`, want: []push.LabelAdapter{{Name: "filename", Value: "/var/log/a.log"}, {Name: "job", Value: "varlogs"}}},
		{name: "no spaces", in: `{a="1",b="2"}`, want: []push.LabelAdapter{{Name: "a", Value: "1"}, {Name: "b", Value: "2"}}},
		{name: "spaces everywhere", in: ` { a = "1" , b="2" , } `, want: []push.LabelAdapter{{Name: "a", Value: "1"}, {Name: "b", Value: "2"}}},
		{name: "backquoted", in: "{a=`x\\y`}", want: []push.LabelAdapter{{Name: "a", Value: `x\y`}}},
		{name: "empty value", in: `{a=""}`, want: []push.LabelAdapter{{Name: "a", Value: ""}}},
		{name: "empty selector", in: `{}`, wantErr: "at least one label pair"},
		{name: "empty string", in: ``, wantErr: "expected '{'"},
		{name: "regexp matcher", in: `{a=~"x"}`, wantErr: "only '=' matchers"},
		{name: "not equal", in: `{a!="x"}`, wantErr: "only '=' matchers"},
		{name: "unterminated", in: `{a="x}`, wantErr: "unterminated"},
		{name: "unquoted value", in: `{a=x}`, wantErr: "expected a quoted value"},
		{name: "bad name", in: `{1a="x"}`, wantErr: "expected a label name"},
		{name: "duplicate", in: `{a="x", a="y"}`, wantErr: "duplicate label name a"},
		{name: "missing comma", in: `{a="x" b="y"}`, wantErr: "expected ',' or '}'"},
		{name: "trailing text", in: `{a="x"} junk`, wantErr: "unexpected text"},
		{name: "bad escape", in: `{a="\q"}`, wantErr: "invalid quoted value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := lokilabels.Parse(tt.in)
			if tt.wantErr != "" {
				assert.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestValidateTenant(t *testing.T) {
	tests := []struct{ name, tenant, wantErr string }{
		{"empty is single tenant", "", ""},
		{"plain", "team-a", ""},
		{"all allowed punctuation", "a!-_.*'()", ""},
		{"space", "team a", "offset 4"},
		{"newline", "a\nb", "offset 1"},
		{"pipe", "a|b", "offset 1"},
		{"dot", ".", `must not be "."`},
		{"too long", strings.Repeat("a", 151), "longer than 150"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := lokilabels.ValidateTenant(tt.tenant)
			if tt.wantErr == "" {
				assert.NoError(t, err)
				return
			}
			assert.ErrorContains(t, err, tt.wantErr)
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{job="varlogs", filename="/var/log/a.log"}`, `{a="\"\\\n\x00\u00e9"}`, "{a=`raw`}", `{}`, `{a="`, `{a=~"b"}`,
		`{service_name="checkout", k8s_pod_name="checkout-7d9f"}`, "{\xff=\"x\"}",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		labels, err := lokilabels.Parse(s)
		if err != nil {
			return
		}
		// Whatever parses must format into something that parses to the same labels.
		again, err := lokilabels.Parse(string(lokilabels.Format(nil, labels)))
		if err != nil {
			t.Fatalf("formatted labels of %q do not parse: %v", s, err)
		}
		if len(again) != len(labels) {
			t.Fatalf("round trip of %q changed the labels: %v vs %v", s, labels, again)
		}
		for i := range labels {
			if labels[i] != again[i] {
				t.Fatalf("round trip of %q changed label %d: %v vs %v", s, i, labels[i], again[i])
			}
		}
	})
}

var sinkLabels []push.LabelAdapter

func BenchmarkParse(b *testing.B) {
	s := `{k8s_cluster_name="prod", k8s_container_name="app", k8s_namespace_name="shop", k8s_pod_name="checkout-7d9f8c6b5-x2x9q", service_name="checkout"}`
	b.ReportAllocs()
	for b.Loop() {
		sinkLabels, _ = lokilabels.Parse(s)
	}
}
