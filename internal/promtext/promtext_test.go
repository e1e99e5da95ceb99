package promtext

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const exposition = `# TYPE braid_usage_received_items_total counter
braid_usage_received_items_total{k8s_namespace_name="team-a",signal="traces"} 3
braid_usage_received_items_total{k8s_namespace_name="team-a",signal="logs"} 4
braid_usage_received_items_total{k8s_namespace_name="team-b",signal="traces"} 5
braid_usage_received_items_total{signal="traces"} 7
# TYPE plain counter
plain 1
`

func TestCounterAndSumBy(t *testing.T) {
	families, err := Parse(strings.NewReader(exposition))
	require.NoError(t, err)
	tests := []struct {
		name, counter string
		want          map[string]float64
	}{
		{"suffixed by the exposition", "braid_usage_received_items", map[string]float64{"team-a": 7, "team-b": 5}},
		{"named in full", "braid_usage_received_items_total", map[string]float64{"team-a": 7, "team-b": 5}},
		{"without the label", "plain", map[string]float64{}},
		{"absent", "braid_usage_received_bytes", map[string]float64{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, SumBy(Counter(families, tt.counter), "k8s_namespace_name"))
		})
	}
}

func TestScrape(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/metrics" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte(exposition))
	}))
	defer srv.Close()

	families, err := Scrape(context.Background(), srv.URL+"/metrics")
	require.NoError(t, err)
	assert.NotNil(t, Counter(families, "braid_usage_received_items"))

	_, err = Scrape(context.Background(), srv.URL+"/other")
	assert.ErrorContains(t, err, "HTTP 404")

	_, err = Parse(strings.NewReader("not an exposition {"))
	assert.Error(t, err)
}
