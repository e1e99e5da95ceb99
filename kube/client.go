package kube

import (
	"fmt"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// ClientProvider returns the clientset a resolver watches through. Braid's
// extension uses [NewClientset]; tests pass one that returns client-go's
// fake clientset.
type ClientProvider func(AuthType) (kubernetes.Interface, error)

// NewClientset connects to the API server with the given authentication.
func NewClientset(auth AuthType) (kubernetes.Interface, error) {
	var (
		cfg *rest.Config
		err error
	)
	switch auth {
	case AuthServiceAccount:
		cfg, err = rest.InClusterConfig()
	case AuthKubeConfig:
		rules := clientcmd.NewDefaultClientConfigLoadingRules()
		cfg, err = clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	default:
		return nil, fmt.Errorf("auth_type must be %q or %q, got %q", AuthServiceAccount, AuthKubeConfig, auth)
	}
	if err != nil {
		return nil, fmt.Errorf("kubernetes client config (auth_type %s): %w", auth, err)
	}
	cfg.UserAgent = "braid"
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes clientset: %w", err)
	}
	return client, nil
}
