package lokireceiver

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/grafana/loki/pkg/push"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exportertest"

	"github.com/braidobs/braid/exporters/lokiexporter"
	"github.com/braidobs/braid/internal/lokilabels"
)

// capturedPush is what a Loki behind Braid's exporter received.
type capturedPush struct {
	tenant string
	req    push.PushRequest
}

func startCapture(t *testing.T) (url string, got func() []capturedPush) {
	var mu sync.Mutex // guards pushes
	var pushes []capturedPush
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		raw, err := snappy.Decode(nil, body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var req push.PushRequest
		if err := req.Unmarshal(raw); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		pushes = append(pushes, capturedPush{tenant: r.Header.Get("X-Scope-OrgID"), req: req})
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/loki/api/v1/push", func() []capturedPush {
		mu.Lock()
		defer mu.Unlock()
		return append([]capturedPush(nil), pushes...)
	}
}

// jsonBody renders streams as Loki's JSON push format.
func jsonBody(t *testing.T, streams []push.Stream) []byte { return jsonBodyTB(t, streams) }

func jsonBodyTB(t testing.TB, streams []push.Stream) []byte {
	type jsonStream struct {
		Stream map[string]string `json:"stream"`
		Values [][]any           `json:"values"`
	}
	var out struct {
		Streams []jsonStream `json:"streams"`
	}
	for _, s := range streams {
		labels, err := lokilabels.Parse(s.Labels)
		require.NoError(t, err)
		js := jsonStream{Stream: map[string]string{}}
		for _, l := range labels {
			js.Stream[l.Name] = l.Value
		}
		for _, e := range s.Entries {
			v := []any{fmt.Sprint(e.Timestamp.UnixNano()), e.Line}
			if len(e.StructuredMetadata) > 0 {
				md := map[string]string{}
				for _, m := range e.StructuredMetadata {
					md[m.Name] = m.Value
				}
				v = append(v, md)
			}
			js.Values = append(js.Values, v)
		}
		out.Streams = append(out.Streams, js)
	}
	b, err := json.Marshal(out)
	require.NoError(t, err)
	return b
}

type flatEntry struct {
	labels   string
	ts       int64
	line     string
	metadata map[string]string
}

func flatten(t *testing.T, streams []push.Stream) []flatEntry {
	var out []flatEntry
	for _, s := range streams {
		labels, err := lokilabels.Parse(s.Labels)
		require.NoError(t, err)
		key := string(lokilabels.Format(nil, labels))
		for _, e := range s.Entries {
			md := map[string]string{}
			for _, m := range e.StructuredMetadata {
				md[m.Name] = m.Value
			}
			out = append(out, flatEntry{labels: key, ts: e.Timestamp.UnixNano(), line: e.Line, metadata: md})
		}
	}
	return out
}

// TestRoundTripThroughBraid pushes streams into the receiver, lets Braid's
// Loki exporter send them on, and checks that the Loki behind it receives the
// same streams, lines, timestamps, metadata and tenant.
func TestRoundTripThroughBraid(t *testing.T) {
	streams := []push.Stream{
		{
			Labels: `{job="varlogs", k8s_pod_name="checkout-7d9f", service_name="checkout"}`,
			Entries: []push.Entry{
				{Timestamp: ts0, Line: "first", StructuredMetadata: push.LabelsAdapter{
					{Name: "trace_id", Value: traceHex}, {Name: "span_id", Value: spanHex},
					{Name: "severity_text", Value: "info"}, {Name: "user", Value: "jane"},
				}},
				{Timestamp: ts0.Add(time.Nanosecond), Line: `{"msg":"json line"}`},
				{Timestamp: ts0.Add(time.Second), Line: "", StructuredMetadata: push.LabelsAdapter{{Name: "note", Value: "empty line"}}},
			},
		},
		{
			Labels:  `{app="cart", namespace="shop"}`,
			Entries: []push.Entry{{Timestamp: ts0, Line: "cart line é"}},
		},
	}
	encodings := []struct {
		name    string
		body    []byte
		headers []string
	}{
		{"protobuf", protobufBody(t, streams...), []string{"Content-Type", "application/x-protobuf", "X-Scope-OrgID", "team-a"}},
		{"json", jsonBody(t, streams), []string{"Content-Type", "application/json", "X-Scope-OrgID", "team-a"}},
	}
	for _, enc := range encodings {
		t.Run(enc.name, func(t *testing.T) {
			lokiURL, captured := startCapture(t)
			expCfg := lokiexporter.NewFactory().CreateDefaultConfig().(*lokiexporter.Config)
			expCfg.ClientConfig.Endpoint = lokiURL
			expCfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
			expCfg.RetryConfig.Enabled = false
			set := exportertest.NewNopSettings(lokiexporter.Type)
			exp, err := lokiexporter.NewFactory().CreateLogs(context.Background(), set, expCfg)
			require.NoError(t, err)
			require.NoError(t, exp.Start(context.Background(), componenttest.NewNopHost()))
			t.Cleanup(func() { require.NoError(t, exp.Shutdown(context.Background())) })

			url := startReceiver(t, nil, exp)
			status, msg := post(t, url, enc.body, enc.headers...)
			require.Equal(t, http.StatusNoContent, status, msg)

			pushes := captured()
			require.Len(t, pushes, 1)
			assert.Equal(t, "team-a", pushes[0].tenant)
			assert.ElementsMatch(t, flatten(t, streams), flatten(t, pushes[0].req.Streams))
		})
	}
}
