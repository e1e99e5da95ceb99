package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/braidobs/braid/internal/faults"
)

// faultsCmd runs the fault harness: the shipped gateway and agent through
// kill -9, a backend outage, a full disk and a corrupt queue file, counting
// every acknowledged item by its ID.
func faultsCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("faults", flag.ContinueOnError)
	s := faults.Settings{Out: os.Stderr}
	fs.StringVar(&s.Braid, "braid", "bin/braid", "braid binary")
	fs.StringVar(&s.GatewayConfig, "gateway-config", "deploy/configs/gateway.yaml", "gateway configuration")
	fs.StringVar(&s.AgentConfig, "agent-config", "deploy/configs/agent.yaml", "node agent configuration")
	fs.StringVar(&s.KafkaAgentConfig, "kafka-agent-config", "deploy/configs/kafka-agent.yaml", "the Kafka tier's overlay on the agent configuration")
	fs.StringVar(&s.KafkaGatewayConfig, "kafka-gateway-config", "deploy/configs/kafka-gateway.yaml", "the Kafka tier's overlay on the gateway configuration")
	fs.StringVar(&s.WorkDir, "dir", ".tmp/faults", "work directory (storage, logs, Braid's output)")
	fs.Float64Var(&s.Rate, "rate", 2000, "items per second for each stream")
	fs.IntVar(&s.Batch, "batch", 200, "items per request")
	fs.DurationVar(&s.Load, "load", 15*time.Second, "how long each kill scenario sends")
	fs.IntVar(&s.Kills, "kills", 3, "kills per kill scenario")
	fs.DurationVar(&s.Outage, "outage", 60*time.Second, "how long the backends are down")
	fs.IntVar(&s.DiskMiB, "disk-mib", 40, "size of the tmpfs the disk-full scenario fills (the gateway's three queues keep 8 MiB each in reserve)")
	fs.DurationVar(&s.Drain, "drain", 60*time.Second, "longest wait for delivery after the load")
	fs.Uint64Var(&s.Seed, "seed", uint64(time.Now().UnixNano()), "seed for the kill instants")
	only := fs.String("only", "", "comma-separated scenarios to run (default all)")
	jsonPath := fs.String("json", "", "also write the results here")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := os.MkdirAll(s.WorkDir, 0o755); err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	s.Broker = self
	fmt.Fprintf(os.Stderr, "braid-loadgen faults: seed %d, %g items/s per stream, %s of load, %d kills, %s outage\n",
		s.Seed, s.Rate, s.Load, s.Kills, s.Outage)
	var results []faults.Result
	known := map[string]bool{}
	for _, sc := range faults.Scenarios() {
		known[sc.Name] = true
		if *only != "" && !contains(strings.Split(*only, ","), sc.Name) {
			continue
		}
		fmt.Fprintf(os.Stderr, "scenario %s\n", sc.Name)
		results = append(results, sc.Run(ctx, s))
		if ctx.Err() != nil {
			break
		}
	}
	for _, name := range strings.Split(*only, ",") {
		if name != "" && !known[name] {
			return fmt.Errorf("unknown scenario %q", name)
		}
	}
	printFaults(os.Stdout, results)
	if *jsonPath != "" {
		b, err := json.MarshalIndent(results, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(*jsonPath, b, 0o644); err != nil {
			return err
		}
	}
	var failed []string
	for _, r := range results {
		if r.Failure != "" {
			failed = append(failed, r.Scenario)
		}
	}
	if len(failed) > 0 {
		return errors.New("failed: " + strings.Join(failed, ", "))
	}
	return nil
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if strings.TrimSpace(y) == x {
			return true
		}
	}
	return false
}

func printFaults(w io.Writer, results []faults.Result) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\tstream\tsent\tacknowledged\tdelivered\tduplicates\tlost\tlost to damage\tunacked, delivered\t")
	for _, r := range results {
		for _, t := range r.Tallies {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t\n", r.Scenario, t.Stream, t.Sent, t.Acknowledged,
				t.Delivered, t.Duplicates, t.Lost-t.LostBeforeCut, t.LostBeforeCut, t.UnackedDelivered)
		}
	}
	tw.Flush()
	for _, r := range results {
		status := "PASS"
		if r.Failure != "" {
			status = "FAIL: " + r.Failure
		}
		fmt.Fprintf(w, "%s %s\n", r.Scenario, status)
		for _, n := range r.Notes {
			fmt.Fprintf(w, "    %s\n", n)
		}
	}
}
