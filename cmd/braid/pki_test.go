package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// testCA is a certificate authority made for one test, as cert-manager's CA
// Issuer would be for a fleet.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

var serial int64 = 1

func newTestCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	serial++
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(serial),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// leaf is a certificate and its key, in PEM.
type leaf struct {
	certPEM, keyPEM []byte
}

func (l leaf) tls(t *testing.T) tls.Certificate {
	t.Helper()
	c, err := tls.X509KeyPair(l.certPEM, l.keyPEM)
	require.NoError(t, err)
	return c
}

// issue signs a certificate for name (also its DNS name, with 127.0.0.1 as
// an IP name) valid from notBefore to notAfter, for servers and clients.
func (ca *testCA) issue(t *testing.T, name string, notBefore, notAfter time.Time) leaf {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	serial++
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: name},
		DNSNames:     []string{name},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	require.NoError(t, err)
	keyDER, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	return leaf{
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM:  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
	}
}

func (ca *testCA) valid(t *testing.T, name string) leaf {
	return ca.issue(t, name, time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour))
}

// tlsDir is a directory laid out as a kubernetes.io/tls Secret mounted by
// the kubelet (tls.crt, tls.key, ca.crt).
type tlsDir string

func writeTLSDir(t *testing.T, dir string, l leaf, ca *testCA) tlsDir {
	t.Helper()
	d := tlsDir(dir)
	d.replace(t, l, ca)
	return d
}

// replace writes new files as a renewal would: each one whole, by rename.
func (d tlsDir) replace(t *testing.T, l leaf, ca *testCA) {
	t.Helper()
	for name, b := range map[string][]byte{"tls.crt": l.certPEM, "tls.key": l.keyPEM, "ca.crt": ca.pem} {
		tmp := filepath.Join(string(d), "."+name+".tmp")
		require.NoError(t, os.WriteFile(tmp, b, 0o600))
		require.NoError(t, os.Rename(tmp, filepath.Join(string(d), name)))
	}
}

func (d tlsDir) file(name string) string { return filepath.Join(string(d), name) }

// clientTLS is what a sender presents (cert may be nil: no certificate) and
// trusts.
func clientTLS(t *testing.T, cert *leaf, roots *testCA, serverName string) *tls.Config {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AddCert(roots.cert)
	cfg := &tls.Config{RootCAs: pool, ServerName: serverName, MinVersion: tls.VersionTLS12}
	if cert != nil {
		c := cert.tls(t)
		cfg.Certificates = []tls.Certificate{c}
	}
	return cfg
}
