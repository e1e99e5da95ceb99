package main

import (
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"sigs.k8s.io/yaml"

	"github.com/braidobs/braid/internal/faults"
	"github.com/braidobs/braid/internal/testnet"
)

// The mTLS tests run the shipped gateway and agent configurations in real
// braid processes, with certificates made in the test, and handshake with
// them on loopback.

// gatewayName is the name in the test gateway's certificate, the one the
// agent checks (BRAID_GATEWAY_SERVER_NAME).
const gatewayName = "braid-gateway-headless"

// shippedOverlay writes what adjusts shipped configurations (merged in
// this order) for a machine without a cluster: no pod cache, pods from
// attributes and log paths only.
func shippedOverlay(t *testing.T, shipped ...string) string {
	t.Helper()
	var extensions []string
	drill := false
	for _, f := range shipped {
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		var cfg struct {
			Extensions map[string]any `json:"extensions"`
			Service    struct {
				Extensions []string `json:"extensions"`
			} `json:"service"`
		}
		require.NoError(t, yaml.Unmarshal(raw, &cfg))
		if cfg.Service.Extensions != nil {
			extensions = cfg.Service.Extensions
		}
		_, hasDrill := cfg.Extensions["drill"]
		drill = drill || hasDrill
	}
	over := map[string]any{
		"service":    map[string]any{"extensions": slices.DeleteFunc(extensions, func(e string) bool { return e == "k8s_pods" })},
		"processors": map[string]any{"correlation": map[string]any{"pod_resolver": ""}},
	}
	if drill {
		over["extensions"] = map[string]any{"drill": map[string]any{"pod_resolver": ""}}
	}
	out, err := yaml.Marshal(over)
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "overlay-"+filepath.Base(shipped[0]))
	require.NoError(t, os.WriteFile(path, out, 0o600))
	return path
}

// shippedBraid runs braid on a shipped configuration (gateway.yaml or
// agent.yaml under deploy/configs, then the overlays under deploy/configs
// named in extra) with env, on free loopback ports, until the test ends. It
// returns the process and the addresses it listens on, by variable.
func shippedBraid(t *testing.T, config string, extra []string, env map[string]string, listeners ...string) (*faults.Braid, map[string]string) {
	t.Helper()
	files := []string{filepath.Join("../../deploy/configs", config)}
	for _, e := range extra {
		files = append(files, filepath.Join("../../deploy/configs", e))
	}
	addrs := map[string]string{}
	vars := []string{}
	for _, l := range append([]string{"BRAID_HEALTH_ENDPOINT", "BRAID_ADMIN_ENDPOINT"}, listeners...) {
		addrs[l] = testnet.FreeAddr(t)
		vars = append(vars, l+"="+addrs[l])
	}
	_, telemetryPort, _ := net.SplitHostPort(testnet.FreeAddr(t))
	addrs["telemetry"] = "127.0.0.1:" + telemetryPort
	vars = append(vars, "BRAID_TELEMETRY_HOST=127.0.0.1", "BRAID_TELEMETRY_PORT="+telemetryPort,
		"BRAID_STORAGE_DIR="+t.TempDir())
	for k, v := range env {
		vars = append(vars, k+"="+v)
	}
	var uris []string
	for _, f := range append(files, shippedOverlay(t, files...)) {
		uris = append(uris, "file:"+f)
	}
	b := &faults.Braid{
		Binary:  braidBinary(t),
		Configs: uris,
		Env:     vars,
		LogPath: filepath.Join(t.TempDir(), "braid.log"),
		Health:  addrs["BRAID_HEALTH_ENDPOINT"],
		Admin:   addrs["BRAID_ADMIN_ENDPOINT"],
	}
	require.NoError(t, b.Start(context.Background()))
	t.Cleanup(func() {
		b.Stop()
		if t.Failed() {
			t.Logf("%s log:\n%s", config, faults.Tail(b.LogPath, 6000))
		}
	})
	return b, addrs
}

// traceSink is an OTLP gRPC trace backend (the gateway's Jaeger) that counts
// the spans it receives.
type traceSink struct {
	ptraceotlp.UnimplementedGRPCServer
	spans atomic.Int64
	addr  string
}

