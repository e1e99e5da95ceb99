package correlationprocessor

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
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
