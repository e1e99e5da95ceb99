package lokireceiver

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/grafana/loki/pkg/push"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configtls"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/receiver/receivertest"
)

// clientCerts is a CA that signs client certificates by common name.
type clientCerts struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newClientCerts(t *testing.T, dir string) (*clientCerts, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(100), Subject: pkix.Name{CommonName: "shippers-ca"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	file := filepath.Join(dir, "clients-ca.pem")
	require.NoError(t, os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	return &clientCerts{cert: cert, key: key}, file
}

func (c *clientCerts) issue(t *testing.T, cn string, serial int64) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.cert, &key.PublicKey, c.key)
	require.NoError(t, err)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// TestTenantsFromClientCertificatesOverMTLS handshakes for real: the
// receiver requires client certificates (client_ca_file) and takes the
// tenant from the certificate's name.
func TestTenantsFromClientCertificatesOverMTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, serverPool := selfSignedCert(t, dir)
	clients, caFile := newClientCerts(t, dir)

	cfg := tenantsConfig()
	cfg.ServerConfig.NetAddr.Endpoint = "127.0.0.1:0"
	tlsCfg := configtls.NewDefaultServerConfig()
	tlsCfg.CertFile, tlsCfg.KeyFile, tlsCfg.ClientCAFile = certFile, keyFile, caFile
	cfg.ServerConfig.TLS = configoptional.Some(tlsCfg)
	sink := new(consumertest.LogsSink)
	r, err := NewFactory().CreateLogs(context.Background(), receivertest.NewNopSettings(Type), cfg, sink)
	require.NoError(t, err)
	require.NoError(t, r.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, r.Shutdown(context.Background())) })
	url := "https://" + r.(*lokiReceiver).addr + PushPath
	body := protobufBody(t, push.Stream{Labels: `{a="b"}`, Entries: []push.Entry{{Timestamp: ts0, Line: "x"}}})

	pushAs := func(cn, orgID string) int {
		client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{
			RootCAs: serverPool, MinVersion: tls.VersionTLS12,
			Certificates: []tls.Certificate{clients.issue(t, cn, int64(len(cn)+200))},
		}}}
		defer client.CloseIdleConnections()
		req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-protobuf")
		if orgID != "" {
			req.Header.Set("X-Scope-OrgID", orgID)
		}
		resp, err := client.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	assert.Equal(t, http.StatusNoContent, pushAs("shipper-a", ""))
	assert.Equal(t, http.StatusNoContent, pushAs("shipper-a", "team-a"))
	assert.Equal(t, http.StatusForbidden, pushAs("shipper-a", "team-b"), "a spoofed tenant")
	assert.Equal(t, http.StatusForbidden, pushAs("shipper-z", ""), "a certificate of no tenant")
	assert.Equal(t, []string{"team-a", "team-a"}, tenantsOf(sink.AllLogs()))
}
