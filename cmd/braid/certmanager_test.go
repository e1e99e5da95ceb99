package main

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

const certManagerDir = k8sDir + "/components/cert-manager"

// The parts of cert-manager's v1 API (cert-manager.io/v1 Issuer and
// Certificate) the component uses. cert-manager cannot run here; strict
// decoding into these refuses a misspelt or misplaced field.
type cmIssuerRef struct {
	Name  string `json:"name"`
	Kind  string `json:"kind"`
	Group string `json:"group"`
}

type cmResource struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
	Spec struct {
		// Issuer
		SelfSigned *struct{} `json:"selfSigned,omitempty"`
		CA         *struct {
			SecretName string `json:"secretName"`
		} `json:"ca,omitempty"`
		// Certificate
		IsCA        bool     `json:"isCA,omitempty"`
		CommonName  string   `json:"commonName,omitempty"`
		SecretName  string   `json:"secretName,omitempty"`
		DNSNames    []string `json:"dnsNames,omitempty"`
		Duration    string   `json:"duration,omitempty"`
		RenewBefore string   `json:"renewBefore,omitempty"`
		PrivateKey  *struct {
			Algorithm      string `json:"algorithm"`
			Size           int    `json:"size"`
			RotationPolicy string `json:"rotationPolicy,omitempty"`
		} `json:"privateKey,omitempty"`
		Usages    []string     `json:"usages,omitempty"`
		IssuerRef *cmIssuerRef `json:"issuerRef,omitempty"`
	} `json:"spec"`
}

// certManagerResources decodes the component's resources strictly, by name.
func certManagerResources(t *testing.T) map[string]cmResource {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(certManagerDir, "kustomization.yaml"))
	require.NoError(t, err)
	var k struct {
		APIVersion string   `json:"apiVersion"`
		Kind       string   `json:"kind"`
		Resources  []string `json:"resources"`
	}
	require.NoError(t, yaml.UnmarshalStrict(b, &k))
	require.Equal(t, "kustomize.config.k8s.io/v1alpha1", k.APIVersion)
	require.Equal(t, "Component", k.Kind)

	files, err := filepath.Glob(filepath.Join(certManagerDir, "*.yaml"))
	require.NoError(t, err)
	require.Len(t, files, len(k.Resources)+1, "every file is a listed resource")

	out := map[string]cmResource{}
	for _, res := range k.Resources {
		f, err := os.ReadFile(filepath.Join(certManagerDir, res))
		require.NoError(t, err)
		docs := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(f)))
		for {
			doc, err := docs.Read()
			if err != nil {
				break
			}
			if len(bytes.TrimSpace(stripComments(doc))) == 0 {
				continue
			}
			var r cmResource
			require.NoError(t, yaml.UnmarshalStrict(doc, &r), res)
			require.Equal(t, "cert-manager.io/v1", r.APIVersion, res)
			require.Contains(t, []string{"Issuer", "Certificate"}, r.Kind, res)
			assert.Equal(t, "braid", r.Metadata.Namespace, r.Metadata.Name)
			out[r.Kind+"/"+r.Metadata.Name] = r
		}
	}
	return out
}

