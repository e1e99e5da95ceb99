package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/json"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/yaml"

	"github.com/braidobs/braid/extensions/k8spodsextension"
	"github.com/braidobs/braid/kube"
)

var updateK8sConfigs = flag.Bool("update-k8s-configs", false, "copy deploy/configs/*.yaml over deploy/kubernetes/configs/")

const k8sDir = "../../deploy/kubernetes"

// kustomizations are the Kustomize roots under deploy/kubernetes.
var kustomizations = []string{k8sDir, filepath.Join(k8sDir, "sidecar")}

// TestKubernetesConfigCopies keeps the ConfigMap sources, which Kustomize
// reads only from under its root, equal to the shipped configs.
func TestKubernetesConfigCopies(t *testing.T) {
	copies, err := filepath.Glob(filepath.Join(k8sDir, "configs", "*.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, copies)
	for _, c := range copies {
		t.Run(filepath.Base(c), func(t *testing.T) {
			want, err := os.ReadFile(filepath.Join("../../deploy/configs", filepath.Base(c)))
			require.NoError(t, err, "every copy has its original in deploy/configs")
			if *updateK8sConfigs {
				require.NoError(t, os.WriteFile(c, want, 0o644))
			}
			got, err := os.ReadFile(c)
			require.NoError(t, err)
			assert.Equal(t, string(want), string(got),
				"%s differs from deploy/configs: go test ./cmd/braid -run TestKubernetesConfigCopies -update-k8s-configs", c)
		})
	}
}

// kustomization is the part of Kustomize's schema Braid uses; strict
// decoding into it refuses anything else, so a typo does not pass unseen.
type kustomization struct {
	APIVersion       string   `json:"apiVersion"`
	Kind             string   `json:"kind"`
	Namespace        string   `json:"namespace"`
	Resources        []string `json:"resources"`
	GeneratorOptions struct {
		DisableNameSuffixHash bool `json:"disableNameSuffixHash"`
	} `json:"generatorOptions"`
	ConfigMapGenerator []struct {
		Name  string   `json:"name"`
		Files []string `json:"files"`
	} `json:"configMapGenerator"`
	Images []struct {
		Name    string `json:"name"`
		NewTag  string `json:"newTag"`
		NewName string `json:"newName"`
	} `json:"images"`
}

func readKustomization(t *testing.T, dir string) kustomization {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	require.NoError(t, err)
	var k kustomization
	require.NoError(t, yaml.UnmarshalStrict(b, &k), dir)
	require.Equal(t, "kustomize.config.k8s.io/v1beta1", k.APIVersion)
	require.Equal(t, "Kustomization", k.Kind)
	return k
}

// strictDecoder decodes YAML into client-go's typed objects and fails on
// unknown or duplicate fields.
var strictDecoder = json.NewSerializerWithOptions(json.DefaultMetaFactory, scheme.Scheme, scheme.Scheme,
	json.SerializerOptions{Yaml: true, Strict: true})

// decodeAll decodes every document of a YAML stream strictly.
func decodeAll(r io.Reader) ([]runtime.Object, error) {
	docs := utilyaml.NewYAMLReader(bufio.NewReader(r))
	var objs []runtime.Object
	for {
		doc, err := docs.Read()
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			return nil, err
		}
		if len(bytes.TrimSpace(stripComments(doc))) == 0 {
			continue
		}
		obj, _, err := strictDecoder.Decode(doc, nil, nil)
		if err != nil {
			return nil, err
		}
		objs = append(objs, obj)
	}
}

func stripComments(doc []byte) []byte {
	var out bytes.Buffer
	for line := range bytes.Lines(doc) {
		if !bytes.HasPrefix(bytes.TrimSpace(line), []byte("#")) {
			out.Write(line)
		}
	}
	return out.Bytes()
}

// manifests decodes every resource of every Kustomize root, by file.
func manifests(t *testing.T) map[string][]runtime.Object {
	t.Helper()
	out := map[string][]runtime.Object{}
	for _, dir := range kustomizations {
		for _, res := range readKustomization(t, dir).Resources {
			path := filepath.Join(dir, res)
			f, err := os.Open(path)
			require.NoError(t, err)
			objs, err := decodeAll(f)
			f.Close()
			require.NoError(t, err, path)
			require.NotEmpty(t, objs, path)
			out[path] = objs
		}
	}
	return out
}

func TestKubernetesManifestsDecodeStrictly(t *testing.T) {
	// Every YAML file is a listed resource, a ConfigMap source, or a
	// kustomization: nothing lies around unused.
	for _, dir := range kustomizations {
		k := readKustomization(t, dir)
		used := map[string]bool{"kustomization.yaml": true}
		for _, r := range k.Resources {
			used[r] = true
		}
		for _, g := range k.ConfigMapGenerator {
			for _, f := range g.Files {
				_, err := os.Stat(filepath.Join(dir, f))
				require.NoError(t, err, "configMapGenerator %s", g.Name)
				used[f] = true
			}
		}
		files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
		require.NoError(t, err)
		more, err := filepath.Glob(filepath.Join(dir, "*", "*.yaml"))
		require.NoError(t, err)
		for _, f := range append(files, more...) {
			rel, err := filepath.Rel(dir, f)
			require.NoError(t, err)
			if strings.HasPrefix(rel, "sidecar"+string(filepath.Separator)) && dir == k8sDir {
				continue // a root of its own
			}
			assert.True(t, used[rel], "%s is not used by %s/kustomization.yaml", rel, dir)
		}
	}

	kinds := map[string]int{}
	for _, objs := range manifests(t) {
		for _, o := range objs {
			kinds[fmt.Sprintf("%T", o)]++
		}
	}
	for _, want := range []string{"*v1.DaemonSet", "*v1.Deployment", "*v1.Service", "*v2.HorizontalPodAutoscaler",
		"*v1.PodDisruptionBudget", "*v1.NetworkPolicy", "*v1.ClusterRole", "*v1.ClusterRoleBinding",
		"*v1.ServiceAccount", "*v1.ConfigMap", "*v1.Namespace"} {
		assert.Positive(t, kinds[want], "no %s among the manifests", want)
	}

	// Both tiers are behind a NetworkPolicy.
	guarded := map[string]bool{}
	for _, objs := range manifests(t) {
		for _, o := range objs {
			if np, ok := o.(*networkingv1.NetworkPolicy); ok {
				guarded[np.Spec.PodSelector.MatchLabels["app.kubernetes.io/name"]] = true
			}
		}
	}
	assert.True(t, guarded["braid-agent"], "a NetworkPolicy selects the agents")
	assert.True(t, guarded["braid-gateway"], "a NetworkPolicy selects the gateways")
}

func TestKubernetesStrictDecodingRefusesUnknownFields(t *testing.T) {
	_, err := decodeAll(strings.NewReader("apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec:\n  selectr: {a: b}\n"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), `unknown field "spec.selectr"`)
}

// kubectlFor returns the kubectl that renders Kustomize for the tests that
// check what it renders.
func kubectlFor(t *testing.T) string { return kubeToolFor(t, "kubectl") }

// kubeToolFor returns the kubectl or helm that the tests rendering manifests
// run. make kube builds both (deploy/local/kube.sh) and runs the tests with
// BRAID_KUBE_BIN set: then a missing tool fails the test. Under make test,
// without the tool on PATH, they skip: make kube runs them.
func kubeToolFor(t *testing.T, name string) string {
	t.Helper()
	if dir := os.Getenv("BRAID_KUBE_BIN"); dir != "" {
		p := filepath.Join(dir, name)
		_, err := os.Stat(p)
		require.NoError(t, err, "%s: build it with deploy/local/kube.sh install", name)
		return p
	}
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s not on PATH: make kube renders and checks this", name)
	}
	return p
}

