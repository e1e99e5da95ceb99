package k8spodsextension

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension"

	"github.com/braidobs/braid/kube"
)

const (
	typeStr   = "k8s_pods"
	stability = component.StabilityLevelAlpha
)

// Type is the component type of the extension.
var Type = component.MustNewType(typeStr)

// NewFactory returns the factory of the k8s_pods extension.
func NewFactory() extension.Factory {
	return NewFactoryWithClientProvider(kube.NewClientset)
}

// NewFactoryWithClientProvider returns a factory whose extensions get their
// clientset from provider. Tests pass one returning client-go's fake
// clientset:
//
//	client := fake.NewClientset(pods...)
//	f := k8spodsextension.NewFactoryWithClientProvider(
//		func(kube.AuthType) (kubernetes.Interface, error) { return client, nil })
func NewFactoryWithClientProvider(provider kube.ClientProvider) extension.Factory {
	return extension.NewFactory(Type, createDefaultConfig,
		func(_ context.Context, set extension.Settings, cfg component.Config) (extension.Extension, error) {
			return newPodsExtension(cfg.(*Config), set, provider), nil
		}, stability)
}

func createDefaultConfig() component.Config {
	return &Config{
		Mode:                  kube.ModeGateway,
		AuthType:              kube.AuthServiceAccount,
		SyncTimeout:           kube.DefaultSyncTimeout,
		DeletedPodGracePeriod: kube.DefaultDeletedPodGracePeriod,
	}
}
