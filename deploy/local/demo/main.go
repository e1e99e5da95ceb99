// Command braid-demo runs Braid's demo workload (package shop) against a
// Braid listening for OTLP/HTTP, and can print where to look for its output.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/braidobs/braid/deploy/local/demo/shop"
)

func main() {
	otlp := flag.String("otlp", "http://127.0.0.1:4318", "Braid's OTLP/HTTP base URL")
	logDir := flag.String("log-dir", ".tmp/local/data/pods", "root of the pod-style log tree Braid tails")
	fePort := flag.Int("frontend-port", 18080, "frontend's port on 127.0.0.1")
	payPort := flag.Int("payment-port", 18081, "payment's port on 127.0.0.1")
	duration := flag.Duration("duration", 10*time.Minute, "stop after this long")
	requests := flag.Int("requests", 0, "stop after this many requests (0: no bound but -duration)")
	interval := flag.Duration("interval", 200*time.Millisecond, "pause between requests")
	errRate := flag.Float64("error-rate", 0.15, "share of payments that fail")
	links := flag.String("print-links", "", "write ready-made query URLs for the first trace to this file")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *duration)
	defer cancel()

	first := true
	n, failed := 0, 0
	cfg := shop.Config{
		OTLPEndpoint: *otlp, LogDir: *logDir,
		FrontendAddr: fmt.Sprintf("127.0.0.1:%d", *fePort), PaymentAddr: fmt.Sprintf("127.0.0.1:%d", *payPort),
		Requests: *requests, Interval: *interval, ErrorRate: *errRate, Seed: uint64(time.Now().UnixNano()),
		Prefix: fmt.Sprintf("r%d", time.Now().Unix()%100000),
		OnRequest: func(r shop.Request) {
			n++
			if r.Status >= 500 {
				failed++
			}
			if first && *links != "" {
				first = false
				if err := os.WriteFile(*links, []byte(linkText(r)), 0o644); err != nil {
					log.Printf("write links: %v", err)
				}
			}
			if n%100 == 0 {
				log.Printf("%d requests sent, %d failed", n, failed)
			}
		},
	}
	if _, err := shop.Run(ctx, cfg); err != nil {
		log.Fatalf("demo: %v", err)
	}
	log.Printf("done: %d requests sent, %d failed", n, failed)
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// linkText renders where to look for request r, in each backend's own API.
func linkText(r shop.Request) string {
	jaeger := env("JAEGER_URL", "http://127.0.0.1:16686")
	prom := env("PROMETHEUS_URL", "http://127.0.0.1:9090")
	vlogs := env("VLOGS_URL", "http://127.0.0.1:9428")
	q := func(s string) string { return url.QueryEscape(s) }
	var b strings.Builder
	fmt.Fprintf(&b, "First trace of the demo: %s (request %s)\n", r.TraceID, r.ID)
	fmt.Fprintf(&b, "  trace in Jaeger:      %s/api/traces/%s\n", jaeger, r.TraceID)
	fmt.Fprintf(&b, "  its logs:             %s/select/logsql/query?query=%s\n", vlogs, q("trace_id:"+r.TraceID))
	fmt.Fprintf(&b, "  inferred links:       %s/select/logsql/query?query=%s\n", vlogs, q("braid_trace_context_source:inferred"))
	fmt.Fprintf(&b, "  request rate:         %s/api/v1/query?query=%s\n", prom, q("sum by (service_name) (rate(traces_span_metrics_calls_total[1m]))"))
	fmt.Fprintf(&b, "  exemplars:            %s/api/v1/query_exemplars?query=%s&start=%d&end=%d\n", prom,
		q("traces_span_metrics_duration_milliseconds_bucket"), r.Start.Add(-time.Hour).Unix(), r.Start.Add(time.Hour).Unix())
	fmt.Fprintf(&b, "  from Braid itself:    bin/braid drill --trace %s\n", r.TraceID)
	fmt.Fprintf(&b, "                        bin/braid drill --service %s --errors-only\n", shop.PaymentPod.Service)
	return b.String()
}
