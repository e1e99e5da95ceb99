//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/braidobs/braid/deploy/local/demo/shop"
)

// Requests of the Jaeger outage test after Braid's restart: with Jaeger
// still down, and once it is back.
const outageSecond, outageAfter = 20, 20

// jaegerOutageUnderLoad stops Jaeger under load, kills Braid with SIGKILL
// (no shutdown: what it holds is only what is on disk) and restarts it while
// Jaeger is still down, keeps the load going, brings Jaeger back, and counts.
//
// Jaeger keeps traces in memory, so what it had accepted before it stopped is
// gone with it: that loss is Jaeger's, not Braid's, and is not counted. What
// is counted is every request that started after Jaeger had exited: Braid
// acknowledged those spans while no backend could take them, so they can only
// reach Jaeger through Braid's sending queue, and across Braid's restart only
// through the queue's file_storage on disk. Jaeger must end up with exactly
// those traces, each with all its spans (counted by span ID: delivery is at
// least once).
func jaegerOutageUnderLoad(t *testing.T) {
	const (
		before = 10 // requests before Jaeger is stopped
		during = 30 // requests in the same load run, after it stopped
		second = outageSecond
		after  = outageAfter
	)
	var (
		mu        sync.Mutex // guards stopped and stopErr
		stopped   time.Time
		stopErr   error
		counted   []shop.Request
		uncounted int
	)
	cfg := st.config("outage", before+during, 11)
	cfg.OnRequest = func(r shop.Request) {
		mu.Lock()
		defer mu.Unlock()
		if r.ID == fmt.Sprintf("%s-%06d", cfg.Prefix, before) && stopped.IsZero() {
			// Stop Jaeger with the load running: the SDKs and Braid's batch
			// still hold spans of the requests before this one.
			stopErr = st.stop("jaeger")
			stopped = time.Now()
		}
	}
	load := func(c shop.Config) []shop.Request {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		rs, err := shop.Run(ctx, c)
		if err != nil {
			t.Fatalf("load %s: %v", c.Prefix, err)
		}
		return rs
	}

	first := load(cfg)
	if stopErr != nil {
		t.Fatalf("stop jaeger: %v", stopErr)
	}
	if stopped.IsZero() {
		t.Fatal("jaeger was never stopped")
	}
	for _, r := range first {
		if r.Start.After(stopped) {
			counted = append(counted, r)
		} else {
			uncounted++
		}
	}
	if len(counted) != during {
		t.Fatalf("%d requests started after Jaeger stopped, want %d", len(counted), during)
	}
	if conn, err := net.DialTimeout("tcp", st.jaegerOTLP(), time.Second); err == nil {
		conn.Close()
		t.Fatalf("jaeger's OTLP port %s still answers after stop", st.jaegerOTLP())
	}

	// Braid is killed while its queue holds the spans, as an OOM kill would:
	// only the disk has them now.
	st.run(t, "kill", "braid")
	st.run(t, "start", "braid")
	counted = append(counted, load(st.config("outage2-", second, 12))...)

	st.run(t, "start", "jaeger")
	counted = append(counted, load(st.config("outage3-", after, 13))...)

	want := during + second + after
	if len(counted) != want {
		t.Fatalf("sent %d requests to count, want %d", len(counted), want)
	}
	var missing []string
	duplicated := 0
	eventually(t, 3*time.Minute, fmt.Sprintf("the %d traces sent during and after the outage in Jaeger", want), func() error {
		missing = missing[:0]
		duplicated = 0
		for _, r := range counted {
			tr, found, err := st.jaegerTraceByID(r.TraceID)
			if err != nil {
				return err
			}
			if !found || tr.distinctSpans() != spansPerRequest {
				missing = append(missing, fmt.Sprintf("%s (%d spans)", r.TraceID, tr.distinctSpans()))
				continue
			}
			duplicated += len(tr.Spans) - tr.distinctSpans()
		}
		if len(missing) > 0 {
			return fmt.Errorf("%d of %d traces missing or incomplete, first: %s", len(missing), want, missing[0])
		}
		return nil
	})
	t.Logf("Jaeger holds all %d traces (%d spans) sent after it stopped; %d spans delivered twice; %d requests before the stop were not counted (Jaeger's memory)",
		want, want*spansPerRequest, duplicated, uncounted)
}

func (s stack) stop(name string) error {
	out, err := execScript(s.script, "stop", name)
	if err != nil {
		return fmt.Errorf("%v: %s", err, out)
	}
	return nil
}

