package drillextension

import (
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configtls"

	"github.com/braidobs/braid/correlate/links"
	"github.com/braidobs/braid/drill"
)

// Config is the drill extension's configuration.
type Config struct {
	// ServerConfig is the HTTP server: endpoint (default localhost:8890),
	// tls, auth (e.g. authenticator: bearertokenauth), and the rest of the
	// collector's HTTP server settings.
	confighttp.ServerConfig `mapstructure:",squash"`

	// Correlation is the ID of the correlation processor whose trace index
	// the API reads (default "correlation").
	Correlation string `mapstructure:"correlation"`

	// PodResolver optionally names an extension that resolves pods (such as
	// k8s_pods), to show pod names and match alerts by pod name.
	PodResolver string `mapstructure:"pod_resolver"`

	// GrafanaURL is the Grafana the links open in (default http://127.0.0.1:3000).
	GrafanaURL string `mapstructure:"grafana_url"`

	// Datasources are the Grafana datasource UIDs the links use; they must
	// match the provisioned ones (defaults: braid-prometheus, braid-loki,
	// braid-jaeger, as `braid dashboards generate` provisions them).
	Datasources DatasourcesConfig `mapstructure:"datasources"`

	// Jaeger is the fallback for traces that have left the index. Off when
	// query_url is empty (the default).
	Jaeger JaegerConfig `mapstructure:"jaeger"`

	// AlertLookback is how long before an alert's start its traces are
	// looked for (default 15m).
	AlertLookback time.Duration `mapstructure:"alert_lookback"`

	// AlertsRetained bounds the alert enrichments kept for reading back by
	// fingerprint (default 1000).
	AlertsRetained int `mapstructure:"alerts_retained"`

	// Peers are the gateway's other replicas, asked for their part of every
	// answer. Off while neither dns nor static is set (the default).
	Peers PeersConfig `mapstructure:"peers"`
}

// PeersConfig is how a replica finds and calls the other replicas.
type PeersConfig struct {
	// DNS is host:port: the name of a headless Service (its addresses are
	// the ready replicas, this one included and skipped) and the drill-down
	// API's port. Empty means no DNS peers.
	DNS string `mapstructure:"dns"`
	// Static lists the peers as host:port; this replica may be among them
	// (it recognises its own answers and skips them).
	Static []string `mapstructure:"static"`
	// Refresh is how long a DNS answer is used before the name is looked up
	// again (default 10s).
	Refresh time.Duration `mapstructure:"refresh"`
	// Timeout bounds each peer call; a peer slower than that makes the
	// answer partial (default 2s).
	Timeout time.Duration `mapstructure:"timeout"`
	// Auth is the credential peer calls carry, for peers whose API requires
	// one (auth: {authenticator: bearertokenauth}).
	Auth PeersAuthConfig `mapstructure:"auth"`
	// TLS is the client side of peer calls, made over https when this
	// extension's own server has tls set (CA, client certificate).
	TLS configtls.ClientConfig `mapstructure:"tls"`
}

// PeersAuthConfig is the bearer token sent to peers.
type PeersAuthConfig struct {
	// BearerToken is sent as "Authorization: Bearer <token>".
	BearerToken configopaque.String `mapstructure:"bearer_token"`
	// BearerTokenFile is read at each fan-out instead, so a rotated token
	// (a mounted Secret) is picked up.
	BearerTokenFile string `mapstructure:"bearer_token_file"`
}

func (p PeersConfig) enabled() bool { return p.DNS != "" || len(p.Static) > 0 }

// DatasourcesConfig holds Grafana datasource UIDs.
type DatasourcesConfig struct {
	// PrometheusUID (default braid-prometheus).
	PrometheusUID string `mapstructure:"prometheus_uid"`
	// LokiUID (default braid-loki).
	LokiUID string `mapstructure:"loki_uid"`
	// JaegerUID (default braid-jaeger).
	JaegerUID string `mapstructure:"jaeger_uid"`
}

