package main

import (
	"encoding/json"
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

// parityRun is bench-parity's shape: two pipelines in interleaved rounds,
// the first the baseline.
var parityRun = []loadgen.PipelineReport{
	{Pipeline: "upstream-1", Signal: "traces", MaxSustained: 50_000, CPUPerMillion: 5, Steps: []loadgen.StepResult{step(50_000, 5, true)}},
	{Pipeline: "braid-1", Signal: "traces", MaxSustained: 50_000, CPUPerMillion: 5.5, Steps: []loadgen.StepResult{step(50_000, 5.5, true)}},
	{Pipeline: "upstream-2", Signal: "traces", MaxSustained: 50_000, CPUPerMillion: 6, Steps: []loadgen.StepResult{step(50_000, 6, true)}},
	{Pipeline: "braid-2", Signal: "traces", MaxSustained: 50_000, CPUPerMillion: 5.4, Steps: []loadgen.StepResult{step(50_000, 5.4, true)}},
	{Pipeline: "upstream-3", Signal: "traces", MaxSustained: 50_000, CPUPerMillion: 4, Steps: []loadgen.StepResult{step(50_000, 4, true)}},
	{Pipeline: "braid-3", Signal: "traces", MaxSustained: 50_000, CPUPerMillion: 4.2, Steps: []loadgen.StepResult{step(50_000, 4.2, true)}},
}

func TestPrintComparison(t *testing.T) {
	for _, tc := range []struct {
		name    string
		reports []loadgen.PipelineReport
		want    []string
		notWant []string
	}{
		{
			name: "ladder",
			reports: []loadgen.PipelineReport{
				{Pipeline: "passthrough", Signal: "traces", MaxSustained: 100_000, CPUPerMillion: 5,
					Steps: []loadgen.StepResult{step(50_000, 5, true), step(60_000, 4, true), step(80_000, 4, true), step(100_000, 5, true)}},
				{Pipeline: "full", Signal: "traces", MaxSustained: 80_000, CPUPerMillion: 7.5,
					// 60k at 1.25x, 50k at 1.5x, 80k at 2x; 100k not sustained.
					Steps: []loadgen.StepResult{step(50_000, 7.5, true), step(60_000, 5, true), step(80_000, 8, true), step(100_000, 9, false)}},
				{Pipeline: "loki", Signal: "logs", CPUPerMillion: 3, Steps: []loadgen.StepResult{step(50_000, 3, true)}},
			},
			want: []string{
				"CPU-s per million at 50000/s | vs passthrough |",
				"| full | traces | 80000 | 7.50 | 1.50x |",
				"| loki | logs | 0 | 3.00 | – |", // no baseline for logs
				"| full | traces | 50k, 60k, 80k | 1.50 1.25 2.00 | 1.50x | 1.25–2.00 |",
			},
			notWant: []string{"| passthrough | traces | 50k", "in the same round"},
		},
		{
			name:    "rounds",
			reports: parityRun,
			want: []string{
				"| braid-3 | traces | 50000 | 4.20 | 0.84x |",
				"| pipeline | signal | rounds | CPU per million vs upstream in the same round | median | min–max |",
				"| braid | traces | 1, 2, 3 | 1.10 0.90 1.05 | 1.05x | 0.90–1.10 |",
			},
			notWant: []string{"| upstream | traces | 1, 2, 3"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			printComparison(&b, loadgen.Compare(tc.reports))
			for _, w := range tc.want {
				assert.Contains(t, b.String(), w)
			}
			for _, w := range tc.notWant {
				assert.NotContains(t, b.String(), w)
			}
		})
	}
}

// TestReadReportsTakesEitherJSONForm: report reads what compare writes now
// (a comparison) and what it wrote before (a list of pipeline reports, as
// bench/results holds).
func TestReadReportsTakesEitherJSONForm(t *testing.T) {
	list, err := json.Marshal(parityRun)
	require.NoError(t, err)
	comparison, err := json.Marshal(loadgen.Compare(parityRun))
	require.NoError(t, err)
	for _, tc := range []struct {
		name string
		in   []byte
	}{{"list", list}, {"comparison", comparison}} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readReports(tc.in)
			require.NoError(t, err)
			assert.Equal(t, parityRun, got)
		})
	}
	_, err = readReports([]byte(`{"pipelines": 3}`))
	assert.Error(t, err)
}
