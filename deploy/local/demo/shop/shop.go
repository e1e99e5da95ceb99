// Package shop is Braid's demo workload: two services, frontend and payment,
// calling each other over HTTP on loopback, traced with the OpenTelemetry Go
// SDK and sending to Braid over OTLP/HTTP, with some errors and a spread of
// latencies. Their logs take the three roads Braid has to braid together:
//
//   - frontend logs through the OTLP log bridge (slog), with trace context;
//   - payment writes JSON lines, with trace_id and span_id fields, into a
//     container log file at a pod-style path that Braid's file_log receiver
//     tails (<dir>/<namespace>_<pod>_<uid>/<container>/0.log, CRI format);
//   - payment also writes lines with no trace context at all: one while it
//     handles each request (a correlation engine with inferred links can tie
//     it to that request's span) and one at start-up, outside any request.
//
// frontend also sends one OTLP metric (shop.checkouts, by outcome).
//
// Requests go one at a time, so that each payment pod has at most one trace
// active at any instant.
package shop

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/contrib/bridges/otelslog"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Pod is the Kubernetes identity a demo service claims, on its telemetry
// and, for payment, in its log file path.
type Pod struct {
	Service, Namespace, Name, UID, Container string
}

// The two pods. Fixed, so that tests and printed links can name them.
var (
	FrontendPod = Pod{Service: "frontend", Namespace: "shop", Name: "frontend-6d8f9c7b5-x2x4q",
		UID: "2f0c5a4e-7f1d-4d3b-9c55-0a6f3b1e8c11", Container: "frontend"}
	PaymentPod = Pod{Service: "payment", Namespace: "shop", Name: "payment-5f7b8d9c4-kq2lw",
		UID: "9b1e7d2a-3c4f-4e8a-b6d1-5e2f7a9c0d22", Container: "payment"}
)

// LogFile is where payment's container log lives under dir.
func (p Pod) LogFile(dir string) string {
	return filepath.Join(dir, p.Namespace+"_"+p.Name+"_"+p.UID, p.Container, "0.log")
}

func (p Pod) resource() *resource.Resource {
	return resource.NewSchemaless(
		attribute.String("service.name", p.Service),
		attribute.String("service.namespace", p.Namespace),
		attribute.String("k8s.namespace.name", p.Namespace),
		attribute.String("k8s.pod.name", p.Name),
		attribute.String("k8s.pod.uid", p.UID),
		attribute.String("k8s.container.name", p.Container),
	)
}

// Config says where to send and how much.
type Config struct {
	// OTLPEndpoint is Braid's OTLP/HTTP base URL, e.g. http://127.0.0.1:4318.
	OTLPEndpoint string
	// LogDir is the root of the pod-style log tree Braid tails.
	LogDir string
	// FrontendAddr and PaymentAddr are the services' listen addresses.
	FrontendAddr, PaymentAddr string
	// Requests bounds the number of requests; 0 means until ctx is done.
	Requests int
	// Interval is the pause between two requests.
	Interval time.Duration
	// ErrorRate is the share of payments that fail (HTTP 502), 0..1.
	ErrorRate float64
	// Seed makes errors and latencies repeatable.
	Seed uint64
	// Prefix starts every request ID, so that runs can be told apart.
	Prefix string
	// OnRequest, when set, is called after each request.
	OnRequest func(Request)
}

// Request is one request of the workload, as the tests look for it.
type Request struct {
	// ID is the request's ID; it is written in payment's untraced line.
	ID string
	// TraceID is the trace's ID in lowercase hex.
	TraceID string
	// Status is the HTTP status frontend answered.
	Status int
	// Start and End bound the request as the load loop saw it.
	Start, End time.Time
}

// UntracedLine is the text payment writes, with no trace context, while it
// handles request id.
func UntracedLine(id string) string { return "fraud score computed for request " + id }

// StackTrace is what payment prints, line by line, under its "charge
// declined" line for request id: a Java exception with its frames and cause.
func StackTrace(id string) []string {
	return []string{
		"com.shop.payment.CardDeclinedException: card declined for request " + id,
		"\tat com.shop.payment.Charger.charge(Charger.java:42)",
		"\tat com.shop.payment.PaymentHandler.handle(PaymentHandler.java:17)",
		"Caused by: java.net.SocketTimeoutException: issuer timed out",
		"\t... 2 more",
	}
}

// StartupLine is the text payment writes once, before any request.
const StartupLine = "payment service starting, no request in flight"

