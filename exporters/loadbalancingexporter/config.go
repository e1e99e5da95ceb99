package loadbalancingexporter

import (
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/config/configgrpc"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
)

// Routing keys.
const (
	RouteTraceID = "traceID"
	RouteService = "service"
)

// Config is the loadbalancing exporter's configuration, in the shape of the
// contrib exporter of the same name (routing_key, protocol::otlp,
// resolver::static or resolver::dns), plus the collector's sending queue
// and retry around the routing.
type Config struct {
	// RoutingKey is traceID (the default: spans and traced log records by
	// trace ID, the rest by resource) or service (everything by service
	// and pod).
	RoutingKey string `mapstructure:"routing_key"`
	Protocol   struct {
		// OTLP is how each backend is reached: every OTLP gRPC client
		// setting (tls, compression, headers, auth) and timeout, except
		// endpoint, which the resolver gives.
		OTLP OTLPConfig `mapstructure:"otlp"`
	} `mapstructure:"protocol"`
	Resolver ResolverConfig `mapstructure:"resolver"`
	// Queue is the sending queue ahead of the routing; with storage set
	// it lives on disk.
	Queue configoptional.Optional[exporterhelper.QueueBatchConfig] `mapstructure:"sending_queue"`
	// Retry retries the parts that replicas refused, routed again.
	Retry configretry.BackOffConfig `mapstructure:"retry_on_failure"`
	// Cooldown is how long a backend that failed is passed over: its keys
	// go to the next backend on the ring meanwhile.
	Cooldown time.Duration `mapstructure:"cooldown"`
}

// OTLPConfig is the OTLP gRPC exporter's client settings, without its
// queue and retry (the loadbalancing exporter has them, ahead of routing).
type OTLPConfig struct {
	TimeoutConfig exporterhelper.TimeoutConfig `mapstructure:",squash"`
	ClientConfig  configgrpc.ClientConfig      `mapstructure:",squash"`
}

// ResolverConfig says where the backends are: one of static or dns.
type ResolverConfig struct {
	Static configoptional.Optional[StaticResolver] `mapstructure:"static"`
	DNS    configoptional.Optional[DNSResolver]    `mapstructure:"dns"`
}

// StaticResolver is a fixed list of host:port.
type StaticResolver struct {
	Hostnames []string `mapstructure:"hostnames"`
}

// DNSResolver resolves a name (a headless Service) to every address it
// has, each with port, again every interval.
type DNSResolver struct {
	Hostname string        `mapstructure:"hostname"`
	Port     string        `mapstructure:"port"`
	Interval time.Duration `mapstructure:"interval"`
	Timeout  time.Duration `mapstructure:"timeout"`
}

// Validate names the bad key.
func (c *Config) Validate() error {
	var errs []error
	switch c.RoutingKey {
	case RouteTraceID, RouteService:
	default:
		errs = append(errs, fmt.Errorf("routing_key must be %q or %q, got %q", RouteTraceID, RouteService, c.RoutingKey))
	}
	static, dns := c.Resolver.Static.HasValue(), c.Resolver.DNS.HasValue()
	switch {
	case static && dns:
		errs = append(errs, errors.New("resolver: set static or dns, not both"))
	case !static && !dns:
		errs = append(errs, errors.New("resolver: set static::hostnames or dns::hostname"))
	case static && len(c.Resolver.Static.Get().Hostnames) == 0:
		errs = append(errs, errors.New("resolver::static::hostnames must not be empty"))
	case dns:
		d := c.Resolver.DNS.Get()
		if d.Hostname == "" {
			errs = append(errs, errors.New("resolver::dns::hostname must be set"))
		}
		if d.Interval <= 0 {
			errs = append(errs, fmt.Errorf("resolver::dns::interval must be positive, got %s", d.Interval))
		}
		if d.Timeout <= 0 {
			errs = append(errs, fmt.Errorf("resolver::dns::timeout must be positive, got %s", d.Timeout))
		}
	}
	if c.Protocol.OTLP.ClientConfig.Endpoint != "" {
		errs = append(errs, errors.New("protocol::otlp::endpoint must not be set: the resolver gives the endpoints"))
	}
	if c.Cooldown < 0 {
		errs = append(errs, fmt.Errorf("cooldown must not be negative, got %s", c.Cooldown))
	}
	return errors.Join(errs...)
}
