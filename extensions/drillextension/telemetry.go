package drillextension

import (
	"context"
	"fmt"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

const scopeName = "github.com/braidobs/braid/extensions/drillextension"

// peerOutcomes are the outcomes drill.PeersConfig.Observe reports, each with
// its attribute set made once.
var peerOutcomes = []string{"answered", "not_found", "failed", "skipped", "self", "no_peers"}

// peerCounter counts peer calls by outcome (braid_drill_peer_requests): a
// rising "failed" is a replica the answers go without.
func peerCounter(set component.TelemetrySettings) (func(outcome string), error) {
	c, err := set.MeterProvider.Meter(scopeName).Int64Counter("braid_drill_peer_requests",
		metric.WithDescription("Calls to other gateway replicas' drill-down APIs, by outcome: answered, not_found, failed (the answer was partial), skipped (failed earlier in the same request), self, no_peers (the peer list could not be had)."),
		metric.WithUnit("{request}"))
	if err != nil {
		return nil, fmt.Errorf("create self-metrics: %w", err)
	}
	attrs := make(map[string]metric.AddOption, len(peerOutcomes))
	for _, o := range peerOutcomes {
		attrs[o] = metric.WithAttributeSet(attribute.NewSet(attribute.String("outcome", o)))
	}
	return func(outcome string) {
		if a, ok := attrs[outcome]; ok {
			c.Add(context.Background(), 1, a)
		}
	}, nil
}
