package main

// The manifests a user can apply, as kubectl and helm render them: checked
// here against each other and the configs they run, applied to a real API
// server by apiserver_test.go (make kube).

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// rendering is one set of manifests a user would apply.
type rendering struct {
	name string
	// render returns the manifests, a multi-document YAML stream.
	render func(t *testing.T) []byte
}

// kustomizeRendering renders dir (relative to deploy/) with kubectl.
func kustomizeRendering(name, dir string) rendering {
	return rendering{name, func(t *testing.T) []byte {
		out, err := exec.Command(kubectlFor(t), "kustomize", filepath.Join("../../deploy", dir)).Output()
		require.NoError(t, err, "kubectl kustomize %s: %s", dir, stderrOf(err))
		return out
	}}
}

// componentRendering renders the base with components, as a user's overlay
// would.
func componentRendering(name string, components ...string) rendering {
	return rendering{name, func(t *testing.T) []byte {
		dir, err := os.MkdirTemp(filepath.Dir(k8sDir), ".overlay-test-")
		require.NoError(t, err)
		t.Cleanup(func() { os.RemoveAll(dir) })
		paths := make([]string, len(components))
		for i, c := range components {
			paths[i] = "../kubernetes/components/" + c
		}
		require.NoError(t, os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte("resources: [../kubernetes]\n"+
			"components: ["+strings.Join(paths, ", ")+"]\n"), 0o600))
		out, err := exec.Command(kubectlFor(t), "kustomize", dir).Output()
		require.NoError(t, err, "kubectl kustomize with %v: %s", components, stderrOf(err))
		return out
	}}
}

func stderrOf(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return string(ee.Stderr)
	}
	return ""
}

// kustomizeRenderings is everything deploy/ lets a user apply with
// kubectl apply -k.
var kustomizeRenderings = []rendering{
	kustomizeRendering("kubernetes", "kubernetes"),
	kustomizeRendering("sidecar", "kubernetes/sidecar"),
	kustomizeRendering("hub", "overlays/hub"),
	kustomizeRendering("spoke", "overlays/spoke"),
	componentRendering("token-auth", "token-auth"),
	componentRendering("kafka", "kafka"),
	componentRendering("cert-manager", "cert-manager"),
}

// withoutCertManager drops cert-manager's objects (Issuer, Certificate):
// their kinds exist only where cert-manager's CRDs are installed, which this
// control plane does not have. It returns the rest and what it dropped.
func withoutCertManager(manifests []byte) ([]byte, []string) {
	var keep [][]byte
	var dropped []string
	for _, d := range bytes.Split(manifests, []byte("\n---\n")) {
		if bytes.Contains(d, []byte("apiVersion: cert-manager.io/")) {
			kind, name := "", ""
			for _, l := range strings.Split(string(d), "\n") {
				if v, ok := strings.CutPrefix(l, "kind: "); ok {
					kind = v
				}
				if v, ok := strings.CutPrefix(l, "  name: "); ok && name == "" {
					name = v
				}
			}
			dropped = append(dropped, kind+"/"+name)
			continue
		}
		keep = append(keep, d)
	}
	return bytes.Join(keep, []byte("\n---\n")), dropped
}

const chartDir = "../../deploy/helm/braid"

// helmRendering renders the chart as `helm template braid -n braid` with
// the values files under the chart's ci/ and --set flags given.
func helmRendering(name string, values []string, set ...string) rendering {
	return rendering{name, func(t *testing.T) []byte {
		args := []string{"template", "braid", chartDir, "--namespace", "braid"}
		for _, v := range values {
			args = append(args, "--values", filepath.Join(chartDir, "ci", v))
		}
		for _, s := range set {
			args = append(args, "--set", s)
		}
		out, err := exec.Command(kubeToolFor(t, "helm"), args...).Output()
		require.NoError(t, err, "helm %s: %s", strings.Join(args, " "), stderrOf(err))
		return out
	}}
}

// helmCase is one choice of chart values, the name of the Kustomize
// rendering it must equal object for object ("" for what only the chart
// offers), and how many --config files each workload's Braid container
// runs.
type helmCase struct {
	helm      rendering
	kustomize string
	configs   map[string]int
}

// withNamespace: the base and the overlays built on it hold the Namespace;
// the chart makes it when asked (helm install --create-namespace is the
// other way).
const withNamespace = "namespace.create=true"

var (
	bothWorkloads = func(n int) map[string]int { return map[string]int{"braid-agent": n, "braid-gateway": n} }
	helmCases     = []helmCase{
		{helmRendering("defaults", nil, withNamespace), "kubernetes", bothWorkloads(1)},
		{helmRendering("sidecar", []string{"sidecar-values.yaml"}), "sidecar", map[string]int{"checkout": 1}},
		{helmRendering("hub", []string{"hub-values.yaml"}, withNamespace), "hub", map[string]int{"braid-gateway": 2}},
		{helmRendering("spoke", []string{"spoke-values.yaml"}, withNamespace), "spoke", map[string]int{"braid-agent": 2}},
		{helmRendering("token-auth", []string{"token-auth-values.yaml"}, withNamespace), "token-auth", bothWorkloads(2)},
		{helmRendering("kafka", []string{"kafka-values.yaml"}, withNamespace), "kafka", bothWorkloads(2)},
		{helmRendering("cert-manager", []string{"cert-manager-values.yaml"}, withNamespace), "cert-manager", bothWorkloads(1)},
		// Plaintext, tokens and Kafka at once, configuration of one's own.
		{helmRendering("custom", []string{"custom-values.yaml"}), "", bothWorkloads(4)},
	}
)

// kustomizeNamed returns the Kustomize rendering of that name.
func kustomizeNamed(t *testing.T, name string) rendering {
	t.Helper()
	for _, r := range kustomizeRenderings {
		if r.name == name {
			return r
		}
	}
	t.Fatalf("no Kustomize rendering named %q", name)
	return rendering{}
}
