package dashboards_test

import (
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/braidobs/braid/dashboards"
)

var update = flag.Bool("update", false, "rewrite the checked-in files under deploy/grafana/")

// goldenDir holds the generated files as `braid dashboards generate` writes
// them with its defaults; they are checked in.
const goldenDir = "../deploy/grafana"

// The checked-in files are what the generator writes now. After a change:
// go test ./dashboards/... -update
func TestGeneratedFilesAreCurrent(t *testing.T) {
	files, err := dashboards.Generate(dashboards.DefaultConfig(), dashboards.DefaultDashboardsPath)
	require.NoError(t, err)

	if *update {
		stale := checkedIn(t)
		for name := range files {
			delete(stale, name)
		}
		for name := range stale {
			require.NoError(t, os.Remove(filepath.Join(goldenDir, filepath.FromSlash(name))))
		}
		require.NoError(t, dashboards.WriteDir(goldenDir, files))
	}

	onDisk := checkedIn(t)
	for _, name := range dashboards.Names(files) {
		t.Run(name, func(t *testing.T) {
			got, ok := onDisk[name]
			require.True(t, ok, "%s/%s is missing: run go test ./dashboards/... -update", goldenDir, name)
			assert.Equal(t, string(files[name]), string(got), "%s/%s is stale: run go test ./dashboards/... -update", goldenDir, name)
		})
	}
	for name := range onDisk {
		_, ok := files[name]
		assert.True(t, ok, "%s/%s is no longer generated: run go test ./dashboards/... -update", goldenDir, name)
	}
}

// checkedIn reads every file under goldenDir except its README.
func checkedIn(t *testing.T) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(goldenDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) && path == goldenDir {
				return nil
			}
			return err
		}
		if d.IsDir() || d.Name() == "README.md" {
			return nil
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(goldenDir, path)
		if err != nil {
			return err
		}
		out[filepath.ToSlash(rel)] = raw
		return nil
	})
	require.NoError(t, err)
	return out
}

func TestOptionsFlags(t *testing.T) {
	o := dashboards.DefaultOptions()
	fs := flagSet(&o)
	require.NoError(t, fs.Parse([]string{
		"--out", t.TempDir(), "--grafana-url", "https://grafana.example.com", "--jaeger-uid", "jaeger-prod",
		"--loki-url", "http://loki:3100", "--availability-slo", "0.99", "--latency-threshold-ms", "800",
	}))
	assert.Equal(t, "jaeger-prod", o.Datasources.Jaeger.UID)
	assert.Equal(t, "http://loki:3100", o.Datasources.Loki.URL)
	assert.Equal(t, 0.99, o.AvailabilitySLO)
	names, err := o.Run()
	require.NoError(t, err)
	assert.Len(t, names, 8)
	raw, err := os.ReadFile(filepath.Join(o.Out, dashboards.DatasourcesProvisioning))
	require.NoError(t, err)
	assert.Contains(t, string(raw), "uid: jaeger-prod")
	assert.Contains(t, string(raw), "datasourceUid: jaeger-prod")

	_, err = dashboards.DefaultOptions().Run()
	require.ErrorContains(t, err, "--out is required")
}

func TestCostPerGBAddsACostPanel(t *testing.T) {
	o := dashboards.DefaultOptions()
	fs := flagSet(&o)
	require.NoError(t, fs.Parse([]string{"--out", t.TempDir(), "--cost-per-gb", "otlp_grpc/jaeger=0.3,loki=0.5", "--cost-per-gb", "kafka=0"}))
	assert.Equal(t, map[string]float64{"otlp_grpc/jaeger": 0.3, "loki": 0.5, "kafka": 0}, o.CostPerGB)
	_, err := o.Run()
	require.NoError(t, err)
	raw, err := os.ReadFile(filepath.Join(o.Out, dashboards.DashboardsDir, "braid-usage.json"))
	require.NoError(t, err)
	for _, want := range []string{`exporter=\"loki\"`, `/ 1e9 * 0.5`, `exporter=\"otlp_grpc/jaeger\"`, `/ 1e9 * 0.3`, "Cost per 30 days"} {
		assert.Contains(t, string(raw), want)
	}
	// Without prices, no cost panel.
	files, err := dashboards.Generate(dashboards.DefaultConfig(), dashboards.DefaultDashboardsPath)
	require.NoError(t, err)
	assert.NotContains(t, string(files[dashboards.DashboardsDir+"/braid-usage.json"]), "Cost per 30 days")

	for _, bad := range []string{"loki", "=1", "loki=cheap"} {
		o := dashboards.DefaultOptions()
		assert.Error(t, flagSet(&o).Parse([]string{"--cost-per-gb", bad}), bad)
	}
	cfg := dashboards.DefaultConfig()
	cfg.CostPerGB = map[string]float64{"loki": -1}
	assert.ErrorContains(t, cfg.Validate(), "cost per gb of loki must be zero or positive, got -1")
}
func flagSet(o *dashboards.Options) *pflag.FlagSet {
	fs := pflag.NewFlagSet("generate", pflag.ContinueOnError)
	o.RegisterFlags(fs)
	return fs
}
