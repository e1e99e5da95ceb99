package k8spodsextension

import (
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/component"

	"github.com/braidobs/braid/kube"
)

// Config is the k8s_pods extension's configuration.
type Config struct {
	// Mode is agent (watch the pods of node_name only, for a DaemonSet) or
	// gateway (watch every pod of the cluster). Default gateway.
	Mode kube.Mode `mapstructure:"mode"`
	// NodeName is the node an agent watches, from the downward API
	// (spec.nodeName). Required in agent mode; checked when the extension
	// starts, so that configurations validate away from the node. Default
	// empty; Braid's shipped configs set ${env:K8S_NODE_NAME}.
	NodeName string `mapstructure:"node_name"`
	// ClusterName is set as k8s.cluster.name on resolved pods. Default empty
	// (not set).
	ClusterName string `mapstructure:"cluster_name"`
	// AuthType is how Braid authenticates to the API server: serviceAccount
	// (in-cluster token) or kubeConfig ($KUBECONFIG or ~/.kube/config).
	// Default serviceAccount.
	AuthType kube.AuthType `mapstructure:"auth_type"`
	// SyncTimeout bounds the wait for the first full list of pods and
	// replicasets at start; the extension fails to start after it.
	// Default 30s.
	SyncTimeout time.Duration `mapstructure:"sync_timeout"`
	// DeletedPodGracePeriod is how long a deleted pod keeps resolving, so
	// that late telemetry is still attributed. 0 forgets deleted pods at
	// once. Default 2m.
	DeletedPodGracePeriod time.Duration `mapstructure:"deleted_pod_grace_period"`

	// prevent unkeyed literal initialization
	_ struct{}
}

var _ component.Config = (*Config)(nil)

// Validate checks the configuration; errors name the key and the bad value.
func (c *Config) Validate() error {
	var errs []error
	if err := c.resolverConfig().Validate(); err != nil {
		errs = append(errs, err)
	}
	switch c.AuthType {
	case kube.AuthServiceAccount, kube.AuthKubeConfig:
	default:
		errs = append(errs, fmt.Errorf("auth_type must be %q or %q, got %q", kube.AuthServiceAccount, kube.AuthKubeConfig, c.AuthType))
	}
	return errors.Join(errs...)
}

func (c *Config) resolverConfig() kube.Config {
	return kube.Config{
		Mode:                  c.Mode,
		NodeName:              c.NodeName,
		ClusterName:           c.ClusterName,
		SyncTimeout:           c.SyncTimeout,
		DeletedPodGracePeriod: c.DeletedPodGracePeriod,
	}
}