// JaegerConfig is the Jaeger query API fallback.
type JaegerConfig struct {
	// QueryURL is Jaeger's query service, e.g. http://127.0.0.1:16686.
	QueryURL string `mapstructure:"query_url"`
	// Timeout bounds each query (default 5s).
	Timeout time.Duration `mapstructure:"timeout"`
}

var _ component.Config = (*Config)(nil)

// DefaultEndpoint is where the drill-down API listens unless configured
// otherwise; `braid drill` looks there first.
const DefaultEndpoint = "localhost:8890"

func createDefaultConfig() component.Config {
	server := confighttp.NewDefaultServerConfig()
	server.NetAddr.Endpoint = DefaultEndpoint
	return &Config{
		ServerConfig: server,
		Correlation:  "correlation",
		GrafanaURL:   links.DefaultGrafanaURL,
		Datasources: DatasourcesConfig{
			PrometheusUID: links.DefaultPrometheusUID,
			LokiUID:       links.DefaultLokiUID,
			JaegerUID:     links.DefaultJaegerUID,
		},
		Jaeger:         JaegerConfig{Timeout: 5 * time.Second},
		AlertLookback:  15 * time.Minute,
		AlertsRetained: 1000,
		Peers:          PeersConfig{Refresh: 10 * time.Second, Timeout: 2 * time.Second},
	}
}

func (c *Config) datasources() links.Datasources {
	ds := links.DefaultDatasources()
	ds.Prometheus.UID = c.Datasources.PrometheusUID
	ds.Loki.UID = c.Datasources.LokiUID
	ds.Jaeger.UID = c.Datasources.JaegerUID
	return ds
}

// Validate checks the configuration, naming the key at fault.
func (c *Config) Validate() error {
	var errs []error
	if c.NetAddr.Endpoint == "" {
		errs = append(errs, errors.New("endpoint must be set"))
	}
	if _, err := parseID(c.Correlation); err != nil {
		errs = append(errs, fmt.Errorf("correlation %q is not a component ID: %w", c.Correlation, err))
	}
	if c.PodResolver != "" {
		if _, err := parseID(c.PodResolver); err != nil {
			errs = append(errs, fmt.Errorf("pod_resolver %q is not a component ID: %w", c.PodResolver, err))
		}
	}
	if _, err := links.NewLinkBuilder(c.GrafanaURL, c.datasources()); err != nil {
		errs = append(errs, fmt.Errorf("grafana_url / datasources: %w", err))
	}
	if c.Jaeger.QueryURL != "" && c.Jaeger.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("jaeger::timeout must be positive, got %s", c.Jaeger.Timeout))
	}
	if c.AlertLookback <= 0 {
		errs = append(errs, fmt.Errorf("alert_lookback must be positive, got %s", c.AlertLookback))
	}
	if c.AlertsRetained <= 0 {
		errs = append(errs, fmt.Errorf("alerts_retained must be positive, got %d", c.AlertsRetained))
	}
	return errors.Join(append(errs, c.Peers.validate()...)...)
}

func (p PeersConfig) validate() []error {
	var errs []error
	if p.DNS != "" && len(p.Static) > 0 {
		errs = append(errs, errors.New("peers: set dns or static, not both"))
	}
	if p.DNS != "" {
		if _, _, err := drill.SplitPeerAddress(p.DNS); err != nil {
			errs = append(errs, fmt.Errorf("peers::dns: %w", err))
		}
	}
	for i, addr := range p.Static {
		if _, _, err := drill.SplitPeerAddress(addr); err != nil {
			errs = append(errs, fmt.Errorf("peers::static[%d]: %w", i, err))
		}
	}
	if p.Refresh <= 0 {
		errs = append(errs, fmt.Errorf("peers::refresh must be positive, got %s", p.Refresh))
	}
	if p.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("peers::timeout must be positive, got %s", p.Timeout))
	}
	if p.Auth.BearerToken != "" && p.Auth.BearerTokenFile != "" {
		errs = append(errs, errors.New("peers::auth: set bearer_token or bearer_token_file, not both"))
	}
	return errs
}

func parseID(s string) (component.ID, error) {
	var id component.ID
	err := id.UnmarshalText([]byte(s))
	return id, err
}
