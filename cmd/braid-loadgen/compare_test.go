package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/braidobs/braid/internal/loadgen"
)

func TestPipelineFlag(t *testing.T) {
	var p pipelineFlag
	require.NoError(t, p.Set("full=bench/full.yaml"))
	require.NoError(t, p.Set("loki=bench/loki.yaml:logs"))
	require.NoError(t, p.Set("both=bench/x.yaml:traces, logs"))
	require.NoError(t, p.Set("kafka=bench/gateway.yaml+deploy/configs/kafka-gateway.yaml:traces"))
	require.Len(t, p, 4)

	assert.Equal(t, "bench/full.yaml", p[0].Configs[0])
	assert.True(t, p[0].Wants(loadgen.Traces), "no signal list: every signal")
	assert.True(t, p[0].Wants(loadgen.Logs))

	assert.Equal(t, "bench/loki.yaml", p[1].Configs[0])
	assert.False(t, p[1].Wants(loadgen.Traces))
	assert.True(t, p[1].Wants(loadgen.Logs))

	assert.Equal(t, []loadgen.Signal{loadgen.Traces, loadgen.Logs}, p[2].Signals)

	assert.Equal(t, []string{"--config", "bench/gateway.yaml", "--config", "deploy/configs/kafka-gateway.yaml"}, p[3].Args())
	assert.Equal(t, []loadgen.Signal{loadgen.Traces}, p[3].Signals)

	f := namedPaths{}
	require.NoError(t, f.Set("kafka=bench/relay.yaml"))
	assert.Equal(t, "bench/relay.yaml", f["kafka"])
	assert.ErrorContains(t, f.Set("kafka"), "name=path")

	assert.ErrorContains(t, p.Set("nameonly"), "name=config.yaml")
	assert.ErrorContains(t, p.Set("x=bench/x.yaml:profiles"), "profiles")
}

func step(rate, cpuPerMillion float64, sustained bool) loadgen.StepResult {
	return loadgen.StepResult{Load: loadgen.Result{Target: rate}, CPUPerMillion: cpuPerMillion, Sustained: sustained}
}

func TestPrintTableGivesTheRatioAtEveryRateBothSustainedAndItsMedian(t *testing.T) {
	reports := []loadgen.PipelineReport{
		{Pipeline: "passthrough", Signal: "traces", MaxSustained: 100_000, CPUPerMillion: 5,
			Steps: []loadgen.StepResult{step(50_000, 5, true), step(60_000, 4, true), step(80_000, 4, true), step(100_000, 5, true)}},
		{Pipeline: "full", Signal: "traces", MaxSustained: 80_000, CPUPerMillion: 7.5,
			// 60k at 1.25x, 50k at 1.5x, 80k at 2x; 100k not sustained.
			Steps: []loadgen.StepResult{step(50_000, 7.5, true), step(60_000, 5, true), step(80_000, 8, true), step(100_000, 9, false)}},
		{Pipeline: "loki", Signal: "logs", CPUPerMillion: 3, Steps: []loadgen.StepResult{step(50_000, 3, true)}},
	}
	var b strings.Builder
	printTable(&b, reports)
	out := b.String()
	assert.Contains(t, out, "| full | traces | 80000 | 7.50 | 1.50x |")
	assert.Contains(t, out, "| loki | logs | 0 | 3.00 | – |", "no baseline for logs")
	assert.Contains(t, out, "| full | traces | 50k, 60k, 80k | 1.50 1.25 2.00 | 1.50x |")
	assert.NotContains(t, out, "| passthrough | traces | 50k", "the baseline has no ratio row")
}