// TestKubernetesKustomizeBuild checks what Kustomize really renders, when
// kubectl is at hand: generated ConfigMaps and all.
func TestKubernetesKustomizeBuild(t *testing.T) {
	kubectl := kubectlFor(t)
	for _, dir := range kustomizations {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			out, err := exec.Command(kubectl, "kustomize", dir).Output()
			require.NoError(t, err)
			objs, err := decodeAll(bytes.NewReader(out))
			require.NoError(t, err)
			sources := map[string]configSource{}
			var specs []namedSpec
			for _, o := range objs {
				switch o := o.(type) {
				case *corev1.ConfigMap:
					for k, v := range o.Data {
						sources[o.Name+"/"+k] = configSource{o.Name, k, v}
					}
				case *appsv1.DaemonSet:
					specs = append(specs, namedSpec{o.Name, o.Spec.Template.Spec})
				case *appsv1.Deployment:
					specs = append(specs, namedSpec{o.Name, o.Spec.Template.Spec})
				}
			}
			require.NotEmpty(t, specs)
			validateWorkloadConfigs(t, specs, sources)
		})
	}
}

type namedSpec struct {
	name string
	spec corev1.PodSpec
}

// validateWorkloadConfigs validates the config each Braid container runs,
// in the environment the container would have.
func validateWorkloadConfigs(t *testing.T, specs []namedSpec, sources map[string]configSource) {
	t.Helper()
	for _, w := range specs {
		t.Run(w.name, func(t *testing.T) {
			c, config := braidContainer(t, w.spec)
			src, ok := sources[config]
			require.True(t, ok, "config %s is not in any ConfigMap", config)
			for _, e := range c.Env {
				t.Setenv(e.Name, envValue(e))
			}
			assert.NoError(t, validateConfigText(t, src.key, src.text), config)
		})
	}
}

