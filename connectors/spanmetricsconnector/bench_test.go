package spanmetricsconnector

import (
	"context"
	"testing"

	contrib "github.com/open-telemetry/opentelemetry-collector-contrib/connector/spanmetricsconnector"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/braidobs/braid/internal/loadgen"
)

// BenchmarkConsumeTraces measures the cost per batch of 1,000 spans of the
// load generator's shape (20 services of 5 pods, traces of 5 spans), for
// Braid's connector and, as the baseline, the contrib span_metrics
// connector on the same configuration:
//
//	go test -run '^$' -bench ConsumeTraces -benchmem ./connectors/spanmetricsconnector/
func BenchmarkConsumeTraces(b *testing.B) {
	gen := loadgen.NewGenerator(loadgen.DefaultShape, 7)
	batches := make([]ptrace.Traces, 64)
	for i := range batches {
		batches[i] = gen.Traces(1000)
	}
	for _, bc := range []struct {
		name    string
		factory connector.Factory
		cfg     component.Config
	}{
		{"braid", NewFactory(), createDefaultConfig()},
		{"contrib", contrib.NewFactory(), contrib.NewFactory().CreateDefaultConfig()},
	} {
		b.Run(bc.name, func(b *testing.B) {
			require.NoError(b, confmap.NewFromStringMap(sharedConfig).Unmarshal(bc.cfg))
			ctx := context.Background()
			c, err := bc.factory.CreateTracesToMetrics(ctx, settings(bc.factory.Type()), bc.cfg, consumertest.NewNop())
			require.NoError(b, err)
			// Not started: no flush runs during the measurement.
			for _, td := range batches {
				require.NoError(b, c.ConsumeTraces(ctx, td))
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := c.ConsumeTraces(ctx, batches[i%len(batches)]); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			require.NoError(b, c.Shutdown(ctx))
		})
	}
}
