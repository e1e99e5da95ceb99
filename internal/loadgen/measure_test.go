package loadgen

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestJudgeStep(t *testing.T) {
	// 10 s at 50,000/s: 500,000 items is the target met exactly.
	ok := Result{Elapsed: 10 * time.Second, Sent: 500_000, Accepted: 500_000}
	for _, tc := range []struct {
		name      string
		res       Result
		delivered int64
		sustained bool
		why       string
	}{
		{name: "all accepted and delivered", res: ok, delivered: 500_000, sustained: true},
		{name: "95% of the target is enough", res: Result{Elapsed: 10 * time.Second, Accepted: 475_000}, delivered: 475_000, sustained: true},
		{name: "under 95% of the target", res: Result{Elapsed: 10 * time.Second, Accepted: 474_000}, delivered: 474_000, why: "only 47400/s accepted"},
		{name: "a refusal", res: Result{Elapsed: 10 * time.Second, Accepted: 499_500, Refused: 500}, delivered: 499_500, why: "500 refused"},
		{name: "a failure", res: Result{Elapsed: 10 * time.Second, Accepted: 499_500, Failed: 500, FirstError: "deadline exceeded"},
			delivered: 499_500, why: "500 failed: deadline exceeded"},
		{name: "refusals are named before failures", res: Result{Elapsed: 10 * time.Second, Accepted: 499_000, Refused: 500, Failed: 500},
			delivered: 499_000, why: "500 refused"},
		{name: "accepted but not all delivered", res: ok, delivered: 499_999, why: "500000 accepted but 499999 delivered"},
		{name: "more delivered than accepted (a retry's duplicate) is sustained", res: ok, delivered: 500_500, sustained: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sustained, why := judgeStep(tc.res, tc.delivered, 50_000)
			assert.Equal(t, tc.sustained, sustained)
			assert.Equal(t, tc.why, why)
		})
	}
}

// ladderStep is a step function that sustains every rate up to limit and
// gives CPU per million of rate/10,000, recording the rates it ran.
type ladderStep struct {
	limit    float64
	failAt   float64
	ran      []float64
	profiles []string
}

func (l *ladderStep) step(rate float64, profile string) (StepResult, error) {
	if rate == l.failAt {
		return StepResult{}, errors.New("collector exited")
	}
	l.ran = append(l.ran, rate)
	l.profiles = append(l.profiles, profile)
	return StepResult{Load: Result{Target: rate}, CPUPerMillion: rate / 10_000, Sustained: rate <= l.limit, Load1: 1.5}, nil
}

func TestClimbFindsTheMaxSustainedRate(t *testing.T) {
	for _, tc := range []struct {
		name         string
		cpuRate      float64
		rates        []float64
		limit        float64
		failAt       float64
		ran          []float64
		maxSustained float64
		err          string
	}{
		{name: "the ladder stops at the first rate not sustained",
			cpuRate: 50_000, rates: []float64{60_000, 80_000, 100_000, 150_000}, limit: 90_000,
			ran: []float64{50_000, 60_000, 80_000, 100_000}, maxSustained: 80_000},
		{name: "rates up to a sustained CPU step are skipped",
			cpuRate: 50_000, rates: []float64{10_000, 50_000, 60_000}, limit: 1e9,
			ran: []float64{50_000, 60_000}, maxSustained: 60_000},
		{name: "a CPU step not sustained: the ladder runs from its start",
			cpuRate: 50_000, rates: []float64{10_000, 20_000, 40_000}, limit: 30_000,
			ran: []float64{50_000, 10_000, 20_000, 40_000}, maxSustained: 20_000},
		{name: "every rate sustained: the last is the max",
			cpuRate: 20_000, rates: []float64{40_000, 80_000}, limit: 1e9,
			ran: []float64{20_000, 40_000, 80_000}, maxSustained: 80_000},
		{name: "nothing sustained", cpuRate: 50_000, rates: []float64{10_000}, limit: 0,
			ran: []float64{50_000, 10_000}, maxSustained: 0},
		{name: "a sustained rate after a failed one does not count",
			cpuRate: 50_000, rates: []float64{100_000, 40_000}, limit: 60_000,
			ran: []float64{50_000, 100_000}, maxSustained: 50_000},
		{name: "an error stops the climb", cpuRate: 50_000, rates: []float64{60_000, 80_000}, limit: 1e9, failAt: 80_000,
			ran: []float64{50_000, 60_000}, maxSustained: 60_000, err: "collector exited"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := &ladderStep{limit: tc.limit, failAt: tc.failAt}
			var rep PipelineReport
			err := climb(&rep, tc.cpuRate, tc.rates, "p.pprof", l.step)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
			} else {
				require.NoError(t, err)
			}
			assert.Equal(t, tc.ran, l.ran)
			assert.InDelta(t, tc.maxSustained, rep.MaxSustained, 0)
			require.Len(t, rep.Steps, len(tc.ran))
			assert.InDelta(t, tc.cpuRate/10_000, rep.CPUPerMillion, 1e-9, "CPU per million is the CPU step's")
			assert.InDelta(t, 1.5, rep.Load1, 0)
			assert.Equal(t, "p.pprof", l.profiles[0], "the CPU step is profiled")
			for _, p := range l.profiles[1:] {
				assert.Empty(t, p, "ladder steps are not")
			}
		})
	}
}

func TestPipelineWantsItsSignals(t *testing.T) {
	for _, tc := range []struct {
		name    string
		signals []Signal
		wants   map[Signal]bool
	}{
		{name: "no list: every signal", wants: map[Signal]bool{Traces: true, Logs: true, Metrics: true}},
		{name: "logs only", signals: []Signal{Logs}, wants: map[Signal]bool{Traces: false, Logs: true, Metrics: false}},
		{name: "two", signals: []Signal{Traces, Logs}, wants: map[Signal]bool{Traces: true, Logs: true, Metrics: false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := Pipeline{Name: "p", Configs: []string{"a.yaml", "b.yaml"}, Signals: tc.signals}
			for sig, want := range tc.wants {
				assert.Equal(t, want, p.Wants(sig), sig)
			}
			assert.Equal(t, []string{"--config", "a.yaml", "--config", "b.yaml"}, p.Args())
		})
	}
}