// envValue is a container variable's value, with a sample for those the
// downward API fills in.
func envValue(e corev1.EnvVar) string {
	if e.ValueFrom == nil || e.ValueFrom.FieldRef == nil {
		return e.Value
	}
	switch path := e.ValueFrom.FieldRef.FieldPath; path {
	case "metadata.uid":
		return "0f4a1b2c-3d4e-4f50-8a6b-7c8d9e0f1a2b"
	case "status.podIP", "status.hostIP":
		return "10.0.0.1"
	default:
		return "sample-" + strings.NewReplacer(".", "-", "[", "-", "]", "", "'", "", "/", "-").Replace(path)
	}
}

func validateConfigText(t *testing.T, name, text string) error {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(path, []byte(text), 0o600))
	return validate("file:" + path)
}

// configSource is a collector config in a ConfigMap: inline, or the file a
// configMapGenerator reads.
type configSource struct {
	configMap, key, text string
}

func configSources(t *testing.T) map[string]configSource {
	t.Helper()
	out := map[string]configSource{}
	for _, dir := range kustomizations {
		for _, g := range readKustomization(t, dir).ConfigMapGenerator {
			for _, f := range g.Files {
				b, err := os.ReadFile(filepath.Join(dir, f))
				require.NoError(t, err)
				out[g.Name+"/"+filepath.Base(f)] = configSource{g.Name, filepath.Base(f), string(b)}
			}
		}
	}
	for _, objs := range manifests(t) {
		for _, o := range objs {
			if cm, ok := o.(*corev1.ConfigMap); ok {
				for k, v := range cm.Data {
					out[cm.Name+"/"+k] = configSource{cm.Name, k, v}
				}
			}
		}
	}
	return out
}

func TestKubernetesEmbeddedConfigsValidate(t *testing.T) {
	sources := configSources(t)
	require.Len(t, sources, 3, "agent, gateway and sidecar")
	var specs []namedSpec
	used := map[string]bool{}
	for name, spec := range workloads(t) {
		if _, config := braidContainer(t, spec); config != "" {
			specs = append(specs, namedSpec{name, spec})
			used[config] = true
		}
	}
	validateWorkloadConfigs(t, specs, sources)
	for name := range sources {
		assert.True(t, used[name], "no workload runs %s", name)
	}
}

// workloads returns the pod templates of every DaemonSet and Deployment.
func workloads(t *testing.T) map[string]corev1.PodSpec {
	t.Helper()
	out := map[string]corev1.PodSpec{}
	for _, objs := range manifests(t) {
		maps.Copy(out, podSpecs(objs))
	}
	return out
}