// Run starts both services, sends the requests, then flushes and stops
// everything. It returns the requests that were sent.
func Run(ctx context.Context, cfg Config) ([]Request, error) {
	if cfg.Prefix == "" {
		cfg.Prefix = "r"
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x5eed))

	feTP, feLP, err := providers(ctx, cfg.OTLPEndpoint, FrontendPod, true)
	if err != nil {
		return nil, err
	}
	mexp, err := otlpmetrichttp.New(ctx, otlpmetrichttp.WithEndpointURL(strings.TrimSuffix(cfg.OTLPEndpoint, "/")+"/v1/metrics"))
	if err != nil {
		return nil, fmt.Errorf("metric exporter: %w", err)
	}
	feMP := sdkmetric.NewMeterProvider(sdkmetric.WithResource(FrontendPod.resource()),
		sdkmetric.WithReader(sdkmetric.NewPeriodicReader(mexp, sdkmetric.WithInterval(2*time.Second))))
	checkouts, err := feMP.Meter("shop/frontend").Int64Counter("shop.checkouts", metric.WithDescription("Checkouts, by outcome."))
	if err != nil {
		return nil, err
	}
	payDuration, err := feMP.Meter("shop/frontend").Float64Histogram("shop.payment.duration", metric.WithUnit("ms"),
		metric.WithDescription("Time the payment service took to answer."))
	if err != nil {
		return nil, err
	}
	payTP, _, err := providers(ctx, cfg.OTLPEndpoint, PaymentPod, false)
	if err != nil {
		return nil, err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		_ = feTP.Shutdown(sctx)
		_ = payTP.Shutdown(sctx)
		_ = feLP.Shutdown(sctx)
		_ = feMP.Shutdown(sctx)
	}()

	podLog, err := openPodLog(PaymentPod.LogFile(cfg.LogDir))
	if err != nil {
		return nil, err
	}
	defer podLog.Close()
	podLog.write(map[string]any{"level": "info", "msg": StartupLine})

	prop := propagation.TraceContext{}
	pay := &payment{log: podLog, tracer: payTP.Tracer("shop/payment"), errRate: cfg.ErrorRate, rng: rng}
	payURL := "http://" + cfg.PaymentAddr + "/charge"
	fe := &frontend{
		log: otelslog.NewLogger("shop/frontend", otelslog.WithLoggerProvider(feLP)),
		client: &http.Client{Timeout: 10 * time.Second, Transport: otelhttp.NewTransport(http.DefaultTransport,
			otelhttp.WithTracerProvider(feTP), otelhttp.WithPropagators(prop), named("POST /charge"))},
		payURL:      payURL,
		count:       checkouts,
		payDuration: payDuration,
	}
	stopPay, err := serve(cfg.PaymentAddr, otelhttp.NewHandler(pay, "POST /charge", otelhttp.WithTracerProvider(payTP), otelhttp.WithPropagators(prop), named("POST /charge")))
	if err != nil {
		return nil, err
	}
	defer stopPay()
	stopFE, err := serve(cfg.FrontendAddr, otelhttp.NewHandler(fe, "GET /checkout", otelhttp.WithTracerProvider(feTP), otelhttp.WithPropagators(prop), named("GET /checkout")))
	if err != nil {
		return nil, err
	}
	defer stopFE()

	var out []Request
	client := &http.Client{Timeout: 15 * time.Second}
	for i := 1; cfg.Requests == 0 || i <= cfg.Requests; i++ {
		if ctx.Err() != nil {
			break
		}
		id := fmt.Sprintf("%s-%06d", cfg.Prefix, i)
		r, err := checkout(ctx, client, "http://"+cfg.FrontendAddr+"/checkout", id)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			return out, err
		}
		out = append(out, r)
		if cfg.OnRequest != nil {
			cfg.OnRequest(r)
		}
		select {
		case <-ctx.Done():
		case <-time.After(cfg.Interval):
		}
	}
	return out, nil
}

func checkout(ctx context.Context, client *http.Client, url, id string) (Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return Request{}, err
	}
	req.Header.Set("X-Request-Id", id)
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return Request{}, fmt.Errorf("checkout %s: %w", id, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	tid := resp.Header.Get("X-Trace-Id")
	if len(tid) != 32 {
		return Request{}, fmt.Errorf("checkout %s: frontend sent no trace ID", id)
	}
	return Request{ID: id, TraceID: tid, Status: resp.StatusCode, Start: start, End: time.Now()}, nil
}

func providers(ctx context.Context, endpoint string, pod Pod, withLogs bool) (*sdktrace.TracerProvider, *sdklog.LoggerProvider, error) {
	res := pod.resource()
	texp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(strings.TrimSuffix(endpoint, "/")+"/v1/traces"))
	if err != nil {
		return nil, nil, fmt.Errorf("trace exporter: %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithResource(res),
		sdktrace.WithBatcher(texp, sdktrace.WithBatchTimeout(500*time.Millisecond)))
	if !withLogs {
		return tp, nil, nil
	}
	lexp, err := otlploghttp.New(ctx, otlploghttp.WithEndpointURL(strings.TrimSuffix(endpoint, "/")+"/v1/logs"))
	if err != nil {
		return nil, nil, fmt.Errorf("log exporter: %w", err)
	}
	lp := sdklog.NewLoggerProvider(sdklog.WithResource(res),
		sdklog.WithProcessor(sdklog.NewBatchProcessor(lexp, sdklog.WithExportInterval(500*time.Millisecond))))
	return tp, lp, nil
}

