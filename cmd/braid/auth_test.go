package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"sigs.k8s.io/yaml"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/braidobs/braid/internal/authmetrics"
	"github.com/braidobs/braid/internal/faults"
	"github.com/braidobs/braid/internal/promtext"
	"github.com/braidobs/braid/internal/testnet"
)

const (
	senderToken = "sender-s3cret-1"
	drillToken  = "drill-s3cret-1"
	adminSecret = "admin-s3cret-1"
)

// authFiles writes the token files deploy/configs/auth/*.yaml read.
func authFiles(t *testing.T) map[string]string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"BRAID_SENDER_TOKENS_FILE": filepath.Join(dir, "sender-tokens"),
		"BRAID_DRILL_TOKENS_FILE":  filepath.Join(dir, "drill-tokens"),
		"BRAID_GATEWAY_TOKEN_FILE": filepath.Join(dir, "gateway-token"),
		"BRAID_ADMIN_TOKEN_FILE":   filepath.Join(dir, "admin-token"),
	}
	for name, content := range map[string]string{
		"BRAID_SENDER_TOKENS_FILE": senderToken + "\nsender-s3cret-2 # a second sender\n",
		"BRAID_DRILL_TOKENS_FILE":  drillToken + "\n",
		"BRAID_GATEWAY_TOKEN_FILE": senderToken + "\n",
		"BRAID_ADMIN_TOKEN_FILE":   adminSecret + "\n",
	} {
		require.NoError(t, os.WriteFile(files[name], []byte(content), 0o600))
	}
	return files
}

func httpStatus(t *testing.T, method, url, token, body string) int {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func grpcExport(t *testing.T, addr, token string) error {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if token != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
	}
	_, err = ptraceotlp.NewGRPCClient(conn).Export(ctx, oneSpan())
	return err
}

// TestGatewayEndpointsRefuseRequestsWithoutAToken runs the shipped gateway
// with deploy/configs/auth/gateway.yaml and an admin token: on each
// endpoint, no token or a wrong one is refused (401, gRPC UNAUTHENTICATED)
// and the right one passes, each decision counted in braid_auth_requests. No
// token appears in braid's output.
func TestGatewayEndpointsRefuseRequestsWithoutAToken(t *testing.T) {
	env := authFiles(t)
	env["BRAID_TLS"] = "false" // tokens alone here; with mTLS in TestZeroTrustAgentToGateway
	b, addrs := shippedBraid(t, "gateway.yaml", []string{"auth/gateway.yaml"}, gatewayBackends(t, startTraceSink(t).addr, env),
		"BRAID_OTLP_GRPC_ENDPOINT", "BRAID_OTLP_HTTP_ENDPOINT", "BRAID_LOKI_RECEIVER_ENDPOINT",
		"BRAID_PROMETHEUS_ENDPOINT", "BRAID_DRILL_ENDPOINT")

	t.Run("OTLP gRPC", func(t *testing.T) {
		for _, tok := range []string{"", "wrong", drillToken} {
			err := grpcExport(t, addrs["BRAID_OTLP_GRPC_ENDPOINT"], tok)
			assert.Equal(t, codes.Unauthenticated, status.Code(err), "token %q: %v", tok, err)
		}
		assert.NoError(t, grpcExport(t, addrs["BRAID_OTLP_GRPC_ENDPOINT"], senderToken))
		assert.NoError(t, grpcExport(t, addrs["BRAID_OTLP_GRPC_ENDPOINT"], "sender-s3cret-2"), "every line of the file is a token")
	})
	endpoints := []struct {
		name, method, url, body, token string
		ok                             int // 0: anything but 401 and 403
	}{
		{"OTLP HTTP", http.MethodPost, "http://" + addrs["BRAID_OTLP_HTTP_ENDPOINT"] + "/v1/traces", "{}", senderToken, http.StatusOK},
		{"Loki push", http.MethodPost, "http://" + addrs["BRAID_LOKI_RECEIVER_ENDPOINT"] + "/loki/api/v1/push", `{"streams":[]}`, senderToken, http.StatusNoContent},
		{"drill API", http.MethodGet, "http://" + addrs["BRAID_DRILL_ENDPOINT"] + "/api/v1/traces/0102030405060708090a0b0c0d0e0f10", "", drillToken, 0},
		{"admin endpoint", http.MethodPost, "http://" + addrs["BRAID_ADMIN_ENDPOINT"] + "/-/reload", "", adminSecret, http.StatusOK},
	}
	for _, e := range endpoints {
		t.Run(e.name, func(t *testing.T) {
			for _, tok := range []string{"", "wrong"} {
				assert.Equal(t, http.StatusUnauthorized, httpStatus(t, e.method, e.url, tok, e.body), "token %q", tok)
			}
			got := httpStatus(t, e.method, e.url, e.token, e.body)
			if e.ok == 0 { // what the answer is belongs to the endpoint: past the authenticator
				assert.NotContains(t, []int{http.StatusUnauthorized, http.StatusForbidden}, got)
			} else {
				assert.Equal(t, e.ok, got)
			}
		})
	}
	// The senders' token does not open the drill API, nor the admin endpoint.
	assert.Equal(t, http.StatusUnauthorized, httpStatus(t, http.MethodGet, endpoints[2].url, senderToken, ""))
	assert.Equal(t, http.StatusUnauthorized, httpStatus(t, http.MethodPost, endpoints[3].url, senderToken, ""))

	// Every decision above is counted, per authenticator.
	assert.Equal(t, map[string]float64{
		"bearertokenauth/senders accepted": 2 + 1 + 1, // gRPC ×2, HTTP, Loki
		"bearertokenauth/senders refused":  3 + 2 + 2,
		"bearertokenauth/drill accepted":   1,
		"bearertokenauth/drill refused":    2 + 1,
		"admin refused":                    2 + 1,
	}, authRequests(t, addrs["telemetry"]))

	b.Stop()
	assert.NotContains(t, faults.Tail(b.LogPath, 1<<20), "s3cret")
}

