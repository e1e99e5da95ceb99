package loadgen

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"time"
)

// OverloadSettings say how Overload drives one pipeline beyond what it
// sustains.
type OverloadSettings struct {
	// Braid is the collector binary; Config its configuration, whose
	// memory_limiter reads ${env:BRAID_MEMORY_LIMIT_MIB} and
	// ${env:BRAID_MEMORY_SPIKE_MIB}.
	Braid  string
	Config string
	// MemoryLimitMiB and SpikeLimitMiB are given to the memory_limiter;
	// GoMemLimitMiB, when positive, is GOMEMLIMIT.
	MemoryLimitMiB int
	SpikeLimitMiB  int
	GoMemLimitMiB  int
	// CPUQuota, when positive, limits the collector to that many CPUs
	// with a cgroup (needs root and a writable CPU controller).
	CPUQuota float64
	// Sustained is the pipeline's sustained rate, to report the overload
	// factor. When it is 0 and there is a CPU quota, it is measured first
	// under the same quota: the ladder of SustainedRates, the first being
	// the CPU step's rate, 5 s a step over 4 connections.
	Sustained      float64
	SustainedRates []float64
	// Load is the load to offer; its Endpoint and Signal are set by
	// Overload.
	Load LoadConfig
	// SinkDelay makes the sink answer this late, as a slow backend.
	SinkDelay time.Duration
	// WorkDir holds the collector's storage directory and log.
	WorkDir string
	// Log receives a line per second of load; nil discards them.
	Log io.Writer
}

// Validate checks the memory limits.
func (s OverloadSettings) Validate() error {
	if s.MemoryLimitMiB <= s.SpikeLimitMiB || s.SpikeLimitMiB <= 0 {
		return fmt.Errorf("want 0 < spike-limit-mib < memory-limit-mib, got %d and %d", s.SpikeLimitMiB, s.MemoryLimitMiB)
	}
	if s.CPUQuota > 0 && s.Sustained == 0 && len(s.SustainedRates) == 0 {
		return fmt.Errorf("a cpu quota without a sustained rate needs sustained rates to measure it")
	}
	return nil
}

// OverloadReport is what one overload run saw.
type OverloadReport struct {
	Config         string `json:"config"`
	Signal         string `json:"signal"`
	MemoryLimitMiB int    `json:"memory_limit_mib"`
	SpikeLimitMiB  int    `json:"spike_limit_mib"`
	GoMemLimitMiB  int    `json:"gomemlimit_mib,omitempty"`
	// CPUQuota is the CPUs the collector was limited to (0: none).
	CPUQuota float64 `json:"cpu_quota,omitempty"`
	// HonorRetryInfo says whether refused senders waited the RetryInfo delay.
	HonorRetryInfo bool   `json:"honor_retry_info"`
	Load           Result `json:"load"`
	// OfferedPerSecond is what the senders got an answer for (accepted or
	// refused) per second.
	OfferedPerSecond float64 `json:"offered_per_second"`
	// Sustained is the rate given in the settings, or measured first under
	// the same CPU quota; Overload the ratio of the offered rate to it.
	Sustained  float64 `json:"sustained_per_second,omitempty"`
	Overload   float64 `json:"overload,omitempty"`
	PeakRSSMiB float64 `json:"peak_rss_mib"`
	// PeakHeapMiB is the highest Go heap the collector reported (its own
	// otelcol_process_runtime_heap_alloc_bytes, sampled once a second): what
	// the memory_limiter watches.
	PeakHeapMiB float64 `json:"peak_heap_mib"`
	// PeakAnonMiB is the highest anonymous resident memory sampled (RssAnon,
	// once a second): RSS less the file pages mapped for the persistent
	// queues.
	PeakAnonMiB float64 `json:"peak_rss_anon_mib"`
	// ErrorsLogged counts error lines in the collector's log (export
	// failures, queue full); FirstError is the first of them.
	ErrorsLogged int    `json:"errors_logged"`
	FirstError   string `json:"first_error,omitempty"`
	// Alive says the collector still answered its health check after the run.
	Alive bool    `json:"alive"`
	Load1 float64 `json:"load1"`
	// MemoryUnderLimit, RetryableRefusals and NoCrash are the three checks.
	MemoryUnderLimit  bool `json:"memory_under_limit"`
	RetryableRefusals bool `json:"retryable_refusals"`
	NoCrash           bool `json:"no_crash"`
}

// Passed reports whether the run passed all three checks.
func (r OverloadReport) Passed() bool {
	return r.MemoryUnderLimit && r.RetryableRefusals && r.NoCrash
}

