package loadgen

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/braidobs/braid/processors/usageprocessor"
)

// outcomes is a fair run: the flood throttled with RESOURCE_EXHAUSTED, two
// quiet namespaces wholly accepted, the usage metrics matching.
func outcomes() []NamespaceOutcome {
	flood := NamespaceOutcome{Namespace: "flood-0", Flood: true,
		Load:       Result{Sent: 10000, Accepted: 4000, Refused: 6000, Codes: map[string]int64{"OK": 8, "ResourceExhausted": 12}},
		UsageItems: 4000, UsageBytes: 800000}
	quiet := func(name string) NamespaceOutcome {
		return NamespaceOutcome{Namespace: name, Accepted: 1,
			Load:       Result{Sent: 1000, Accepted: 1000, Codes: map[string]int64{"OK": 2}},
			UsageItems: 1000, UsageBytes: 200000}
	}
	return []NamespaceOutcome{flood, quiet("ns-1"), quiet("ns-2")}
}

func failedChecks(ns []NamespaceOutcome) []string {
	var failed []string
	for _, c := range FairnessChecks(ns, 0.99) {
		if !c.OK {
			failed = append(failed, c.Check)
		}
	}
	return failed
}

func TestFairnessChecksFailWhatWentWrong(t *testing.T) {
	require.Empty(t, failedChecks(outcomes()), "a fair run passes every check")

	for name, tc := range map[string]struct {
		change func(ns []NamespaceOutcome)
		want   string
	}{
		"a quiet namespace under 99%": {func(ns []NamespaceOutcome) {
			ns[2].Load.Accepted, ns[2].Load.Refused, ns[2].Accepted, ns[2].UsageItems = 980, 20, 0.98, 980
		}, "every quiet namespace ≥ 99% accepted"},
		"the flood never refused": {func(ns []NamespaceOutcome) {
			ns[0].Load.Refused, ns[0].Load.Codes = 0, map[string]int64{"OK": 20}
		}, "the flood throttled with retryable codes only"},
		"the flood refused with a permanent code": {func(ns []NamespaceOutcome) {
			ns[0].Load.Codes["InvalidArgument"] = 1
		}, "the flood throttled with retryable codes only"},
		"usage off by one item": {func(ns []NamespaceOutcome) {
			ns[1].UsageItems++
		}, UsageReceivedItems + " = accepted, per namespace"},
		"bytes out of proportion to the items": {func(ns []NamespaceOutcome) {
			ns[0].UsageBytes = 400000
		}, "the flood the top consumer in " + UsageReceivedBytes},
	} {
		t.Run(name, func(t *testing.T) {
			ns := outcomes()
			tc.change(ns)
			assert.Equal(t, []string{tc.want}, failedChecks(ns))
		})
	}
}

// The fairness run reads the usage processor's metrics by name; the names
// are copied here so that the load generator does not pull the collector's
// processor framework in, and held to the processor's own.
func TestFairnessReadsTheUsageProcessorsMetricNames(t *testing.T) {
	assert.Equal(t, usageprocessor.MetricReceivedItems, UsageReceivedItems)
	assert.Equal(t, usageprocessor.MetricReceivedBytes, UsageReceivedBytes)
	assert.Equal(t, usageprocessor.LabelNamespace, namespaceLabel)
}
