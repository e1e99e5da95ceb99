package faults

import (
	"testing"
	"time"

	"github.com/grafana/loki/pkg/push"
	"github.com/prometheus/prometheus/prompb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRecorderFindsTheIDs(t *testing.T) {
	now := time.Now()
	tests := []struct {
		name   string
		stream Stream
		send   func(r Recorder)
	}{
		{"spans over OTLP", Spans, func(r Recorder) { r.Traces(SpansFrom(1, 4, now)) }},
		{"log records over OTLP", LogRecords, func(r Recorder) { r.Logs(LogsFrom(1, 4, now, false)) }},
		{"data points over OTLP", Points, func(r Recorder) { r.Metrics(MetricsFrom(1, 4, now)) }},
		{"log lines over Loki push", LogRecords, func(r Recorder) {
			req := &push.PushRequest{Streams: []push.Stream{{Labels: `{service_name="x"}`}}}
			for id := uint64(1); id <= 4; id++ {
				req.Streams[0].Entries = append(req.Streams[0].Entries, push.Entry{Timestamp: now, Line: Line(LogRecords, id)})
			}
			r.LokiPush(req)
		}},
		{"samples over remote write", Points, func(r Recorder) {
			req := prompb.WriteRequest{Timeseries: []prompb.TimeSeries{
				{Labels: []prompb.Label{{Name: "__name__", Value: ProbeMetric}}, Samples: []prompb.Sample{{Value: 1}, {Value: 2}}},
				{Labels: []prompb.Label{{Name: "__name__", Value: "calls_total"}}, Samples: []prompb.Sample{{Value: 9}}},
				{Labels: []prompb.Label{{Name: "__name__", Value: ProbeMetric}}, Samples: []prompb.Sample{{Value: 3}, {Value: 4}}},
			}}
			raw, err := req.Marshal()
			require.NoError(t, err)
			require.NoError(t, r.RemoteWrite(raw))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := NewLedger()
			l.Ack(tt.stream, l.Reserve(tt.stream, 4), 4)
			tt.send(NewRecorder(l))
			got := l.Report()[tt.stream]
			assert.Equal(t, int64(4), got.Delivered)
			assert.Zero(t, got.Lost+got.Unknown+got.Duplicates)
		})
	}
}

func TestRecorderRefusesABadWriteRequest(t *testing.T) {
	assert.Error(t, NewRecorder(NewLedger()).RemoteWrite([]byte{0xff, 0xff, 0xff}))
}

func TestKillInstantsFallInTheMiddle(t *testing.T) {
	rng := newRand(1)
	for range 100 {
		got := killInstants(rng, 10*time.Second, 3)
		require.Len(t, got, 3)
		for i, at := range got {
			assert.GreaterOrEqual(t, at, time.Second)
			assert.Less(t, at, 9*time.Second)
			if i > 0 {
				assert.Greater(t, at, got[i-1])
			}
		}
	}
}
