package lokiexporter

import (
	"testing"

	"github.com/grafana/loki/pkg/push"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// The entries of one scope share one metadata slab and one string of IDs:
// each must still get exactly its own fields, and appending to one entry's
// metadata must never write into the next one's.
func TestEntriesOfAScopeKeepTheirOwnMetadata(t *testing.T) {
	ld := plog.NewLogs()
	lrs := addResource(ld, map[string]string{"service.name": "checkout", "k8s.pod.uid": "u-1"})
	a := addRecord(lrs, "a", baseTime)
	a.SetTraceID(testTraceID)
	a.SetSpanID(testSpanID)
	a.Attributes().PutStr("user", "ann")
	a.Attributes().PutInt("attempt", 2)
	addRecord(lrs, "b", baseTime.Add(1))
	c := addRecord(lrs, "c", baseTime.Add(2))
	otherSpan := pcommon.SpanID{1, 2, 3, 4, 5, 6, 7, 8}
	c.SetSpanID(otherSpan)
	c.SetSeverityText("WARN")
	d := addRecord(lrs, "d", baseTime.Add(3))
	otherTrace := pcommon.TraceID{0xa, 0xb, 0xc, 0xd, 0xe, 0xf, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0}
	d.SetTraceID(otherTrace)

	out := newEncoder(createDefaultConfig().(*Config)).encode(ld)
	require.Len(t, out.tenants, 1)
	s := streamByLabels(t, out.tenants[0].req, `{service_name="checkout"}`)
	require.Len(t, s.Entries, 4)
	want := []map[string]string{
		{"trace_id": testTraceID.String(), "span_id": testSpanID.String(), "user": "ann", "attempt": "2", "k8s_pod_uid": "u-1"},
		{"k8s_pod_uid": "u-1"},
		{"span_id": otherSpan.String(), "severity_text": "WARN", "k8s_pod_uid": "u-1"},
		{"trace_id": otherTrace.String(), "k8s_pod_uid": "u-1"},
	}
	for i, e := range s.Entries {
		assert.Equal(t, want[i], metadata(e), "entry %d (%s)", i, e.Line)
		assert.Equal(t, len(e.StructuredMetadata), cap(e.StructuredMetadata), "entry %d metadata is clipped", i)
	}
	s.Entries[1].StructuredMetadata = append(s.Entries[1].StructuredMetadata, push.LabelAdapter{Name: "x", Value: "y"})
	assert.Equal(t, want[2], metadata(s.Entries[2]), "appending to one entry leaves the next alone")
}

func TestMarshalRequestReusesItsBuffer(t *testing.T) {
	ld := benchLogs(3, 20)
	out := newEncoder(createDefaultConfig().(*Config)).encode(ld)
	want, err := out.tenants[0].req.Marshal()
	require.NoError(t, err)
	buf := make([]byte, 0, 1)
	got, err := marshalRequest(buf, &out.tenants[0].req)
	require.NoError(t, err)
	assert.Equal(t, want, got)
	again, err := marshalRequest(got, &out.tenants[0].req)
	require.NoError(t, err)
	assert.Equal(t, want, again)
	assert.Same(t, &got[0], &again[0], "a buffer that is big enough is reused")
}
