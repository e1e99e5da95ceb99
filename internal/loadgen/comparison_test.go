package loadgen

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSplitRound(t *testing.T) {
	for _, tc := range []struct {
		name  string
		base  string
		round int
		ok    bool
	}{
		{name: "braid-1", base: "braid", round: 1, ok: true},
		{name: "upstream-12", base: "upstream", round: 12, ok: true},
		{name: "full-usage-1", base: "full-usage", round: 1, ok: true},
		{name: "queue-wal-2", base: "queue-wal", round: 2, ok: true},
		{name: "passthrough"},
		{name: "full-usage"},
		{name: "run2"},
		{name: "x-0"},
		{name: "x-"},
		{name: "-1"},
		{name: "x-1a"},
		{name: "x-+1"},
		{name: "x-99999999999999999999999"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rd, ok := splitRound(tc.name)
			assert.Equal(t, tc.ok, ok)
			assert.Equal(t, tc.base, rd.base)
			assert.Equal(t, tc.round, rd.n)
		})
	}
}

func TestRoundsOf(t *testing.T) {
	for _, tc := range []struct {
		name  string
		names []string
		want  map[string]round
	}{
		{name: "bench-parity", names: []string{"upstream-1", "braid-1", "upstream-2", "braid-2"},
			want: map[string]round{"upstream-1": {"upstream", 1}, "braid-1": {"braid", 1}, "upstream-2": {"upstream", 2}, "braid-2": {"braid", 2}}},
		{name: "a bare name is round 1 when its -2 follows",
			names: []string{"passthrough", "gateway", "passthrough-2", "gateway-2"},
			want:  map[string]round{"passthrough": {"passthrough", 1}, "gateway": {"gateway", 1}, "passthrough-2": {"passthrough", 2}, "gateway-2": {"gateway", 2}}},
		{name: "a bare name without a later round is none",
			names: []string{"passthrough", "queue", "queue-wal", "queue-2", "queue-wal-2"},
			want:  map[string]round{"queue": {"queue", 1}, "queue-wal": {"queue-wal", 1}, "queue-2": {"queue", 2}, "queue-wal-2": {"queue-wal", 2}}},
		{name: "a bare name beside its own -1 is none",
			names: []string{"full", "full-1", "full-2"},
			want:  map[string]round{"full-1": {"full", 1}, "full-2": {"full", 2}}},
		{name: "a bare name beside only its -1 is none", names: []string{"full", "full-1"},
			want: map[string]round{"full-1": {"full", 1}}},
		{name: "no rounds", names: []string{"passthrough", "full"}, want: map[string]round{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var reports []PipelineReport
			for _, n := range tc.names {
				reports = append(reports, PipelineReport{Pipeline: n})
			}
			assert.Equal(t, tc.want, roundsOf(reports))
		})
	}
}

func TestSpreadOf(t *testing.T) {
	for _, tc := range []struct {
		name string
		xs   []float64
		want Spread
	}{
		{name: "none", want: Spread{}},
		{name: "one", xs: []float64{1.2}, want: Spread{Median: 1.2, Min: 1.2, Max: 1.2}},
		{name: "odd count, unsorted", xs: []float64{2, 1, 1.5, 1.25, 1.75}, want: Spread{Median: 1.5, Min: 1, Max: 2}},
		{name: "even count: the mean of the middle two", xs: []float64{2, 1.25, 1.5, 1.75}, want: Spread{Median: 1.625, Min: 1.25, Max: 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			xs := append([]float64(nil), tc.xs...)
			assertRatios(t, nil, tc.want, nil, SpreadOf(tc.xs))
			assert.Equal(t, xs, tc.xs, "the input is left in its order")
		})
	}
}

