package lokiexporter

import (
	"fmt"
	"testing"
	"time"

	"github.com/grafana/loki/pkg/push"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/braidobs/braid/internal/lokilabels"
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
	got, err := marshalRequest(buf, &out.tenants[0].req, 0)
	require.NoError(t, err)
	assert.Equal(t, want, got)
	again, err := marshalRequest(got, &out.tenants[0].req, out.tenants[0].size())
	require.NoError(t, err)
	assert.Equal(t, want, again)
	assert.Same(t, &got[0], &again[0], "a buffer that is big enough is reused")
}

// The encoder's own sizes are what the push request's encoding takes, so
// marshalling can use them instead of sizing every entry again.
func TestEncodedSizeIsTheRequestsSize(t *testing.T) {
	multiTenant := benchLogs(4, 5)
	for i := range multiTenant.ResourceLogs().Len() {
		multiTenant.ResourceLogs().At(i).Resource().Attributes().PutStr(lokilabels.TenantAttribute, fmt.Sprintf("team-%d", i%2))
	}
	noTimestamps := benchLogs(2, 3)
	onTheSecond := benchLogs(1, 3)
	for _, ld := range []plog.Logs{noTimestamps, onTheSecond} {
		lrs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
		for i := range lrs.Len() {
			if ld == noTimestamps {
				lrs.At(i).SetTimestamp(0)
			} else {
				lrs.At(i).SetTimestamp(pcommon.NewTimestampFromTime(time.Unix(1_700_000_000+int64(i), 0)))
			}
		}
	}
	recordLabels := createDefaultConfig().(*Config)
	recordLabels.Labels.Attributes = []string{"log.iostream"}
	inLine := createDefaultConfig().(*Config)
	inLine.StructuredMetadata = false
	for _, tc := range []struct {
		name string
		cfg  *Config
		ld   plog.Logs
	}{
		{"one pod", createDefaultConfig().(*Config), benchLogs(1, 100)},
		{"many pods", createDefaultConfig().(*Config), benchLogs(100, 10)},
		{"two tenants", createDefaultConfig().(*Config), multiTenant},
		{"record labels", recordLabels, benchLogs(3, 7)},
		{"metadata in the line", inLine, benchLogs(3, 7)},
		{"no timestamps", createDefaultConfig().(*Config), noTimestamps},
		{"whole seconds", createDefaultConfig().(*Config), onTheSecond},
		{"nothing", createDefaultConfig().(*Config), plog.NewLogs()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := newEncoder(tc.cfg).encode(tc.ld)
			for _, tr := range out.tenants {
				assert.Equal(t, tr.req.Size(), tr.size(), "tenant %q", tr.tenant)
			}
		})
	}
}

func TestTimestampSize(t *testing.T) {
	for _, tc := range []struct {
		name string
		t    time.Time
	}{
		{"epoch", time.Unix(0, 0)},
		{"nanoseconds only", time.Unix(0, 999_999_999)},
		{"seconds only", time.Unix(1_700_000_000, 0)},
		{"both", time.Unix(1_700_000_000, 123_456_789)},
		{"before the epoch", time.Unix(-86_400, 5)},
		{"year 1", time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"year 9999, last nanosecond", time.Date(9999, 12, 31, 23, 59, 59, 999_999_999, time.UTC)},
		{"year 0, out of range", time.Date(0, 12, 31, 0, 0, 0, 0, time.UTC)},
		{"year 10000, out of range", time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"zero time", time.Time{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, push.SizeOfStdTime(tc.t), timestampSize(tc.t))
		})
	}
}
