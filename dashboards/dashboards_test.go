package dashboards_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/braidobs/braid/correlate/links"
	"github.com/braidobs/braid/dashboards"
)

// provisioned reads the datasource provisioning file: uid → type.
func provisioned(t *testing.T, raw []byte) map[string]string {
	t.Helper()
	var f struct {
		APIVersion  int `yaml:"apiVersion"`
		Datasources []struct {
			Name string `yaml:"name"`
			Type string `yaml:"type"`
			UID  string `yaml:"uid"`
			URL  string `yaml:"url"`
		} `yaml:"datasources"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &f))
	require.Equal(t, 1, f.APIVersion)
	out := map[string]string{}
	for _, d := range f.Datasources {
		require.NotEmpty(t, d.Name)
		require.NotEmpty(t, d.URL)
		out[d.UID] = d.Type
	}
	return out
}

type panelJSON struct {
	Type       string           `json:"type"`
	ID         int              `json:"id"`
	Title      string           `json:"title"`
	Datasource map[string]any   `json:"datasource"`
	Targets    []map[string]any `json:"targets"`
	Panels     []panelJSON      `json:"panels"`
	GridPos    struct {
		H, W, X, Y int
	} `json:"gridPos"`
}

type dashboardJSON struct {
	UID           string      `json:"uid"`
	Title         string      `json:"title"`
	SchemaVersion int         `json:"schemaVersion"`
	Panels        []panelJSON `json:"panels"`
	Templating    struct {
		List []struct {
			Name       string         `json:"name"`
			Datasource map[string]any `json:"datasource"`
		} `json:"list"`
	} `json:"templating"`
}

func TestDashboardsAreWhatProvisioningLoads(t *testing.T) {
	cfg := dashboards.DefaultConfig()
	cfg.Datasources.Loki.UID = "custom-loki" // refs must follow the configuration
	files, err := dashboards.Generate(cfg, dashboards.DefaultDashboardsPath)
	require.NoError(t, err)
	uids := provisioned(t, files[dashboards.DatasourcesProvisioning])
	require.Equal(t, map[string]string{
		links.DefaultPrometheusUID: links.TypePrometheus, "custom-loki": links.TypeLoki, links.DefaultJaegerUID: links.TypeJaeger,
	}, uids)
	plugins.RegisterDefaultPlugins()

	seenUID := map[string]bool{}
	wantUIDs := []string{links.DashboardServiceOverview, links.DashboardServiceLogs, links.DashboardPod, links.DashboardBraid}
	for _, uid := range wantUIDs {
		name := dashboards.DashboardsDir + "/" + uid + ".json"
		t.Run(uid, func(t *testing.T) {
			raw, ok := files[name]
			require.True(t, ok, "no file %s", name)

			// The SDK's strict decoder finds fields it does not know. It
			// returns a non-nil, empty error on success (v0.0.22).
			var strict dashboard.Dashboard
			if err := strict.UnmarshalJSONStrict(raw); err != nil && err.Error() != "" {
				t.Errorf("strict decode: %v", err)
			}
			// ... and does catch an unknown field.
			bogus := strings.Replace(string(raw), `"uid":`, `"bogusField": 1, "uid":`, 1)
			err := (&dashboard.Dashboard{}).UnmarshalJSONStrict([]byte(bogus))
			require.True(t, err != nil && err.Error() != "", "strict decode misses unknown fields")

			var d dashboardJSON
			require.NoError(t, json.Unmarshal(raw, &d))
			assert.Equal(t, uid, d.UID)
			assert.False(t, seenUID[d.UID], "uid %s twice", d.UID)
			seenUID[d.UID] = true
			assert.True(t, strings.HasPrefix(d.Title, "Braid / "), d.Title)
			assert.GreaterOrEqual(t, d.SchemaVersion, 36, "schemaVersion")
			require.NotEmpty(t, d.Panels)

			ids := map[int]bool{}
			var walk func(ps []panelJSON)
			walk = func(ps []panelJSON) {
				for _, p := range ps {
					assert.False(t, ids[p.ID], "panel id %d twice", p.ID)
					assert.NotZero(t, p.ID, p.Title)
					ids[p.ID] = true
					assert.NotEmpty(t, p.Title)
					assert.LessOrEqual(t, p.GridPos.X+p.GridPos.W, 24, p.Title)
					if p.Type == "row" {
						walk(p.Panels)
						continue
					}
					require.NotEmpty(t, p.Targets, "panel %q has no queries", p.Title)
					for _, tg := range p.Targets {
						ds, _ := tg["datasource"].(map[string]any)
						uid, _ := ds["uid"].(string)
						typ, ok := uids[uid]
						if assert.True(t, ok, "panel %q uses datasource %q, which is not provisioned", p.Title, uid) {
							assert.Equal(t, typ, ds["type"], p.Title)
						}
						assert.NotEmpty(t, tg["refId"])
					}
				}
			}
			walk(d.Panels)
			for _, v := range d.Templating.List {
				uid, _ := v.Datasource["uid"].(string)
				assert.Contains(t, uids, uid, "variable %s", v.Name)
			}
		})
	}
}

// The on-call path starts on the latency and error panels: their queries
// must ask Prometheus for exemplars.
func TestExemplarsOnLatencyAndErrorPanels(t *testing.T) {
	for _, build := range []func(dashboards.Config) (dashboard.Dashboard, error){dashboards.ServiceOverview, dashboards.Pod} {
		d, err := build(dashboards.DefaultConfig())
		require.NoError(t, err)
		raw, err := json.Marshal(d)
		require.NoError(t, err)
		var dj dashboardJSON
		require.NoError(t, json.Unmarshal(raw, &dj))
		exemplars := map[string]bool{}
		for _, p := range dj.Panels {
			for _, tg := range p.Targets {
				if tg["exemplar"] == true {
					exemplars[p.Title] = true
				}
			}
		}
		assert.True(t, exemplars["Latency"], "%s: latency panel without exemplars", dj.UID)
		assert.True(t, exemplars["Errors"], "%s: errors panel without exemplars", dj.UID)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(*dashboards.Config)
		wantErr string
	}{
		{name: "default is valid", mutate: func(*dashboards.Config) {}},
		{name: "slo of 1", mutate: func(c *dashboards.Config) { c.AvailabilitySLO = 1 }, wantErr: "availability slo must be in [0.9, 1), got 1"},
		{name: "slo too low for the fast burn", mutate: func(c *dashboards.Config) { c.LatencySLO = 0.5 }, wantErr: "latency slo must be in [0.9, 1), got 0.5"},
		{name: "threshold between buckets", mutate: func(c *dashboards.Config) { c.LatencyThresholdMs = 500 }, wantErr: "latency threshold must be a span metrics bucket bound"},
		{name: "no memory limit", mutate: func(c *dashboards.Config) { c.MemoryLimitMiB = 0 }, wantErr: "memory limit must be positive"},
		{name: "relative grafana url", mutate: func(c *dashboards.Config) { c.GrafanaURL = "grafana" }, wantErr: `grafana url "grafana"`},
		{name: "duplicate datasource uid", mutate: func(c *dashboards.Config) { c.Datasources.Loki.UID = links.DefaultJaegerUID }, wantErr: "already used"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := dashboards.DefaultConfig()
			tt.mutate(&cfg)
			_, err := dashboards.Generate(cfg, dashboards.DefaultDashboardsPath)
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
}
