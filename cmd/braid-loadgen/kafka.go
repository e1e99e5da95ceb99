package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kfake"
)

// kafkaCmd runs a Kafka-protocol broker on loopback for the Kafka tier's
// tests and the local stack: franz-go's kfake, an in-process implementation
// of the Kafka protocol (produce, fetch, consumer groups and their offsets),
// its log kept in --data-dir when set.
func kafkaCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("kafka", flag.ContinueOnError)
	ports := fs.String("ports", "9092", "comma-separated loopback ports, one broker each")
	partitions := fs.Int("partitions", 6, "partitions of each topic")
	topics := fs.String("topics", "otlp_spans,otlp_logs,otlp_metrics", "topics to create")
	dataDir := fs.String("data-dir", "", "keep the log here across restarts (empty: in memory)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var ps []int
	for _, p := range strings.Split(*ports, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil {
			return fmt.Errorf("--ports: %q is not a port", p)
		}
		ps = append(ps, n)
	}
	opts := []kfake.Opt{
		kfake.Ports(ps...),
		kfake.NumBrokers(len(ps)),
		kfake.SeedTopics(int32(*partitions), strings.Split(*topics, ",")...),
		kfake.DefaultNumPartitions(*partitions),
		kfake.AllowAutoTopicCreation(),
	}
	if *dataDir != "" {
		opts = append(opts, kfake.DataDir(*dataDir), kfake.SyncWrites())
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		return err
	}
	defer c.Close()
	fmt.Fprintf(os.Stderr, "kafka: brokers on %s, topics %s with %d partitions\n", strings.Join(c.ListenAddrs(), ","), *topics, *partitions)
	<-ctx.Done()
	return nil
}
