package faults

import (
	"strings"
	"testing"
)

func TestSumSamples(t *testing.T) {
	for _, tc := range []struct {
		name    string
		text    string
		sum     float64
		n       int
		wantErr bool
	}{
		{"partitions summed", `# HELP otelcol_kafka_receiver_offset_lag Current offset lag
# TYPE otelcol_kafka_receiver_offset_lag gauge
otelcol_kafka_receiver_offset_lag{partition="0",topic="otlp_spans"} 12
otelcol_kafka_receiver_offset_lag{partition="1",topic="otlp_spans"} 3
otelcol_kafka_receiver_offset_lag_other 100
otelcol_kafka_receiver_current_offset{partition="0",topic="otlp_spans"} 7
`, 15, 2, false},
		{"without labels", "otelcol_kafka_receiver_offset_lag 4\n", 4, 1, false},
		{"a brace in a label value", `otelcol_kafka_receiver_offset_lag{topic="a}b"} 2` + "\n", 2, 1, false},
		{"absent", "otelcol_process_uptime 3\n", 0, 0, false},
		{"not a number", "otelcol_kafka_receiver_offset_lag{} x\n", 0, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sum, n, err := sumSamples(strings.NewReader(tc.text), MetricKafkaOffsetLag)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if sum != tc.sum || n != tc.n {
				t.Errorf("sum %v over %d, want %v over %d", sum, n, tc.sum, tc.n)
			}
		})
	}
}
