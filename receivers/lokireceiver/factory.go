package lokireceiver

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/receiver"
)

const (
	typeStr   = "loki"
	stability = component.StabilityLevelAlpha

	defaultEndpoint = "localhost:3500"
	// defaultMaxRequestBodySize matches confighttp's own default.
	defaultMaxRequestBodySize = 20 << 20
)

// Type is the component type of the Loki push receiver.
var Type = component.MustNewType(typeStr)

// NewFactory returns the factory of the Loki push receiver.
func NewFactory() receiver.Factory {
	return receiver.NewFactory(Type, createDefaultConfig, receiver.WithLogs(createLogs, stability))
}

func createDefaultConfig() component.Config {
	server := confighttp.NewDefaultServerConfig()
	server.NetAddr.Endpoint = defaultEndpoint
	server.MaxRequestBodySize = defaultMaxRequestBodySize
	return &Config{ServerConfig: server}
}

func createLogs(_ context.Context, set receiver.Settings, cfg component.Config, next consumer.Logs) (receiver.Logs, error) {
	return newLokiReceiver(cfg.(*Config), set, next)
}
