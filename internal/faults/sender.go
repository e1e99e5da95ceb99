package faults

import (
	"bufio"
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// Sender sends one stream of ID-tagged items over OTLP gRPC at a steady
// rate, and records in the ledger which requests were acknowledged. A
// refused or failed request is not retried: its items stay
// unacknowledged, and the next request carries new IDs.
type Sender struct {
	Ledger   *Ledger
	Endpoint string
	Stream   Stream // Spans, LogRecords or Points
	// Rate is items per second; Batch items go in each request.
	Rate  float64
	Batch int
	// TraceContext gives log records a trace ID; without it they are
	// untraced, and an agent with infer_log_links holds them for spans.
	TraceContext bool
	// Timeout bounds each request.
	Timeout time.Duration
	// Concurrency is how many requests may be in flight at once (default
	// 1), for a receiver that answers slowly, as one that holds a request
	// until its records are safe does.
	Concurrency int
	// Burst starts every concurrent request together, instead of spread
	// over the interval, so that they arrive at once.
	Burst bool

	requests, failures atomic.Int64
	slowest            atomic.Int64 // nanoseconds
	mu                 sync.Mutex
	codes              map[codes.Code]int64 // failures by gRPC status code
}

// Requests and Failures count what was sent so far and how much of it
// failed.
func (s *Sender) Requests() int64 { return s.requests.Load() }
func (s *Sender) Failures() int64 { return s.failures.Load() }

// Slowest is the longest a request took to be answered.
func (s *Sender) Slowest() time.Duration { return time.Duration(s.slowest.Load()) }

// FailureCodes counts the failed requests by gRPC status code.
func (s *Sender) FailureCodes() map[codes.Code]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.codes)
}

// Run sends until ctx ends.
func (s *Sender) Run(ctx context.Context) error {
	conn, err := grpc.NewClient(s.Endpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	export, err := s.exporter(conn)
	if err != nil {
		return err
	}
	workers := max(1, s.Concurrency)
	interval := time.Duration(float64(time.Second) * float64(s.Batch*workers) / s.Rate)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Workers start spread over one interval, for an even rate.
			offset := interval * time.Duration(w) / time.Duration(workers)
			if s.Burst {
				offset = 0
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(offset):
			}
			s.send(ctx, export, interval)
		}()
	}
	wg.Wait()
	return nil
}

