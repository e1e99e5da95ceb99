package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestRoundsPairEachCandidateWithItsOwnRound(t *testing.T) {
	reports := []pipelineReport{
		{Pipeline: "full-1", Signal: "traces", CPUPerMillion: 8},
		{Pipeline: "usage-1", Signal: "traces", CPUPerMillion: 8.4},
		{Pipeline: "full-2", Signal: "traces", CPUPerMillion: 6},
		{Pipeline: "full-2", Signal: "logs", CPUPerMillion: 4},
		{Pipeline: "usage-2", Signal: "traces", CPUPerMillion: 6.06},
		{Pipeline: "usage-2", Signal: "logs", CPUPerMillion: 4.4},
		{Pipeline: "usage-3", Signal: "traces", CPUPerMillion: 7}, // no full-3
	}
	got := pairRounds(reports, "full", "usage")
	assert.Len(t, got, 3)
	for _, want := range []roundRatio{{"1", "traces", 8, 8.4, 1.05}, {"2", "traces", 6, 6.06, 1.01}, {"2", "logs", 4, 4.4, 1.1}} {
		i := slicesIndex(got, want.Round, want.Signal)
		if assert.GreaterOrEqual(t, i, 0, "round %s %s", want.Round, want.Signal) {
			assert.InDelta(t, want.Ratio, got[i].Ratio, 1e-9)
		}
	}

	var out strings.Builder
	printRounds(&out, "full", "usage", got)
	assert.Contains(t, out.String(), "traces: usage over full, median +3.0% (1.030x), range 1.010–1.050 over 2 rounds")
	assert.Contains(t, out.String(), "logs: usage over full, median +10.0% (1.100x), range 1.100–1.100 over 1 rounds")
}

func slicesIndex(rs []roundRatio, round, signal string) int {
	for i, r := range rs {
		if r.Round == round && r.Signal == signal {
			return i
		}
	}
	return -1
}
