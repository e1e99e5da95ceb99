package lokiexporter

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/golang/snappy"
	"github.com/grafana/loki/pkg/push"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/braidobs/braid/internal/lokilabels"
)

// maxErrorBody bounds how much of an error answer is read for its message.
const maxErrorBody = 1024

type lokiExporter struct {
	cfg       *Config
	set       exporter.Settings
	enc       *encoder
	client    *http.Client
	userAgent string

	requests  metric.Int64Counter
	dropped   metric.Int64Counter
	truncated metric.Int64Counter

	// loggedMu guards logged, the status codes whose refusal was logged at
	// error level already (later ones go to debug, the counters count all).
	loggedMu sync.Mutex
	logged   map[int]bool

	bufPool sync.Pool // *requestBuffers

	// pushed counts what each push carried per input resource; nil
	// counts nothing.
	pushed Pushed
}

func newLokiExporter(cfg *Config, set exporter.Settings, pushed Pushed) (*lokiExporter, error) {
	meter := set.TelemetrySettings.MeterProvider.Meter("github.com/braidobs/braid/exporters/lokiexporter")
	e := &lokiExporter{
		cfg:       cfg,
		set:       set,
		enc:       newEncoder(cfg),
		userAgent: fmt.Sprintf("%s/%s", set.BuildInfo.Command, set.BuildInfo.Version),
		logged:    map[int]bool{},
		pushed:    pushed,
	}
	e.enc.sizes = pushed != nil
	var err, errs error
	e.requests, err = meter.Int64Counter("braid_loki_requests",
		metric.WithDescription("Push requests sent to Loki, by outcome (ok, retryable, permanent)."),
		metric.WithUnit("{request}"))
	errs = errors.Join(errs, err)
	e.dropped, err = meter.Int64Counter("braid_loki_dropped_entries",
		metric.WithDescription("Log entries dropped for good, by reason: Loki refused their request (a 4xx other than 429; an upper bound, Loki keeps the valid entries of a 400) or their tenant ID is invalid."),
		metric.WithUnit("{entry}"))
	errs = errors.Join(errs, err)
	e.truncated, err = meter.Int64Counter("braid_loki_truncated_labels",
		metric.WithDescription("Label values cut to max_label_value_length."),
		metric.WithUnit("{label}"))
	errs = errors.Join(errs, err)
	if errs != nil {
		return nil, fmt.Errorf("create loki exporter metrics: %w", errs)
	}
	return e, nil
}

func (e *lokiExporter) start(ctx context.Context, host component.Host) error {
	client, err := e.cfg.ClientConfig.ToClient(ctx, host.GetExtensions(), e.set.TelemetrySettings)
	if err != nil {
		return fmt.Errorf("create loki http client: %w", err)
	}
	e.client = client
	return nil
}

func (e *lokiExporter) shutdown(context.Context) error {
	if e.client != nil {
		e.client.CloseIdleConnections()
	}
	if e.pushed != nil {
		return e.pushed.Close()
	}
	return nil
}

// pushLogs sends ld as one request per tenant. Tenants whose request failed
// in a way worth retrying are handed back to exporterhelper as a
// consumererror.Logs holding only their resources; entries that Loki refused
// for good are counted and dropped.
func (e *lokiExporter) pushLogs(ctx context.Context, ld plog.Logs) error {
	enc := e.enc.encode(ld)
	if enc.truncatedLabels > 0 {
		e.truncated.Add(ctx, int64(enc.truncatedLabels))
	}
	var retryErrs, permErrs []error
	var retry []int
	for _, tr := range enc.tenants {
		err := e.send(ctx, tr)
		if e.pushed != nil {
			for _, size := range tr.sizes {
				e.pushed.Count(ld.ResourceLogs().At(size.resource).Resource().Attributes(), size.entries, size.bytes, err)
			}
		}
		switch {
		case err == nil:
		case consumererror.IsPermanent(err):
			permErrs = append(permErrs, err)
		default:
			retryErrs = append(retryErrs, err)
			retry = append(retry, tr.resources...)
		}
	}
	if len(retryErrs) > 0 {
		err := errors.Join(retryErrs...)
		if len(retry) == ld.ResourceLogs().Len() {
			return err // keep any throttle hint for exporterhelper; the whole batch is retried
		}
		failed := plog.NewLogs()
		for _, i := range retry {
			ld.ResourceLogs().At(i).CopyTo(failed.ResourceLogs().AppendEmpty())
		}
		return consumererror.NewLogs(err, failed)
	}
	if len(permErrs) > 0 {
		return consumererror.NewPermanent(errors.Join(permErrs...))
	}
	return nil
}