func (s *traceSink) Export(_ context.Context, req ptraceotlp.ExportRequest) (ptraceotlp.ExportResponse, error) {
	s.spans.Add(int64(req.Traces().SpanCount()))
	return ptraceotlp.NewExportResponse(), nil
}

func startTraceSink(t *testing.T) *traceSink {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := &traceSink{addr: l.Addr().String()}
	srv := grpc.NewServer()
	ptraceotlp.RegisterGRPCServer(srv, s)
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(srv.Stop)
	return s
}

// tlsGateway runs the shipped gateway with mTLS on (BRAID_TLS=true, as in
// deploy/kubernetes), its certificates in dir, its Jaeger at jaeger, and
// returns its listeners' addresses.
func tlsGateway(t *testing.T, dir tlsDir, jaeger string, env map[string]string, extra ...string) map[string]string {
	t.Helper()
	all := map[string]string{
		"BRAID_TLS":                 "true",
		"BRAID_TLS_CERT_FILE":       dir.file("tls.crt"),
		"BRAID_TLS_KEY_FILE":        dir.file("tls.key"),
		"BRAID_TLS_CA_FILE":         dir.file("ca.crt"),
		"BRAID_TLS_RELOAD_INTERVAL": "1s",
	}
	gatewayBackends(t, jaeger, all)
	for k, v := range env {
		all[k] = v
	}
	_, addrs := shippedBraid(t, "gateway.yaml", extra, all, "BRAID_OTLP_GRPC_ENDPOINT", "BRAID_OTLP_HTTP_ENDPOINT",
		"BRAID_LOKI_RECEIVER_ENDPOINT", "BRAID_PROMETHEUS_ENDPOINT", "BRAID_DRILL_ENDPOINT")
	return addrs
}

func oneSpan() ptraceotlp.ExportRequest {
	td := ptrace.NewTraces()
	span := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	span.SetName("checkout")
	span.SetTraceID([16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
	span.SetSpanID([8]byte{1, 2, 3, 4, 5, 6, 7, 8})
	now := time.Now()
	span.SetStartTimestamp(pcommon.NewTimestampFromTime(now.Add(-time.Millisecond)))
	span.SetEndTimestamp(pcommon.NewTimestampFromTime(now))
	return ptraceotlp.NewExportRequestFromTraces(td)
}

// exportOver sends one span over a new connection with creds and returns
// the export's error.
func exportOver(t *testing.T, addr string, creds credentials.TransportCredentials) error {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(creds))
	require.NoError(t, err)
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = ptraceotlp.NewGRPCClient(conn).Export(ctx, oneSpan())
	return err
}

// TestGatewayMTLSRefusesClientsWithoutAFleetCertificate runs the shipped
// gateway as deploy/kubernetes does and handshakes with it: only a client
// with a valid certificate from the fleet CA gets an export through, on
// OTLP gRPC, OTLP HTTP and the Loki push API alike.
func TestGatewayMTLSRefusesClientsWithoutAFleetCertificate(t *testing.T) {
	fleet, other := newTestCA(t, "braid-fleet-ca"), newTestCA(t, "another-ca")
	dir := writeTLSDir(t, t.TempDir(), fleet.valid(t, gatewayName), fleet)
	addrs := tlsGateway(t, dir, startTraceSink(t).addr, nil)

	good := fleet.valid(t, "braid-agent")
	foreign := other.valid(t, "braid-agent")
	expired := fleet.issue(t, "braid-agent", time.Now().Add(-48*time.Hour), time.Now().Add(-time.Hour))
	clients := []struct {
		name string
		cert *leaf
		ok   bool
	}{
		{"no certificate", nil, false},
		{"certificate from another CA", &foreign, false},
		{"expired certificate", &expired, false},
		{"fleet certificate", &good, true},
	}
	for _, c := range clients {
		t.Run(c.name, func(t *testing.T) {
			cfg := clientTLS(t, c.cert, fleet, gatewayName)
			err := exportOver(t, addrs["BRAID_OTLP_GRPC_ENDPOINT"], credentials.NewTLS(cfg))
			if c.ok {
				require.NoError(t, err, "OTLP gRPC")
			} else {
				require.Error(t, err, "OTLP gRPC")
				assert.Equal(t, codes.Unavailable, status.Code(err), "a refused handshake: %v", err)
			}

			hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg}}
			for _, ep := range []struct{ addr, path, body string }{
				{addrs["BRAID_OTLP_HTTP_ENDPOINT"], "/v1/traces", "{}"},
				{addrs["BRAID_LOKI_RECEIVER_ENDPOINT"], "/loki/api/v1/push", `{"streams":[]}`},
			} {
				resp, err := hc.Post("https://"+ep.addr+ep.path, "application/json", strings.NewReader(ep.body))
				if c.ok {
					require.NoError(t, err, ep.path)
					resp.Body.Close()
					assert.Less(t, resp.StatusCode, 300, ep.path)
				} else {
					if err == nil {
						resp.Body.Close()
					}
					assert.Error(t, err, ep.path)
				}
			}
		})
	}

	// Plaintext is refused too: the gateway speaks only TLS.
	assert.Error(t, exportOver(t, addrs["BRAID_OTLP_GRPC_ENDPOINT"], insecure.NewCredentials()))
}

