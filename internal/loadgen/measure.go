package loadgen

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

// Pipeline is a collector configuration to measure: one or more files
// merged in order. Signals, when set, narrows the signals it is loaded with
// (a logs-only pipeline is not loaded with traces).
type Pipeline struct {
	Name    string
	Configs []string
	Signals []Signal
}

// Args are the collector's --config flags for the pipeline.
func (p Pipeline) Args() []string {
	var a []string
	for _, c := range p.Configs {
		a = append(a, "--config", c)
	}
	return a
}

// Wants reports whether the pipeline is to be loaded with sig.
func (p Pipeline) Wants(sig Signal) bool {
	return len(p.Signals) == 0 || slices.Contains(p.Signals, sig)
}

// CompareSettings say how Measure loads a pipeline.
type CompareSettings struct {
	// Braid is the collector binary run for every pipeline not in Binaries.
	Braid string
	// Binaries names, per pipeline, a collector binary to run instead of
	// Braid (the upstream-only baseline, say); it takes the same --config
	// flags.
	Binaries map[string]string
	// KafkaFronts names, per pipeline, a relay's configuration: the load
	// goes to a relay Braid (unpinned, unlimited: it runs beside the load
	// generator) that writes it to a Kafka-protocol broker in this process,
	// which the collector under test reads. Only the latter is measured.
	KafkaFronts map[string]string
	// CPURate is the rate at which CPU per million items is compared; the
	// CPU step runs first, at this rate.
	CPURate float64
	// Rates are the target rates (items/s) of the ladder, tried in order
	// until one is not sustained.
	Rates       []float64
	Step        time.Duration
	Connections int
	Batch       int
	// WorkDir holds each collector's storage directory and log.
	WorkDir string
	// ProfileDir, when set, receives a CPU profile of the collector taken
	// during each CPU step (<pipeline>-<signal>.pprof); the config needs the
	// pprof extension on ${env:BRAID_PPROF_ENDPOINT}.
	ProfileDir string
	// CPUs, when set, is the CPU list the collector runs on (taskset -c).
	CPUs string
	// CPUQuota, when positive, limits the collector to that many CPUs
	// with a cgroup (needs root and a writable CPU controller).
	CPUQuota float64
	// Log receives a line per step; nil discards them.
	Log io.Writer
}

func (s CompareSettings) process(p Pipeline) processSettings {
	bin := s.Braid
	if b, ok := s.Binaries[p.Name]; ok {
		bin = b
	}
	return processSettings{binary: bin, workDir: s.WorkDir, cpus: s.CPUs, cpuQuota: s.CPUQuota}
}

func (s CompareSettings) log() io.Writer {
	if s.Log == nil {
		return io.Discard
	}
	return s.Log
}

// StepResult is one load step against one pipeline.
type StepResult struct {
	Pipeline      string  `json:"pipeline"`
	Signal        string  `json:"signal"`
	Load          Result  `json:"load"`
	Delivered     int64   `json:"delivered"`
	CPUSeconds    float64 `json:"cpu_seconds"`
	CPUPerMillion float64 `json:"cpu_seconds_per_million"`
	// LoadgenCPUSeconds is what this process (generator and sink) used in
	// the step: it shares the machine with the collector.
	LoadgenCPUSeconds float64 `json:"loadgen_cpu_seconds"`
	// Load1 is the machine's one-minute load average at the end of the step.
	Load1     float64 `json:"load1"`
	Sustained bool    `json:"sustained"`
	Why       string  `json:"why,omitempty"`
}

// PipelineReport is what Measure saw of one pipeline and signal.
type PipelineReport struct {
	Pipeline string `json:"pipeline"`
	Signal   string `json:"signal"`
	// MaxSustained is the highest target rate met with nothing refused or lost.
	MaxSustained float64 `json:"max_sustained_per_second"`
	// CPUPerMillion is measured at the common CPU rate.
	CPUPerMillion float64 `json:"cpu_seconds_per_million"`
	PeakRSSMiB    float64 `json:"peak_rss_mib"`
	// Load1 is the one-minute load average at the end of the CPU step.
	Load1 float64      `json:"load1"`
	Steps []StepResult `json:"steps"`
}

