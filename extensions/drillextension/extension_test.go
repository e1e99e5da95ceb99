package drillextension

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/bearertokenauthextension"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configauth"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configtls"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.uber.org/goleak"

	"github.com/braidobs/braid/correlate"
	"github.com/braidobs/braid/drill"
	"github.com/braidobs/braid/internal/testnet"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type host struct {
	component.Host
	exts map[component.ID]component.Component
}

func (h host) GetExtensions() map[component.ID]component.Component { return h.exts }

var traceID = pcommon.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36}

func indexWithOneTrace(t *testing.T) *correlate.TraceIndex {
	t.Helper()
	idx, err := correlate.NewTraceIndex(correlate.DefaultIndexConfig())
	require.NoError(t, err)
	now := time.Now()
	idx.AddSpan(&correlate.SpanRecord{TraceID: traceID, SpanID: pcommon.SpanID{1}, Name: "GET /", Service: "checkout",
		Start: pcommon.NewTimestampFromTime(now.Add(-time.Second)), End: pcommon.NewTimestampFromTime(now)})
	return idx
}

func get(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

func TestServesTheProcessorsIndex(t *testing.T) {
	idx := indexWithOneTrace(t)
	running := true
	lookup := func(id component.ID) (drill.Index, bool) {
		if running && id == component.NewID(component.MustNewType("correlation")) {
			return idx, true
		}
		return nil, false
	}
	cfg := createDefaultConfig().(*Config)
	cfg.NetAddr.Endpoint = testnet.FreeAddr(t)
	ext, err := NewFactory(lookup).Create(context.Background(), extensiontest.NewNopSettings(Type), cfg)
	require.NoError(t, err)
	require.NoError(t, ext.Start(context.Background(), componenttest.NewNopHost()))
	defer func() { require.NoError(t, ext.Shutdown(context.Background())) }()

	status, body := get(t, "http://"+cfg.NetAddr.Endpoint+"/api/v1/traces/"+traceID.String(), "")
	require.Equal(t, http.StatusOK, status, body)
	var tr drill.Trace
	require.NoError(t, json.Unmarshal([]byte(body), &tr))
	assert.Equal(t, traceID.String(), tr.TraceID)
	assert.Equal(t, []string{"checkout"}, tr.Services)

	running = false
	status, body = get(t, "http://"+cfg.NetAddr.Endpoint+"/api/v1/traces/"+traceID.String(), "")
	assert.Equal(t, http.StatusServiceUnavailable, status)
	assert.Contains(t, body, "correlation processor correlation is not running")
}

func TestBearerTokenAuth(t *testing.T) {
	authFactory := bearertokenauthextension.NewFactory()
	authCfg := authFactory.CreateDefaultConfig().(*bearertokenauthextension.Config)
	authCfg.BearerToken = "s3cret"
	authExt, err := authFactory.Create(context.Background(), extensiontest.NewNopSettings(authFactory.Type()), authCfg)
	require.NoError(t, err)
	authID := component.NewID(authFactory.Type())
	h := host{Host: componenttest.NewNopHost(), exts: map[component.ID]component.Component{authID: authExt}}
	require.NoError(t, authExt.Start(context.Background(), h))
	defer func() { require.NoError(t, authExt.Shutdown(context.Background())) }()

	idx := indexWithOneTrace(t)
	cfg := createDefaultConfig().(*Config)
	cfg.NetAddr.Endpoint = testnet.FreeAddr(t)
	cfg.Auth = configoptional.Some(confighttp.AuthConfig{Config: configauth.Config{AuthenticatorID: authID}})
	ext, err := NewFactory(func(component.ID) (drill.Index, bool) { return idx, true }).
		Create(context.Background(), extensiontest.NewNopSettings(Type), cfg)
	require.NoError(t, err)
	require.NoError(t, ext.Start(context.Background(), h))
	defer func() { require.NoError(t, ext.Shutdown(context.Background())) }()

	u := "http://" + cfg.NetAddr.Endpoint + "/api/v1/traces/" + traceID.String()
	for name, tt := range map[string]struct {
		token string
		want  int
	}{
		"no token":    {"", http.StatusUnauthorized},
		"wrong token": {"guess", http.StatusUnauthorized},
		"token":       {"s3cret", http.StatusOK},
	} {
		t.Run(name, func(t *testing.T) {
			status, _ := get(t, u, tt.token)
			assert.Equal(t, tt.want, status)
		})
	}
}

func TestStartFailsOnAMissingPodResolver(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.NetAddr.Endpoint = testnet.FreeAddr(t)
	cfg.PodResolver = "k8s_pods"
	ext, err := NewFactory(func(component.ID) (drill.Index, bool) { return nil, false }).
		Create(context.Background(), extensiontest.NewNopSettings(Type), cfg)
	require.NoError(t, err)
	err = ext.Start(context.Background(), componenttest.NewNopHost())
	assert.ErrorContains(t, err, `pod_resolver: extension "k8s_pods" is not configured`)
	require.NoError(t, ext.Shutdown(context.Background()))
}

func TestShutdownWithoutStart(t *testing.T) {
	ext, err := NewFactory(func(component.ID) (drill.Index, bool) { return nil, false }).
		Create(context.Background(), extensiontest.NewNopSettings(Type), createDefaultConfig())
	require.NoError(t, err)
	require.NoError(t, ext.Shutdown(context.Background()))
	require.NoError(t, ext.Shutdown(context.Background()))
}

// TestPeersWithBearerTokens runs two replicas whose APIs require a token:
// each asks the other with the token from its peers::auth and answers for
// both indexes.
func TestPeersWithBearerTokens(t *testing.T) {
	authFactory := bearertokenauthextension.NewFactory()
	authCfg := authFactory.CreateDefaultConfig().(*bearertokenauthextension.Config)
	authCfg.BearerToken = "s3cret"
	authExt, err := authFactory.Create(context.Background(), extensiontest.NewNopSettings(authFactory.Type()), authCfg)
	require.NoError(t, err)
	authID := component.NewID(authFactory.Type())
	h := host{Host: componenttest.NewNopHost(), exts: map[component.ID]component.Component{authID: authExt}}
	require.NoError(t, authExt.Start(context.Background(), h))
	defer func() { require.NoError(t, authExt.Shutdown(context.Background())) }()

	tokenFile := filepath.Join(t.TempDir(), "token")
	require.NoError(t, os.WriteFile(tokenFile, []byte("s3cret\n"), 0o600))
	other := pcommon.TraceID{0x0b, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}
	idxB, err := correlate.NewTraceIndex(correlate.DefaultIndexConfig())
	require.NoError(t, err)
	now := time.Now()
	idxB.AddSpan(&correlate.SpanRecord{TraceID: other, SpanID: pcommon.SpanID{2}, Name: "GET /cart", Service: "checkout",
		Start: pcommon.NewTimestampFromTime(now.Add(-2 * time.Second)), End: pcommon.NewTimestampFromTime(now)})
	idxs := []drill.Index{indexWithOneTrace(t), idxB}

	addrs := []string{testnet.FreeAddr(t), testnet.FreeAddr(t)}
	for i, idx := range idxs {
		cfg := createDefaultConfig().(*Config)
		cfg.NetAddr.Endpoint = addrs[i]
		cfg.Auth = configoptional.Some(confighttp.AuthConfig{Config: configauth.Config{AuthenticatorID: authID}})
		cfg.Peers.Static = addrs
		cfg.Peers.Auth.BearerTokenFile = tokenFile
		require.NoError(t, cfg.Validate())
		ext, err := NewFactory(func(component.ID) (drill.Index, bool) { return idx, true }).
			Create(context.Background(), extensiontest.NewNopSettings(Type), cfg)
		require.NoError(t, err)
		require.NoError(t, ext.Start(context.Background(), h))
		defer func() { require.NoError(t, ext.Shutdown(context.Background())) }()
	}

	for _, addr := range addrs {
		status, body := get(t, "http://"+addr+"/api/v1/services/checkout/traces", "s3cret")
		require.Equal(t, http.StatusOK, status, body)
		var l drill.TraceList
		require.NoError(t, json.Unmarshal([]byte(body), &l))
		assert.False(t, l.Partial, body)
		assert.Len(t, l.Traces, 2, body)
	}

	// A token the peers refuse makes the answer partial, not an error.
	require.NoError(t, os.WriteFile(tokenFile, []byte("rotated"), 0o600))
	status, body := get(t, "http://"+addrs[0]+"/api/v1/services/checkout/traces", "s3cret")
	require.Equal(t, http.StatusOK, status, body)
	var l drill.TraceList
	require.NoError(t, json.Unmarshal([]byte(body), &l))
	assert.True(t, l.Partial)
	assert.Equal(t, []string{addrs[1]}, l.MissingPeers, "it does not ask itself")
	assert.Equal(t, []string{traceID.String()}, idsOf(l.Traces))
}

func idsOf(ts []drill.Trace) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.TraceID
	}
	return out
}

