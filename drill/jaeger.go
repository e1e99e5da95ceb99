package drill

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// JaegerClient reads traces from Jaeger's HTTP query API (the one Grafana's
// Jaeger datasource uses), for traces that have left Braid's index.
type JaegerClient struct {
	base   string
	client *http.Client
}

// NewJaegerClient returns a client for the Jaeger query service at baseURL
// (e.g. http://127.0.0.1:16686). A nil client means http.DefaultClient.
func NewJaegerClient(baseURL string, client *http.Client) (*JaegerClient, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("jaeger url %q is not an absolute http(s) URL", baseURL)
	}
	if client == nil {
		client = http.DefaultClient
	}
	return &JaegerClient{base: strings.TrimRight(baseURL, "/"), client: client}, nil
}

// jaegerResponse is the envelope of Jaeger's query API.
type jaegerResponse struct {
	Data   []jaegerTrace `json:"data"`
	Errors []struct {
		Code int    `json:"code"`
		Msg  string `json:"msg"`
	} `json:"errors"`
}

type jaegerTrace struct {
	TraceID   string                   `json:"traceID"`
	Spans     []jaegerSpan             `json:"spans"`
	Processes map[string]jaegerProcess `json:"processes"`
}

type jaegerSpan struct {
	TraceID       string `json:"traceID"`
	SpanID        string `json:"spanID"`
	OperationName string `json:"operationName"`
	References    []struct {
		RefType string `json:"refType"`
		TraceID string `json:"traceID"`
		SpanID  string `json:"spanID"`
	} `json:"references"`
	StartTime int64       `json:"startTime"` // microseconds since the epoch
	Duration  int64       `json:"duration"`  // microseconds
	Tags      []jaegerTag `json:"tags"`
	ProcessID string      `json:"processID"`
}

type jaegerProcess struct {
	ServiceName string      `json:"serviceName"`
	Tags        []jaegerTag `json:"tags"`
}

type jaegerTag struct {
	Key   string `json:"key"`
	Type  string `json:"type"`
	Value any    `json:"value"`
}

func (t jaegerTag) str() string {
	switch v := t.Value.(type) {
	case string:
		return v
	case bool:
		return strconv.FormatBool(v)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return fmt.Sprint(t.Value)
}

// errNotFound is Jaeger saying it has no such trace.
var errNotFound = errors.New("trace not found in jaeger")

func (c *JaegerClient) get(ctx context.Context, path string, q url.Values) (jaegerResponse, error) {
	u := c.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return jaegerResponse{}, err
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return jaegerResponse{}, fmt.Errorf("query jaeger: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return jaegerResponse{}, fmt.Errorf("read jaeger answer: %w", err)
	}
	if resp.StatusCode == http.StatusNotFound {
		return jaegerResponse{}, errNotFound
	}
	if resp.StatusCode != http.StatusOK {
		return jaegerResponse{}, fmt.Errorf("jaeger answered %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	var jr jaegerResponse
	if err := json.Unmarshal(body, &jr); err != nil {
		return jaegerResponse{}, fmt.Errorf("decode jaeger answer: %w", err)
	}
	return jr, nil
}

// Trace fetches one trace by its hex ID; ok is false when Jaeger has none.
func (c *JaegerClient) Trace(ctx context.Context, traceID string) (Trace, bool, error) {
	jr, err := c.get(ctx, "/api/traces/"+url.PathEscape(traceID), nil)
	if errors.Is(err, errNotFound) {
		return Trace{}, false, nil
	}
	if err != nil {
		return Trace{}, false, err
	}
	for _, t := range jr.Data {
		if len(t.Spans) > 0 {
			return summarize(t), true, nil
		}
	}
	return Trace{}, false, nil
}

// FindTraces searches a service's traces in [start, end], only failed ones
// when errorsOnly, at most limit of them.
func (c *JaegerClient) FindTraces(ctx context.Context, service string, start, end time.Time, errorsOnly bool, limit int) ([]Trace, error) {
	q := url.Values{}
	q.Set("service", service)
	q.Set("start", strconv.FormatInt(start.UnixMicro(), 10))
	q.Set("end", strconv.FormatInt(end.UnixMicro(), 10))
	q.Set("limit", strconv.Itoa(limit))
	if errorsOnly {
		q.Set("tags", `{"error":"true"}`)
	}
	jr, err := c.get(ctx, "/api/traces", q)
	if errors.Is(err, errNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out := make([]Trace, 0, len(jr.Data))
	for _, t := range jr.Data {
		if len(t.Spans) > 0 {
			out = append(out, summarize(t))
		}
	}
	return out, nil
}

// summarize turns a Jaeger trace into the API's summary.
func summarize(t jaegerTrace) Trace {
	out := Trace{TraceID: strings.ToLower(t.TraceID), Source: "jaeger", SpanCount: len(t.Spans)}
	if len(out.TraceID) < 32 { // Jaeger drops leading zeros
		out.TraceID = strings.Repeat("0", 32-len(out.TraceID)) + out.TraceID
	}
	var start, end int64
	for i, s := range t.Spans {
		if i == 0 || s.StartTime < start {
			start = s.StartTime
		}
		if e := s.StartTime + s.Duration; e > end {
			end = e
		}
		p := t.Processes[s.ProcessID]
		if p.ServiceName != "" && !slices.Contains(out.Services, p.ServiceName) {
			out.Services = append(out.Services, p.ServiceName)
		}
		for _, tag := range p.Tags {
			if tag.Key == "k8s.pod.name" || tag.Key == "k8s.pod.uid" {
				if v := tag.str(); v != "" && !slices.Contains(out.Pods, v) {
					out.Pods = append(out.Pods, v)
				}
			}
		}
		for _, tag := range s.Tags {
			if (tag.Key == "error" && tag.str() == "true") || (tag.Key == "otel.status_code" && tag.str() == "ERROR") {
				out.Error = true
			}
		}
		root := true
		for _, r := range s.References {
			if r.RefType == "CHILD_OF" && r.TraceID == s.TraceID {
				root = false
			}
		}
		if root && out.RootOperation == "" {
			out.RootOperation, out.RootService = s.OperationName, p.ServiceName
		}
	}
	out.Start, out.End = time.UnixMicro(start).UTC(), time.UnixMicro(end).UTC()
	out.DurationMS = float64(end-start) / 1e3
	if out.Services == nil {
		out.Services = []string{}
	}
	if out.Pods == nil {
		out.Pods = []string{}
	}
	return out
}
