package main

// The Helm chart (deploy/helm/braid) against the Kustomize manifests, which
// stay the one source of truth: for each choice both offer, the chart renders
// the same objects, field for field. make kube runs these with helm and
// kubectl built from source; without them on PATH, make test skips them.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// objectsByKey parses a multi-document YAML stream into generic objects,
// keyed by kind, namespace and name.
func objectsByKey(t *testing.T, manifests []byte) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	docs := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(manifests)))
	for {
		doc, err := docs.Read()
		if errors.Is(err, io.EOF) {
			return out
		}
		require.NoError(t, err)
		var o map[string]any
		require.NoError(t, yaml.Unmarshal(doc, &o))
		if o == nil {
			continue // a template that rendered nothing
		}
		meta, _ := o["metadata"].(map[string]any)
		key := o["kind"].(string) + "/" + stringOf(meta["namespace"]) + "/" + stringOf(meta["name"])
		_, dup := out[key]
		require.False(t, dup, "%s rendered twice", key)
		out[key] = o
	}
}

// namedLists are the lists whose order the comparison leaves out:
// Kustomize puts a patch's entries first, the chart puts them after the
// base's. Their order carries no meaning here: no Braid container's
// variable refers to another ($(VAR)), and volumes and mounts are matched
// by name and path.
var namedLists = map[string]bool{"env": true, "volumes": true, "volumeMounts": true}

// sortNamedLists sorts every list in namedLists, anywhere in o, by its
// entries' name (mountPath for mounts), and fails on a $(VAR) reference,
// for which the order of env would matter.
func sortNamedLists(t *testing.T, o any) {
	t.Helper()
	switch o := o.(type) {
	case map[string]any:
		for k, v := range o {
			if l, ok := v.([]any); ok && namedLists[k] {
				slices.SortFunc(l, func(a, b any) int {
					return strings.Compare(listKey(a), listKey(b))
				})
			}
			if s, ok := v.(string); ok && k == "value" {
				require.NotContains(t, s, "$(", "an env value refers to another variable: compare env in order")
			}
			sortNamedLists(t, v)
		}
	case []any:
		for _, v := range o {
			sortNamedLists(t, v)
		}
	}
}

func listKey(entry any) string {
	m, _ := entry.(map[string]any)
	return stringOf(m["name"]) + "\x00" + stringOf(m["mountPath"])
}

func stringOf(v any) string {
	s, _ := v.(string)
	return s
}

func objectKeys(m map[string]map[string]any) []string {
	return slices.Sorted(maps.Keys(m))
}

// TestHelmChartRendersWhatKustomizeDoes holds the chart to the Kustomize
// manifests: the defaults to deploy/kubernetes, and each ci/ values file to
// the overlay or component it names, object for object and field for field.
func TestHelmChartRendersWhatKustomizeDoes(t *testing.T) {
	for _, c := range helmCases {
		if c.kustomize == "" {
			continue
		}
		t.Run(c.helm.name, func(t *testing.T) {
			want := objectsByKey(t, kustomizeNamed(t, c.kustomize).render(t))
			got := objectsByKey(t, c.helm.render(t))
			for _, objs := range []map[string]map[string]any{want, got} {
				for _, o := range objs {
					sortNamedLists(t, o)
				}
			}
			require.Equal(t, objectKeys(want), objectKeys(got), "the objects rendered")
			for _, k := range objectKeys(want) {
				assert.Equal(t, want[k], got[k], k)
			}
			t.Logf("%d objects equal to kubectl kustomize's (%s)", len(got), c.kustomize)
		})
	}
}

// TestHelmChartWorkloadsRunValidConfigs decodes every rendering strictly
// and validates what each Braid container runs: its --config files merged
// from the ConfigMaps it mounts, in its environment; the chart-only
// choices (plaintext, Kafka and tokens at once, the user's own config
// merged last) included.
func TestHelmChartWorkloadsRunValidConfigs(t *testing.T) {
	for _, c := range helmCases {
		t.Run(c.helm.name, func(t *testing.T) {
			workloadsRun(t, c.helm.render(t), c.configs)
		})
	}
}

// TestHelmChartChoicesReachTheWorkloads checks what only the chart renders
// (the custom values) where it lands: plaintext on both sides, the
// gateways' fixed count without an autoscaler, the user's config as the
// last --config and its environment after the chart's.
func TestHelmChartChoicesReachTheWorkloads(t *testing.T) {
	var custom rendering
	for _, c := range helmCases {
		if c.helm.name == "custom" {
			custom = c.helm
		}
	}
	objs := objectsByKey(t, custom.render(t))
	for k := range objs {
		assert.NotContains(t, k, "HorizontalPodAutoscaler/", "autoscaling is off")
	}
	manifests, err := decodeAll(bytes.NewReader(custom.render(t)))
	require.NoError(t, err)
	pods := podSpecs(manifests)

	gw, _ := braidContainer(t, pods["braid-gateway"])
	assert.Equal(t, "false", envOf(gw, "BRAID_TLS"), "the gateway's receivers take plaintext")
	assert.Equal(t, "0.0.0.0:8890", envOf(gw, "BRAID_DRILL_ENDPOINT"))
	assert.Equal(t, "eu-west-1", envOf(gw, "BRAID_CLUSTER_NAME"))
	assert.Equal(t, "http://mimir.observability.svc:8080/api/v1/push", envOf(gw, "BRAID_PROMETHEUS_REMOTE_WRITE_URL"))
	assert.Equal(t, "[kafka-0.kafka:9092, kafka-1.kafka:9092]", envOf(gw, "BRAID_KAFKA_BROKERS"))
	assert.Equal(t, "--config=file:/etc/braid/gateway-values.yaml", gw.Args[len(gw.Args)-1])
	for _, v := range pods["braid-gateway"].Volumes {
		assert.NotEqual(t, "tls", v.Name, "no certificate Secret to wait for")
	}

	agent, _ := braidContainer(t, pods["braid-agent"])
	assert.Equal(t, "true", envOf(agent, "BRAID_GATEWAY_INSECURE"))
	assert.Empty(t, envOf(agent, "BRAID_GATEWAY_CA_FILE"))
	assert.Equal(t, "BRAID_LOG_INCLUDE", agent.Env[len(agent.Env)-1].Name, "the user's environment comes last")
	assert.Equal(t, "800", envOf(agent, "BRAID_MEMORY_LIMIT_MIB"))
	assert.Equal(t, []string{
		"--config=file:/etc/braid/agent.yaml", "--config=file:/etc/braid/kafka-agent.yaml",
		"--config=file:/etc/braid/agent-auth.yaml", "--config=file:/etc/braid/agent-values.yaml",
	}, agent.Args)

	cm := objs["ConfigMap/braid/braid-agent-config"]["data"].(map[string]any)
	assert.Equal(t, "processors:\n  memory_limiter:\n    check_interval: 2s\n", cm["agent-values.yaml"])
	np := objs["NetworkPolicy/braid/braid-gateway"]
	assert.Contains(t, mustJSON(t, np), `"kubernetes.io/metadata.name":"observability"`)
}