type resolverFunc func(ctx context.Context, host string) ([]string, error)

func (f resolverFunc) LookupHost(ctx context.Context, host string) ([]string, error) {
	return f(ctx, host)
}

// TestDNSPeersSkipThePodsOwnIP: the headless Service lists this pod too;
// POD_IP says which address that is.
func TestDNSPeersSkipThePodsOwnIP(t *testing.T) {
	for _, tt := range []struct {
		name, podIP string
		wantMissing []string
	}{
		{"POD_IP set: not asked", "10.255.255.1", nil},
		{"POD_IP unset: asked, and unreachable", "", []string{"10.255.255.1:8890"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := createDefaultConfig().(*Config)
			cfg.NetAddr.Endpoint = testnet.FreeAddr(t)
			cfg.Peers.DNS = "braid-gateway-headless.braid.svc.cluster.local:8890"
			cfg.Peers.Timeout = 100 * time.Millisecond
			require.NoError(t, cfg.Validate())
			idx := indexWithOneTrace(t)
			tel := componenttest.NewTelemetry()
			defer func() { require.NoError(t, tel.Shutdown(context.Background())) }()
			set := extensiontest.NewNopSettings(Type)
			set.TelemetrySettings = tel.NewTelemetrySettings()
			ext, err := NewFactory(func(component.ID) (drill.Index, bool) { return idx, true }).
				Create(context.Background(), set, cfg)
			require.NoError(t, err)
			de := ext.(*drillExtension)
			de.getenv = func(name string) string {
				if name == "POD_IP" {
					return tt.podIP
				}
				return ""
			}
			de.resolver = resolverFunc(func(_ context.Context, host string) ([]string, error) {
				assert.Equal(t, "braid-gateway-headless.braid.svc.cluster.local", host)
				return []string{"10.255.255.1"}, nil
			})
			require.NoError(t, ext.Start(context.Background(), componenttest.NewNopHost()))
			defer func() { require.NoError(t, ext.Shutdown(context.Background())) }()

			status, body := get(t, "http://"+cfg.NetAddr.Endpoint+"/api/v1/services/checkout/traces", "")
			require.Equal(t, http.StatusOK, status, body)
			var l drill.TraceList
			require.NoError(t, json.Unmarshal([]byte(body), &l))
			assert.Equal(t, tt.wantMissing, l.MissingPeers)
			assert.Equal(t, []string{traceID.String()}, idsOf(l.Traces))

			m, err := tel.GetMetric("braid_drill_peer_requests")
			if tt.wantMissing == nil {
				assert.Error(t, err, "no peer, no call")
				return
			}
			require.NoError(t, err)
			dps := m.Data.(metricdata.Sum[int64]).DataPoints
			require.Len(t, dps, 1)
			outcome, _ := dps[0].Attributes.Value("outcome")
			assert.Equal(t, "failed", outcome.AsString())
			assert.Equal(t, int64(1), dps[0].Value)
		})
	}
}

