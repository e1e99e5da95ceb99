//go:build e2e

package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// fleetSecrets is what the fleet test's processes run with, as
// cert-manager and the token-auth component's Secrets give them in
// Kubernetes: a fleet CA, a certificate for the gateways and one for the
// agents, and the token files of deploy/configs/auth/*.yaml.
type fleetSecrets struct {
	ca, gatewayCert, gatewayKey, agentCert, agentKey    string
	senderTokens, drillTokens, gatewayToken, adminToken string
	drillToken, senderToken                             string
}

// newFleetSecrets writes the fleet's certificates and tokens under a
// temporary directory. The gateway's certificate names
// braid-gateway-headless (what the agent checks) and 127.0.0.1.
func newFleetSecrets(t *testing.T) fleetSecrets {
	t.Helper()
	dir := t.TempDir()
	s := fleetSecrets{drillToken: randomHex(16)}
	write := func(name string, data []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	caKey, caDER := signCert(t, &x509.Certificate{
		Subject: pkix.Name{CommonName: "braid-fleet-ca"}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign,
	}, nil, nil)
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	s.ca = write("ca.crt", pemBlock("CERTIFICATE", caDER))
	leaf := func(name string) (certPath, keyPath string) {
		key, der := signCert(t, &x509.Certificate{
			Subject: pkix.Name{CommonName: name}, DNSNames: []string{name}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
			KeyUsage:    x509.KeyUsageDigitalSignature,
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		}, caCert, caKey)
		keyDER, err := x509.MarshalECPrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		return write(name+".crt", pemBlock("CERTIFICATE", der)), write(name+".key", pemBlock("EC PRIVATE KEY", keyDER))
	}
	s.gatewayCert, s.gatewayKey = leaf("braid-gateway-headless")
	s.agentCert, s.agentKey = leaf("braid-agent")
	s.senderToken = randomHex(16)
	s.senderTokens = write("sender-tokens", []byte(s.senderToken+"\n"))
	s.gatewayToken = write("gateway-token", []byte(s.senderToken+"\n"))
	s.drillTokens = write("drill-tokens", []byte(s.drillToken+"\n"))
	s.adminToken = write("admin-token", []byte(randomHex(16)+"\n"))
	return s
}

// signCert signs tmpl with parent's key (itself when parent is nil) and
// returns the new key and the certificate's DER.
func signCert(t *testing.T, tmpl, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*ecdsa.PrivateKey, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		t.Fatal(err)
	}
	tmpl.SerialNumber = serial
	tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour)
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	return key, der
}

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

// gatewayEnv is the environment of a gateway with mTLS on its receivers
// and tokens on every endpoint (with deploy/configs/auth/gateway.yaml).
func (s fleetSecrets) gatewayEnv() []string {
	return []string{
		"BRAID_TLS=true", "BRAID_TLS_CERT_FILE=" + s.gatewayCert, "BRAID_TLS_KEY_FILE=" + s.gatewayKey, "BRAID_TLS_CA_FILE=" + s.ca,
		"BRAID_SENDER_TOKENS_FILE=" + s.senderTokens, "BRAID_DRILL_TOKENS_FILE=" + s.drillTokens,
		"BRAID_DRILL_PEERS_TOKEN_FILE=" + s.drillTokens, "BRAID_ADMIN_TOKEN_FILE=" + s.adminToken,
	}
}

// agentEnv is the environment of an agent that sends to such gateways
// (with deploy/configs/auth/agent.yaml).
func (s fleetSecrets) agentEnv() []string {
	return []string{
		"BRAID_GATEWAY_INSECURE=false", "BRAID_GATEWAY_CA_FILE=" + s.ca,
		"BRAID_TLS_CERT_FILE=" + s.agentCert, "BRAID_TLS_KEY_FILE=" + s.agentKey,
		"BRAID_GATEWAY_TOKEN_FILE=" + s.gatewayToken,
	}
}