// authRequests reads braid_auth_requests from the self-metrics at addr, by
// "authenticator outcome".
func authRequests(t *testing.T, addr string) map[string]float64 {
	t.Helper()
	families, err := promtext.Parse(strings.NewReader(scrape(t, "http://"+addr+"/metrics", false)))
	require.NoError(t, err)
	out := map[string]float64{}
	for _, m := range families[authmetrics.RequestsMetric].GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		out[labels[authmetrics.AuthenticatorLabel]+" "+labels[authmetrics.OutcomeLabel]] += m.GetCounter().GetValue()
	}
	return out
}

// gatewayBackends adds the gateway's backends to env: Jaeger at jaeger, the
// others at addresses nobody listens on (their queues wait).
func gatewayBackends(t *testing.T, jaeger string, env map[string]string) map[string]string {
	env["BRAID_JAEGER_OTLP_ENDPOINT"] = jaeger
	env["BRAID_PROMETHEUS_REMOTE_WRITE_URL"] = "http://" + testnet.FreeAddr(t) + "/api/v1/write"
	env["BRAID_LOKI_ENDPOINT"] = "http://" + testnet.FreeAddr(t) + "/loki/api/v1/push"
	return env
}

// TestZeroTrustAgentToGateway runs agent and gateway as a security review
// would want them: mTLS and a token on the hop. A span sent to the agent
// reaches the gateway's backend; an agent with the fleet certificate but
// a wrong token gets nothing through.
func TestZeroTrustAgentToGateway(t *testing.T) {
	fleet := newTestCA(t, "braid-fleet-ca")
	sink := startTraceSink(t)
	env := authFiles(t)
	gw := tlsGateway(t, writeTLSDir(t, t.TempDir(), fleet.valid(t, gatewayName), fleet), sink.addr, env, "auth/gateway.yaml")

	agent := func(t *testing.T, token string) (*faults.Braid, string) {
		dir := writeTLSDir(t, t.TempDir(), fleet.valid(t, "braid-agent"), fleet)
		tokenFile := filepath.Join(t.TempDir(), "gateway-token")
		require.NoError(t, os.WriteFile(tokenFile, []byte(token+"\n"), 0o600))
		return startTLSAgent(t, gw["BRAID_OTLP_GRPC_ENDPOINT"], dir, map[string]string{"BRAID_GATEWAY_TOKEN_FILE": tokenFile},
			"auth/agent.yaml")
	}
	t.Run("wrong token", func(t *testing.T) {
		_, addr := agent(t, "wrong-s3cret")
		require.NoError(t, exportOver(t, addr, insecure.NewCredentials()))
		time.Sleep(3 * time.Second)
		assert.Zero(t, sink.spans.Load())
	})
	t.Run("fleet certificate and token", func(t *testing.T) {
		b, addr := agent(t, senderToken)
		require.NoError(t, exportOver(t, addr, insecure.NewCredentials()))
		require.Eventually(t, func() bool { return sink.spans.Load() == 1 }, 30*time.Second, 100*time.Millisecond)
		b.Stop()
		assert.NotContains(t, faults.Tail(b.LogPath, 1<<20), "s3cret", "the agent never logs its token")
	})
}