func envOf(c corev1.Container, name string) string {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

// TestHelmChartNamespaceIsOptional: by default the chart leaves the
// namespace to helm install --create-namespace (or to whoever owns it).
func TestHelmChartNamespaceIsOptional(t *testing.T) {
	objs := objectsByKey(t, helmRendering("no-namespace", nil).render(t))
	assert.NotContains(t, objs, "Namespace//braid")
	assert.Contains(t, objs, "DaemonSet/braid/braid-agent")
}

// TestHelmChartLintsStrictly runs helm lint --strict on the defaults and on
// every values file under ci/.
func TestHelmChartLintsStrictly(t *testing.T) {
	helm := kubeToolFor(t, "helm")
	files, err := filepath.Glob(filepath.Join(chartDir, "ci", "*.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range append([]string{""}, files...) {
		name := filepath.Base(f)
		args := []string{"lint", "--strict", chartDir}
		if f == "" {
			name = "defaults"
		} else {
			args = append(args, "--values", f)
		}
		t.Run(name, func(t *testing.T) {
			out, err := exec.Command(helm, args...).CombinedOutput()
			require.NoError(t, err, "%s", out)
			assert.Contains(t, string(out), "0 chart(s) failed")
		})
	}
}

// TestHelmChartRefusesBadValuesNamingTheKey: values.schema.json refuses a
// key the chart does not have, or a value of the wrong kind, and helm's
// error names it.
func TestHelmChartRefusesBadValuesNamingTheKey(t *testing.T) {
	helm := kubeToolFor(t, "helm")
	for _, tc := range []struct {
		name, set, want string
	}{
		{"unknown key", "agent.replicas=3", "replicas"},
		{"misspelt feature", "mtls.enable=false", "enable"},
		{"wrong type", "gateway.autoscaling.minReplicas=two", "minReplicas"},
		{"utilization above 100", "gateway.autoscaling.targetCPUUtilization=150", "targetCPUUtilization"},
		{"broker without port", "kafka.brokers={kafka}", "brokers"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := exec.Command(helm, "template", "braid", chartDir, "--set", tc.set).CombinedOutput()
			require.Error(t, err, "%s", out)
			assert.Contains(t, string(out), "values don't meet the specifications of the schema")
			assert.Contains(t, string(out), tc.want)
		})
	}
}

// chartConfigCopies maps the chart's config files, which Helm reads only
// from inside the chart, to their originals.
var chartConfigCopies = map[string]string{
	"agent.yaml":         "../../deploy/configs/agent.yaml",
	"gateway.yaml":       "../../deploy/configs/gateway.yaml",
	"kafka-agent.yaml":   "../../deploy/configs/kafka-agent.yaml",
	"kafka-gateway.yaml": "../../deploy/configs/kafka-gateway.yaml",
	"auth/agent.yaml":    "../../deploy/configs/auth/agent.yaml",
	"auth/gateway.yaml":  "../../deploy/configs/auth/gateway.yaml",
}

// TestHelmChartConfigCopies keeps the chart's files/ equal to the shipped
// configs and its sidecar.yaml to the sidecar example's (refresh with
// -update-k8s-configs); every file there is one of them.
func TestHelmChartConfigCopies(t *testing.T) {
	sidecar := configSources(t)["braid-sidecar-config/sidecar.yaml"].text
	require.NotEmpty(t, sidecar)
	var present []string
	require.NoError(t, filepath.WalkDir(filepath.Join(chartDir, "files"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(filepath.Join(chartDir, "files"), p)
			present = append(present, rel)
		}
		return err
	}))
	want := []string{"sidecar.yaml"}
	for f := range chartConfigCopies {
		want = append(want, f)
	}
	assert.ElementsMatch(t, want, present, "files/ holds the copies and nothing else")

	for _, f := range want {
		t.Run(f, func(t *testing.T) {
			original := sidecar
			if src, ok := chartConfigCopies[f]; ok {
				b, err := os.ReadFile(src)
				require.NoError(t, err)
				original = string(b)
			}
			path := filepath.Join(chartDir, "files", f)
			if *updateK8sConfigs {
				require.NoError(t, os.WriteFile(path, []byte(original), 0o644))
			}
			got, err := os.ReadFile(path)
			require.NoError(t, err)
			assert.Equal(t, original, string(got),
				"%s differs from its original: go test ./cmd/braid -run TestHelmChartConfigCopies -update-k8s-configs", path)
		})
	}
}