func (s stack) jaegerOTLP() string { return "127.0.0.1:" + os.Getenv("JAEGER_OTLP_GRPC_PORT") }

func execScript(script string, args ...string) ([]byte, error) {
	return exec.Command(script, args...).CombinedOutput()
}

// prometheusOutageAcrossBraidRestart stops Prometheus, sends load, restarts
// Braid while Prometheus is still down, then brings Prometheus back. The span
// metrics Braid computed during the outage were in its memory and in the
// remote-write exporter's WAL on disk; the restarted Braid starts its counters
// afresh. So samples stamped inside the outage, carrying the count that
// includes the outage's requests, can only reach Prometheus from the WAL.
//
// It runs right after the Jaeger outage test, whose restarted Braid has seen
// exactly the requests sent after its restart.
func prometheusOutageAcrossBraidRestart(t *testing.T, seenByBraid int) {
	const during = 20
	// Per Braid process: each start has its own collector_instance_id, and
	// earlier processes' series linger in Prometheus' lookback, their last
	// count with them (the Braid before the Jaeger outage's restart saw 40
	// requests too). The running Braid names its instance in its own
	// telemetry. Its span metrics reach Prometheus through the WAL, which
	// sends what it holds every few seconds (truncate_frequency).
	sel := `traces_span_metrics_calls_total{service_name="frontend",span_name="GET /checkout",span_kind="SPAN_KIND_SERVER"}`
	var instance string
	eventually(t, 3*time.Minute, "Prometheus has every count before the outage", func() error {
		id, err := runningBraidInstance()
		if err != nil {
			return err
		}
		v, err := st.promQuery(fmt.Sprintf("sum(%s,collector_instance_id=%q})", strings.TrimSuffix(sel, "}"), id))
		if err != nil {
			return err
		}
		if len(v.Data.Result) != 1 || fmt.Sprint(v.Data.Result[0].Value[1]) != fmt.Sprint(seenByBraid) {
			return fmt.Errorf("the running Braid (collector_instance_id %s) has %v, want %d", id, v.Data.Result, seenByBraid)
		}
		instance = id
		return nil
	})
	q := fmt.Sprintf("sum(%s,collector_instance_id=%q})", strings.TrimSuffix(sel, "}"), instance)

	st.run(t, "stop", "prometheus")
	t0 := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	rs, err := shop.Run(ctx, st.config("promoutage", during, 21))
	cancel()
	if err != nil || len(rs) != during {
		t.Fatalf("load: %d requests, %v", len(rs), err)
	}
	// Two flushes of the span metrics, so that the count includes them all.
	time.Sleep(12 * time.Second)
	st.run(t, "stop", "braid")
	t1 := time.Now()
	st.run(t, "start", "braid")
	st.run(t, "start", "prometheus")

	// The highest count Prometheus holds for instants inside the outage.
	window := t1.Sub(t0).Truncate(time.Second)
	inside := fmt.Sprintf("max_over_time(%s[%ds:1s])", q, int(window.Seconds()))
	want := fmt.Sprint(seenByBraid + during)
	eventually(t, 3*time.Minute, "span metrics of the outage in Prometheus", func() error {
		var v promVector
		u := fmt.Sprintf("%s/api/v1/query?query=%s&time=%d", st.prometheus, url.QueryEscape(inside), t1.Unix())
		if err := getJSON(u, &v); err != nil {
			return err
		}
		if len(v.Data.Result) == 0 {
			return fmt.Errorf("%s: no data", inside)
		}
		if got := fmt.Sprint(v.Data.Result[0].Value[1]); got != want {
			return fmt.Errorf("%s = %s, want %s", inside, got, want)
		}
		return nil
	})
	t.Logf("Prometheus holds the count %s for instants inside its %s outage, written before Braid restarted", want, window)
}

var instanceIDLabel = regexp.MustCompile(`service_instance_id="([^"]+)"`)

// runningBraidInstance reads the service.instance.id of the running Braid
// from its own metrics: the collector_instance_id of the span metrics it
// writes.
func runningBraidInstance() (string, error) {
	resp, err := http.Get(st.telemetry + "/metrics")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	m := instanceIDLabel.FindSubmatch(body)
	if m == nil {
		return "", fmt.Errorf("no service_instance_id in %s/metrics", st.telemetry)
	}
	return string(m[1]), nil
}
