// Package kubeapi starts a real Kubernetes control plane for Braid's tests:
// etcd and kube-apiserver processes on loopback, built from source by
// deploy/local/kube.sh, with RBAC authorization on and ServiceAccount tokens
// issued. Each control plane has its own data directory, certificates and
// ports, and is stopped when its test ends.
//
// The tests that use it carry the build tag kubeapi and run under make kube.
package kubeapi

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/braidobs/braid/internal/testnet"
)

// BinDir is where kube.sh puts etcd, kube-apiserver, kubectl and helm:
// $BRAID_KUBE_BIN, else .tmp/local/bin at the repository's root.
func BinDir() string {
	if d := os.Getenv("BRAID_KUBE_BIN"); d != "" {
		return d
	}
	wd, err := os.Getwd()
	if err != nil {
		return ".tmp/local/bin"
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "deploy", "local", "kube.sh")); err == nil {
			return filepath.Join(d, ".tmp", "local", "bin")
		}
		if filepath.Dir(d) == d {
			return ".tmp/local/bin"
		}
	}
}

// Binary returns the path of one of kube.sh's binaries, failing the test
// (never skipping it) when it was not built.
func Binary(t testing.TB, name string) string {
	t.Helper()
	p, err := binaryPath(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func binaryPath(name string) (string, error) {
	p := filepath.Join(BinDir(), name)
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("%s not found in %s: build it with deploy/local/kube.sh install (make kube does)", name, BinDir())
	}
	return p, nil
}

// ControlPlane is one etcd and the API servers in front of it.
type ControlPlane struct {
	dir     string
	etcdURL string
	pki     *pki
	etcd    *process
	// Admin is a client configuration for system:masters, to set the
	// scene: what the tests create, update and delete.
	Admin *rest.Config
	// APIServer is the first API server, the one Admin talks to.
	APIServer *APIServer

	mu      sync.Mutex // guards servers
	servers []*APIServer
}

// APIServer is one kube-apiserver process; it can be stopped and started
// again on the same address.
type APIServer struct {
	cp   *ControlPlane
	name string
	// URL is https://127.0.0.1:<port>.
	URL  string
	bin  string
	args []string

	mu   sync.Mutex // guards proc
	proc *process
}

// Start starts etcd and one API server in a directory of the test's and
// waits until the API server is ready (its bootstrap roles in place).
// Everything stops when t ends.
func Start(t testing.TB) *ControlPlane {
	t.Helper()
	cp, err := New(t.TempDir())
	if err != nil {
		t.Fatalf("control plane: %v", err)
	}
	t.Cleanup(cp.Close)
	return cp
}

// New starts etcd and one API server, with their data, certificates and logs
// under dir, and waits until the API server is ready. Close stops them.
func New(dir string) (*ControlPlane, error) {
	etcdBin, err := binaryPath("etcd")
	if err != nil {
		return nil, err
	}
	cp := &ControlPlane{dir: dir}
	if cp.pki, err = newPKI(dir); err != nil {
		return nil, fmt.Errorf("certificates: %w", err)
	}
	clientAddr, err := testnet.Addr()
	if err != nil {
		return nil, err
	}
	peerAddr, err := testnet.Addr()
	if err != nil {
		return nil, err
	}
	cp.etcdURL = "http://" + clientAddr
	cp.etcd, err = spawn("etcd", filepath.Join(dir, "etcd.log"), etcdBin,
		"--name=braid-test",
		"--data-dir="+filepath.Join(dir, "etcd"),
		"--listen-client-urls="+cp.etcdURL,
		"--advertise-client-urls="+cp.etcdURL,
		"--listen-peer-urls=http://"+peerAddr,
		"--initial-advertise-peer-urls=http://"+peerAddr,
		"--initial-cluster=braid-test=http://"+peerAddr,
		// The data is thrown away with the control plane.
		"--unsafe-no-fsync",
		"--log-level=warn")
	if err != nil {
		return nil, err
	}
	if err := waitHTTP(cp.etcdURL+"/health", nil, cp.etcd, 30*time.Second); err != nil {
		cp.Close()
		return nil, fmt.Errorf("etcd: %w\n%s", err, cp.etcd.tail())
	}
	if cp.APIServer, err = cp.newAPIServer(); err != nil {
		cp.Close()
		return nil, err
	}
	cp.Admin = cp.APIServer.adminConfig()
	return cp, nil
}

// Close stops every API server, then etcd.
func (cp *ControlPlane) Close() {
	cp.mu.Lock()
	servers := cp.servers
	cp.mu.Unlock()
	for _, s := range servers {
		s.Stop()
	}
	if cp.etcd != nil {
		cp.etcd.stop()
	}
}

// NewAPIServer starts another API server on the same etcd, as a second
// control-plane node would be: changes made through one are seen by the
// other. It stops when t ends.
func (cp *ControlPlane) NewAPIServer(t testing.TB) *APIServer {
	t.Helper()
	s, err := cp.newAPIServer()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

func (cp *ControlPlane) newAPIServer() (*APIServer, error) {
	bin, err := binaryPath("kube-apiserver")
	if err != nil {
		return nil, err
	}
	cp.mu.Lock()
	n := len(cp.servers)
	cp.mu.Unlock()
	addr, err := testnet.Addr()
	if err != nil {
		return nil, err
	}
	host, port, _ := net.SplitHostPort(addr)
	name := "kube-apiserver-" + strconv.Itoa(n)
	certDir := filepath.Join(cp.dir, name)
	if err := os.MkdirAll(certDir, 0o755); err != nil {
		return nil, err
	}
	s := &APIServer{cp: cp, name: name, URL: "https://" + addr, bin: bin}
	s.args = []string{
		"--etcd-servers=" + cp.etcdURL,
		"--bind-address=" + host,
		"--advertise-address=" + host,
		"--secure-port=" + port,
		"--cert-dir=" + certDir,
		"--tls-cert-file=" + cp.pki.file("serving.crt"),
		"--tls-private-key-file=" + cp.pki.file("serving.key"),
		"--client-ca-file=" + cp.pki.file("ca.crt"),
		"--authorization-mode=RBAC",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + cp.pki.file("sa.pub"),
		"--service-account-signing-key-file=" + cp.pki.file("sa.key"),
		"--service-cluster-ip-range=10.96.0.0/16",
		// No controller manager runs: nothing would ever remove a pod's
		// finalizers or a namespace's content, and nothing needs to.
		"--profiling=false",
		// The kubernetes Service's endpoints would name the advertised
		// address, which may not be loopback; nothing here needs them.
		"--endpoint-reconciler-type=none",
	}
	cp.mu.Lock()
	cp.servers = append(cp.servers, s)
	cp.mu.Unlock()
	if err := s.Start(); err != nil {
		s.Stop()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return s, nil
}

// Start starts the API server (again) and waits until it is ready.
func (s *APIServer) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc != nil {
		return fmt.Errorf("%s already running", s.name)
	}
	p, err := spawn(s.name, filepath.Join(s.cp.dir, s.name+".log"), s.bin, s.args...)
	if err != nil {
		return err
	}
	s.proc = p
	client, err := s.cp.pki.adminHTTPClient()
	if err != nil {
		return err
	}
	// Ready: storage, bootstrap RBAC and priority levels in place.
	if err := waitHTTP(s.URL+"/readyz", client, p, 90*time.Second); err != nil {
		return fmt.Errorf("%w\n%s", err, p.tail())
	}
	return nil
}

// Stop stops the API server (SIGTERM, then SIGKILL) and waits until its port
// is closed. Clients watching through it see their connections end.
func (s *APIServer) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc != nil {
		s.proc.stop()
		s.proc = nil
	}
}

// Log returns what the API server wrote so far.
func (s *APIServer) Log() string {
	b, _ := os.ReadFile(filepath.Join(s.cp.dir, s.name+".log"))
	return string(b)
}

func (s *APIServer) adminConfig() *rest.Config {
	return &rest.Config{
		Host: s.URL,
		TLSClientConfig: rest.TLSClientConfig{
			CAData:   s.cp.pki.caPEM,
			CertData: s.cp.pki.adminCertPEM,
			KeyData:  s.cp.pki.adminKeyPEM,
		},
		QPS:   100,
		Burst: 200,
	}
}

// AdminConfig returns a system:masters client configuration for s.
func (s *APIServer) AdminConfig() *rest.Config { return s.adminConfig() }

// Client returns a clientset for cfg, failing t on error.
func Client(t testing.TB, cfg *rest.Config) kubernetes.Interface {
	t.Helper()
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// ServiceAccountConfig issues a token for ServiceAccount namespace/name
// through the TokenRequest API, as the kubelet does for a pod's projected
// token, and returns a client configuration that authenticates with it
// against s: what a pod running as that account has, and nothing more.
func (cp *ControlPlane) ServiceAccountConfig(t testing.TB, s *APIServer, namespace, name string) *rest.Config {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	expiry := int64(3600)
	tr, err := Client(t, cp.Admin).CoreV1().ServiceAccounts(namespace).CreateToken(ctx, name,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &expiry}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("token for service account %s/%s: %v", namespace, name, err)
	}
	return &rest.Config{
		Host:            s.URL,
		BearerToken:     tr.Status.Token,
		TLSClientConfig: rest.TLSClientConfig{CAData: cp.pki.caPEM},
	}
}

// WriteKubeconfig writes cfg (a bearer token or a client certificate) as a
// kubeconfig file under the test's directory and returns its path, for a
// process that reads KUBECONFIG (Braid's k8s_pods with auth_type kubeConfig,
// kubectl).
func WriteKubeconfig(t testing.TB, cfg *rest.Config) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := SaveKubeconfig(cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// SaveKubeconfig writes a kubeconfig file for cfg at path.
func SaveKubeconfig(cfg *rest.Config, path string) error {
	kc := clientcmdapi.NewConfig()
	kc.Clusters["braid-test"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos["braid-test"] = &clientcmdapi.AuthInfo{Token: cfg.BearerToken, ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData}
	kc.Contexts["braid-test"] = &clientcmdapi.Context{Cluster: "braid-test", AuthInfo: "braid-test", Namespace: "default"}
	kc.CurrentContext = "braid-test"
	return clientcmd.WriteToFile(*kc, path)
}

// Compact compacts etcd's history up to its current revision, as the API
// server's periodic compaction would: a watch that resumes from an older
// resource version is then answered 410 Gone and its client must list again.
// It returns the revision compacted to.
func (cp *ControlPlane) Compact(ctx context.Context) (int64, error) {
	// etcd's JSON gateway: a range read for the header's revision, then a
	// physical compaction up to it.
	var rng struct {
		Header struct {
			Revision string `json:"revision"`
		} `json:"header"`
	}
	key := base64.StdEncoding.EncodeToString([]byte("/registry/braid-compact-probe"))
	if err := etcdPost(ctx, cp.etcdURL+"/v3/kv/range", map[string]any{"key": key}, &rng); err != nil {
		return 0, err
	}
	rev, err := strconv.ParseInt(rng.Header.Revision, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("etcd revision %q: %w", rng.Header.Revision, err)
	}
	if err := etcdPost(ctx, cp.etcdURL+"/v3/kv/compaction", map[string]any{"revision": strconv.FormatInt(rev, 10), "physical": true}, nil); err != nil {
		return 0, err
	}
	return rev, nil
}

func etcdPost(ctx context.Context, url string, body, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("etcd %s: %s: %s", url, resp.Status, rb)
	}
	if out != nil {
		return json.Unmarshal(rb, out)
	}
	return nil
}

// process is a started child process with its output in a log file.
type process struct {
	name string
	log  string
	cmd  *exec.Cmd
	done chan struct{}
}

func spawn(name, log, bin string, args ...string) (*process, error) {
	f, err := os.OpenFile(log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(f, "=== %s start %s\n", time.Now().UTC().Format(time.RFC3339), name)
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	// Its own process group, so that a test binary killed mid-run does not
	// leave it behind holding ports (the group is killed on stop).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, err
	}
	p := &process{name: name, log: log, cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	return p, nil
}

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *process) stop() {
	if p.exited() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

// tail returns the last lines of the process's log.
func (p *process) tail() string {
	b, _ := os.ReadFile(p.log)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 15 {
		lines = lines[len(lines)-15:]
	}
	return p.name + " log (" + p.log + "):\n" + strings.Join(lines, "\n")
}

// waitHTTP polls url until it answers 200, the process exits, or timeout.
func waitHTTP(url string, client *http.Client, p *process, timeout time.Duration) error {
	if client == nil {
		client = http.DefaultClient
	}
	deadline := time.Now().Add(timeout)
	var last string
	for time.Now().Before(deadline) {
		if p.exited() {
			return fmt.Errorf("%s exited during start (code %d)", p.name, p.cmd.ProcessState.ExitCode())
		}
		resp, err := client.Get(url)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = resp.Status + ": " + string(b)
		} else {
			last = err.Error()
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("%s not ready at %s after %s: %s", p.name, url, timeout, last)
}

// pki is the control plane's certificates: one CA signing the API server's
// serving certificate and the admin's client certificate, and the key pair
// that signs ServiceAccount tokens.
type pki struct {
	dir                              string
	caPEM, adminCertPEM, adminKeyPEM []byte
	caCert                           *x509.Certificate
	caKey                            *ecdsa.PrivateKey
}

func newPKI(dir string) (*pki, error) {
	p := &pki{dir: filepath.Join(dir, "pki")}
	if err := os.MkdirAll(p.dir, 0o700); err != nil {
		return nil, err
	}
	var err error
	p.caKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "braid-test-ca"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &p.caKey.PublicKey, p.caKey)
	if err != nil {
		return nil, err
	}
	if p.caCert, err = x509.ParseCertificate(der); err != nil {
		return nil, err
	}
	p.caPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := os.WriteFile(p.file("ca.crt"), p.caPEM, 0o644); err != nil {
		return nil, err
	}

	serving := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "kube-apiserver"},
		DNSNames:     []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("10.96.0.1")},
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	certPEM, keyPEM, err := p.sign(serving)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(p.file("serving.crt"), certPEM, 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(p.file("serving.key"), keyPEM, 0o600); err != nil {
		return nil, err
	}

	admin := &x509.Certificate{
		SerialNumber: big.NewInt(3),
		Subject:      pkix.Name{CommonName: "braid-test-admin", Organization: []string{"system:masters"}},
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if p.adminCertPEM, p.adminKeyPEM, err = p.sign(admin); err != nil {
		return nil, err
	}

	saKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	pub, err := x509.MarshalPKIXPublicKey(&saKey.PublicKey)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(p.file("sa.key"), pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(saKey)}), 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(p.file("sa.pub"), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o644); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *pki) file(name string) string { return filepath.Join(p.dir, name) }

// sign issues tmpl, valid for a day, with a new P-256 key, signed by the CA.
func (p *pki) sign(tmpl *x509.Certificate) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl.NotBefore = time.Now().Add(-time.Hour)
	tmpl.NotAfter = time.Now().Add(24 * time.Hour)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.caCert, &key.PublicKey, p.caKey)
	if err != nil {
		return nil, nil, err
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), nil
}