// Overload drives the pipeline far beyond what it sustains with one
// signal, on a fresh collector under the settings' memory limit, and checks
// that it refuses only with retryable codes, stays under its memory limit
// and keeps running. Measuring the sustained rate first, when it does, costs
// a second fresh collector.
func Overload(ctx context.Context, s OverloadSettings, sig Signal) (OverloadReport, error) {
	rep := OverloadReport{Config: s.Config, Signal: string(sig), MemoryLimitMiB: s.MemoryLimitMiB, SpikeLimitMiB: s.SpikeLimitMiB,
		GoMemLimitMiB: s.GoMemLimitMiB, CPUQuota: s.CPUQuota, Sustained: s.Sustained, HonorRetryInfo: s.Load.HonorRetryInfo}
	if err := s.Validate(); err != nil {
		return rep, err
	}
	if rep.Sustained == 0 && s.CPUQuota > 0 {
		// compare's paced ladder, on a fresh collector under the same quota.
		cs := CompareSettings{Braid: s.Braid, WorkDir: s.WorkDir, CPUQuota: s.CPUQuota,
			CPURate: s.SustainedRates[0], Rates: s.SustainedRates[1:], Step: 5 * time.Second, Connections: 4, Batch: s.Load.BatchSize, Log: s.Log}
		m, err := Measure(ctx, cs, Pipeline{Name: "sustained", Configs: []string{s.Config}}, sig)
		if err != nil {
			return rep, fmt.Errorf("sustained rate under %g CPUs: %w", s.CPUQuota, err)
		}
		rep.Sustained = m.MaxSustained
	}

	sink, err := StartSink("127.0.0.1:0", "127.0.0.1:0")
	if err != nil {
		return rep, err
	}
	defer sink.Close(context.Background())
	sink.SetDelay(s.SinkDelay)

	env := []string{
		"BRAID_MEMORY_LIMIT_MIB=" + strconv.Itoa(s.MemoryLimitMiB),
		"BRAID_MEMORY_SPIKE_MIB=" + strconv.Itoa(s.SpikeLimitMiB),
	}
	if s.GoMemLimitMiB > 0 {
		env = append(env, "GOMEMLIMIT="+strconv.Itoa(s.GoMemLimitMiB)+"MiB")
	}
	ps := processSettings{binary: s.Braid, workDir: s.WorkDir, cpuQuota: s.CPUQuota}
	c, err := startCollector(ctx, ps, Pipeline{Name: "overload", Configs: []string{s.Config}}, sig, sink, env...)
	if err != nil {
		return rep, err
	}
	defer c.stop()
	pid := c.pid()

	log := s.Log
	if log == nil {
		log = io.Discard
	}
	cfg := s.Load
	cfg.Endpoint, cfg.Signal = c.otlp, sig
	var last Tick
	progress := func(t Tick) {
		rss, _ := procStatusMiB(pid, "VmRSS:")
		if anon, _ := procStatusMiB(pid, "RssAnon:"); anon > rep.PeakAnonMiB {
			rep.PeakAnonMiB = anon
		}
		if heap := c.heapMiB(); heap > rep.PeakHeapMiB {
			rep.PeakHeapMiB = heap
		}
		fmt.Fprintf(log, "%-7s %3ds offered/s=%-8d accepted/s=%-8d refused/s=%-8d failed=%-6d rss=%.0fMiB peak-heap=%.0fMiB p99=%s\n",
			sig, t.Second, t.Sent-last.Sent, t.Accepted-last.Accepted, t.Refused-last.Refused, t.Failed, rss, rep.PeakHeapMiB,
			t.LatencyP99.Round(time.Millisecond))
		last = t
	}
	res, err := Run(ctx, cfg, progress)
	if err != nil {
		return rep, err
	}
	rep.Load = res
	rep.Load1 = loadAverage()
	// Give the collector a moment to work off what it took, then ask if it
	// is well.
	time.Sleep(3 * time.Second)
	rep.Alive = c.healthy()
	rep.PeakRSSMiB, _ = peakRSSMiB(pid)
	rep.ErrorsLogged, rep.FirstError = logErrors(c.logPath)
	rep.judge()
	return rep, nil
}

// judge works out the offered rate and the overload factor from the load,
// and sets the three checks. The memory bar is anonymous memory: the file
// pages a disk queue maps count in RSS but are page cache the kernel can
// drop, and the memory_limiter does not govern them. A run with no memory
// sample fails the check rather than passing it unseen.
func (r *OverloadReport) judge() {
	if r.Load.Elapsed > 0 {
		r.OfferedPerSecond = float64(r.Load.Sent) / r.Load.Elapsed.Seconds()
	}
	if r.Sustained > 0 {
		r.Overload = r.OfferedPerSecond / r.Sustained
	}
	r.MemoryUnderLimit = r.PeakAnonMiB > 0 && r.PeakAnonMiB < float64(r.MemoryLimitMiB)
	r.RetryableRefusals = r.Load.Failed == 0
	r.NoCrash = r.Alive
}