// send pushes one tenant's request. Errors are permanent unless retrying can
// help (network errors, 429, 5xx).
func (e *lokiExporter) send(ctx context.Context, tr *tenantRequest) error {
	if err := lokilabels.ValidateTenant(tr.tenant); err != nil {
		// No retry can fix it, and another tenant must not get these entries.
		e.drop(ctx, tr.entries, "invalid_tenant")
		err = fmt.Errorf("tenant %q from %s: %w", truncate(tr.tenant), e.cfg.Tenant.FromAttribute, err)
		e.logRefusal(0, tr.tenant, tr.entries, err)
		return consumererror.NewPermanent(err)
	}
	return e.push(ctx, tr.tenant, &tr.req, tr.entries, tr.size())
}

// push sends req, which holds entries entries and encodes to size bytes (0:
// not known), and counts the outcome. A request answered 413 that holds more
// than one entry is split in two halves, each sent the same way, so a proxy's
// body limit costs requests, not data.
func (e *lokiExporter) push(ctx context.Context, tenant string, req *push.PushRequest, entries, size int) error {
	status, err := e.post(ctx, tenant, req, size)
	switch {
	case err == nil:
		e.requests.Add(ctx, 1, metric.WithAttributes(attribute.String("status", "ok")))
		return nil
	case status == http.StatusRequestEntityTooLarge && entries > 1:
		e.requests.Add(ctx, 1, metric.WithAttributes(attribute.String("status", "retryable")))
		a, b := splitRequest(req)
		return combineHalves(e.push(ctx, tenant, &a, countEntries(&a), 0), e.push(ctx, tenant, &b, countEntries(&b), 0))
	case consumererror.IsPermanent(err):
		e.requests.Add(ctx, 1, metric.WithAttributes(attribute.String("status", "permanent")))
		if status != 0 {
			e.drop(ctx, entries, dropReason(status))
			e.logRefusal(status, tenant, entries, err)
		} else {
			e.drop(ctx, entries, "encode")
		}
		return err
	default:
		e.requests.Add(ctx, 1, metric.WithAttributes(attribute.String("status", "retryable")))
		return err
	}
}

// post makes one HTTP request of pr, size bytes encoded (0: not known), and
// classifies its outcome. status is the HTTP status, 0 when there was no
// answer.
func (e *lokiExporter) post(ctx context.Context, tenant string, pr *push.PushRequest, size int) (status int, err error) {
	bufs, _ := e.bufPool.Get().(*requestBuffers)
	if bufs == nil {
		bufs = new(requestBuffers)
	}
	defer e.bufPool.Put(bufs)
	raw, err := marshalRequest(bufs.raw, pr, size)
	if err != nil {
		return 0, consumererror.NewPermanent(fmt.Errorf("marshal push request: %w", err))
	}
	bufs.raw = raw[:cap(raw)]
	if n := snappy.MaxEncodedLen(len(raw)); cap(bufs.body) < n {
		bufs.body = make([]byte, n)
	}
	body := snappy.Encode(bufs.body[:cap(bufs.body)], raw)

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.cfg.ClientConfig.Endpoint, bytes.NewReader(body))
	if err != nil {
		return 0, consumererror.NewPermanent(fmt.Errorf("build push request: %w", err))
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("User-Agent", e.userAgent)
	if tenant != "" {
		req.Header.Set("X-Scope-OrgID", tenant)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("push to %s: %w", e.cfg.ClientConfig.Endpoint, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64*1024)) // let the connection be reused
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp.StatusCode, nil
	}
	err = fmt.Errorf("push to %s (tenant %q): HTTP %d: %s", e.cfg.ClientConfig.Endpoint, tenant, resp.StatusCode, bytes.TrimSpace(msg))
	if retryable(resp.StatusCode) {
		if d, ok := retryAfter(resp.Header.Get("Retry-After")); ok {
			return resp.StatusCode, exporterhelper.NewThrottleRetry(err, d)
		}
		return resp.StatusCode, err
	}
	return resp.StatusCode, consumererror.NewPermanent(err)
}