// startTLSAgent runs the shipped agent (and the overlays in extra) with
// the mTLS settings of deploy/kubernetes, its certificates in dir, sending
// to the gateway at gateway; it returns the process and its OTLP gRPC
// address.
func startTLSAgent(t *testing.T, gateway string, dir tlsDir, env map[string]string, extra ...string) (*faults.Braid, string) {
	t.Helper()
	host, port, _ := net.SplitHostPort(gateway)
	all := map[string]string{
		"BRAID_GATEWAY_DNS":         host,
		"BRAID_GATEWAY_PORT":        port,
		"BRAID_GATEWAY_INSECURE":    "false",
		"BRAID_GATEWAY_CA_FILE":     dir.file("ca.crt"),
		"BRAID_GATEWAY_SERVER_NAME": gatewayName,
		"BRAID_TLS_CERT_FILE":       dir.file("tls.crt"),
		"BRAID_TLS_KEY_FILE":        dir.file("tls.key"),
		"BRAID_LOG_INCLUDE":         t.TempDir() + "/*/*/*.log",
		"K8S_NODE_NAME":             "mtls-node",
	}
	for k, v := range env {
		all[k] = v
	}
	b, addrs := shippedBraid(t, "agent.yaml", extra, all, "BRAID_OTLP_GRPC_ENDPOINT", "BRAID_OTLP_HTTP_ENDPOINT")
	return b, addrs["BRAID_OTLP_GRPC_ENDPOINT"]
}

// TestAgentToGatewayOverMTLS runs the shipped agent and gateway with the
// settings of deploy/kubernetes: a span sent to the agent reaches the
// gateway's backend over mTLS; an agent without a fleet certificate gets
// nothing through.
func TestAgentToGatewayOverMTLS(t *testing.T) {
	fleet, other := newTestCA(t, "braid-fleet-ca"), newTestCA(t, "another-ca")
	sink := startTraceSink(t)
	gw := tlsGateway(t, writeTLSDir(t, t.TempDir(), fleet.valid(t, gatewayName), fleet), sink.addr,
		map[string]string{"BRAID_SPAN_METRICS_FLUSH_INTERVAL": "1s"})

	agent := func(t *testing.T, cert leaf) string {
		_, addr := startTLSAgent(t, gw["BRAID_OTLP_GRPC_ENDPOINT"], writeTLSDir(t, t.TempDir(), cert, fleet), nil)
		return addr
	}

	t.Run("agent with a certificate from another CA", func(t *testing.T) {
		addr := agent(t, other.valid(t, "braid-agent"))
		require.NoError(t, exportOver(t, addr, insecure.NewCredentials()), "the agent queues the span on disk")
		time.Sleep(3 * time.Second)
		assert.Zero(t, sink.spans.Load(), "nothing reaches the gateway")
	})
	t.Run("agent with a fleet certificate", func(t *testing.T) {
		addr := agent(t, fleet.valid(t, "braid-agent"))
		require.NoError(t, exportOver(t, addr, insecure.NewCredentials()))
		require.Eventually(t, func() bool { return sink.spans.Load() == 1 }, 30*time.Second, 100*time.Millisecond,
			"the span reaches the gateway's backend")
	})
}

