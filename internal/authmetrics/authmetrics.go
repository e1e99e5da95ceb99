// Package authmetrics counts what Braid's authenticators decide: every
// request an authenticator extension (bearertokenauth on OTLP, the Loki push
// API and the drill-down API) accepts or refuses, and every request the admin
// endpoint refuses, as
//
//	braid_auth_requests{authenticator, outcome="accepted"|"refused"}
//
// (without a type suffix, as Braid's telemetry settings expose it; _total
// where a suffix is added). The authenticator label is the
// component ID of the extension (bearertokenauth/senders) or "admin". A
// refusal counted here is one the server answered 401 (gRPC UNAUTHENTICATED).
package authmetrics

import (
	"context"
	"net/http"
	"sync/atomic"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/extension/extensionauth"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"google.golang.org/grpc/credentials"
)

// Names of the metric, its labels and the admin endpoint's authenticator.
const (
	RequestsMetric     = "braid_auth_requests"
	AuthenticatorLabel = "authenticator"
	OutcomeLabel       = "outcome"
	Accepted           = "accepted"
	Refused            = "refused"
	AdminAuthenticator = "admin"
)

const (
	scope       = "github.com/braidobs/braid/internal/authmetrics"
	description = "Requests an authenticator decided on, by outcome (accepted, refused: answered 401 or gRPC UNAUTHENTICATED)."
)

// Wrap returns f with each extension it creates counted: its Authenticate
// calls by outcome, on the extension's own meter provider. The type, the
// configuration and the client side are f's own. An extension that is not a
// server authenticator is returned as f creates it.
func Wrap(f extension.Factory) extension.Factory {
	return extension.NewFactory(f.Type(), f.CreateDefaultConfig,
		func(ctx context.Context, set extension.Settings, cfg component.Config) (extension.Extension, error) {
			ext, err := f.Create(ctx, set, cfg)
			if err != nil {
				return nil, err
			}
			server, ok := ext.(extensionauth.Server)
			if !ok {
				return ext, nil
			}
			requests, err := set.MeterProvider.Meter(scope).Int64Counter(RequestsMetric,
				metric.WithDescription(description), metric.WithUnit("{request}"))
			if err != nil {
				return nil, err
			}
			c := counted{Extension: ext, server: server, requests: requests,
				accepted: metric.WithAttributeSet(attribute.NewSet(attribute.String(AuthenticatorLabel, set.ID.String()), attribute.String(OutcomeLabel, Accepted))),
				refused:  metric.WithAttributeSet(attribute.NewSet(attribute.String(AuthenticatorLabel, set.ID.String()), attribute.String(OutcomeLabel, Refused))),
			}
			httpClient, isHTTP := ext.(extensionauth.HTTPClient)
			grpcClient, isGRPC := ext.(extensionauth.GRPCClient)
			if isHTTP && isGRPC {
				return countedClient{counted: c, http: httpClient, grpc: grpcClient}, nil
			}
			return c, nil
		},
		f.Stability())
}

// counted is a server authenticator whose decisions are counted.
type counted struct {
	extension.Extension
	server            extensionauth.Server
	requests          metric.Int64Counter
	accepted, refused metric.AddOption
}

var _ extensionauth.Server = counted{}

func (c counted) Authenticate(ctx context.Context, sources map[string][]string) (context.Context, error) {
	out, err := c.server.Authenticate(ctx, sources)
	if err != nil {
		c.requests.Add(ctx, 1, c.refused)
		return out, err
	}
	c.requests.Add(ctx, 1, c.accepted)
	return out, nil
}

// countedClient is counted for an extension that authenticates clients too
// (bearertokenauth does both): its client side is passed through.
type countedClient struct {
	counted
	http extensionauth.HTTPClient
	grpc extensionauth.GRPCClient
}

var (
	_ extensionauth.HTTPClient = countedClient{}
	_ extensionauth.GRPCClient = countedClient{}
)

func (c countedClient) RoundTripper(base http.RoundTripper) (http.RoundTripper, error) {
	return c.http.RoundTripper(base)
}

func (c countedClient) PerRPCCredentials() (credentials.PerRPCCredentials, error) {
	return c.grpc.PerRPCCredentials()
}

// Admin counts the admin endpoint's refusals (it checks its own token,
// outside the collector). The zero value is ready; safe for concurrent use.
type Admin struct{ refused atomic.Int64 }

// Refused records one refused request.
func (a *Admin) Refused() { a.refused.Add(1) }

// Register exposes the admin endpoint's refusals on mp, under the same metric
// as the authenticator extensions'.
func (a *Admin) Register(mp metric.MeterProvider) error {
	attrs := metric.WithAttributes(attribute.String(AuthenticatorLabel, AdminAuthenticator), attribute.String(OutcomeLabel, Refused))
	_, err := mp.Meter(scope).Int64ObservableCounter(RequestsMetric,
		metric.WithDescription(description), metric.WithUnit("{request}"),
		metric.WithInt64Callback(func(_ context.Context, o metric.Int64Observer) error {
			o.Observe(a.refused.Load(), attrs)
			return nil
		}))
	return err
}