func (s *Sender) send(ctx context.Context, export func(context.Context, uint64, time.Time) error, interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		first := s.Ledger.Reserve(s.Stream, s.Batch)
		rctx, cancel := context.WithTimeout(ctx, s.Timeout)
		began := time.Now()
		err := export(rctx, first, began)
		took := int64(time.Since(began))
		cancel()
		for {
			cur := s.slowest.Load()
			if took <= cur || s.slowest.CompareAndSwap(cur, took) {
				break
			}
		}
		s.requests.Add(1)
		if err != nil {
			s.failures.Add(1)
			s.mu.Lock()
			if s.codes == nil {
				s.codes = map[codes.Code]int64{}
			}
			s.codes[status.Code(err)]++
			s.mu.Unlock()
		} else {
			s.Ledger.Ack(s.Stream, first, s.Batch)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (s *Sender) exporter(conn *grpc.ClientConn) (func(context.Context, uint64, time.Time) error, error) {
	n := s.Batch
	switch s.Stream {
	case Spans:
		c := ptraceotlp.NewGRPCClient(conn)
		return func(ctx context.Context, first uint64, now time.Time) error {
			_, err := c.Export(ctx, ptraceotlp.NewExportRequestFromTraces(SpansFrom(first, n, now)))
			return err
		}, nil
	case LogRecords:
		c := plogotlp.NewGRPCClient(conn)
		return func(ctx context.Context, first uint64, now time.Time) error {
			_, err := c.Export(ctx, plogotlp.NewExportRequestFromLogs(LogsFrom(first, n, now, s.TraceContext)))
			return err
		}, nil
	case Points:
		c := pmetricotlp.NewGRPCClient(conn)
		return func(ctx context.Context, first uint64, now time.Time) error {
			_, err := c.Export(ctx, pmetricotlp.NewExportRequestFromMetrics(MetricsFrom(first, n, now)))
			return err
		}, nil
	}
	return nil, fmt.Errorf("cannot send %s over OTLP", s.Stream)
}

// FileWriter appends ID-tagged lines to a container log file in the CRI
// format, as a container runtime does. A line counts as acknowledged once
// written: the agent must deliver every line of the file.
type FileWriter struct {
	Ledger *Ledger
	// Path is the file, e.g. <root>/<namespace>_<pod>_<uid>/<container>/0.log.
	Path string
	// Rate is lines per second, written in bursts of Batch.
	Rate  float64
	Batch int
}

// Run writes until ctx ends.
func (w *FileWriter) Run(ctx context.Context) error {
	if err := os.MkdirAll(filepath.Dir(w.Path), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(w.Path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	bw := bufio.NewWriter(f)
	interval := time.Duration(float64(time.Second) * float64(w.Batch) / w.Rate)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		first := w.Ledger.Reserve(FileLines, w.Batch)
		ts := time.Now().UTC().Format(time.RFC3339Nano)
		for i := range w.Batch {
			fmt.Fprintf(bw, "%s stdout F %s\n", ts, Line(FileLines, first+uint64(i)))
		}
		if err := bw.Flush(); err != nil {
			return fmt.Errorf("write %s: %w", w.Path, err)
		}
		w.Ledger.Ack(FileLines, first, w.Batch)
	}
}

// PairSender sends spans and traced log records through two endpoints (two
// nodes' agents): every request through the first has a twin through the
// second whose items belong to the same traces, as a trace whose spans come
// from pods on two nodes.
type PairSender struct {
	Ledger    *Ledger
	Endpoints [2]string
	Stream    Stream // Spans or LogRecords
	Rate      float64
	Batch     int
	Timeout   time.Duration
	// TraceBase, subtracted from each ID before its trace is derived,
	// makes a second run send to the traces of the first (the ID that
	// was next when the second run began).
	TraceBase uint64

	mu     sync.Mutex
	traces map[pcommon.TraceID]bool // of the requests acknowledged
}

// Traces returns the traces of the requests acknowledged so far.
func (p *PairSender) Traces() map[pcommon.TraceID]bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return maps.Clone(p.traces)
}

// Run sends until ctx ends.
func (p *PairSender) Run(ctx context.Context) error {
	var exports [2]func(context.Context, uint64, time.Time, func(uint64) pcommon.TraceID) error
	for i, ep := range p.Endpoints {
		conn, err := grpc.NewClient(ep, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			return err
		}
		defer conn.Close()
		n := p.Batch
		switch p.Stream {
		case Spans:
			c := ptraceotlp.NewGRPCClient(conn)
			exports[i] = func(ctx context.Context, first uint64, now time.Time, traceOf func(uint64) pcommon.TraceID) error {
				_, err := c.Export(ctx, ptraceotlp.NewExportRequestFromTraces(spansWith(first, n, now, traceOf)))
				return err
			}
		case LogRecords:
			c := plogotlp.NewGRPCClient(conn)
			exports[i] = func(ctx context.Context, first uint64, now time.Time, traceOf func(uint64) pcommon.TraceID) error {
				_, err := c.Export(ctx, plogotlp.NewExportRequestFromLogs(logsWith(first, n, now, traceOf)))
				return err
			}
		default:
			return fmt.Errorf("cannot pair %s", p.Stream)
		}
	}
	tick := time.NewTicker(time.Duration(float64(time.Second) * float64(2*p.Batch) / p.Rate))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		a := p.Ledger.Reserve(p.Stream, p.Batch)
		b := p.Ledger.Reserve(p.Stream, p.Batch)
		now := time.Now()
		traceOf := [2]func(uint64) pcommon.TraceID{
			func(id uint64) pcommon.TraceID { return traceID(id - p.TraceBase) },
			func(id uint64) pcommon.TraceID { return traceID(id - b + a - p.TraceBase) },
		}
		var wg sync.WaitGroup
		for i, first := range [2]uint64{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rctx, cancel := context.WithTimeout(ctx, p.Timeout)
				defer cancel()
				if exports[i](rctx, first, now, traceOf[i]) == nil {
					p.Ledger.Ack(p.Stream, first, p.Batch)
					p.mu.Lock()
					if p.traces == nil {
						p.traces = map[pcommon.TraceID]bool{}
					}
					for id := first; id < first+uint64(p.Batch); id++ {
						p.traces[traceOf[i](id)] = true
					}
					p.mu.Unlock()
				}
			}()
		}
		wg.Wait()
	}
}
