package lokireceiver

import (
	"errors"
	"fmt"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
)

// Config is the configuration of the Loki push receiver.
type Config struct {
	// ServerConfig is the HTTP server: endpoint (default localhost:3500),
	// tls, auth, include_metadata, cors, and max_request_body_size (default
	// 20 MiB), which bounds both the received body and the body after gzip
	// or snappy decompression; larger bodies get 413.
	ServerConfig confighttp.ServerConfig `mapstructure:",squash"`

	// LabelAttributes maps stream labels to attribute names on top of the
	// reversed Braid mapping (service_name → service.name, k8s_pod_name →
	// k8s.pod.name, …), for shippers that use other label names, e.g.
	// {namespace: k8s.namespace.name, pod: k8s.pod.name} (default none:
	// other labels are kept under their own name).
	LabelAttributes map[string]string `mapstructure:"label_attributes"`

	// Tenants, when set, takes each push's tenant from who sent it: the
	// tenant whose token (Authorization: Bearer) or client certificate name
	// the request presents. A request with no known identity gets 401 (403
	// for a verified certificate of no tenant), and one whose X-Scope-OrgID
	// names another tenant gets 403; an absent header means the sender's
	// own tenant. Empty (the default): the tenant is X-Scope-OrgID as sent.
	Tenants []TenantIdentity `mapstructure:"tenants"`
}

var _ component.Config = (*Config)(nil)

// Validate checks the configuration; errors name the YAML key.
func (cfg *Config) Validate() error {
	var errs []error
	if cfg.ServerConfig.NetAddr.Endpoint == "" {
		errs = append(errs, errors.New("endpoint is required (host:port to listen on, e.g. localhost:3500)"))
	}
	if cfg.ServerConfig.MaxRequestBodySize < 0 {
		errs = append(errs, fmt.Errorf("max_request_body_size must not be negative, got %d", cfg.ServerConfig.MaxRequestBodySize))
	}
	for label, attr := range cfg.LabelAttributes {
		if attr == "" {
			errs = append(errs, fmt.Errorf("label_attributes.%s must name an attribute, got an empty string", label))
		}
	}
	if err := validateTenants(cfg.Tenants); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
