// Command braid-loadgen sends realistic OTLP load to Braid, counts what
// Braid delivers, and compares pipelines end to end.
//
//	braid-loadgen send    --endpoint 127.0.0.1:4317 --signal traces --rate 50000 --duration 30s
//	braid-loadgen send    --namespaces 10 --flood-factor 10 --rate 5700 --batch 50 --duration 30s
//	braid-loadgen sink    --grpc 127.0.0.1:24317 --http 127.0.0.1:24318
//	braid-loadgen compare --braid bin/braid --pipeline passthrough=bench/passthrough.yaml --pipeline full=bench/full.yaml
//	braid-loadgen overload --braid bin/braid --config bench/gateway.yaml --memory-limit-mib 256 --duration 30s
//	braid-loadgen fairness --braid bin/braid --config bench/fairness-cpu.yaml --cpu-quota 0.25 --duration 20s
//	braid-loadgen report   --json .tmp/bench-e2e.json
//	braid-loadgen faults   --braid bin/braid --only gateway-kill,disk-full
//	braid-loadgen kafka    --ports 9092 --partitions 6
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/braidobs/braid/internal/loadgen"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "braid-loadgen:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		return errors.New("usage: braid-loadgen send|sink|compare|overload|fairness|report|faults|kafka [flags] (-h for each)")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch args[0] {
	case "send":
		return sendCmd(ctx, args[1:])
	case "sink":
		return sinkCmd(ctx, args[1:])
	case "compare":
		return compareCmd(ctx, args[1:])
	case "overload":
		return overloadCmd(ctx, args[1:])
	case "fairness":
		return fairnessCmd(ctx, args[1:])
	case "report":
		return reportCmd(args[1:])
	case "faults":
		return faultsCmd(ctx, args[1:])
	case "kafka":
		return kafkaCmd(ctx, args[1:])
	}
	return fmt.Errorf("unknown command %q: want send, sink, compare, overload, fairness, report, faults or kafka", args[0])
}

func shapeFlags(fs *flag.FlagSet) *loadgen.Shape {
	s := loadgen.DefaultShape
	fs.IntVar(&s.Services, "services", s.Services, "distinct service.name values")
	fs.IntVar(&s.PodsPerService, "pods-per-service", s.PodsPerService, "pods behind each service")
	fs.IntVar(&s.SpansPerTrace, "spans-per-trace", s.SpansPerTrace, "spans in each trace")
	fs.Float64Var(&s.TracedLogShare, "traced-log-share", s.TracedLogShare, "share of log lines with trace context")
	fs.IntVar(&s.LogsPerTrace, "logs-per-trace", s.LogsPerTrace, "traced lines of a pod in a row that share a trace ID (1: a new trace per line)")
	fs.StringVar(&s.Namespace, "namespace", s.Namespace, "put every pod in this k8s.namespace.name (default: services spread over team-0 … team-3)")
	return &s
}

func sendCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("send", flag.ContinueOnError)
	cfg := loadgen.LoadConfig{}
	fs.StringVar(&cfg.Endpoint, "endpoint", "127.0.0.1:4317", "OTLP gRPC address")
	sig := fs.String("signal", "traces", "traces, logs or metrics")
	fs.Float64Var(&cfg.Rate, "rate", 10000, "items per second over all connections; 0 = as fast as accepted")
	fs.IntVar(&cfg.Connections, "connections", 4, "gRPC connections, one sender each")
	fs.IntVar(&cfg.BatchSize, "batch", 500, "items per export request")
	fs.DurationVar(&cfg.Duration, "duration", 10*time.Second, "how long to send")
	fs.Uint64Var(&cfg.Seed, "seed", 1, "seed for the generated telemetry")
	quiet := fs.Bool("quiet", false, "no per-second progress")
	namespaces := fs.Int("namespaces", 0, "send from this many namespaces at once, one of them (flood-0) at --flood-factor times each other's rate, --rate in all; prints each namespace's result")
	floodFactor := fs.Float64("flood-factor", 10, "with --namespaces: how many times the others' rate flood-0 sends")
	floodSenders := fs.Int("flood-senders", 20, "with --namespaces: flood-0's senders, which send again at once when refused (the others have one each and wait the RetryInfo delay)")
	shape := shapeFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	var err error
	if cfg.Signal, err = loadgen.ParseSignal(*sig); err != nil {
		return err
	}
	cfg.Shape = *shape
	if *namespaces > 0 {
		loads, err := loadgen.FloodLoads(*namespaces, *floodFactor, cfg.Rate, *floodSenders)
		if err != nil {
			return err
		}
		results, err := loadgen.RunNamespaces(ctx, cfg, loads)
		if err != nil {
			return err
		}
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(results)
	}
	var last loadgen.Tick
	progress := func(t loadgen.Tick) {
		if !*quiet {
			fmt.Fprintf(os.Stderr, "%3ds sent/s=%-8d accepted/s=%-8d refused/s=%-6d failed=%-6d p50=%s p99=%s\n",
				t.Second, t.Sent-last.Sent, t.Accepted-last.Accepted, t.Refused-last.Refused, t.Failed,
				t.LatencyP50.Round(time.Microsecond), t.LatencyP99.Round(time.Microsecond))
		}
		last = t
	}
	res, err := loadgen.Run(ctx, cfg, progress)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		loadgen.Result
		AcceptedPerSecond float64 `json:"accepted_per_second"`
	}{res, res.AcceptedPerSecond()})
}

func sinkCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("sink", flag.ContinueOnError)
	grpcAddr := fs.String("grpc", "127.0.0.1:24317", "OTLP gRPC listen address")
	httpAddr := fs.String("http", "127.0.0.1:24318", "HTTP listen address (Loki push, remote write, GET /counts)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	sink, err := loadgen.StartSink(*grpcAddr, *httpAddr)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "sink: OTLP gRPC on %s, HTTP on %s (GET /counts)\n", sink.GRPCAddr(), sink.HTTPAddr())
	<-ctx.Done()
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return sink.Close(shutdown)
}
