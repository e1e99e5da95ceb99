package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
)

const kafkaComponentDir = k8sDir + "/components/kafka"

// TestKubernetesKafkaComponent checks that the Kafka component carries the
// shipped overlays (refresh with -update-k8s-configs), and that the base
// rendered with it runs configs that validate, each container with its
// overlay.
func TestKubernetesKafkaComponent(t *testing.T) {
	for _, name := range []string{"kafka-agent.yaml", "kafka-gateway.yaml"} {
		want, err := os.ReadFile(filepath.Join("../../deploy/configs", name))
		require.NoError(t, err)
		path := filepath.Join(kafkaComponentDir, name)
		if *updateK8sConfigs {
			require.NoError(t, os.WriteFile(path, want, 0o644))
		}
		got, err := os.ReadFile(path)
		require.NoError(t, err)
		assert.Equal(t, string(want), string(got), "%s differs from deploy/configs: go test ./cmd/braid -run TestKubernetesKafkaComponent -update-k8s-configs", path)
	}
	overlayRuns(t, 2, "kafka")
}

// The hub and spoke overlays render, each with its one workload (the
// spoke's agents, the hub's gateways) running the Kafka tier's configs,
// and bind the pod reader role only to the service account that remains.
func TestKubernetesHubAndSpokeOverlays(t *testing.T) {
	kubectl := kubectlFor(t)
	for _, tc := range []struct{ overlay, workload string }{
		{"spoke", "braid-agent"},
		{"hub", "braid-gateway"},
	} {
		t.Run(tc.overlay, func(t *testing.T) {
			dir := filepath.Join("../../deploy/overlays", tc.overlay)
			renderedRuns(t, kubectl, dir, 2, tc.workload)
			out, err := exec.Command(kubectl, "kustomize", dir).Output()
			require.NoError(t, err)
			objs, err := decodeAll(bytes.NewReader(out))
			require.NoError(t, err)
			accounts := map[string]bool{}
			var subjects []string
			for _, o := range objs {
				switch o := o.(type) {
				case *corev1.ServiceAccount:
					accounts[o.Name] = true
				case *rbacv1.ClusterRoleBinding:
					for _, s := range o.Subjects {
						subjects = append(subjects, s.Name)
					}
				}
			}
			assert.Equal(t, map[string]bool{tc.workload: true}, accounts, "service accounts")
			assert.Equal(t, []string{tc.workload}, subjects, "the pod reader role's subjects")
		})
	}
}
