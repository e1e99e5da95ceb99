package kube

import (
	"errors"
	"fmt"
	"time"
)

// Mode says which pods the resolver watches.
type Mode string

const (
	// ModeAgent watches the pods of one node (a DaemonSet agent).
	ModeAgent Mode = "agent"
	// ModeGateway watches every pod of the cluster.
	ModeGateway Mode = "gateway"
)

// AuthType says how the resolver authenticates to the API server.
type AuthType string

const (
	// AuthServiceAccount uses the pod's service account token (in-cluster).
	AuthServiceAccount AuthType = "serviceAccount"
	// AuthKubeConfig uses a kubeconfig file: $KUBECONFIG, or ~/.kube/config.
	AuthKubeConfig AuthType = "kubeConfig"
)

// Defaults for [Config].
const (
	DefaultSyncTimeout           = 30 * time.Second
	DefaultDeletedPodGracePeriod = 2 * time.Minute
)

// Config configures a [Resolver]. The zero value is not valid: use
// [DefaultConfig] and change what differs.
type Config struct {
	// Mode is agent (one node) or gateway (the whole cluster).
	Mode Mode
	// NodeName is the node whose pods an agent watches. Required in agent
	// mode when the resolver starts; ignored in gateway mode.
	NodeName string
	// ClusterName is reported as k8s.cluster.name on every resolved pod.
	// Empty: not reported.
	ClusterName string
	// SyncTimeout bounds the wait for the first full list at start.
	SyncTimeout time.Duration
	// DeletedPodGracePeriod is how long a deleted pod keeps resolving.
	DeletedPodGracePeriod time.Duration
}

// DefaultConfig returns a gateway-mode configuration with default timeouts.
func DefaultConfig() Config {
	return Config{
		Mode:                  ModeGateway,
		SyncTimeout:           DefaultSyncTimeout,
		DeletedPodGracePeriod: DefaultDeletedPodGracePeriod,
	}
}

// Validate checks c as it stands; an agent's empty NodeName is checked at
// start, because configurations are often validated away from the node.
func (c Config) Validate() error {
	var errs []error
	switch c.Mode {
	case ModeAgent, ModeGateway:
	default:
		errs = append(errs, fmt.Errorf("mode must be %q or %q, got %q", ModeAgent, ModeGateway, c.Mode))
	}
	if c.SyncTimeout <= 0 {
		errs = append(errs, fmt.Errorf("sync_timeout must be positive, got %s", c.SyncTimeout))
	}
	if c.DeletedPodGracePeriod < 0 {
		errs = append(errs, fmt.Errorf("deleted_pod_grace_period must not be negative, got %s", c.DeletedPodGracePeriod))
	}
	return errors.Join(errs...)
}
