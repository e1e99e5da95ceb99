package lokiexporter

import (
	"errors"
	"fmt"
	"net/url"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/braidobs/braid/internal/lokilabels"
)

// Config is the configuration of the Loki exporter.
type Config struct {
	// ClientConfig holds the push URL (endpoint, required, e.g.
	// http://loki:3100/loki/api/v1/push), TLS, headers, auth and timeout
	// (default 30s). Leave compression unset: the body is snappy already.
	ClientConfig confighttp.ClientConfig `mapstructure:",squash"`
	// QueueConfig is the sending queue (default: in memory, 1000 requests);
	// set sending_queue.storage to a file_storage extension to keep queued
	// entries across restarts.
	QueueConfig configoptional.Optional[exporterhelper.QueueBatchConfig] `mapstructure:"sending_queue"`
	// RetryConfig is the retry policy for 429, 5xx and network errors
	// (default: enabled, 5s initial, 30s max interval, 300s max elapsed).
	RetryConfig configretry.BackOffConfig `mapstructure:"retry_on_failure"`

	// Labels says which attributes become stream labels.
	Labels LabelsConfig `mapstructure:"labels"`
	// Tenant says which X-Scope-OrgID each request carries.
	Tenant TenantConfig `mapstructure:"tenant"`

	// StructuredMetadata sends trace_id, span_id, severity_text and the
	// attributes that are not labels as Loki structured metadata (default
	// true). When false they are rendered into the line instead: added as
	// fields to a JSON line, appended as logfmt pairs to any other line.
	StructuredMetadata bool `mapstructure:"structured_metadata"`
	// MaxLabelValueLength truncates longer label values, in bytes, on a
	// character boundary (default 2048, Loki's own limit), so one long value
	// does not get the whole request refused.
	MaxLabelValueLength int `mapstructure:"max_label_value_length"`
}

// LabelsConfig lists the attributes that become stream labels. Keep it
// small: every distinct combination of values is a stream in Loki.
type LabelsConfig struct {
	// ResourceAttributes become labels when present, dots turned into
	// underscores (default: service.name, service.namespace,
	// k8s.cluster.name, k8s.namespace.name, k8s.pod.name,
	// k8s.container.name, k8s.deployment.name, k8s.statefulset.name,
	// k8s.daemonset.name, k8s.job.name, k8s.cronjob.name,
	// deployment.environment.name).
	ResourceAttributes []string `mapstructure:"resource_attributes"`
	// Attributes are log record attributes that become labels (default none).
	Attributes []string `mapstructure:"attributes"`
	// HonorHints also turns the resource attributes named in the
	// loki.resource.labels resource attribute into labels; Braid's Loki
	// receiver sets it so pushed streams keep their labels (default true).
	HonorHints bool `mapstructure:"honor_hints"`
}

// TenantConfig chooses the tenant of each request.
type TenantConfig struct {
	// Value is the tenant sent when a resource has no tenant attribute
	// (default "": no X-Scope-OrgID header, Loki's single-tenant mode).
	Value string `mapstructure:"value"`
	// FromAttribute is the resource attribute whose value, when present,
	// is the tenant of that resource's logs (default loki.tenant, which
	// Braid's Loki receiver sets from the pushed X-Scope-OrgID). Set it to
	// "" to always use value.
	FromAttribute string `mapstructure:"from_attribute"`
}

var _ component.Config = (*Config)(nil)

// Validate checks the configuration; errors name the YAML key.
func (cfg *Config) Validate() error {
	var errs []error
	if cfg.ClientConfig.Endpoint == "" {
		errs = append(errs, errors.New("endpoint is required (the push URL, e.g. http://loki:3100/loki/api/v1/push)"))
	} else if u, err := url.Parse(cfg.ClientConfig.Endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("endpoint must be an http or https URL, got %q", cfg.ClientConfig.Endpoint))
	}
	if cfg.MaxLabelValueLength <= 0 {
		errs = append(errs, fmt.Errorf("max_label_value_length must be positive, got %d", cfg.MaxLabelValueLength))
	}
	if len(cfg.Tenant.Value) > lokilabels.MaxTenantLength {
		errs = append(errs, fmt.Errorf("tenant.value must be at most %d characters, got %d", lokilabels.MaxTenantLength, len(cfg.Tenant.Value)))
	} else if err := lokilabels.ValidateTenant(cfg.Tenant.Value); err != nil {
		errs = append(errs, fmt.Errorf("tenant.value %q: %w", cfg.Tenant.Value, err))
	}
	seen := map[string]string{}
	check := func(key string, names []string) {
		for i, name := range names {
			if name == "" {
				errs = append(errs, fmt.Errorf("labels.%s[%d] must not be empty", key, i))
				continue
			}
			label := lokilabels.LabelName(name)
			if prev, ok := seen[label]; ok {
				errs = append(errs, fmt.Errorf("labels.%s[%d]: %q and %q both map to label %q", key, i, prev, name, label))
				continue
			}
			seen[label] = name
		}
	}
	check("resource_attributes", cfg.Labels.ResourceAttributes)
	check("attributes", cfg.Labels.Attributes)
	return errors.Join(errs...)
}
