package loadgen

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// Signal names a kind of telemetry.
type Signal string

const (
	Traces  Signal = "traces"
	Logs    Signal = "logs"
	Metrics Signal = "metrics"
)

// ParseSignal checks a signal name given on a command line.
func ParseSignal(s string) (Signal, error) {
	switch Signal(s) {
	case Traces, Logs, Metrics:
		return Signal(s), nil
	}
	return "", fmt.Errorf("unknown signal %q: want traces, logs or metrics", s)
}

// LoadConfig says what to send, where, and how fast.
type LoadConfig struct {
	// Endpoint is the OTLP gRPC address (host:port).
	Endpoint string
	Signal   Signal
	// Rate is the target in items per second (spans, log records or data
	// points) over all connections; 0 sends as fast as the receiver answers.
	Rate float64
	// Connections is the number of gRPC connections.
	Connections int
	// SendersPerConnection is the number of senders sharing each
	// connection, each with one request in flight; 0 means 1. Many senders
	// keep demand up when the receiver answers slowly, as many clients do.
	SendersPerConnection int
	// BatchSize is the number of items in one export request.
	BatchSize int
	// Duration bounds the run.
	Duration time.Duration
	Shape    Shape
	// Seed makes the generated telemetry repeatable.
	Seed uint64
	// Reuse, when positive, has each sender generate that many batches up
	// front and send them in turn, so that generating costs nothing during
	// the run (overload tests); 0 generates every batch afresh.
	Reuse int
	// HonorRetryInfo makes a sender whose request was refused with a gRPC
	// RetryInfo wait the delay it asks for before its next request, as
	// OpenTelemetry's exporters do. Without it senders go on at once, the
	// worst case for the receiver.
	HonorRetryInfo bool
}

func (c LoadConfig) validate() error {
	switch {
	case c.Endpoint == "":
		return errors.New("endpoint must be set")
	case c.Connections <= 0:
		return fmt.Errorf("connections must be positive, got %d", c.Connections)
	case c.BatchSize <= 0:
		return fmt.Errorf("batch size must be positive, got %d", c.BatchSize)
	case c.Duration <= 0:
		return fmt.Errorf("duration must be positive, got %s", c.Duration)
	case c.Rate < 0:
		return fmt.Errorf("rate must not be negative, got %g", c.Rate)
	case c.Reuse < 0:
		return fmt.Errorf("reuse must not be negative, got %d", c.Reuse)
	case c.SendersPerConnection < 0:
		return fmt.Errorf("senders per connection must not be negative, got %d", c.SendersPerConnection)
	}
	_, err := ParseSignal(string(c.Signal))
	return err
}

// Result is what one load run saw.
type Result struct {
	Signal  Signal        `json:"signal"`
	Target  float64       `json:"target_per_second"`
	Elapsed time.Duration `json:"elapsed"`
	// Sent counts items in requests that got an answer; Accepted the ones the
	// receiver took; Refused the ones it turned away with a retryable
	// refusal (RESOURCE_EXHAUSTED, UNAVAILABLE) or a partial success;
	// Failed the ones lost to any other error.
	Sent     int64 `json:"sent"`
	Accepted int64 `json:"accepted"`
	Refused  int64 `json:"refused"`
	Failed   int64 `json:"failed"`
	// Latency percentiles of export requests, to within 1.6% (the
	// loader counts latencies in log-linear buckets).
	P50 time.Duration `json:"p50"`
	P99 time.Duration `json:"p99"`
	Max time.Duration `json:"max"`
	// FirstError is the first non-refusal error, if any.
	FirstError string `json:"first_error,omitempty"`
	// Codes counts requests by the gRPC status code they got ("OK",
	// "ResourceExhausted", "Unavailable", ...).
	Codes map[string]int64 `json:"codes"`
}

// AcceptedPerSecond is the rate the receiver took items at.
func (r Result) AcceptedPerSecond() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Accepted) / r.Elapsed.Seconds()
}

// Tick is a one-second progress report.
type Tick struct {
	Second                    int
	Sent, Accepted, Refused   int64
	Failed                    int64
	LatencyP50, LatencyP99    time.Duration
	ConnectionsWithoutAnswers int
}

type counters struct {
	sent, accepted, refused, failed atomic.Int64
	mu                              sync.Mutex // guards latencies, codes and firstErr
	latencies                       latencyHistogram
	codes                           map[string]int64
	firstErr                        error
}

func (c *counters) record(n, rejected int64, d time.Duration, err error) {
	c.mu.Lock()
	c.latencies.record(d)
	if c.codes == nil {
		c.codes = map[string]int64{}
	}
	c.codes[status.Code(err).String()]++
	c.mu.Unlock()
	if err == nil {
		c.sent.Add(n)
		c.accepted.Add(n - rejected)
		c.refused.Add(rejected)
		return
	}
	switch status.Code(err) {
	case codes.ResourceExhausted, codes.Unavailable:
		c.sent.Add(n)
		c.refused.Add(n)
	default:
		c.failed.Add(n)
		c.mu.Lock()
		if c.firstErr == nil {
			c.firstErr = err
		}
		c.mu.Unlock()
	}
}

