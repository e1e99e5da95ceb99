package lokireceiver

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/grafana/loki/pkg/push"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/braidobs/braid/internal/lokilabels"
)

func tenantsConfig() *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.Tenants = []TenantIdentity{
		{Tenant: "team-a", Tokens: []configopaque.String{"token-a"}, ClientNames: []string{"shipper-a"}},
		{Tenant: "team-b", Tokens: []configopaque.String{"token-b", "token-b2"}},
	}
	return cfg
}

func tenantsOf(ld []plog.Logs) []string {
	var out []string
	for _, l := range ld {
		for i := 0; i < l.ResourceLogs().Len(); i++ {
			v, _ := l.ResourceLogs().At(i).Resource().Attributes().Get(lokilabels.TenantAttribute)
			out = append(out, v.Str())
		}
	}
	return out
}

// TestTenantsComeFromTheSendersIdentity checks that with tenants set, a
// push lands in its sender's tenant whatever it claims: the header may
// repeat the tenant but not name another (403), and a sender without a
// known token gets 401; nothing refused reaches the pipeline.
func TestTenantsComeFromTheSendersIdentity(t *testing.T) {
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	set := receivertest.NewNopSettings(Type)
	set.TelemetrySettings = tel.NewTelemetrySettings()
	cfg := tenantsConfig()
	cfg.ServerConfig.NetAddr.Endpoint = "127.0.0.1:0"
	sink := new(consumertest.LogsSink)
	r, err := NewFactory().CreateLogs(context.Background(), set, cfg, sink)
	require.NoError(t, err)
	require.NoError(t, r.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, r.Shutdown(context.Background())) })
	url := "http://" + r.(*lokiReceiver).addr + PushPath
	body := protobufBody(t, push.Stream{Labels: `{a="b"}`, Entries: []push.Entry{{Timestamp: ts0, Line: "x"}}})

	cases := []struct {
		name    string
		headers []string
		status  int
		msg     string
	}{
		{"no credentials", nil, http.StatusUnauthorized, "no credentials"},
		{"unknown token", []string{"Authorization", "Bearer nope"}, http.StatusUnauthorized, "not a known sender"},
		{"not a bearer token", []string{"Authorization", "Basic dG9rZW4tYQ=="}, http.StatusUnauthorized, "not a known sender"},
		{"unknown token claiming a tenant", []string{"Authorization", "Bearer nope", "X-Scope-OrgID", "team-a"}, http.StatusUnauthorized, ""},
		{"spoofed tenant", []string{"Authorization", "Bearer token-b", "X-Scope-OrgID", "team-a"}, http.StatusForbidden, `claims tenant "team-a"; this sender writes to "team-b" only`},
		{"own tenant without the header", []string{"Authorization", "Bearer token-a"}, http.StatusNoContent, ""},
		{"own tenant repeated in the header", []string{"Authorization", "Bearer token-b2", "X-Scope-OrgID", "team-b"}, http.StatusNoContent, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, msg := post(t, url, body, c.headers...)
			assert.Equal(t, c.status, status, msg)
			assert.Contains(t, msg, c.msg)
			assert.NotContains(t, msg, "token-", "the answer never repeats a token")
		})
	}
	assert.Equal(t, []string{"team-a", "team-b"}, tenantsOf(sink.AllLogs()))

	m, err := tel.GetMetric("braid_loki_receiver_refused_requests")
	require.NoError(t, err)
	refused := map[string]int64{}
	for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
		reason, _ := dp.Attributes.Value("reason")
		refused[reason.AsString()] += dp.Value
	}
	assert.Equal(t, map[string]int64{"no_identity": 1, "unknown_token": 3, "other_tenant": 1}, refused)
}

func TestTenantsFromClientCertificates(t *testing.T) {
	r := tenantResolver{tenantsConfig().Tenants}
	withCert := func(cn string, dns ...string) *http.Request {
		req := httptest.NewRequest(http.MethodPost, PushPath, nil)
		if cn != "" || len(dns) > 0 {
			cert := &x509.Certificate{Subject: pkix.Name{CommonName: cn}, DNSNames: dns}
			req.TLS = &tls.ConnectionState{VerifiedChains: [][]*x509.Certificate{{cert}}}
		}
		return req
	}
	tenant, err := r.resolve(withCert("shipper-a"))
	require.NoError(t, err)
	assert.Equal(t, "team-a", tenant)
	tenant, err = r.resolve(withCert("other", "shipper-a"))
	require.NoError(t, err)
	assert.Equal(t, "team-a", tenant, "a DNS name counts as well")
	_, err = r.resolve(withCert("shipper-z"))
	assert.ErrorIs(t, err, errUnknownIdentity)
	_, err = r.resolve(withCert(""))
	assert.ErrorIs(t, err, errNoIdentity)

	// A certificate that was not verified (no client_ca_file) is no identity.
	req := httptest.NewRequest(http.MethodPost, PushPath, nil)
	req.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{{Subject: pkix.Name{CommonName: "shipper-a"}}}}
	_, err = r.resolve(req)
	assert.ErrorIs(t, err, errNoIdentity)
}

func TestTenantsWithoutConfigKeepTheHeader(t *testing.T) {
	sink := new(consumertest.LogsSink)
	url := startReceiver(t, nil, sink)
	body := protobufBody(t, push.Stream{Labels: `{a="b"}`, Entries: []push.Entry{{Timestamp: ts0, Line: "x"}}})
	status, msg := post(t, url, body, "X-Scope-OrgID", "anyone")
	require.Equal(t, http.StatusNoContent, status, msg)
	assert.Equal(t, []string{"anyone"}, tenantsOf(sink.AllLogs()))
}
