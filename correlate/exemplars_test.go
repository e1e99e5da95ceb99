package correlate

import (
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

func TestUnitScale(t *testing.T) {
	for unit, want := range map[string]float64{"ns": 1, "us": 1e3, "µs": 1e3, "ms": 1e6, "s": 1e9, "min": 60e9, "By": 0, "": 0, "1": 0} {
		if got := unitScale(unit); got != want {
			t.Errorf("unitScale(%q) = %v, want %v", unit, got, want)
		}
	}
}

func TestErrorSeries(t *testing.T) {
	for _, tc := range []struct {
		name   string
		metric string
		attrs  map[string]any
		want   bool
	}{
		{"error in the name", "http_server_errors_total", nil, true},
		{"failures in the name", "jobs_failed", nil, true},
		{"plain name", "http_server_requests", nil, false},
		{"span metrics status", "calls", map[string]any{"status.code": "STATUS_CODE_ERROR"}, true},
		{"span metrics ok", "calls", map[string]any{"status.code": "STATUS_CODE_OK"}, false},
		{"otel status", "calls", map[string]any{"otel.status_code": "ERROR"}, true},
		{"error.type", "calls", map[string]any{"error.type": "timeout"}, true},
		{"http 503", "calls", map[string]any{"http.response.status_code": int64(503)}, true},
		{"http 404", "calls", map[string]any{"http.response.status_code": int64(404)}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			attrs := pcommon.NewMap()
			if err := attrs.FromRaw(tc.attrs); err != nil {
				t.Fatal(err)
			}
			if got := isErrorName(tc.metric) || isErrorPoint(attrs); got != tc.want {
				t.Errorf("error series = %v, want %v", got, tc.want)
			}
		})
	}
}