// podSpecs returns the pod templates of the DaemonSets and Deployments.
func podSpecs(objs []runtime.Object) map[string]corev1.PodSpec {
	out := map[string]corev1.PodSpec{}
	for _, o := range objs {
		switch w := o.(type) {
		case *appsv1.DaemonSet:
			out[w.Name] = w.Spec.Template.Spec
		case *appsv1.Deployment:
			out[w.Name] = w.Spec.Template.Spec
		}
	}
	return out
}

// braidContainer finds the Braid container of a pod, and the config it
// mounts.
func braidContainer(t *testing.T, spec corev1.PodSpec) (corev1.Container, string) {
	t.Helper()
	for _, c := range slices.Concat(spec.Containers, spec.InitContainers) {
		if c.Name != "braid" {
			continue
		}
		for _, v := range spec.Volumes {
			if v.ConfigMap == nil {
				continue
			}
			for _, m := range c.VolumeMounts {
				if m.Name == v.Name {
					for _, a := range c.Args {
						if file, ok := strings.CutPrefix(a, "--config=file:"+m.MountPath+"/"); ok {
							return c, v.ConfigMap.Name + "/" + file
						}
					}
				}
			}
		}
		t.Fatalf("container braid runs no config from a ConfigMap: args %v", c.Args)
	}
	t.Fatalf("no container named braid")
	return corev1.Container{}, ""
}

var envRef = regexp.MustCompile(`\$\{env:([A-Za-z_][A-Za-z0-9_]*)(:-[^}]*)?\}`)

// TestKubernetesWorkloadsFitTheirConfigs checks what no schema sees: each
// Braid container runs a config that exists, sets every variable that config
// needs without a default, and has a memory limit above memory_limiter's.
func TestKubernetesWorkloadsFitTheirConfigs(t *testing.T) {
	sources := configSources(t)
	for name, spec := range workloads(t) {
		if name == "checkout" || name == "braid-agent" || name == "braid-gateway" {
			t.Run(name, func(t *testing.T) {
				c, config := braidContainer(t, spec)
				src, ok := sources[config]
				require.True(t, ok, "config %s is not in any ConfigMap", config)

				env := map[string]corev1.EnvVar{}
				for _, e := range c.Env {
					env[e.Name] = e
				}
				for _, m := range envRef.FindAllStringSubmatch(src.text, -1) {
					if m[2] == "" {
						_, ok := env[m[1]]
						assert.True(t, ok, "%s needs ${env:%s} and the container does not set it", config, m[1])
					}
				}

				limitMiB, err := strconv.Atoi(env["BRAID_MEMORY_LIMIT_MIB"].Value)
				require.NoError(t, err, "BRAID_MEMORY_LIMIT_MIB")
				mem, ok := c.Resources.Limits[corev1.ResourceMemory]
				require.True(t, ok, "no memory limit")
				assert.Less(t, int64(limitMiB)*1024*1024, mem.Value(),
					"memory_limiter's limit_mib must stay below the container's memory limit")
				if gml := env["GOMEMLIMIT"].Value; gml != "" {
					q, err := resource.ParseQuantity(strings.TrimSuffix(gml, "B"))
					require.NoError(t, err, "GOMEMLIMIT %s", gml)
					assert.Less(t, q.Value(), mem.Value(), "GOMEMLIMIT below the container limit")
					assert.Greater(t, q.Value(), int64(limitMiB)*1024*1024, "GOMEMLIMIT above memory_limiter")
				}
			})
		}
	}

	agent := workloads(t)["braid-agent"]
	c, _ := braidContainer(t, agent)
	var node *corev1.EnvVar
	for i := range c.Env {
		if c.Env[i].Name == "K8S_NODE_NAME" {
			node = &c.Env[i]
		}
	}
	require.NotNil(t, node, "the agent's pod cache is scoped by K8S_NODE_NAME")
	require.NotNil(t, node.ValueFrom)
	assert.Equal(t, "spec.nodeName", node.ValueFrom.FieldRef.FieldPath)
	assert.True(t, slices.ContainsFunc(agent.Volumes, func(v corev1.Volume) bool {
		return v.HostPath != nil && v.HostPath.Path == "/var/log/pods"
	}), "the agent reads container logs from /var/log/pods")
	assert.True(t, slices.ContainsFunc(c.Ports, func(p corev1.ContainerPort) bool {
		return p.ContainerPort == 4317 && p.HostPort == 4317
	}), "OTLP on a host port")
}

