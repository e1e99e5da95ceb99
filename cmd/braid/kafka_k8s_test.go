package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
