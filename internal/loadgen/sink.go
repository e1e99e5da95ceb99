package loadgen

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/golang/snappy"
	"github.com/grafana/loki/pkg/push"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	// Collector exporters compress with gzip by default.
	_ "google.golang.org/grpc/encoding/gzip"
)

// Counts is what a Sink has received.
type Counts struct {
	Spans        int64 `json:"spans"`
	LogRecords   int64 `json:"log_records"`
	DataPoints   int64 `json:"data_points"`
	LokiEntries  int64 `json:"loki_entries"`
	LokiRequests int64 `json:"loki_requests"`
	// RemoteWriteRequests counts Prometheus remote-write requests (their
	// samples are not decoded: span metrics are aggregates, not items).
	RemoteWriteRequests int64 `json:"remote_write_requests"`
	BadRequests         int64 `json:"bad_requests"`
}

// Observer sees everything a Sink receives, decoded, before the Sink
// answers. Its methods are called from many goroutines.
type Observer interface {
	Traces(ptrace.Traces)
	Logs(plog.Logs)
	Metrics(pmetric.Metrics)
	LokiPush(*push.PushRequest)
	// RemoteWrite gets the snappy-decoded body of a remote-write request
	// (a prompb.WriteRequest).
	RemoteWrite(raw []byte) error
}

// Sink stands in for the backends in load runs: an OTLP gRPC server (for
// traces to Jaeger, or any OTLP next hop) and an HTTP server taking Loki push
// and Prometheus remote write, all answering success and counting.
type Sink struct {
	obs                           Observer
	spans, logs, points           atomic.Int64
	lokiEntries, lokiReqs, rwReqs atomic.Int64
	badRequests                   atomic.Int64
	delay                         atomic.Int64 // time.Duration added to every answer
	grpcServer                    *grpc.Server
	httpServer                    *http.Server
	grpcListener, httpListener    net.Listener
	grpcServeDone, httpServeDone  chan error
}

// StartSink listens on the two loopback addresses (port 0 picks a free one).
func StartSink(grpcAddr, httpAddr string) (*Sink, error) {
	return StartObservedSink(grpcAddr, httpAddr, nil)
}

// StartObservedSink is StartSink with an Observer (nil for none).
func StartObservedSink(grpcAddr, httpAddr string, obs Observer) (*Sink, error) {
	s := &Sink{obs: obs, grpcServeDone: make(chan error, 1), httpServeDone: make(chan error, 1)}
	var err error
	if s.grpcListener, err = net.Listen("tcp", grpcAddr); err != nil {
		return nil, err
	}
	if s.httpListener, err = net.Listen("tcp", httpAddr); err != nil {
		s.grpcListener.Close()
		return nil, err
	}
	s.grpcServer = grpc.NewServer(grpc.MaxRecvMsgSize(64 << 20))
	ptraceotlp.RegisterGRPCServer(s.grpcServer, &traceSink{s: s})
	plogotlp.RegisterGRPCServer(s.grpcServer, &logSink{s: s})
	pmetricotlp.RegisterGRPCServer(s.grpcServer, &metricSink{s: s})
	mux := http.NewServeMux()
	mux.HandleFunc("POST /loki/api/v1/push", s.lokiPush)
	mux.HandleFunc("POST /api/v1/write", s.remoteWrite)
	mux.HandleFunc("GET /counts", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(s.Counts())
	})
	s.httpServer = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { s.grpcServeDone <- s.grpcServer.Serve(s.grpcListener) }()
	go func() { s.httpServeDone <- s.httpServer.Serve(s.httpListener) }()
	return s, nil
}

// GRPCAddr and HTTPAddr are where the sink listens.
func (s *Sink) GRPCAddr() string { return s.grpcListener.Addr().String() }
func (s *Sink) HTTPAddr() string { return s.httpListener.Addr().String() }