// Run sends load as configured until Duration passes or ctx ends, calling
// progress (if not nil) once a second.
func Run(ctx context.Context, cfg LoadConfig, progress func(Tick)) (Result, error) {
	if err := cfg.validate(); err != nil {
		return Result{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()

	conns := make([]*grpc.ClientConn, cfg.Connections)
	for i := range conns {
		conn, err := grpc.NewClient(cfg.Endpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			return Result{}, fmt.Errorf("connect to %s: %w", cfg.Endpoint, err)
		}
		defer conn.Close()
		conns[i] = conn
	}

	var c counters
	var wg sync.WaitGroup
	start := time.Now()
	// Each sender paces its own share of the rate.
	senders := max(1, cfg.SendersPerConnection)
	var interval time.Duration
	if cfg.Rate > 0 {
		interval = time.Duration(float64(time.Second) * float64(cfg.BatchSize) * float64(cfg.Connections*senders) / cfg.Rate)
	}
	for i, conn := range conns {
		for k := range senders {
			wg.Go(func() {
				send(ctx, conn, cfg, uint64(i*senders+k)+cfg.Seed, interval, &c)
			})
		}
	}

	done := make(chan struct{})
	if progress != nil {
		go func() {
			t := time.NewTicker(time.Second)
			defer t.Stop()
			second := 0
			for {
				select {
				case <-done:
					return
				case <-t.C:
					second++
					c.mu.Lock()
					p50, p99 := c.latencies.percentile(0.5), c.latencies.percentile(0.99)
					c.mu.Unlock()
					progress(Tick{Second: second, Sent: c.sent.Load(), Accepted: c.accepted.Load(),
						Refused: c.refused.Load(), Failed: c.failed.Load(), LatencyP50: p50, LatencyP99: p99})
				}
			}
		}()
	}
	wg.Wait()
	close(done)

	r := Result{
		Signal: cfg.Signal, Target: cfg.Rate, Elapsed: time.Since(start),
		Sent: c.sent.Load(), Accepted: c.accepted.Load(), Refused: c.refused.Load(), Failed: c.failed.Load(),
	}
	r.P50, r.P99, r.Max = c.latencies.percentile(0.5), c.latencies.percentile(0.99), c.latencies.max
	r.Codes = c.codes
	if c.firstErr != nil {
		r.FirstError = c.firstErr.Error()
	}
	return r, nil
}

const requestTimeout = 30 * time.Second

func send(ctx context.Context, conn *grpc.ClientConn, cfg LoadConfig, seed uint64, interval time.Duration, c *counters) {
	gen := NewGenerator(cfg.Shape, seed)
	traces := ptraceotlp.NewGRPCClient(conn)
	logs := plogotlp.NewGRPCClient(conn)
	metrics := pmetricotlp.NewGRPCClient(conn)
	n := int64(cfg.BatchSize)
	var pool []any // pre-generated batches, when cfg.Reuse > 0
	for range cfg.Reuse {
		switch cfg.Signal {
		case Traces:
			pool = append(pool, ptraceotlp.NewExportRequestFromTraces(gen.Traces(cfg.BatchSize)))
		case Logs:
			pool = append(pool, plogotlp.NewExportRequestFromLogs(gen.Logs(cfg.BatchSize)))
		case Metrics:
			pool = append(pool, pmetricotlp.NewExportRequestFromMetrics(gen.Metrics(cfg.BatchSize)))
		}
	}
	sent := 0
	next := time.Now()
	for ctx.Err() == nil {
		if interval > 0 {
			if wait := time.Until(next); wait > 0 {
				select {
				case <-ctx.Done():
					return
				case <-time.After(wait):
				}
			}
			next = next.Add(interval)
		}
		var rejected int64
		var err error
		began := time.Now()
		// A request started inside the run is allowed to finish after it, so
		// that every item sent is counted as accepted, refused or failed.
		reqCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), requestTimeout)
		var pooled any
		if len(pool) > 0 {
			pooled = pool[sent%len(pool)]
		}
		sent++
		switch cfg.Signal {
		case Traces:
			req, ok := pooled.(ptraceotlp.ExportRequest)
			if !ok {
				req = ptraceotlp.NewExportRequestFromTraces(gen.Traces(cfg.BatchSize))
			}
			var resp ptraceotlp.ExportResponse
			resp, err = traces.Export(reqCtx, req)
			if err == nil {
				rejected = resp.PartialSuccess().RejectedSpans()
			}
		case Logs:
			req, ok := pooled.(plogotlp.ExportRequest)
			if !ok {
				req = plogotlp.NewExportRequestFromLogs(gen.Logs(cfg.BatchSize))
			}
			var resp plogotlp.ExportResponse
			resp, err = logs.Export(reqCtx, req)
			if err == nil {
				rejected = resp.PartialSuccess().RejectedLogRecords()
			}
		case Metrics:
			req, ok := pooled.(pmetricotlp.ExportRequest)
			if !ok {
				req = pmetricotlp.NewExportRequestFromMetrics(gen.Metrics(cfg.BatchSize))
			}
			var resp pmetricotlp.ExportResponse
			resp, err = metrics.Export(reqCtx, req)
			if err == nil {
				rejected = resp.PartialSuccess().RejectedDataPoints()
			}
		}
		cancel()
		c.record(n, rejected, time.Since(began), err)
		if d := retryDelay(err); cfg.HonorRetryInfo && d > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(d):
			}
		}
	}
}

// retryDelay is the delay a refusal's RetryInfo asks for, or 0.
func retryDelay(err error) time.Duration {
	if err == nil {
		return 0
	}
	for _, d := range status.Convert(err).Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok {
			return ri.GetRetryDelay().AsDuration()
		}
	}
	return 0
}