// requestBuffers are the marshalled and the compressed body of a request,
// kept between requests so that a steady stream of pushes does not allocate
// them each time.
type requestBuffers struct {
	raw, body []byte
}

// marshalRequest marshals pr, whose encoding is n bytes (0: size it), into
// buf, growing it when it is too small.
func marshalRequest(buf []byte, pr *push.PushRequest, n int) ([]byte, error) {
	if n <= 0 {
		n = pr.Size()
	}
	if cap(buf) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	m, err := pr.MarshalToSizedBuffer(buf) // writes from the end backwards
	if err != nil {
		return nil, err
	}
	return buf[n-m:], nil
}

// splitRequest halves a request: by streams when it has several, else by the
// entries of its one stream.
func splitRequest(req *push.PushRequest) (a, b push.PushRequest) {
	if n := len(req.Streams); n > 1 {
		return push.PushRequest{Streams: req.Streams[:n/2]}, push.PushRequest{Streams: req.Streams[n/2:]}
	}
	s := req.Streams[0]
	mid := len(s.Entries) / 2
	return push.PushRequest{Streams: []push.Stream{{Labels: s.Labels, Entries: s.Entries[:mid]}}},
		push.PushRequest{Streams: []push.Stream{{Labels: s.Labels, Entries: s.Entries[mid:]}}}
}

func countEntries(req *push.PushRequest) int {
	n := 0
	for i := range req.Streams {
		n += len(req.Streams[i].Entries)
	}
	return n
}

// combineHalves merges the outcomes of two halves: retryable when either is
// (the tenant's logs are sent again: at least once), permanent when both are.
func combineHalves(a, b error) error {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	case consumererror.IsPermanent(a) && consumererror.IsPermanent(b):
		return errors.Join(a, b)
	default:
		return fmt.Errorf("%s; %s", a.Error(), b.Error())
	}
}

func (e *lokiExporter) drop(ctx context.Context, entries int, reason string) {
	e.dropped.Add(ctx, int64(entries), metric.WithAttributes(attribute.String("reason", reason)))
}

// logRefusal logs a permanent refusal with Loki's message (status 0: refused
// before sending): at error level the first time a status code is seen, at
// debug level afterwards.
func (e *lokiExporter) logRefusal(code int, tenant string, entries int, err error) {
	e.loggedMu.Lock()
	first := !e.logged[code]
	e.logged[code] = true
	e.loggedMu.Unlock()
	fields := []zap.Field{zap.Int("status", code), zap.String("tenant", tenant), zap.Int("dropped_entries", entries), zap.Error(err)}
	if first {
		e.set.Logger.Error("Push request refused for good; its entries are dropped (counted in braid_loki_dropped_entries; later refusals with this status are logged at debug level)", fields...)
		return
	}
	e.set.Logger.Debug("Push request refused for good; its entries are dropped", fields...)
}

// retryable reports whether an HTTP status is worth retrying: rate limiting
// and server-side failures.
func retryable(code int) bool {
	return code == http.StatusTooManyRequests || code >= 500
}

// dropReason names a permanent refusal for braid_loki_dropped_entries.
func dropReason(code int) string {
	switch code {
	case http.StatusBadRequest:
		return "bad_request" // invalid labels, entry too old or too new, line too long, ...
	case http.StatusRequestEntityTooLarge:
		return "too_large"
	case http.StatusUnauthorized, http.StatusForbidden:
		return "unauthorized"
	case http.StatusNotFound:
		return "not_found"
	default:
		return "http_" + strconv.Itoa(code)
	}
}

func retryAfter(v string) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return time.Until(t), true
	}
	return 0, false
}

func truncate(s string) string {
	const max = 64
	if len(s) <= max {
		return s
	}
	return s[:max] + "…"
}
