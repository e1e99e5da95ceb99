package loadgen

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestOverloadSettingsValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    OverloadSettings
		err  string
	}{
		{name: "the agent's limits", s: OverloadSettings{MemoryLimitMiB: 400, SpikeLimitMiB: 80}},
		{name: "spike as large as the limit", s: OverloadSettings{MemoryLimitMiB: 80, SpikeLimitMiB: 80}, err: "want 0 < spike-limit-mib < memory-limit-mib, got 80 and 80"},
		{name: "no spike", s: OverloadSettings{MemoryLimitMiB: 400}, err: "got 0 and 400"},
		{name: "a quota with a sustained rate given", s: OverloadSettings{MemoryLimitMiB: 400, SpikeLimitMiB: 80, CPUQuota: 0.25, Sustained: 15_000}},
		{name: "a quota with rates to measure it", s: OverloadSettings{MemoryLimitMiB: 400, SpikeLimitMiB: 80, CPUQuota: 0.25, SustainedRates: []float64{2500}}},
		{name: "a quota with neither", s: OverloadSettings{MemoryLimitMiB: 400, SpikeLimitMiB: 80, CPUQuota: 0.25}, err: "needs sustained rates"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.s.Validate()
			if tc.err == "" {
				assert.NoError(t, err)
			} else {
				assert.ErrorContains(t, err, tc.err)
			}
		})
	}
}

func TestOverloadChecks(t *testing.T) {
	// 20 s answered at 60,000 items/s.
	load := Result{Elapsed: 20 * time.Second, Sent: 1_200_000, Accepted: 900_000, Refused: 300_000}
	for _, tc := range []struct {
		name    string
		rep     OverloadReport
		offered float64
		factor  float64
		memory  bool
		refusal bool
		alive   bool
	}{
		{name: "refused, retryable, under the limit, alive",
			rep:     OverloadReport{Load: load, Sustained: 15_000, PeakAnonMiB: 316, MemoryLimitMiB: 400, Alive: true},
			offered: 60_000, factor: 4, memory: true, refusal: true, alive: true},
		{name: "without a sustained rate there is no factor",
			rep:     OverloadReport{Load: load, PeakAnonMiB: 316, MemoryLimitMiB: 400, Alive: true},
			offered: 60_000, memory: true, refusal: true, alive: true},
		{name: "anonymous memory at the limit fails", rep: OverloadReport{Load: load, PeakAnonMiB: 400, MemoryLimitMiB: 400, Alive: true},
			offered: 60_000, refusal: true, alive: true},
		{name: "no memory sample fails rather than passing unseen", rep: OverloadReport{Load: load, MemoryLimitMiB: 400, Alive: true},
			offered: 60_000, refusal: true, alive: true},
		{name: "a non-retryable failure fails",
			rep:     OverloadReport{Load: Result{Elapsed: 20 * time.Second, Sent: 1_200_000, Accepted: 1_199_000, Failed: 1}, PeakAnonMiB: 300, MemoryLimitMiB: 400, Alive: true},
			offered: 60_000, memory: true, alive: true},
		{name: "a collector that died fails", rep: OverloadReport{Load: load, PeakAnonMiB: 300, MemoryLimitMiB: 400},
			offered: 60_000, memory: true, refusal: true},
		{name: "no time elapsed: nothing offered", rep: OverloadReport{PeakAnonMiB: 300, MemoryLimitMiB: 400, Alive: true, Sustained: 15_000},
			memory: true, refusal: true, alive: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.rep
			r.judge()
			assert.InDelta(t, tc.offered, r.OfferedPerSecond, 1e-9)
			assert.InDelta(t, tc.factor, r.Overload, 1e-9)
			assert.Equal(t, tc.memory, r.MemoryUnderLimit, "memory under the limit")
			assert.Equal(t, tc.refusal, r.RetryableRefusals, "only retryable refusals")
			assert.Equal(t, tc.alive, r.NoCrash, "no crash")
			assert.Equal(t, tc.memory && tc.refusal && tc.alive, r.Passed())
		})
	}
}