// Measure starts a fresh collector on pipeline p and runs the CPU step and
// the rate ladder for one signal.
func Measure(ctx context.Context, s CompareSettings, p Pipeline, sig Signal) (PipelineReport, error) {
	rep := PipelineReport{Pipeline: p.Name, Signal: string(sig)}
	sink, err := StartSink("127.0.0.1:0", "127.0.0.1:0")
	if err != nil {
		return rep, err
	}
	defer sink.Close(context.Background())

	var env []string
	endpoint := ""
	if relayConfig, ok := s.KafkaFronts[p.Name]; ok {
		broker, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(6, "otlp_spans", "otlp_logs", "otlp_metrics"))
		if err != nil {
			return rep, fmt.Errorf("start the broker: %w", err)
		}
		defer broker.Close()
		env = []string{"BRAID_KAFKA_BROKERS=[" + broker.ListenAddrs()[0] + "]",
			"BRAID_KAFKA_GROUP=bench-" + p.Name, "BRAID_KAFKA_INSTANCE_ID=bench"}
		relay := Pipeline{Name: p.Name + "-relay", Configs: []string{relayConfig}}
		rs := processSettings{binary: s.Braid, workDir: s.WorkDir}
		r, err := startCollector(ctx, rs, relay, sig, sink, env...)
		if err != nil {
			return rep, fmt.Errorf("start the relay: %w", err)
		}
		defer r.stop()
		endpoint = r.otlp
	}
	c, err := startCollector(ctx, s.process(p), p, sig, sink, env...)
	if err != nil {
		return rep, err
	}
	defer c.stop()
	if endpoint == "" {
		endpoint = c.otlp
	}

	step := func(rate float64, profile string) (StepResult, error) {
		cpu0, err := cpuSeconds(c.pid())
		if err != nil {
			return StepResult{}, err
		}
		self0, _ := cpuSeconds(os.Getpid())
		var profileDone chan error
		if profile != "" {
			profileDone = make(chan error, 1)
			go func() { profileDone <- fetchProfile(ctx, c.pprof, s.Step-time.Second, profile) }()
		}
		before := delivered(sig, sink.Counts())
		res, err := Run(ctx, LoadConfig{
			Endpoint: endpoint, Signal: sig, Rate: rate, Connections: s.Connections, BatchSize: s.Batch,
			Duration: s.Step, Shape: DefaultShape, Seed: uint64(rate),
		}, nil)
		if err != nil {
			return StepResult{}, err
		}
		got := waitDelivered(ctx, sink, sig, before+res.Accepted)
		cpu1, err := cpuSeconds(c.pid())
		if err != nil {
			return StepResult{}, fmt.Errorf("the collector exited during the run (log: %s): %w", c.logPath, err)
		}
		self1, _ := cpuSeconds(os.Getpid())
		if profileDone != nil {
			if err := <-profileDone; err != nil {
				fmt.Fprintf(s.log(), "profile %s: %v\n", profile, err)
			}
		}
		sr := StepResult{Pipeline: p.Name, Signal: string(sig), Load: res, Delivered: got - before,
			CPUSeconds: cpu1 - cpu0, LoadgenCPUSeconds: self1 - self0, Load1: loadAverage()}
		if res.Accepted > 0 {
			sr.CPUPerMillion = sr.CPUSeconds / (float64(res.Accepted) / 1e6)
		}
		sr.Sustained, sr.Why = judgeStep(res, sr.Delivered, rate)
		fmt.Fprintf(s.log(), "%-12s %-7s target=%-7.0f accepted/s=%-8.0f delivered=%-9d cpu/M=%.2fs loadgen-cpu=%.1fs load1=%.1f %s\n",
			p.Name, sig, rate, res.AcceptedPerSecond(), sr.Delivered, sr.CPUPerMillion, sr.LoadgenCPUSeconds, sr.Load1, sr.Why)
		return sr, nil
	}

	var profile string
	if s.ProfileDir != "" {
		profile = filepath.Join(s.ProfileDir, fmt.Sprintf("%s-%s.pprof", p.Name, sig))
	}
	if err := climb(&rep, s.CPURate, s.Rates, profile, step); err != nil {
		return rep, err
	}
	rep.PeakRSSMiB, err = peakRSSMiB(c.pid())
	return rep, err
}

// judgeStep says whether a step at target rate was sustained, and if not,
// why: anything refused or failed, under 95% of the target accepted, or
// not everything accepted delivered.
func judgeStep(res Result, delivered int64, rate float64) (bool, string) {
	switch {
	case res.Refused > 0:
		return false, fmt.Sprintf("%d refused", res.Refused)
	case res.Failed > 0:
		return false, fmt.Sprintf("%d failed: %s", res.Failed, res.FirstError)
	case res.AcceptedPerSecond() < 0.95*rate:
		return false, fmt.Sprintf("only %.0f/s accepted", res.AcceptedPerSecond())
	case delivered < res.Accepted:
		return false, fmt.Sprintf("%d accepted but %d delivered", res.Accepted, delivered)
	}
	return true, ""
}

// climb runs the CPU step at cpuRate (with a profile, when one is named),
// then the ladder of rates until a step is not sustained, into rep. Rates
// up to cpuRate are skipped when the CPU step was sustained: it showed them.
// MaxSustained is the highest rate sustained before the first that was not.
func climb(rep *PipelineReport, cpuRate float64, rates []float64, profile string, step func(rate float64, profile string) (StepResult, error)) error {
	cpuStep, err := step(cpuRate, profile)
	if err != nil {
		return err
	}
	rep.CPUPerMillion = cpuStep.CPUPerMillion
	rep.Load1 = cpuStep.Load1
	rep.Steps = append(rep.Steps, cpuStep)
	if cpuStep.Sustained {
		rep.MaxSustained = cpuRate
	}
	for _, rate := range rates {
		if cpuStep.Sustained && rate <= cpuRate {
			continue
		}
		sr, err := step(rate, "")
		if err != nil {
			return err
		}
		rep.Steps = append(rep.Steps, sr)
		if !sr.Sustained {
			break
		}
		rep.MaxSustained = rate
	}
	return nil
}

// delivered is what reached the backends for sig: OTLP to the next hop, or
// Loki push for logs.
func delivered(sig Signal, c Counts) int64 {
	switch sig {
	case Traces:
		return c.Spans
	case Logs:
		return c.LogRecords + c.LokiEntries
	default:
		return c.DataPoints
	}
}

// waitDelivered waits, bounded, until the sink has want items of sig or
// stops making progress, and returns what it has.
func waitDelivered(ctx context.Context, sink *Sink, sig Signal, want int64) int64 {
	deadline := time.Now().Add(30 * time.Second)
	last, lastChange := delivered(sig, sink.Counts()), time.Now()
	for time.Now().Before(deadline) && ctx.Err() == nil {
		got := delivered(sig, sink.Counts())
		if got >= want {
			return got
		}
		if got != last {
			last, lastChange = got, time.Now()
		} else if time.Since(lastChange) > 5*time.Second {
			return got
		}
		time.Sleep(100 * time.Millisecond)
	}
	return delivered(sig, sink.Counts())
}
