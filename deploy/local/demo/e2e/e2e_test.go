//go:build e2e

package e2e

import (
	"testing"
)

// TestStack runs the checks in an order that matters: the outage tests
// restart Braid, Jaeger and Prometheus, and the dashboard queries run last so that
// Braid's failure counters, which the outage makes exist, are there.
func TestStack(t *testing.T) {
	t.Run("trace in Jaeger with pod identity", traceInJaegerWithPodIdentity)
	t.Run("span metrics count every request", spanMetricsCountEveryRequest)
	t.Run("exemplars point at traces in Jaeger", exemplarsPointAtTracesInJaeger)
	t.Run("logs carry their trace ID", logsCarryTheirTraceID)
	t.Run("a stack trace is one record with its trace ID", stackTracesAreOneRecord)
	t.Run("inferred links point at their own request", inferredLinksPointAtTheirOwnRequest)
	t.Run("Jaeger outage under load loses nothing Braid acknowledged", jaegerOutageUnderLoad)
	// The Braid restarted during the Jaeger outage has seen the requests after it.
	t.Run("Prometheus outage across a Braid restart: the disk queue delivers", func(t *testing.T) {
		prometheusOutageAcrossBraidRestart(t, outageSecond+outageAfter)
	})
	t.Run("two agents and three gateways answer like one", fleetAcrossGateways)
	t.Run("two spoke clusters through Kafka to three hub gateways", kafkaHubAcrossSpokes)
	t.Run("every PromQL query of the dashboards and rules returns data", everyPromQLQueryReturnsData)
	t.Run("every LogQL stream selector of the dashboards selects logs", everyLogQLStreamSelectorSelectsLogs)
}
