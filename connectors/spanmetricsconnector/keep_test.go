package spanmetricsconnector

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/consumer/consumertest"
)

func TestAggregatesCarrySeriesAcrossARebuild(t *testing.T) {
	tests := []struct {
		name       string
		aggregates bool
		change     func(*Config, connector.Settings)
		wantCount  uint64
	}{
		{"kept for the same configuration", true, nil, 2},
		{"new for another configuration", true, func(c *Config, _ connector.Settings) { c.MaxSeries = 10 }, 1},
		{"new for another instance ID", true, func(_ *Config, s connector.Settings) {
			s.Resource.Attributes().PutStr("service.instance.id", "another")
		}, 1},
		{"new without Aggregates", false, nil, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts []Option
			if tt.aggregates {
				opts = append(opts, WithAggregates(NewAggregates()))
			}
			run := func(cfg *Config, set connector.Settings) *spanMetrics {
				f := NewFactory(opts...)
				c, err := f.CreateTracesToMetrics(context.Background(), set, cfg, new(consumertest.MetricsSink))
				require.NoError(t, err)
				require.NoError(t, c.Start(context.Background(), componenttest.NewNopHost()))
				require.NoError(t, c.ConsumeTraces(context.Background(), spansOf("cart", "GET /cart", time.Millisecond)))
				require.NoError(t, c.Shutdown(context.Background()))
				return c.(*spanMetrics)
			}
			// The same ID both times, as a reload builds it.
			settingsOf := func() connector.Settings {
				s := settings(Type)
				s.ID = component.MustNewIDWithName(Type.String(), "spans")
				return s
			}
			run(createDefaultConfig().(*Config), settingsOf())

			// A reload: a new factory and connector over the same keeper.
			next, set := createDefaultConfig().(*Config), settingsOf()
			if tt.change != nil {
				tt.change(next, set)
			}
			c := run(next, set)
			_, durations := points(c.agg.flush(time.Now()))
			assert.Equal(t, tt.wantCount, durations["GET /cart"].Count())
		})
	}
}