func serve(addr string, h http.Handler) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}

// named gives every span of a handler or transport one route-style name.
func named(name string) otelhttp.Option {
	return otelhttp.WithSpanNameFormatter(func(string, *http.Request) string { return name })
}

type frontend struct {
	log         *slog.Logger
	client      *http.Client
	payURL      string
	count       metric.Int64Counter
	payDuration metric.Float64Histogram
}

func (f *frontend) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	span := trace.SpanFromContext(ctx)
	id := r.Header.Get("X-Request-Id")
	w.Header().Set("X-Trace-Id", span.SpanContext().TraceID().String())
	f.log.InfoContext(ctx, "checkout started", "request", id)

	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, f.payURL, nil)
	req.Header.Set("X-Request-Id", id)
	began := time.Now()
	resp, err := f.client.Do(req)
	// Recorded without the request's context, as a library that does not
	// pass it on records: the point carries no exemplar of its own, and
	// Braid's correlation processor infers one from the frontend's spans.
	f.payDuration.Record(context.Background(), float64(time.Since(began))/float64(time.Millisecond))
	if err == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 400 {
			err = fmt.Errorf("payment answered %d", resp.StatusCode)
		}
	}
	if err != nil {
		span.SetStatus(codes.Error, "payment failed")
		span.RecordError(err)
		f.log.ErrorContext(ctx, "checkout failed", "request", id, "error", err.Error())
		f.count.Add(ctx, 1, metric.WithAttributes(attribute.String("outcome", "failed")))
		http.Error(w, "payment failed", http.StatusInternalServerError)
		return
	}
	f.log.InfoContext(ctx, "checkout done", "request", id)
	f.count.Add(ctx, 1, metric.WithAttributes(attribute.String("outcome", "ok")))
	w.WriteHeader(http.StatusOK)
}

type payment struct {
	log     *podLog
	tracer  trace.Tracer
	errRate float64

	mu  sync.Mutex // guards rng
	rng *rand.Rand
}

func (p *payment) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := r.Header.Get("X-Request-Id")
	p.mu.Lock()
	// Latencies spread from a few to a few hundred milliseconds, skewed short.
	latency := time.Duration(5+p.rng.ExpFloat64()*40) * time.Millisecond
	fail := p.rng.Float64() < p.errRate
	p.mu.Unlock()

	_, span := p.tracer.Start(r.Context(), "charge card")
	defer span.End()
	sc := span.SpanContext()
	time.Sleep(latency / 2)
	// No trace context on purpose: only inference can link this line.
	p.log.write(map[string]any{"level": "debug", "msg": UntracedLine(id)})
	time.Sleep(latency / 2)
	if fail {
		span.SetStatus(codes.Error, "card declined")
		// As a JVM service prints the exception under its log line: one
		// container log line per line of the stack trace.
		p.log.write(map[string]any{"level": "error", "msg": "charge declined", "request": id,
			"trace_id": sc.TraceID().String(), "span_id": sc.SpanID().String()}, StackTrace(id)...)
		w.WriteHeader(http.StatusBadGateway)
		return
	}
	p.log.write(map[string]any{"level": "info", "msg": "charge accepted", "request": id,
		"trace_id": sc.TraceID().String(), "span_id": sc.SpanID().String()})
	w.WriteHeader(http.StatusOK)
}

// podLog writes JSON lines in the CRI container log format
// ("<RFC3339Nano time> stdout F <line>"), as a kubelet-managed file would be.
type podLog struct {
	mu sync.Mutex // guards f
	f  *os.File
}

func openPodLog(path string) (*podLog, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	return &podLog{f: f}, nil
}

// write writes fields as one JSON line, then more as lines of their own, as
// the container runtime writes what a program printed with newlines in it:
// one CRI line each, all in one write.
func (l *podLog) write(fields map[string]any, more ...string) {
	now := time.Now().UTC()
	fields["time"] = now.Format(time.RFC3339Nano)
	line, err := json.Marshal(fields)
	if err != nil {
		panic(err) // maps of strings always marshal
	}
	ts := now.Format("2006-01-02T15:04:05.000000000Z07:00")
	var b strings.Builder
	for _, text := range append([]string{string(line)}, more...) {
		fmt.Fprintf(&b, "%s stdout F %s\n", ts, text)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	_, _ = l.f.WriteString(b.String())
}

func (l *podLog) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return errors.Join(l.f.Sync(), l.f.Close())
}