func TestAlertStoresKeepAlertsAcrossARebuild(t *testing.T) {
	lookup := func(component.ID) (drill.Index, bool) { return indexWithOneTrace(t), true }
	tests := []struct {
		name   string
		opts   func() []Option // called once per test: the stores outlive the extensions
		status int
	}{
		{"kept with AlertStores", func() []Option { return []Option{WithAlertStores(NewAlertStores())} }, http.StatusOK},
		{"lost without", func() []Option { return nil }, http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := tt.opts()
			cfg := createDefaultConfig().(*Config)
			cfg.NetAddr.Endpoint = testnet.FreeAddr(t)
			set := extensiontest.NewNopSettings(Type)
			set.ID = component.NewIDWithName(Type, "api")
			run := func(during func()) {
				ext, err := NewFactory(lookup, opts...).Create(context.Background(), set, cfg)
				require.NoError(t, err)
				require.NoError(t, ext.Start(context.Background(), componenttest.NewNopHost()))
				defer func() { require.NoError(t, ext.Shutdown(context.Background())) }()
				during()
			}
			run(func() {
				body, err := os.ReadFile("../../drill/testdata/alert_pod.json")
				require.NoError(t, err)
				resp, err := http.Post("http://"+cfg.NetAddr.Endpoint+"/api/v1/alerts", "application/json", bytes.NewReader(body))
				require.NoError(t, err)
				resp.Body.Close()
				require.Equal(t, http.StatusOK, resp.StatusCode)
			})
			// A reload: a new factory and extension with the same ID.
			run(func() {
				status, body := get(t, "http://"+cfg.NetAddr.Endpoint+"/api/v1/alerts/c0ffee0000000001", "")
				assert.Equal(t, tt.status, status, body)
			})
		})
	}
}