// TestKubernetesCertManagerComponent checks that the component's chain
// holds together (self-signed → fleet CA → CA Issuer → Braid certificates)
// and fits the base: it writes the Secrets the workloads mount, the
// gateway's certificate names the Services agents and senders dial and the
// name the agents check, and each certificate has the usages its side of
// the handshake needs.
func TestKubernetesCertManagerComponent(t *testing.T) {
	res := certManagerResources(t)

	selfSigned, ok := res["Issuer/braid-selfsigned"]
	require.True(t, ok)
	assert.NotNil(t, selfSigned.Spec.SelfSigned)
	ca, ok := res["Certificate/braid-ca"]
	require.True(t, ok)
	assert.True(t, ca.Spec.IsCA)
	assert.Equal(t, cmIssuerRef{"braid-selfsigned", "Issuer", "cert-manager.io"}, *ca.Spec.IssuerRef)
	caIssuer, ok := res["Issuer/braid-ca-issuer"]
	require.True(t, ok)
	require.NotNil(t, caIssuer.Spec.CA)
	assert.Equal(t, ca.Spec.SecretName, caIssuer.Spec.CA.SecretName)

	gateway, ok := res["Certificate/braid-gateway"]
	require.True(t, ok)
	agent, ok := res["Certificate/braid-agent"]
	require.True(t, ok)
	for _, c := range []cmResource{gateway, agent} {
		assert.Equal(t, cmIssuerRef{"braid-ca-issuer", "Issuer", "cert-manager.io"}, *c.Spec.IssuerRef, c.Metadata.Name)
		assert.Contains(t, c.Spec.Usages, "client auth", c.Metadata.Name)
		assert.NotEmpty(t, c.Spec.RenewBefore, c.Metadata.Name)
	}
	assert.Contains(t, gateway.Spec.Usages, "server auth")

	// The Secrets the workloads mount at /etc/braid/tls.
	mounted := map[string]string{}
	var agentServerName string
	for name, spec := range workloads(t) {
		c, _ := braidContainer(t, spec)
		for _, m := range c.VolumeMounts {
			if m.MountPath != "/etc/braid/tls" {
				continue
			}
			i := slices.IndexFunc(spec.Volumes, func(v corev1.Volume) bool { return v.Name == m.Name })
			require.GreaterOrEqual(t, i, 0)
			require.NotNil(t, spec.Volumes[i].Secret, "%s mounts its certificates from a Secret", name)
			mounted[name] = spec.Volumes[i].Secret.SecretName
		}
		for _, e := range c.Env {
			if name == "braid-agent" && e.Name == "BRAID_GATEWAY_SERVER_NAME" {
				agentServerName = e.Value
			}
		}
	}
	// The sidecar example lives in its app's namespace, with a Secret of its
	// own (the component's Issuer is namespaced); it dials the ClusterIP
	// Service by name, which the gateway's certificate carries.
	assert.Equal(t, "braid-sidecar-tls", mounted["checkout"], "the sidecar presents a certificate too")
	delete(mounted, "checkout")
	assert.Contains(t, gateway.Spec.DNSNames, "braid-gateway.braid.svc", "the sidecar's default gateway")
	assert.Equal(t, map[string]string{"braid-gateway": gateway.Spec.SecretName, "braid-agent": agent.Spec.SecretName}, mounted)
	assert.Contains(t, gateway.Spec.DNSNames, agentServerName, "the name the agents check")

	var services []string
	for _, objs := range manifests(t) {
		for _, o := range objs {
			if s, ok := o.(*corev1.Service); ok && s.Labels["app.kubernetes.io/name"] == "braid-gateway" {
				services = append(services, s.Name)
			}
		}
	}
	require.NotEmpty(t, services)
	for _, s := range services {
		for _, n := range []string{s, s + ".braid.svc", s + ".braid.svc.cluster.local"} {
			assert.Contains(t, gateway.Spec.DNSNames, n)
		}
	}
}

// TestKubernetesCertManagerOverlayBuilds renders the base with the
// component, as an overlay would, when kubectl is at hand.
func TestKubernetesCertManagerOverlayBuilds(t *testing.T) {
	kubectl := kubectlFor(t)
	// Kustomize refuses absolute paths and a base that contains its
	// overlay: the overlay lives next to deploy/kubernetes.
	dir, err := os.MkdirTemp(filepath.Dir(k8sDir), ".overlay-test-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	require.NoError(t, os.WriteFile(filepath.Join(dir, "kustomization.yaml"),
		[]byte("resources: [../kubernetes]\ncomponents: [../kubernetes/components/cert-manager]\n"), 0o600))
	out, err := exec.Command(kubectl, "kustomize", dir).Output()
	require.NoError(t, err)
	for _, want := range []string{"kind: Issuer", "kind: Certificate", "secretName: braid-gateway-tls", "kind: DaemonSet"} {
		assert.Contains(t, string(out), want)
	}
}
