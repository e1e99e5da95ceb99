package lokiexporter

import (
	"testing"
	"unicode/utf8"

	"github.com/grafana/loki/pkg/push"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/braidobs/braid/internal/lokilabels"
)

// FuzzEncode feeds arbitrary attribute names, values and bodies (from any
// sender) through the encoder: every stream label string must parse back, and
// everything sent must be valid UTF-8 within the label value limit.
func FuzzEncode(f *testing.F) {
	f.Add("checkout", "k8s.pod.name", "pod-1", "line", "user.id", "42", `{"a":1}`)
	f.Add("\xff\xfe", "1st", `quote " and \ backslash`, "bad \xff utf8", "", "", "")
	f.Add("", "service.name", "", "", "trace_id", "not a trace", "\x00")
	f.Fuzz(func(t *testing.T, service, attrKey, attrValue, line, recKey, recValue, jsonKey string) {
		cfg := createDefaultConfig().(*Config)
		cfg.MaxLabelValueLength = 32
		cfg.Labels.ResourceAttributes = append(cfg.Labels.ResourceAttributes, attrKey)
		cfg.Labels.Attributes = []string{recKey}
		enc := newEncoder(cfg)

		ld := plog.NewLogs()
		rl := ld.ResourceLogs().AppendEmpty()
		rl.Resource().Attributes().PutStr("service.name", service)
		rl.Resource().Attributes().PutStr(attrKey, attrValue)
		lrs := rl.ScopeLogs().AppendEmpty().LogRecords()
		lr := lrs.AppendEmpty()
		lr.Body().SetStr(line)
		lr.Attributes().PutStr(recKey, recValue)
		m := lrs.AppendEmpty()
		m.Body().SetEmptyMap().PutStr(jsonKey, line)

		out := enc.encode(ld)
		for _, tr := range out.tenants {
			raw, err := tr.req.Marshal()
			if err != nil {
				t.Fatalf("marshal: %v", err)
			}
			if tr.size() != len(raw) {
				t.Fatalf("encoder sized the request %d bytes, it encodes to %d", tr.size(), len(raw))
			}
			var back push.PushRequest
			if err := back.Unmarshal(raw); err != nil {
				t.Fatalf("unmarshal: %v", err)
			}
			for _, s := range back.Streams {
				labels, err := lokilabels.Parse(s.Labels)
				if err != nil {
					t.Fatalf("stream labels %q do not parse: %v", s.Labels, err)
				}
				for _, l := range labels {
					if !utf8.ValidString(l.Value) || len(l.Value) > cfg.MaxLabelValueLength {
						t.Fatalf("label %s=%q is not valid UTF-8 within %d bytes", l.Name, l.Value, cfg.MaxLabelValueLength)
					}
				}
				for _, e := range s.Entries {
					if !utf8.ValidString(e.Line) {
						t.Fatalf("line %q is not valid UTF-8", e.Line)
					}
					for _, md := range e.StructuredMetadata {
						if !lokilabels.IsValidLabelName(md.Name) || !utf8.ValidString(md.Value) {
							t.Fatalf("metadata %q=%q is not a valid name with a UTF-8 value", md.Name, md.Value)
						}
					}
				}
			}
		}
	})
}
