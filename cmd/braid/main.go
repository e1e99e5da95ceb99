// Command braid is the Braid observability gateway: an OpenTelemetry
// Collector distribution that links metrics, logs and traces by trace ID and
// Kubernetes pod. Started without --config it runs its embedded default.
package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/provider/envprovider"
	"go.opentelemetry.io/collector/confmap/provider/fileprovider"
	"go.opentelemetry.io/collector/confmap/provider/httpprovider"
	"go.opentelemetry.io/collector/confmap/provider/yamlprovider"
	"go.opentelemetry.io/collector/featuregate"
	"go.opentelemetry.io/collector/otelcol"
)

// Stamped at build time by the Makefile:
// -ldflags "-X main.version=... -X main.commit=...".
var (
	version = "dev"
	commit  = "unknown"
)

func main() {
	// Reloads rely on otelcol comparing the reloaded configuration with the
	// running one before it rebuilds anything (see configReloader);
	// --feature-gates=-service.partialReload still turns it off.
	if err := featuregate.GlobalRegistry().Set(partialReloadGate, true); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	cmd := newCommand()
	cmd.SetArgs(withDefaultConfig(os.Args[1:]))
	if err := cmd.Execute(); err != nil {
		os.Exit(1)
	}
}

// withDefaultConfig keeps the embedded default when only --set overrides are
// given: the collector treats --set as a config location of its own, which
// would otherwise replace the default instead of adjusting it.
func withDefaultConfig(args []string) []string {
	hasConfig, hasSet := false, false
	for _, a := range args {
		if a == "--" {
			break
		}
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") {
			continue
		}
		switch name {
		case "config":
			hasConfig = true
		case "set":
			hasSet = true
		}
	}
	if hasSet && !hasConfig {
		return append(args[:len(args):len(args)], "--config="+defaultConfigURI)
	}
	return args
}

// settings returns the collector settings of Braid's subcommands (validate,
// print-config) and of in-process tests: the plain providers, no reload
// safety. uris are the default configuration locations, replaced by any
// --config flag. The running gateway gets configReloader.settings instead.
func settings(uris ...string) otelcol.CollectorSettings {
	if len(uris) == 0 {
		uris = []string{defaultConfigURI}
	}
	return otelcol.CollectorSettings{
		BuildInfo: buildInfo(),
		Factories: components,
		ConfigProviderSettings: otelcol.ConfigProviderSettings{
			ResolverSettings: confmap.ResolverSettings{
				URIs:              uris,
				ProviderFactories: braidProviderFactories(),
				DefaultScheme:     "env",
			},
		},
	}
}

// braidProviderFactories are the configuration sources Braid reads.
func braidProviderFactories() []confmap.ProviderFactory {
	return []confmap.ProviderFactory{
		newEmbeddedProviderFactory(),
		fileprovider.NewFactory(),
		envprovider.NewFactory(),
		yamlprovider.NewFactory(),
		httpprovider.NewFactory(),
	}
}

// newCommand builds the braid command line: the collector's own command with
// its subcommands (components, validate, featuregate), plus Braid's.
func newCommand() *cobra.Command {
	cmd := otelcol.NewCommand(settings())
	// The gateway itself runs with reload safety; otelcol's subcommands keep
	// the plain settings.
	locations := recordLocations(cmd.Flags())
	var run runOptions
	cmd.Flags().StringVar(&run.adminEndpoint, "admin-endpoint", envOr(adminEndpointEnv, defaultAdminEndpoint),
		"address of the admin endpoint (POST /-/reload), default from env "+adminEndpointEnv+"; empty turns it off")
	cmd.Flags().BoolVar(&run.watchConfig, "watch-config", true,
		"reload when a --config file changes")
	cmd.Flags().BoolVar(&run.summary, "summary", true,
		"print where Braid listens and what it sends to once it runs (never when logs are JSON)")
	cmd.RunE = func(c *cobra.Command, _ []string) error {
		run.adminEndpointChosen = c.Flags().Changed("admin-endpoint") || os.Getenv(adminEndpointEnv) != ""
		return runBraid(c.Context(), newConfigReloader(locations()...), run)
	}
	cmd.Long = "Braid takes in metrics, logs and traces over OTLP and other protocols,\n" +
		"links them by trace ID and Kubernetes pod, and feeds Prometheus, Loki and Jaeger.\n" +
		"Without --config it runs its embedded default configuration (see 'braid default-config')."
	cmd.AddCommand(&cobra.Command{
		Use:   "default-config",
		Short: "Print the embedded default configuration",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			_, err := fmt.Fprint(c.OutOrStdout(), string(defaultConfig))
			return err
		},
	})
	cmd.AddCommand(newDashboardsCommand())
	cmd.AddCommand(newDrillCommand())
	cmd.AddCommand(newUsageCommand())
	cmd.AddCommand(newDoctorCommand())
	return cmd
}
