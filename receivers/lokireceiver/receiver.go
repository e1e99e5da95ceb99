package lokireceiver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receiverhelper"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"
)

// PushPath is the path of Loki's push API.
const PushPath = "/loki/api/v1/push"

// ReadyPath answers 200 once the receiver listens, like Loki's readiness
// endpoint that shippers probe.
const ReadyPath = "/ready"

type lokiReceiver struct {
	cfg    *Config
	set    receiver.Settings
	next   consumer.Logs
	obsrep *receiverhelper.ObsReport
	conv   *converter
	// refusedRequests counts pushes refused for their sender's identity
	// (tenants), by reason.
	refusedRequests metric.Int64Counter

	server *http.Server
	addr   string         // the address listened on, once started
	wg     sync.WaitGroup // the Serve goroutine

	// shutdownOnce makes Shutdown idempotent.
	shutdownOnce sync.Once
	shutdownErr  error
}

func newLokiReceiver(cfg *Config, set receiver.Settings, next consumer.Logs) (*lokiReceiver, error) {
	obsrep, err := receiverhelper.NewObsReport(receiverhelper.ObsReportSettings{
		ReceiverID:             set.ID,
		Transport:              "http",
		ReceiverCreateSettings: set,
	})
	if err != nil {
		return nil, fmt.Errorf("create loki receiver telemetry: %w", err)
	}
	refused, err := set.MeterProvider.Meter(scopeName).Int64Counter("braid_loki_receiver_refused_requests",
		metric.WithDescription("Push requests refused for their sender's identity (tenants): reason no_identity, unknown_token, unknown_certificate (401 or 403) or other_tenant (403, X-Scope-OrgID names another tenant)."),
		metric.WithUnit("{request}"))
	if err != nil {
		return nil, fmt.Errorf("create loki receiver self-metrics: %w", err)
	}
	return &lokiReceiver{
		cfg:             cfg,
		set:             set,
		next:            next,
		obsrep:          obsrep,
		conv:            &converter{labelAttributes: cfg.LabelAttributes},
		refusedRequests: refused,
	}, nil
}

// Start listens on the configured endpoint and serves the push API.
func (r *lokiReceiver) Start(ctx context.Context, host component.Host) error {
	mux := http.NewServeMux()
	mux.HandleFunc(PushPath, r.handlePush)
	// Vector's loki sink checks GET /ready when it starts, as Loki serves it.
	mux.HandleFunc("GET "+ReadyPath, func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ready\n")
	})
	server, err := r.cfg.ServerConfig.ToServer(ctx, host.GetExtensions(), r.set.TelemetrySettings, mux,
		// A snappy body is snappy whatever Content-Encoding says: the push
		// handler decompresses it, as Loki does.
		confighttp.WithDecoder("snappy", func(body io.ReadCloser) (io.ReadCloser, error) { return body, nil }))
	if err != nil {
		return fmt.Errorf("create loki receiver server: %w", err)
	}
	ln, err := r.cfg.ServerConfig.ToListener(ctx)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", r.cfg.ServerConfig.NetAddr.Endpoint, err)
	}
	r.server = server
	r.addr = ln.Addr().String()
	r.set.Logger.Info("Loki push API listening", zap.String("endpoint", ln.Addr().String()), zap.String("path", PushPath))
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		if err := server.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			componentstatus.ReportStatus(host, componentstatus.NewFatalErrorEvent(err))
		}
	}()
	return nil
}

// Shutdown stops the server; it is safe to call more than once and without
// Start.
func (r *lokiReceiver) Shutdown(ctx context.Context) error {
	r.shutdownOnce.Do(func() {
		if r.server != nil {
			r.shutdownErr = r.server.Shutdown(ctx)
		}
		r.wg.Wait()
	})
	return r.shutdownErr
}

// handlePush answers as Loki does: 204 on success, 400 for a malformed
// request (the message says what), 401 or 403 for a sender without a known
// identity or claiming another tenant (tenants), 413 over
// max_request_body_size, 429 when
// the pipeline refuses data it could take later (memory pressure), which
// every shipper retries.
func (r *lokiReceiver) handlePush(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "only POST is allowed", http.StatusMethodNotAllowed)
		return
	}
	tenant, status, err := r.tenantOf(req)
	if err != nil {
		if status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Bearer realm="loki"`)
		}
		http.Error(w, err.Error(), status)
		return
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			http.Error(w, fmt.Sprintf("push request body is larger than max_request_body_size (%d bytes)", tooLarge.Limit), http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "read push request body: "+err.Error(), http.StatusBadRequest)
		return
	}

	if len(body) == 0 {
		w.WriteHeader(http.StatusNoContent) // nothing pushed, nothing to do
		return
	}
	contentType := req.Header.Get("Content-Type")
	mediaType, _, _ := mime.ParseMediaType(contentType)
	var streams []stream
	format := "protobuf"
	if mediaType == "application/json" {
		format = "json"
		streams, err = decodeJSON(body)
	} else {
		// Loki reads anything that is not JSON as snappy protobuf.
		streams, err = decodeProtobuf(body, r.maxBodySize())
	}
	if err != nil {
		status := http.StatusBadRequest
		if errors.Is(err, errTooLarge) {
			status = http.StatusRequestEntityTooLarge
		}
		http.Error(w, err.Error(), status)
		return
	}

	ld, count := r.conv.toLogs(streams, tenant, pcommon.NewTimestampFromTime(time.Now()))
	if count == 0 {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	ctx := r.obsrep.StartLogsOp(req.Context())
	err = r.next.ConsumeLogs(ctx, ld)
	r.obsrep.EndLogsOp(ctx, format, count, err)
	switch {
	case err == nil:
		w.WriteHeader(http.StatusNoContent)
	case consumererror.IsPermanent(err):
		http.Error(w, "push refused: "+err.Error(), http.StatusBadRequest)
	default:
		http.Error(w, "push refused, retry later: "+err.Error(), http.StatusTooManyRequests)
	}
}

func (r *lokiReceiver) maxBodySize() int64 {
	if n := r.cfg.ServerConfig.MaxRequestBodySize; n > 0 {
		return n
	}
	return defaultMaxRequestBodySize
}