// assertRatios compares ratios and spreads to within rounding.
func assertRatios(t *testing.T, want []float64, wantSpread Spread, got []float64, gotSpread Spread) {
	t.Helper()
	assert.InDeltaSlice(t, want, got, 1e-9)
	assert.InDelta(t, wantSpread.Median, gotSpread.Median, 1e-9, "median")
	assert.InDelta(t, wantSpread.Min, gotSpread.Min, 1e-9, "min")
	assert.InDelta(t, wantSpread.Max, gotSpread.Max, 1e-9, "max")
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

// report is a pipeline whose CPU step at 50,000/s was sustained at
// cpuPerMillion.
func report(name, signal string, cpuPerMillion float64) PipelineReport {
	return PipelineReport{Pipeline: name, Signal: signal, CPUPerMillion: cpuPerMillion, MaxSustained: 50_000,
		Steps: []StepResult{step(50_000, cpuPerMillion, true)}}
}

func TestCompareRounds(t *testing.T) {
	for _, tc := range []struct {
		name    string
		reports []PipelineReport
		want    []RoundRatios
	}{
		{
			name: "bench-parity: each braid round against the upstream run next to it, per signal",
			reports: []PipelineReport{
				report("upstream-1", "traces", 5), report("upstream-1", "logs", 4),
				report("braid-1", "traces", 5.5), report("braid-1", "logs", 4),
				report("upstream-2", "traces", 6), report("upstream-2", "logs", 4),
				report("braid-2", "traces", 5.4), report("braid-2", "logs", 4.4),
				report("upstream-3", "traces", 4), report("upstream-3", "logs", 5),
				report("braid-3", "traces", 4.2), report("braid-3", "logs", 4),
			},
			want: []RoundRatios{
				{Pipeline: "braid", Baseline: "upstream", Signal: "traces", Rounds: []int{1, 2, 3}, Ratios: []float64{1.1, 0.9, 1.05},
					Spread: Spread{Median: 1.05, Min: 0.9, Max: 1.1}},
				{Pipeline: "braid", Baseline: "upstream", Signal: "logs", Rounds: []int{1, 2, 3}, Ratios: []float64{1, 1.1, 0.8},
					Spread: Spread{Median: 1, Min: 0.8, Max: 1.1}},
			},
		},
		{
			name: "names with hyphens, a first pipeline outside the rounds, a third pipeline per round",
			reports: []PipelineReport{
				report("passthrough", "traces", 1),
				report("full-1", "traces", 4), report("full-usage-1", "traces", 4.4), report("full-nocorrelation-1", "traces", 3),
				report("full-2", "traces", 5), report("full-usage-2", "traces", 5.5), report("full-nocorrelation-2", "traces", 4),
			},
			want: []RoundRatios{
				{Pipeline: "full-usage", Baseline: "full", Signal: "traces", Rounds: []int{1, 2}, Ratios: []float64{1.1, 1.1},
					Spread: Spread{Median: 1.1, Min: 1.1, Max: 1.1}},
				{Pipeline: "full-nocorrelation", Baseline: "full", Signal: "traces", Rounds: []int{1, 2}, Ratios: []float64{0.75, 0.8},
					Spread: Spread{Median: 0.775, Min: 0.75, Max: 0.8}},
			},
		},
		{
			name: "a round without the baseline's run, a signal the baseline lacks, or no CPU measured, gives no ratio",
			reports: []PipelineReport{
				report("otlp-1", "traces", 10), report("kafka-1", "traces", 20), report("kafka-1", "logs", 30),
				report("kafka-2", "traces", 25),
				report("otlp-3", "traces", 10), report("kafka-3", "traces", 0),
				report("otlp-4", "traces", 10), report("kafka-4", "traces", 21),
			},
			want: []RoundRatios{
				{Pipeline: "kafka", Baseline: "otlp", Signal: "traces", Rounds: []int{1, 4}, Ratios: []float64{2, 2.1},
					Spread: Spread{Median: 2.05, Min: 2, Max: 2.1}},
			},
		},
		{
			name: "the crash-safe gateway's run: passthrough, gateway, passthrough-2, gateway-2",
			reports: []PipelineReport{
				report("passthrough", "traces", 5), report("gateway", "traces", 8),
				report("passthrough-2", "traces", 4), report("gateway-2", "traces", 10),
			},
			want: []RoundRatios{
				{Pipeline: "gateway", Baseline: "passthrough", Signal: "traces", Rounds: []int{1, 2}, Ratios: []float64{1.6, 2.5},
					Spread: Spread{Median: 2.05, Min: 1.6, Max: 2.5}},
			},
		},
		{
			name:    "no round names: no rounds",
			reports: []PipelineReport{report("passthrough", "traces", 5), report("full", "traces", 6)},
		},
		{
			name:    "only the baseline's rounds: nothing to pair",
			reports: []PipelineReport{report("braid-1", "traces", 5), report("braid-2", "traces", 6)},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Compare(tc.reports).Rounds
			require.Len(t, got, len(tc.want))
			for i, w := range tc.want {
				g := got[i]
				assert.Equal(t, w.Pipeline, g.Pipeline)
				assert.Equal(t, w.Baseline, g.Baseline)
				assert.Equal(t, w.Signal, g.Signal)
				assert.Equal(t, w.Rounds, g.Rounds)
				assertRatios(t, w.Ratios, w.Spread, g.Ratios, g.Spread)
			}
		})
	}
}

func TestCompareAssemblesTheReport(t *testing.T) {
	for _, tc := range []struct {
		name     string
		reports  []PipelineReport
		baseline string
		cpuRate  float64
		ratios   []RateRatios
	}{
		{name: "nothing measured"},
		{
			name: "the first pipeline is the baseline, per signal; it has no ratio row of its own",
			reports: []PipelineReport{
				{Pipeline: "passthrough", Signal: "traces", Steps: []StepResult{step(50_000, 5, true), step(60_000, 4, true)}},
				{Pipeline: "passthrough", Signal: "logs", Steps: []StepResult{step(50_000, 2, true)}},
				{Pipeline: "full", Signal: "traces", Steps: []StepResult{step(50_000, 6, true), step(60_000, 6, true)}},
				{Pipeline: "full", Signal: "logs", Steps: []StepResult{step(50_000, 3, true)}},
				{Pipeline: "loki", Signal: "logs", Steps: []StepResult{step(20_000, 1, true)}}, // no rate in common
			},
			baseline: "passthrough", cpuRate: 50_000,
			ratios: []RateRatios{
				{Pipeline: "full", Signal: "traces", Rates: []float64{50_000, 60_000}, Ratios: []float64{1.2, 1.5}, Spread: Spread{Median: 1.35, Min: 1.2, Max: 1.5}},
				{Pipeline: "full", Signal: "logs", Rates: []float64{50_000}, Ratios: []float64{1.5}, Spread: Spread{Median: 1.5, Min: 1.5, Max: 1.5}},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Compare(tc.reports)
			assert.Equal(t, tc.baseline, c.Baseline)
			assert.InDelta(t, tc.cpuRate, c.CPURate, 0)
			assert.Equal(t, tc.reports, c.Pipelines)
			require.Len(t, c.RateRatios, len(tc.ratios))
			for i, w := range tc.ratios {
				g := c.RateRatios[i]
				assert.Equal(t, w.Pipeline, g.Pipeline)
				assert.Equal(t, w.Signal, g.Signal)
				assert.Equal(t, w.Rates, g.Rates)
				assertRatios(t, w.Ratios, w.Spread, g.Ratios, g.Spread)
			}
		})
	}
}