// TestValidateNeverPrintsSecrets runs `braid validate` on a configuration
// with inline tokens and an error next to them: the error is reported, the
// tokens are not.
func TestValidateNeverPrintsSecrets(t *testing.T) {
	cfg := `extensions:
  bearertokenauth:
    token: ${env:BRAID_TEST_TOKEN}
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:0
        auth: {authenticator: bearertokenauth}
  loki:
    tenants:
      - tenant: a
        tokens: ["tenant-s3cret-x"]
      - tenant: b
        tokens: ["tenant-s3cret-x"]
exporters:
  debug: {}
service:
  extensions: [bearertokenauth]
  pipelines:
    logs: {receivers: [otlp, loki], exporters: [debug]}
`
	path := filepath.Join(t.TempDir(), "config.yaml")
	require.NoError(t, os.WriteFile(path, []byte(cfg), 0o600))
	cmd := exec.Command(braidBinary(t), "validate", "--config=file:"+path)
	cmd.Env = append(os.Environ(), "BRAID_TEST_TOKEN=inline-s3cret-y")
	out, err := cmd.CombinedOutput()
	require.Error(t, err, "the shared token is refused")
	assert.Contains(t, string(out), "tenants[1].tokens[0] is also a token of tenants[0]")
	assert.NotContains(t, string(out), "s3cret")
}

// TestAuthOverlaysFitTheShippedConfigs validates each shipped config merged
// with its deploy/configs/auth overlay, and holds the overlay's extension
// list (which replaces the shipped one) to the shipped list plus the
// overlay's own authenticators.
func TestAuthOverlaysFitTheShippedConfigs(t *testing.T) {
	for _, name := range []string{"gateway.yaml", "agent.yaml"} {
		t.Run(name, func(t *testing.T) {
			shipped, overlay := "../../deploy/configs/"+name, "../../deploy/configs/auth/"+name
			require.NoError(t, validate("file:"+shipped, "file:"+overlay))
			type cfg struct {
				Extensions map[string]any `json:"extensions"`
				Service    struct {
					Extensions []string `json:"extensions"`
				} `json:"service"`
			}
			var s, o cfg
			for f, c := range map[string]*cfg{shipped: &s, overlay: &o} {
				raw, err := os.ReadFile(f)
				require.NoError(t, err)
				require.NoError(t, yaml.Unmarshal(raw, c))
			}
			want := slices.Clone(s.Service.Extensions)
			for id := range o.Extensions {
				if strings.HasPrefix(id, "bearertokenauth") {
					want = append(want, id)
				}
			}
			assert.ElementsMatch(t, want, o.Service.Extensions)
		})
	}
}

// TestRunningBraidNeverLogsInlineSecrets runs braid on a configuration with
// tokens written inline (an authenticator's, the Loki receiver's tenants)
// at debug level: none of them appears in its output, startup summary
// included.
func TestRunningBraidNeverLogsInlineSecrets(t *testing.T) {
	t.Setenv("BRAID_TEST_TOKEN", "inline-s3cret-auth")
	w := plainFile{file: filepath.Join(t.TempDir(), "config.yaml")}
	b := launchBraid(t, func(b *braidProcess) []string {
		b.otlpHTTP, b.telemetry = testnet.FreeAddr(t), testnet.FreeAddr(t)
		cfg := strings.Replace(reloadConfig(b.otlpHTTP, b.telemetry, "basic"), "receivers:\n", `extensions:
  bearertokenauth:
    token: ${env:BRAID_TEST_TOKEN}
receivers:
  loki:
    endpoint: `+testnet.FreeAddr(t)+`
    auth: {authenticator: bearertokenauth}
    tenants:
      - tenant: shop
        tokens: ["inline-s3cret-tenant"]
`, 1)
		cfg = strings.Replace(cfg, "    traces: {receivers: [otlp], exporters: [debug]}\n",
			"    traces: {receivers: [otlp], exporters: [debug]}\n    logs: {receivers: [loki], exporters: [debug]}\n", 1)
		cfg = strings.Replace(cfg, "service:\n", "service:\n  extensions: [bearertokenauth]\n", 1)
		cfg = strings.Replace(cfg, "      level: info\n", "      level: debug\n", 1)
		w.write(t, cfg)
		return []string{"--config=file:" + w.path(), "--watch-config=false"}
	}, w)
	assert.Equal(t, http.StatusOK, b.postReloadStatus(t))
	require.Contains(t, b.output.String(), "Loki push API listening", "the configuration with the tokens runs")
	require.Contains(t, b.output.String(), "debug", "at debug level")
	assert.NotContains(t, b.output.String(), "s3cret")
}

func (b *braidProcess) postReloadStatus(t *testing.T) int {
	t.Helper()
	status, _ := b.postReload(t)
	return status
}
