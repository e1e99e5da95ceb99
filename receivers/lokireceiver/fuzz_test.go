package lokireceiver

import (
	"testing"

	"github.com/golang/snappy"
	"github.com/grafana/loki/pkg/push"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

// fuzzConvert runs decoded streams through the conversion as the handler
// does: whatever decodes must convert without a panic.
func fuzzConvert(t *testing.T, streams []stream) {
	c := &converter{labelAttributes: map[string]string{"pod": "k8s.pod.name"}}
	ld, n := c.toLogs(streams, "tenant", pcommon.Timestamp(1))
	if ld.LogRecordCount() != n {
		t.Fatalf("converted %d records, counted %d", ld.LogRecordCount(), n)
	}
}

func FuzzDecodeProtobuf(f *testing.F) {
	valid := protobufBody(f, push.Stream{
		Labels: `{service_name="checkout", pod="p"}`,
		Entries: []push.Entry{
			{Timestamp: ts0, Line: "order placed", StructuredMetadata: push.LabelsAdapter{{Name: "trace_id", Value: traceHex}, {Name: "span_id", Value: "zz"}}},
			{Timestamp: ts0, Line: "x", StructuredMetadata: push.LabelsAdapter{{Name: "severity_text", Value: "ERROR"}}},
		},
	})
	f.Add(valid)
	f.Add(valid[:len(valid)/2])
	f.Add(snappy.Encode(nil, []byte{0x0a, 0x05, 0x0a, 0x03, '{', '}'}))
	f.Add(snappy.Encode(nil, []byte("\xff\xff\xff\xff\x0f")))
	f.Add([]byte{})
	f.Add([]byte("{\"streams\":[]}"))
	f.Fuzz(func(t *testing.T, body []byte) {
		streams, err := decodeProtobuf(body, 1<<20)
		if err != nil {
			return
		}
		fuzzConvert(t, streams)
	})
}

func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{
		`{"streams":[{"stream":{"service_name":"api"},"values":[["1700000000000000000","hello",{"trace_id":"` + traceHex + `"}],["1700000000000000001","x"]]}]}`,
		`{"streams":[{"stream":{"a":"b"},"values":[[1700000000000000000,"numeric ts"]]}]}`,
		`{"streams":[{"stream":{"a":"b","a":"c"},"values":[]}]}`,
		`{"streams":[{"stream":{},"values":[]}]}`,
		`{"streams":[{"stream":{"a":"b"},"values":[["x"]]}]}`,
		`{"streams":[{"stream":{"a":"b"},"values":[["1","x",null]]}]}`,
		`{"streams":[`, `[]`, `null`, `{"streams":{}}`, "{\"streams\":[{\"stream\":{\"a\":\"\xff\"},\"values\":[]}]}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		streams, err := decodeJSON(body)
		if err != nil {
			return
		}
		fuzzConvert(t, streams)
	})
}
