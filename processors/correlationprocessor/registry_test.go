package correlationprocessor

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"
)

func TestRegistryFindsRunningProcessors(t *testing.T) {
	reg := NewRegistry()
	f := NewFactory(WithRegistry(reg))
	lookup := reg.TraceIndex
	id := component.NewIDWithName(Type, "gateway")
	_, ok := lookup(id)
	assert.False(t, ok, "nothing built yet")

	set := processortest.NewNopSettings(Type)
	set.ID = id
	p, err := f.CreateTraces(context.Background(), set, f.CreateDefaultConfig(), consumertest.NewNop())
	require.NoError(t, err)
	require.NoError(t, p.Start(context.Background(), componenttest.NewNopHost()))
	idx, ok := lookup(id)
	require.True(t, ok)
	assert.NotNil(t, idx)
	_, ok = lookup(component.NewID(Type))
	assert.False(t, ok, "another ID")

	require.NoError(t, p.Shutdown(context.Background()))
	_, ok = lookup(id)
	assert.False(t, ok, "released at shutdown")
}

func TestRegistryKeepsIndexesAcrossARebuild(t *testing.T) {
	id := component.NewIDWithName(Type, "gateway")
	build := func(t *testing.T, f processor.Factory, cfg *Config) processor.Traces {
		t.Helper()
		set := processortest.NewNopSettings(Type)
		set.ID = id
		p, err := f.CreateTraces(context.Background(), set, cfg, consumertest.NewNop())
		require.NoError(t, err)
		require.NoError(t, p.Start(context.Background(), componenttest.NewNopHost()))
		return p
	}
	cfgWith := func(maxTraces int) *Config {
		cfg := createDefaultConfig().(*Config)
		cfg.MaxTraces = maxTraces
		return cfg
	}
	tests := []struct {
		name     string
		opts     []RegistryOption
		next     *Config
		wantSame bool
	}{
		{"kept for the same index settings", []RegistryOption{KeepIndexes()}, cfgWith(1000), true},
		{"new for other index settings", []RegistryOption{KeepIndexes()}, cfgWith(2000), false},
		{"new without KeepIndexes", nil, cfgWith(1000), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := NewRegistry(tt.opts...)
			f := NewFactory(WithRegistry(reg))
			p := build(t, f, cfgWith(1000))
			before, ok := reg.TraceIndex(id)
			require.True(t, ok)
			require.NoError(t, p.Shutdown(context.Background()))

			// A reload: a new factory over the same registry, as the
			// collector calls the factories again.
			p = build(t, NewFactory(WithRegistry(reg)), tt.next)
			defer func() { require.NoError(t, p.Shutdown(context.Background())) }()
			after, ok := reg.TraceIndex(id)
			require.True(t, ok)
			assert.Equal(t, tt.wantSame, before == after)
		})
	}
}