// Counts returns what arrived so far.
func (s *Sink) Counts() Counts {
	return Counts{
		Spans: s.spans.Load(), LogRecords: s.logs.Load(), DataPoints: s.points.Load(),
		LokiEntries: s.lokiEntries.Load(), LokiRequests: s.lokiReqs.Load(),
		RemoteWriteRequests: s.rwReqs.Load(), BadRequests: s.badRequests.Load(),
	}
}

// SetDelay makes every later answer wait d first, as a slow backend would.
func (s *Sink) SetDelay(d time.Duration) { s.delay.Store(int64(d)) }

func (s *Sink) wait(ctx context.Context) {
	if d := time.Duration(s.delay.Load()); d > 0 {
		select {
		case <-ctx.Done():
		case <-time.After(d):
		}
	}
}

// Close stops both servers.
func (s *Sink) Close(ctx context.Context) error {
	s.grpcServer.Stop()
	err := s.httpServer.Shutdown(ctx)
	<-s.grpcServeDone
	if herr := <-s.httpServeDone; !errors.Is(herr, http.ErrServerClosed) {
		err = errors.Join(err, herr)
	}
	return err
}

func (s *Sink) remoteWrite(w http.ResponseWriter, r *http.Request) {
	s.wait(r.Context())
	if s.obs == nil {
		_, _ = io.Copy(io.Discard, r.Body)
		s.rwReqs.Add(1)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	if err == nil {
		var raw []byte
		if raw, err = snappy.Decode(nil, body); err == nil {
			err = s.obs.RemoteWrite(raw)
		}
	}
	if err != nil {
		s.badRequests.Add(1)
		http.Error(w, "remote write: "+err.Error(), http.StatusBadRequest)
		return
	}
	s.rwReqs.Add(1)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Sink) lokiPush(w http.ResponseWriter, r *http.Request) {
	s.wait(r.Context())
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	if err != nil {
		s.badRequests.Add(1)
		http.Error(w, "read body: "+err.Error(), http.StatusBadRequest)
		return
	}
	raw, err := snappy.Decode(nil, body)
	if err != nil {
		s.badRequests.Add(1)
		http.Error(w, "snappy: "+err.Error(), http.StatusBadRequest)
		return
	}
	var req push.PushRequest
	if err := req.Unmarshal(raw); err != nil {
		s.badRequests.Add(1)
		http.Error(w, "decode push request: "+err.Error(), http.StatusBadRequest)
		return
	}
	if s.obs != nil {
		s.obs.LokiPush(&req)
	}
	var n int64
	for _, st := range req.Streams {
		n += int64(len(st.Entries))
	}
	s.lokiEntries.Add(n)
	s.lokiReqs.Add(1)
	w.WriteHeader(http.StatusNoContent)
}

type traceSink struct {
	ptraceotlp.UnimplementedGRPCServer
	s *Sink
}

func (t *traceSink) Export(ctx context.Context, req ptraceotlp.ExportRequest) (ptraceotlp.ExportResponse, error) {
	t.s.wait(ctx)
	if t.s.obs != nil {
		t.s.obs.Traces(req.Traces())
	}
	t.s.spans.Add(int64(req.Traces().SpanCount()))
	return ptraceotlp.NewExportResponse(), nil
}

type logSink struct {
	plogotlp.UnimplementedGRPCServer
	s *Sink
}

func (l *logSink) Export(ctx context.Context, req plogotlp.ExportRequest) (plogotlp.ExportResponse, error) {
	l.s.wait(ctx)
	if l.s.obs != nil {
		l.s.obs.Logs(req.Logs())
	}
	l.s.logs.Add(int64(req.Logs().LogRecordCount()))
	return plogotlp.NewExportResponse(), nil
}

type metricSink struct {
	pmetricotlp.UnimplementedGRPCServer
	s *Sink
}

func (m *metricSink) Export(ctx context.Context, req pmetricotlp.ExportRequest) (pmetricotlp.ExportResponse, error) {
	m.s.wait(ctx)
	if m.s.obs != nil {
		m.s.obs.Metrics(req.Metrics())
	}
	m.s.points.Add(int64(req.Metrics().DataPointCount()))
	return pmetricotlp.NewExportResponse(), nil
}
