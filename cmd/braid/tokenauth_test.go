package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

const tokenAuthDir = k8sDir + "/components/token-auth"

// tokenAuthCopies maps the token-auth component's config files to their
// originals in deploy/configs/auth.
var tokenAuthCopies = map[string]string{
	"gateway-auth.yaml": "../../deploy/configs/auth/gateway.yaml",
	"agent-auth.yaml":   "../../deploy/configs/auth/agent.yaml",
}

// TestKubernetesTokenAuthComponent checks the token-auth component: its
// kustomization and patches decode strictly, its config files are the
// shipped overlays (refresh with -update-k8s-configs), and nothing in its
// directory is unused.
func TestKubernetesTokenAuthComponent(t *testing.T) {
	for copyName, orig := range tokenAuthCopies {
		want, err := os.ReadFile(orig)
		require.NoError(t, err)
		path := filepath.Join(tokenAuthDir, copyName)
		if *updateK8sConfigs {
			require.NoError(t, os.WriteFile(path, want, 0o644))
		}
		got, err := os.ReadFile(path)
		require.NoError(t, err)
		assert.Equal(t, string(want), string(got), "%s differs from %s: go test ./cmd/braid -run TestKubernetesTokenAuthComponent -update-k8s-configs", path, orig)
	}

	b, err := os.ReadFile(filepath.Join(tokenAuthDir, "kustomization.yaml"))
	require.NoError(t, err)
	var k struct {
		APIVersion         string `json:"apiVersion"`
		Kind               string `json:"kind"`
		ConfigMapGenerator []struct {
			Name     string   `json:"name"`
			Behavior string   `json:"behavior"`
			Files    []string `json:"files"`
		} `json:"configMapGenerator"`
		Patches []struct {
			Path string `json:"path"`
		} `json:"patches"`
	}
	require.NoError(t, yaml.UnmarshalStrict(b, &k))
	require.Equal(t, "Component", k.Kind)
	used := map[string]bool{"kustomization.yaml": true}
	for _, g := range k.ConfigMapGenerator {
		assert.Equal(t, "merge", g.Behavior, "adds to the base's %s", g.Name)
		for _, f := range g.Files {
			used[f] = true
		}
	}
	for _, p := range k.Patches {
		used[p.Path] = true
		f, err := os.Open(filepath.Join(tokenAuthDir, p.Path))
		require.NoError(t, err)
		objs, err := decodeAll(f)
		f.Close()
		require.NoError(t, err, p.Path)
		require.Len(t, objs, 1, p.Path)
	}
	files, err := filepath.Glob(filepath.Join(tokenAuthDir, "*"))
	require.NoError(t, err)
	for _, f := range files {
		assert.True(t, used[filepath.Base(f)], "%s is not used by the component", f)
	}
}

// TestKubernetesZeroTrustOverlayRuns renders the base with both components
// (cert-manager and token-auth), as a zero-trust install would, and
// validates every config each Braid container runs, merged in the order of
// its --config flags, in the container's environment.
func TestKubernetesZeroTrustOverlayRuns(t *testing.T) {
	overlayRuns(t, 2, "cert-manager", "token-auth")
}

// overlayRuns renders the base with the given components and validates
// every config each Braid container runs, merged in the order of its
// --config flags, in the container's environment; each container runs
// configs of them.
func overlayRuns(t *testing.T, configs int, components ...string) {
	t.Helper()
	out := componentRendering(strings.Join(components, "+"), components...).render(t)
	workloadsRun(t, out, map[string]int{"braid-gateway": configs, "braid-agent": configs})
}

// renderedRuns renders the kustomization in dir and checks that it holds
// the workloads named want and no other, each one's Braid container running
// a valid configuration of `configs` files (workloadsRun).
func renderedRuns(t *testing.T, kubectl, dir string, configs int, want ...string) {
	t.Helper()
	out, err := exec.Command(kubectl, "kustomize", dir).Output()
	require.NoError(t, err)
	counts := map[string]int{}
	for _, w := range want {
		counts[w] = configs
	}
	workloadsRun(t, out, counts)
}

// workloadsRun checks that manifests hold the workloads named in configs
// and no other, and that each one's Braid container runs a valid
// configuration of that many files, merged as its --config flags say, from
// the ConfigMaps it mounts, in the container's environment.
func workloadsRun(t *testing.T, manifests []byte, configs map[string]int) {
	t.Helper()
	// cert-manager's kinds are not in client-go's scheme: decode the rest.
	manifests, _ = withoutCertManager(manifests)
	objs, err := decodeAll(bytes.NewReader(manifests))
	require.NoError(t, err)

	configMaps := map[string]*corev1.ConfigMap{}
	pods := map[string]corev1.PodSpec{}
	for _, o := range objs {
		switch o := o.(type) {
		case *corev1.ConfigMap:
			configMaps[o.Name] = o
		case *appsv1.DaemonSet:
			pods[o.Name] = o.Spec.Template.Spec
		case *appsv1.Deployment:
			pods[o.Name] = o.Spec.Template.Spec
		}
	}
	var names, want []string
	for name := range pods {
		names = append(names, name)
	}
	for name := range configs {
		want = append(want, name)
	}
	require.ElementsMatch(t, want, names, "the workloads rendered")
	for name, spec := range pods {
		t.Run(name, func(t *testing.T) {
			c, _ := braidContainer(t, spec)
			mounts := map[string]string{} // mount path → ConfigMap
			for _, v := range spec.Volumes {
				for _, m := range c.VolumeMounts {
					if v.ConfigMap != nil && m.Name == v.Name {
						mounts[m.MountPath] = v.ConfigMap.Name
					}
				}
			}
			var uris []string
			for _, a := range c.Args {
				file, ok := strings.CutPrefix(a, "--config=file:")
				require.True(t, ok, a)
				cm, ok := configMaps[mounts[filepath.Dir(file)]]
				require.True(t, ok, "%s is not in a mounted ConfigMap", file)
				text, ok := cm.Data[filepath.Base(file)]
				require.True(t, ok, "%s has no %s", cm.Name, filepath.Base(file))
				path := filepath.Join(t.TempDir(), filepath.Base(file))
				require.NoError(t, os.WriteFile(path, []byte(text), 0o600))
				uris = append(uris, "file:"+path)
			}
			require.Len(t, uris, configs[name], "the shipped config and the overlays")
			for _, e := range c.Env {
				t.Setenv(e.Name, envValue(e))
			}
			assert.NoError(t, validate(uris...))
		})
	}
}
