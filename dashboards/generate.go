package dashboards

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

// Paths of the generated files, relative to the output directory.
const (
	DashboardsDir           = "dashboards"
	DatasourcesProvisioning = "provisioning/datasources/braid.yaml"
	DashboardsProvisioning  = "provisioning/dashboards/braid.yaml"
	RulesFile               = "prometheus/braid-rules.yaml"
)

// DefaultDashboardsPath is where Grafana reads the dashboards from, as the
// dashboard provisioning file says (copy the dashboards directory there).
const DefaultDashboardsPath = "/var/lib/grafana/dashboards/braid"

// Builders lists every dashboard, in a fixed order.
var Builders = []func(Config) (dashboard.Dashboard, error){ServiceOverview, ServiceLogs, Pod, Braid, Usage}

// Generate renders every file: the dashboards, the provisioning files and
// the rule file, keyed by path relative to the output directory.
// dashboardsPath is where Grafana will find the dashboards.
func Generate(cfg Config, dashboardsPath string) (map[string][]byte, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	files := map[string][]byte{}
	for _, build := range Builders {
		d, err := build(cfg)
		if err != nil {
			return nil, fmt.Errorf("build dashboard: %w", err)
		}
		if d.Uid == nil {
			return nil, errors.New("a dashboard has no uid")
		}
		raw, err := json.MarshalIndent(d, "", "  ")
		if err != nil {
			return nil, fmt.Errorf("marshal dashboard %s: %w", *d.Uid, err)
		}
		name := filepath.ToSlash(filepath.Join(DashboardsDir, *d.Uid+".json"))
		if _, dup := files[name]; dup {
			return nil, fmt.Errorf("two dashboards with uid %s", *d.Uid)
		}
		files[name] = append(raw, '\n')
	}
	var err error
	if files[DatasourcesProvisioning], err = DatasourcesYAML(cfg); err != nil {
		return nil, err
	}
	if files[DashboardsProvisioning], err = DashboardsYAML(dashboardsPath); err != nil {
		return nil, err
	}
	if files[RulesFile], err = RulesYAML(cfg); err != nil {
		return nil, err
	}
	return files, nil
}

// Names returns the file names of a Generate result, sorted.
func Names(files map[string][]byte) []string {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// WriteDir writes the files under dir, creating directories as needed.
func WriteDir(dir string, files map[string][]byte) error {
	for _, name := range Names(files) {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
		if err := os.WriteFile(path, files[name], 0o644); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
	}
	return nil
}