// TestKubernetesRBACIsWhatThePodCacheUses holds the ClusterRole to the
// resources and verbs the informers use (kube.WatchedResources, itself held
// to the informers' real requests in package kube), and checks that only
// Braid's agent and gateway get it.
func TestKubernetesRBACIsWhatThePodCacheUses(t *testing.T) {
	type rule struct{ group, resource, verb string }
	want := map[rule]bool{}
	for _, r := range kube.WatchedResources() {
		for _, v := range r.Verbs {
			want[rule{r.Group, r.Resource, v}] = true
		}
	}

	var roles []*rbacv1.ClusterRole
	var bindings []*rbacv1.ClusterRoleBinding
	for path, objs := range manifests(t) {
		for _, o := range objs {
			switch o := o.(type) {
			case *rbacv1.ClusterRole:
				roles = append(roles, o)
			case *rbacv1.ClusterRoleBinding:
				bindings = append(bindings, o)
			case *rbacv1.Role, *rbacv1.RoleBinding:
				t.Errorf("%s: unexpected %T: Braid's pod cache needs one ClusterRole", path, o)
			}
		}
	}
	require.Len(t, roles, 1)
	got := map[rule]bool{}
	for _, r := range roles[0].Rules {
		assert.Empty(t, r.ResourceNames)
		assert.Empty(t, r.NonResourceURLs)
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				for _, v := range r.Verbs {
					got[rule{g, res, v}] = true
				}
			}
		}
	}
	assert.Equal(t, want, got)

	require.Len(t, bindings, 1)
	assert.Equal(t, roles[0].Name, bindings[0].RoleRef.Name)
	var subjects []string
	for _, s := range bindings[0].Subjects {
		require.Equal(t, "ServiceAccount", s.Kind)
		subjects = append(subjects, s.Namespace+"/"+s.Name)
	}
	assert.ElementsMatch(t, []string{"braid/braid-agent", "braid/braid-gateway"}, subjects)

	w := workloads(t)
	assert.Equal(t, "braid-agent", w["braid-agent"].ServiceAccountName)
	assert.Equal(t, "braid-gateway", w["braid-gateway"].ServiceAccountName)
	sidecar := w["checkout"]
	require.NotNil(t, sidecar.AutomountServiceAccountToken)
	assert.False(t, *sidecar.AutomountServiceAccountToken, "the sidecar needs no API access")
}

func TestK8sPodsExtensionIsRegistered(t *testing.T) {
	f, err := components()
	require.NoError(t, err)
	_, ok := f.Extensions[k8spodsextension.Type]
	assert.True(t, ok, "k8s_pods is not among Braid's extensions")
}

