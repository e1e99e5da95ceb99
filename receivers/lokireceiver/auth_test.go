package lokireceiver

import (
	"context"
	"net/http"
	"testing"

	"github.com/grafana/loki/pkg/push"
	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/bearertokenauthextension"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configauth"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.opentelemetry.io/collector/receiver/receivertest"
)

type hostWithExtensions map[component.ID]component.Component

func (h hostWithExtensions) GetExtensions() map[component.ID]component.Component { return h }

// TestServerAuth checks that the collector's server auth extensions guard
// the push API (Alloy's and Promtail's bearer_token, Fluent Bit's
// bearer_token, Vector's auth.strategy: bearer).
func TestServerAuth(t *testing.T) {
	f := bearertokenauthextension.NewFactory()
	extCfg := f.CreateDefaultConfig().(*bearertokenauthextension.Config)
	extCfg.BearerToken = configopaque.String("s3cret")
	ext, err := f.Create(context.Background(), extensiontest.NewNopSettings(f.Type()), extCfg)
	require.NoError(t, err)
	require.NoError(t, ext.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, ext.Shutdown(context.Background())) })
	id := component.NewID(f.Type())

	cfg := createDefaultConfig().(*Config)
	cfg.ServerConfig.NetAddr.Endpoint = "127.0.0.1:0"
	cfg.ServerConfig.Auth = configoptional.Some(confighttp.AuthConfig{Config: configauth.Config{AuthenticatorID: id}})
	sink := new(consumertest.LogsSink)
	r, err := NewFactory().CreateLogs(context.Background(), receivertest.NewNopSettings(Type), cfg, sink)
	require.NoError(t, err)
	require.NoError(t, r.Start(context.Background(), hostWithExtensions{id: ext}))
	t.Cleanup(func() { require.NoError(t, r.Shutdown(context.Background())) })
	url := "http://" + r.(*lokiReceiver).addr + PushPath

	body := protobufBody(t, push.Stream{Labels: `{a="b"}`, Entries: []push.Entry{{Timestamp: ts0, Line: "x"}}})
	status, _ := post(t, url, body)
	assert.Equal(t, http.StatusUnauthorized, status)
	status, _ = post(t, url, body, "Authorization", "Bearer wrong")
	assert.Equal(t, http.StatusUnauthorized, status)
	assert.Zero(t, sink.LogRecordCount())
	status, msg := post(t, url, body, "Authorization", "Bearer s3cret")
	assert.Equal(t, http.StatusNoContent, status, msg)
	assert.Equal(t, 1, sink.LogRecordCount())
}