func (p *pki) adminHTTPClient() (*http.Client, error) {
	cert, err := tls.X509KeyPair(p.adminCertPEM, p.adminKeyPEM)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(p.caCert)
	return &http.Client{
		Timeout:   5 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}},
	}, nil
}

// Applied is one object that Apply sent.
type Applied struct {
	// Kind, Namespace and Name identify the object.
	Kind, Namespace, Name string
}

func (a Applied) String() string {
	if a.Namespace == "" {
		return a.Kind + "/" + a.Name
	}
	return a.Kind + "/" + a.Namespace + "/" + a.Name
}

// Apply sends every object of a multi-document YAML stream to the API server
// as a server-side apply with strict field validation, in order: a field the
// server does not know, a wrong type or a failed validation is an error
// naming the object. With dryRun the server validates and admits each object
// but stores nothing.
func Apply(ctx context.Context, cfg *rest.Config, manifests []byte, dryRun bool) ([]Applied, error) {
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, err
	}
	groups, err := restmapper.GetAPIGroupResources(dc)
	if err != nil {
		return nil, fmt.Errorf("discovery: %w", err)
	}
	mapper := restmapper.NewDiscoveryRESTMapper(groups)
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	opts := metav1.PatchOptions{FieldManager: "braid-test", Force: ptr(true), FieldValidation: "Strict"}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	var applied []Applied
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(manifests), 4096)
	for {
		var obj unstructured.Unstructured
		if err := dec.Decode(&obj.Object); err != nil {
			if err == io.EOF {
				return applied, nil
			}
			return applied, fmt.Errorf("decoding manifest %d: %w", len(applied)+1, err)
		}
		if len(obj.Object) == 0 {
			continue
		}
		gvk := obj.GroupVersionKind()
		a := Applied{Kind: gvk.Kind, Namespace: obj.GetNamespace(), Name: obj.GetName()}
		m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			return applied, fmt.Errorf("%s: %w", a, err)
		}
		var ri dynamic.ResourceInterface = dyn.Resource(m.Resource)
		if m.Scope.Name() == meta.RESTScopeNameNamespace {
			if a.Namespace == "" {
				return applied, fmt.Errorf("%s: a namespaced object without a namespace", a)
			}
			ri = dyn.Resource(m.Resource).Namespace(a.Namespace)
		}
		body, err := json.Marshal(obj.Object)
		if err != nil {
			return applied, err
		}
		if _, err := ri.Patch(ctx, a.Name, types.ApplyPatchType, body, opts); err != nil {
			return applied, fmt.Errorf("%s: %w", a, err)
		}
		applied = append(applied, a)
	}
}

func ptr[T any](v T) *T { return &v }