// TestKubernetesContainersRunWithLeastPrivilege holds every Braid container
// to a read-only root filesystem, no privilege escalation, every capability
// dropped and none added, seccomp RuntimeDefault and a non-root user; the
// agent alone runs as root (container log files are root's, mode 0640), and
// its only host paths are /var/log/pods, read-only, and its state directory.
func TestKubernetesContainersRunWithLeastPrivilege(t *testing.T) {
	for name, spec := range workloads(t) {
		t.Run(name, func(t *testing.T) {
			c, _ := braidContainer(t, spec)
			sc := c.SecurityContext
			require.NotNil(t, sc)
			psc := spec.SecurityContext
			if psc == nil {
				psc = &corev1.PodSecurityContext{}
			}
			assert.True(t, sc.ReadOnlyRootFilesystem != nil && *sc.ReadOnlyRootFilesystem, "read-only root filesystem")
			assert.True(t, sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation, "no privilege escalation")
			require.NotNil(t, sc.Capabilities)
			assert.Equal(t, []corev1.Capability{"ALL"}, sc.Capabilities.Drop)
			assert.Empty(t, sc.Capabilities.Add)
			assert.Nil(t, sc.Privileged)
			seccomp := sc.SeccompProfile
			if seccomp == nil {
				seccomp = psc.SeccompProfile
			}
			require.NotNil(t, seccomp, "a seccomp profile")
			assert.Equal(t, corev1.SeccompProfileTypeRuntimeDefault, seccomp.Type)

			nonRoot := sc.RunAsNonRoot
			if nonRoot == nil {
				nonRoot = psc.RunAsNonRoot
			}
			if name == "braid-agent" {
				assert.False(t, spec.HostNetwork || spec.HostPID || spec.HostIPC)
				for _, v := range spec.Volumes {
					if v.HostPath == nil {
						continue
					}
					assert.Contains(t, []string{"/var/log/pods", "/var/lib/braid"}, v.HostPath.Path)
					if v.HostPath.Path == "/var/log/pods" {
						i := slices.IndexFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool { return m.Name == v.Name })
						require.GreaterOrEqual(t, i, 0)
						assert.True(t, c.VolumeMounts[i].ReadOnly, "pod logs read-only")
					}
				}
				return
			}
			assert.True(t, nonRoot != nil && *nonRoot, "runs as non-root")
			for _, v := range spec.Volumes {
				assert.Nil(t, v.HostPath, "no host path")
			}
		})
	}
}

// TestKubernetesGatewayServices checks that every Service port reaches a
// named port of the gateway container, that braid-gateway-headless is
// headless over ready pods only (what agents route over and drill peers
// resolve), and that both carry the drill-down API.
func TestKubernetesGatewayServices(t *testing.T) {
	gateway, _ := braidContainer(t, workloads(t)["braid-gateway"])
	ports := map[string]int32{}
	for _, p := range gateway.Ports {
		ports[p.Name] = p.ContainerPort
	}
	services := map[string]*corev1.Service{}
	for _, objs := range manifests(t) {
		for _, o := range objs {
			if s, ok := o.(*corev1.Service); ok && s.Spec.Selector["app.kubernetes.io/name"] == "braid-gateway" {
				services[s.Name] = s
			}
		}
	}
	require.Contains(t, services, "braid-gateway")
	require.Contains(t, services, "braid-gateway-headless")
	for name, s := range services {
		byName := map[string]int32{}
		for _, p := range s.Spec.Ports {
			target, ok := ports[p.TargetPort.String()]
			assert.True(t, ok, "%s port %s: targetPort %s is no port of the gateway container", name, p.Name, p.TargetPort.String())
			assert.Equal(t, p.Port, target, "%s port %s", name, p.Name)
			byName[p.Name] = p.Port
		}
		assert.Equal(t, int32(8890), byName["drill"], "%s serves the drill-down API", name)
	}
	headless := services["braid-gateway-headless"].Spec
	assert.Equal(t, corev1.ClusterIPNone, headless.ClusterIP)
	assert.False(t, headless.PublishNotReadyAddresses)
	assert.Equal(t, int32(4317), ports["otlp-grpc"])

	env := map[string]corev1.EnvVar{}
	for _, e := range gateway.Env {
		env[e.Name] = e
	}
	require.Contains(t, env, "POD_IP", "drill peers skip the pod's own address")
	assert.Equal(t, "status.podIP", env["POD_IP"].ValueFrom.FieldRef.FieldPath)
}

// TestKubernetesConfigChangesReloadInPlace: the ConfigMaps keep their names,
// so a changed configuration reaches the running pods' mounted files and is
// reloaded (and refused when bad) instead of rolling new pods that would
// crash-loop on a broken one.
func TestKubernetesConfigChangesReloadInPlace(t *testing.T) {
	k := readKustomization(t, "../../deploy/kubernetes")
	assert.True(t, k.GeneratorOptions.DisableNameSuffixHash, "generatorOptions::disableNameSuffixHash")
}
