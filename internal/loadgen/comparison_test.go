package loadgen

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		name string
		xs   []float64
		want float64
	}{
		{name: "one", xs: []float64{1.2}, want: 1.2},
		{name: "odd count, unsorted", xs: []float64{2, 1, 1.5, 1.25, 1.75}, want: 1.5},
		{name: "even count: the mean of the middle two", xs: []float64{2, 1.25, 1.5, 1.75}, want: 1.625},
	} {
		t.Run(tc.name, func(t *testing.T) {
			xs := append([]float64(nil), tc.xs...)
			assert.InDelta(t, tc.want, Median(tc.xs), 1e-9)
			assert.Equal(t, xs, tc.xs, "the input is left in its order")
		})
	}
}

func step(rate, cpuPerMillion float64, sustained bool) StepResult {
	return StepResult{Load: Result{Target: rate}, CPUPerMillion: cpuPerMillion, Sustained: sustained}
}

func TestRatiosByRate(t *testing.T) {
	base := PipelineReport{Steps: []StepResult{step(50_000, 5, true), step(60_000, 4, true), step(80_000, 4, true), step(100_000, 0, true), step(150_000, 6, false)}}
	for _, tc := range []struct {
		name   string
		steps  []StepResult
		rates  []float64
		ratios []float64
	}{
		{name: "every rate both sustained, in the pipeline's order",
			steps: []StepResult{step(60_000, 5, true), step(50_000, 7.5, true), step(80_000, 8, true)},
			rates: []float64{60_000, 50_000, 80_000}, ratios: []float64{1.25, 1.5, 2}},
		{name: "a step the pipeline did not sustain is left out",
			steps: []StepResult{step(50_000, 7.5, true), step(60_000, 5, false)},
			rates: []float64{50_000}, ratios: []float64{1.5}},
		{name: "a rate the baseline did not sustain, or measured no CPU at, is left out",
			steps: []StepResult{step(50_000, 5, true), step(100_000, 5, true), step(150_000, 6, true)},
			rates: []float64{50_000}, ratios: []float64{1}},
		{name: "a rate run twice counts once (the CPU step and the ladder)",
			steps: []StepResult{step(50_000, 10, true), step(50_000, 5, true)},
			rates: []float64{50_000}, ratios: []float64{2}},
		{name: "no rate in common", steps: []StepResult{step(20_000, 1, true)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rates, ratios := RatiosByRate(PipelineReport{Steps: tc.steps}, base)
			assert.Equal(t, tc.rates, rates)
			assert.InDeltaSlice(t, tc.ratios, ratios, 1e-9)
		})
	}
}
