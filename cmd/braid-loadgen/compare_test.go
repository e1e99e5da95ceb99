package main

import (
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
	require.Len(t, p, 3)

	assert.Equal(t, "bench/full.yaml", p[0].config)
	assert.True(t, p[0].wants(loadgen.Traces), "no signal list: every signal")
	assert.True(t, p[0].wants(loadgen.Logs))

	assert.Equal(t, "bench/loki.yaml", p[1].config)
	assert.False(t, p[1].wants(loadgen.Traces))
	assert.True(t, p[1].wants(loadgen.Logs))

	assert.Equal(t, []loadgen.Signal{loadgen.Traces, loadgen.Logs}, p[2].signals)

	assert.ErrorContains(t, p.Set("nameonly"), "name=config.yaml")
	assert.ErrorContains(t, p.Set("x=bench/x.yaml:profiles"), "profiles")
}
