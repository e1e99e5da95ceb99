package correlationprocessor

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/braidobs/braid/correlate"
)

func TestFactory(t *testing.T) {
	f := NewFactory()
	assert.Equal(t, "correlation", f.Type().String())
	cfg := f.CreateDefaultConfig()
	require.NoError(t, componenttest.CheckConfigStruct(cfg))
	require.NoError(t, cfg.(*Config).Validate())
	assert.False(t, cfg.(*Config).InferLogLinks.Enabled, "inference is off by default")
	assert.False(t, cfg.(*Config).Exemplars.Enabled, "exemplars are off by default")
}

func TestShutdownWithoutStart(t *testing.T) {
	f := NewFactory()
	cfg := f.CreateDefaultConfig()
	set := processortest.NewNopSettings(Type)
	ctx := context.Background()
	tp, err := f.CreateTraces(ctx, set, cfg, consumertest.NewNop())
	require.NoError(t, err)
	lp, err := f.CreateLogs(ctx, set, cfg, consumertest.NewNop())
	require.NoError(t, err)
	require.NoError(t, lp.Shutdown(ctx))
	require.NoError(t, tp.Shutdown(ctx))
	require.NoError(t, tp.Shutdown(ctx))
}

func TestVerifyShutdown(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.InferLogLinks.Enabled = true
	processortest.VerifyShutdown(t, NewFactory(), cfg)
}

func TestResolverProviderError(t *testing.T) {
	f := NewFactory(WithPodResolver(func(processor.Settings, *Config) (correlate.PodResolver, error) {
		return nil, errors.New("no cluster access")
	}))
	_, err := f.CreateTraces(context.Background(), processortest.NewNopSettings(Type), f.CreateDefaultConfig(), consumertest.NewNop())
	require.ErrorContains(t, err, "no cluster access")
}

func TestSeparateIDsSeparateEngines(t *testing.T) {
	fs := newFactory()
	f := fs.processorFactory()
	ctx := context.Background()
	setA := processortest.NewNopSettings(Type)
	setA.ID = component.NewIDWithName(Type, "a")
	setB := processortest.NewNopSettings(Type)
	setB.ID = component.NewIDWithName(Type, "b")
	a, err := f.CreateTraces(ctx, setA, f.CreateDefaultConfig(), consumertest.NewNop())
	require.NoError(t, err)
	b, err := f.CreateLogs(ctx, setB, f.CreateDefaultConfig(), consumertest.NewNop())
	require.NoError(t, err)
	assert.NotSame(t, fs.registry.get(setA.ID), fs.registry.get(setB.ID))
	require.NoError(t, a.Shutdown(ctx))
	require.NoError(t, b.Shutdown(ctx))
}