// TestGatewayPicksUpRotatedCertificatesWithoutARestart replaces the
// gateway's certificate, key and fleet CA on disk (a new CA, as a CA
// rotation would): within reload_interval the gateway serves the new
// certificate and takes clients of the new CA, and a client whose
// certificate comes from the old CA is refused, all without a restart.
func TestGatewayPicksUpRotatedCertificatesWithoutARestart(t *testing.T) {
	oldCA, newCA := newTestCA(t, "braid-fleet-ca-1"), newTestCA(t, "braid-fleet-ca-2")
	dir := writeTLSDir(t, t.TempDir(), oldCA.valid(t, gatewayName), oldCA)
	addr := tlsGateway(t, dir, startTraceSink(t).addr, nil)["BRAID_OTLP_GRPC_ENDPOINT"]

	oldClient, newClient := oldCA.valid(t, "braid-agent"), newCA.valid(t, "braid-agent")
	require.NoError(t, exportOver(t, addr, credentials.NewTLS(clientTLS(t, &oldClient, oldCA, gatewayName))))
	require.Error(t, exportOver(t, addr, credentials.NewTLS(clientTLS(t, &newClient, newCA, gatewayName))))

	dir.replace(t, newCA.valid(t, gatewayName), newCA)
	require.Eventually(t, func() bool {
		return exportOver(t, addr, credentials.NewTLS(clientTLS(t, &newClient, newCA, gatewayName))) == nil
	}, 15*time.Second, 200*time.Millisecond, "the new certificate and CA are in use")
	// The old client, even trusting whatever the gateway serves now, is
	// refused: its CA is no longer the fleet's.
	both := clientTLS(t, &oldClient, oldCA, gatewayName)
	both.RootCAs.AddCert(newCA.cert)
	err := exportOver(t, addr, credentials.NewTLS(both))
	require.Error(t, err)
	assert.Equal(t, codes.Unavailable, status.Code(err))
}

// TestAgentToGatewayInPlaintextByDefault runs the shipped agent and gateway
// with none of the TLS variables set, as make faults, make e2e and local
// runs do: the hop stays plaintext and delivers.
func TestAgentToGatewayInPlaintextByDefault(t *testing.T) {
	sink := startTraceSink(t)
	_, gw := shippedBraid(t, "gateway.yaml", nil, gatewayBackends(t, sink.addr, map[string]string{}),
		"BRAID_OTLP_GRPC_ENDPOINT", "BRAID_OTLP_HTTP_ENDPOINT", "BRAID_LOKI_RECEIVER_ENDPOINT",
		"BRAID_PROMETHEUS_ENDPOINT", "BRAID_DRILL_ENDPOINT")
	require.NoError(t, exportOver(t, gw["BRAID_OTLP_GRPC_ENDPOINT"], insecure.NewCredentials()), "the gateway takes plaintext")
	host, port, _ := net.SplitHostPort(gw["BRAID_OTLP_GRPC_ENDPOINT"])
	_, agent := shippedBraid(t, "agent.yaml", nil, map[string]string{
		"BRAID_GATEWAY_DNS":  host,
		"BRAID_GATEWAY_PORT": port,
		"BRAID_LOG_INCLUDE":  t.TempDir() + "/*/*/*.log",
		"K8S_NODE_NAME":      "plain-node",
	}, "BRAID_OTLP_GRPC_ENDPOINT", "BRAID_OTLP_HTTP_ENDPOINT")
	require.NoError(t, exportOver(t, agent["BRAID_OTLP_GRPC_ENDPOINT"], insecure.NewCredentials()))
	require.Eventually(t, func() bool { return sink.spans.Load() == 2 }, 30*time.Second, 100*time.Millisecond,
		"both spans reach the gateway's backend")
}
