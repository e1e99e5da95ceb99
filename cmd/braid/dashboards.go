package main

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/braidobs/braid/dashboards"
)

// newDashboardsCommand is `braid dashboards generate`: Grafana dashboards,
// datasource provisioning and Prometheus alert rules, from the same names
// Braid's links use.
func newDashboardsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dashboards",
		Short: "Grafana dashboards, datasource provisioning and alert rules for Braid",
	}
	opts := dashboards.DefaultOptions()
	generate := &cobra.Command{
		Use:   "generate --out DIR",
		Short: "Write the dashboards, Grafana provisioning files and Prometheus rules to DIR",
		Args:  cobra.NoArgs,
		// A bad flag value is reported on its own, not buried under the usage.
		SilenceUsage: true,
		RunE: func(c *cobra.Command, _ []string) error {
			names, err := opts.Run()
			if err != nil {
				return err
			}
			for _, n := range names {
				fmt.Fprintln(c.OutOrStdout(), filepath.Join(opts.Out, n))
			}
			return nil
		},
	}
	opts.RegisterFlags(generate.Flags())
	cmd.AddCommand(generate)
	return cmd
}
