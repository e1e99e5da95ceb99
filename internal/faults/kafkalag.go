package faults

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// MetricKafkaOffsetLag is the Kafka receiver's consumer lag per partition it
// reads, as Braid's self-metrics endpoint exposes it.
const MetricKafkaOffsetLag = "otelcol_kafka_receiver_offset_lag"

// KafkaLag scrapes a Braid's self-metrics at addr and returns its consumer
// lag summed over the partitions it reports, and how many those are. A
// Braid that reports no partition is an error: its receiver reads nothing,
// or the metric is gone.
func KafkaLag(addr string) (lag float64, partitions int, err error) {
	if addr == "" {
		return 0, 0, fmt.Errorf("no self-metrics address")
	}
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + addr + "/metrics")
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, 0, fmt.Errorf("GET /metrics: %s", resp.Status)
	}
	lag, partitions, err = sumSamples(resp.Body, MetricKafkaOffsetLag)
	if err == nil && partitions == 0 {
		err = fmt.Errorf("%s: no partition reported", MetricKafkaOffsetLag)
	}
	return lag, partitions, err
}

// sumSamples sums the samples of metric name in a Prometheus text
// exposition and counts them.
func sumSamples(r io.Reader, name string) (sum float64, n int, err error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		rest, ok := strings.CutPrefix(line, name)
		if !ok || rest == "" || (rest[0] != '{' && rest[0] != ' ') {
			continue // another metric, or a longer name
		}
		if rest[0] == '{' {
			end := strings.LastIndexByte(rest, '}')
			if end < 0 {
				return 0, 0, fmt.Errorf("malformed sample %q", line)
			}
			rest = rest[end+1:]
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			return 0, 0, fmt.Errorf("sample without a value %q", line)
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			return 0, 0, fmt.Errorf("sample %q: %w", line, err)
		}
		sum += v
		n++
	}
	return sum, n, sc.Err()
}