// selfSignedCert writes a certificate for 127.0.0.1 and its key, and
// returns their paths and the certificate pool a client trusts it with.
func selfSignedCert(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "braid-gateway"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	keyDER, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	require.NoError(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600))
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TestPeersOverTLS: with tls on the server, peers are called over https,
// trusting the CA in peers::tls.
func TestPeersOverTLS(t *testing.T) {
	certFile, keyFile, pool := selfSignedCert(t)
	other := pcommon.TraceID{0x0c, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}
	idxB, err := correlate.NewTraceIndex(correlate.DefaultIndexConfig())
	require.NoError(t, err)
	now := time.Now()
	idxB.AddSpan(&correlate.SpanRecord{TraceID: other, SpanID: pcommon.SpanID{3}, Name: "GET /cart", Service: "checkout",
		Start: pcommon.NewTimestampFromTime(now.Add(-2 * time.Second)), End: pcommon.NewTimestampFromTime(now)})
	idxs := []drill.Index{indexWithOneTrace(t), idxB}
	addrs := []string{testnet.FreeAddr(t), testnet.FreeAddr(t)}
	for i, idx := range idxs {
		cfg := createDefaultConfig().(*Config)
		cfg.NetAddr.Endpoint = addrs[i]
		cfg.TLS = configoptional.Some(configtls.ServerConfig{Config: configtls.Config{CertFile: certFile, KeyFile: keyFile}})
		cfg.Peers.Static = addrs
		cfg.Peers.TLS = configtls.ClientConfig{Config: configtls.Config{CAFile: certFile}}
		require.NoError(t, cfg.Validate())
		ext, err := NewFactory(func(component.ID) (drill.Index, bool) { return idx, true }).
			Create(context.Background(), extensiontest.NewNopSettings(Type), cfg)
		require.NoError(t, err)
		require.NoError(t, ext.Start(context.Background(), componenttest.NewNopHost()))
		defer func() { require.NoError(t, ext.Shutdown(context.Background())) }()
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	defer client.CloseIdleConnections()
	resp, err := client.Get("https://" + addrs[0] + "/api/v1/services/checkout/traces")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var l drill.TraceList
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&l))
	assert.False(t, l.Partial, "%v", l.MissingPeers)
	assert.ElementsMatch(t, []string{traceID.String(), other.String()}, idsOf(l.Traces))
}
