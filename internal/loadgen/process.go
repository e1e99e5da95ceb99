package loadgen

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/braidobs/braid/internal/collectorproc"
	"github.com/braidobs/braid/internal/cpuquota"
	"github.com/braidobs/braid/internal/testnet"
)

// processSettings say how to start a collector under test.
type processSettings struct {
	// binary is the collector to run; it takes Braid's --config flags.
	binary string
	// workDir holds each run's storage directory and log.
	workDir string
	// cpus, when set, is the CPU list the collector runs on (taskset -c).
	cpus string
	// cpuQuota, when positive, limits the collector to that many CPUs
	// with a cgroup (internal/cpuquota).
	cpuQuota float64
}

// collectorProcess is a running collector and the loopback addresses it
// listens on.
type collectorProcess struct {
	proc    *collectorproc.Process
	otlp    string
	pprof   string
	metrics string // the internal telemetry's Prometheus endpoint
	logPath string
	unlimit func() // lifts the CPU limit, when there is one
}

// startCollector runs the collector on p's configs with every listener on a
// free loopback port and every exporter pointed at the sink, and waits for
// its health check.
func startCollector(ctx context.Context, s processSettings, p Pipeline, sig Signal, sink *Sink, extraEnv ...string) (*collectorProcess, error) {
	addrs := make([]string, 6)
	for i := range addrs {
		a, err := testnet.Addr()
		if err != nil {
			return nil, err
		}
		addrs[i] = a
	}
	_, telemetryPort, _ := net.SplitHostPort(addrs[3])
	storage := filepath.Join(s.workDir, p.Name+"-"+string(sig))
	c := &collectorProcess{otlp: addrs[0], pprof: addrs[5], metrics: addrs[3], logPath: storage + ".log"}
	env := append(extraEnv[:len(extraEnv):len(extraEnv)],
		"BRAID_OTLP_GRPC_ENDPOINT="+addrs[0],
		"BRAID_OTLP_HTTP_ENDPOINT="+addrs[1],
		"BRAID_HEALTH_ENDPOINT="+addrs[2],
		"BRAID_TELEMETRY_HOST=127.0.0.1",
		"BRAID_TELEMETRY_PORT="+telemetryPort,
		"BRAID_PROMETHEUS_ENDPOINT="+addrs[4],
		"BRAID_STORAGE_DIR="+storage,
		"BRAID_PPROF_ENDPOINT="+addrs[5],
		"BENCH_SINK_OTLP="+sink.GRPCAddr(),
		"BENCH_SINK_HTTP=http://"+sink.HTTPAddr(),
	)
	spec := collectorproc.Spec{Binary: s.binary, Args: p.Args(), Env: env, CPUs: s.cpus, LogPath: c.logPath, Health: addrs[2]}
	if s.cpuQuota > 0 {
		spec.Started = func(pid int) (err error) {
			c.unlimit, err = cpuquota.Limit(pid, s.cpuQuota)
			return err
		}
	}
	proc, err := collectorproc.Start(ctx, spec)
	if err != nil {
		if c.unlimit != nil {
			c.unlimit()
		}
		return nil, err
	}
	c.proc = proc
	return c, nil
}

func (c *collectorProcess) pid() int { return c.proc.Pid() }

// stop asks the collector to shut down, kills it after 30 s, and lifts its
// CPU limit.
func (c *collectorProcess) stop() {
	c.proc.Stop()
	if c.unlimit != nil {
		c.unlimit()
	}
}

// healthy reports whether the collector is running and its health check
// answers 200.
func (c *collectorProcess) healthy() bool { return c.proc.Healthy() }

// heapMiB reads the Go heap from the collector's own telemetry, 0 if it
// cannot.
func (c *collectorProcess) heapMiB() float64 {
	resp, err := http.Get("http://" + c.metrics + "/metrics")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "otelcol_process_runtime_heap_alloc_bytes") {
			continue
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err == nil {
			return v / (1 << 20)
		}
	}
	return 0
}

// fetchProfile saves a CPU profile of d from the pprof extension at addr.
func fetchProfile(ctx context.Context, addr string, d time.Duration, path string) error {
	secs := max(1, int(d.Seconds()))
	ctx, cancel := context.WithTimeout(ctx, d+30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", addr, secs), nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %d (is the pprof extension in the config?)", resp.StatusCode)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// logErrors counts the error-level lines of a collector's log and returns
// the first, shortened.
func logErrors(path string) (int, string) {
	f, err := os.Open(path)
	if err != nil {
		return 0, ""
	}
	defer f.Close()
	n, first := 0, ""
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		if line := sc.Text(); strings.Contains(line, "\terror\t") {
			if n == 0 {
				first = line
				if len(first) > 300 {
					first = first[:300] + "…"
				}
			}
			n++
		}
	}
	return n, first
}

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat CPU times on Linux.
const clockTicks = 100

// cpuSeconds is the user plus system CPU time the process has used.
func cpuSeconds(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name, which is in parentheses and may hold spaces.
	rest := string(b[strings.LastIndexByte(string(b), ')')+2:])
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	utime, err1 := strconv.ParseFloat(f[11], 64)
	stime, err2 := strconv.ParseFloat(f[12], 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return (utime + stime) / clockTicks, nil
}

// peakRSSMiB is the process's high-water mark of resident memory.
func peakRSSMiB(pid int) (float64, error) { return procStatusMiB(pid, "VmHWM:") }

// procStatusMiB reads one kB field of /proc/<pid>/status, in MiB.
func procStatusMiB(pid int, field string) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024, err
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}

// loadAverage is the one-minute load average, 0 if unknown.
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}
