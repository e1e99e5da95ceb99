package dashboards

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/pflag"
)

// Options are the settings of `braid dashboards generate`.
type Options struct {
	Config
	// Out is the directory the files are written to.
	Out string
	// DashboardsPath is where Grafana reads the dashboards from.
	DashboardsPath string
}

// DefaultOptions returns the options for the local stack, with no output
// directory.
func DefaultOptions() Options {
	return Options{Config: DefaultConfig(), DashboardsPath: DefaultDashboardsPath}
}

// RegisterFlags binds the options to command-line flags, with the current
// values as defaults.
func (o *Options) RegisterFlags(fs *pflag.FlagSet) {
	ds := &o.Datasources
	fs.StringVar(&o.Out, "out", o.Out, "directory to write dashboards, provisioning and rules to (required)")
	fs.StringVar(&o.DashboardsPath, "dashboards-path", o.DashboardsPath, "directory Grafana loads the dashboards from (written into the dashboard provisioning file)")
	fs.StringVar(&o.GrafanaURL, "grafana-url", o.GrafanaURL, "Grafana URL that alert annotations link to")
	fs.StringVar(&ds.Prometheus.UID, "prometheus-uid", ds.Prometheus.UID, "UID of the Prometheus datasource")
	fs.StringVar(&ds.Loki.UID, "loki-uid", ds.Loki.UID, "UID of the Loki datasource")
	fs.StringVar(&ds.Jaeger.UID, "jaeger-uid", ds.Jaeger.UID, "UID of the Jaeger datasource")
	fs.StringVar(&ds.Prometheus.URL, "prometheus-url", ds.Prometheus.URL, "URL of Prometheus, as Grafana reaches it")
	fs.StringVar(&ds.Loki.URL, "loki-url", ds.Loki.URL, "URL of Loki (or a Loki-compatible store), as Grafana reaches it")
	fs.StringVar(&ds.Jaeger.URL, "jaeger-url", ds.Jaeger.URL, "URL of Jaeger's query service, as Grafana reaches it")
	fs.Float64Var(&o.AvailabilitySLO, "availability-slo", o.AvailabilitySLO, "target ratio of calls without error, per service")
	fs.Float64Var(&o.LatencySLO, "latency-slo", o.LatencySLO, "target ratio of calls faster than --latency-threshold-ms, per service")
	fs.Float64Var(&o.LatencyThresholdMs, "latency-threshold-ms", o.LatencyThresholdMs, "latency SLO threshold in milliseconds; a span metrics bucket bound")
	fs.Float64Var(&o.MemoryLimitMiB, "memory-limit-mib", o.MemoryLimitMiB, "Braid's memory_limiter limit_mib, drawn on the memory panel")
	fs.Var(costFlag{&o.CostPerGB}, "cost-per-gb", "price of a GB an exporter takes, as exporter=price (repeat or comma separate: otlp_grpc/jaeger=0.30,loki=0.50); adds a cost panel to the usage dashboard")
}

// Run generates every file into o.Out and returns their names.
func (o Options) Run() ([]string, error) {
	if o.Out == "" {
		return nil, errors.New("--out is required: the directory to write the files to")
	}
	files, err := Generate(o.Config, o.DashboardsPath)
	if err != nil {
		return nil, err
	}
	if err := WriteDir(o.Out, files); err != nil {
		return nil, err
	}
	return Names(files), nil
}

// costFlag reads exporter=price pairs into a map.
type costFlag struct{ m *map[string]float64 }

func (f costFlag) String() string {
	if f.m == nil || len(*f.m) == 0 {
		return ""
	}
	keys := make([]string, 0, len(*f.m))
	for k := range *f.m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+"="+strconv.FormatFloat((*f.m)[k], 'f', -1, 64))
	}
	return strings.Join(parts, ",")
}

func (f costFlag) Set(s string) error {
	for _, pair := range strings.Split(s, ",") {
		exporter, price, ok := strings.Cut(strings.TrimSpace(pair), "=")
		if !ok || exporter == "" {
			return fmt.Errorf("want exporter=price, got %q", pair)
		}
		v, err := strconv.ParseFloat(price, 64)
		if err != nil {
			return fmt.Errorf("price of %s: %w", exporter, err)
		}
		if *f.m == nil {
			*f.m = map[string]float64{}
		}
		(*f.m)[exporter] = v
	}
	return nil
}

func (costFlag) Type() string { return "exporter=price" }
