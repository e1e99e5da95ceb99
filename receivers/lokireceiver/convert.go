package lokireceiver

import (
	"encoding/hex"
	"strings"

	"github.com/grafana/loki/pkg/push"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/braidobs/braid/internal/lokilabels"
)

// scopeName is the instrumentation scope of the records the receiver makes.
const scopeName = "github.com/braidobs/braid/receivers/lokireceiver"

// converter turns pushed streams into pdata logs. It holds configuration
// only and is safe for concurrent use.
type converter struct {
	labelAttributes map[string]string
}

// attribute returns the attribute name of a stream label.
func (c *converter) attribute(label string) string {
	if a, ok := c.labelAttributes[label]; ok {
		return a
	}
	return lokilabels.AttributeName(label)
}

// toLogs converts streams into one resource per stream. tenant, when not
// empty, is kept in the loki.tenant resource attribute; the names of the
// attributes that came from labels are kept in loki.resource.labels so that
// Braid's Loki exporter writes the same stream again.
func (c *converter) toLogs(streams []stream, tenant string, observed pcommon.Timestamp) (plog.Logs, int) {
	ld := plog.NewLogs()
	rls := ld.ResourceLogs()
	rls.EnsureCapacity(len(streams))
	count := 0
	var hint strings.Builder
	for i := range streams {
		s := &streams[i]
		rl := rls.AppendEmpty()
		res := rl.Resource().Attributes()
		res.EnsureCapacity(len(s.labels) + 2)
		hint.Reset()
		for _, l := range s.labels {
			attr := c.attribute(l.Name)
			res.PutStr(attr, l.Value)
			if hint.Len() > 0 {
				hint.WriteByte(',')
			}
			hint.WriteString(attr)
		}
		if hint.Len() > 0 {
			res.PutStr(lokilabels.LabelsHintAttribute, hint.String())
		}
		if tenant != "" {
			res.PutStr(lokilabels.TenantAttribute, tenant)
		}
		sl := rl.ScopeLogs().AppendEmpty()
		sl.Scope().SetName(scopeName)
		lrs := sl.LogRecords()
		lrs.EnsureCapacity(len(s.entries))
		for j := range s.entries {
			fillRecord(lrs.AppendEmpty(), &s.entries[j], observed)
		}
		count += len(s.entries)
	}
	return ld, count
}

func fillRecord(lr plog.LogRecord, e *push.Entry, observed pcommon.Timestamp) {
	if !e.Timestamp.IsZero() {
		lr.SetTimestamp(pcommon.NewTimestampFromTime(e.Timestamp))
	}
	lr.SetObservedTimestamp(observed)
	lr.Body().SetStr(e.Line)
	if len(e.StructuredMetadata) == 0 {
		return
	}
	attrs := lr.Attributes()
	for _, m := range e.StructuredMetadata {
		switch m.Name {
		case lokilabels.MetadataTraceID:
			var id pcommon.TraceID
			if decodeHexID(id[:], m.Value) {
				lr.SetTraceID(id)
				continue
			}
		case lokilabels.MetadataSpanID:
			var id pcommon.SpanID
			if decodeHexID(id[:], m.Value) {
				lr.SetSpanID(id)
				continue
			}
		case lokilabels.MetadataSeverityText:
			lr.SetSeverityText(m.Value)
			lr.SetSeverityNumber(severityNumber(m.Value))
			continue
		}
		attrs.PutStr(m.Name, m.Value)
	}
}

// decodeHexID fills dst from a hex string of exactly 2*len(dst) digits that
// is not all zeros.
func decodeHexID(dst []byte, s string) bool {
	if len(s) != 2*len(dst) {
		return false
	}
	if _, err := hex.Decode(dst, []byte(s)); err != nil {
		return false
	}
	for _, b := range dst {
		if b != 0 {
			return true
		}
	}
	return false
}

// severityNumber maps the usual level names to OpenTelemetry severities.
func severityNumber(text string) plog.SeverityNumber {
	switch strings.ToLower(text) {
	case "trace":
		return plog.SeverityNumberTrace
	case "debug", "dbug":
		return plog.SeverityNumberDebug
	case "info", "information", "informational", "notice":
		return plog.SeverityNumberInfo
	case "warn", "warning":
		return plog.SeverityNumberWarn
	case "error", "err", "eror":
		return plog.SeverityNumberError
	case "fatal", "critical", "crit", "panic", "emerg", "alert":
		return plog.SeverityNumberFatal
	}
	return plog.SeverityNumberUnspecified
}
