package faults

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/braidobs/braid/internal/collectorproc"
	"github.com/braidobs/braid/internal/testnet"
)

// Braid runs one braid process on fixed loopback ports, so that it can be
// killed and started again where its senders and backends expect it.
type Braid struct {
	Binary  string
	Configs []string
	// Env is added to the process's environment (ports, storage, backends).
	Env     []string
	LogPath string
	// Health is the health check's address; Admin the admin endpoint's
	// (POST /-/reload), when set.
	Health string
	Admin  string
	// Telemetry is the self-metrics endpoint's address, when set.
	Telemetry string

	proc *collectorproc.Process
}

// FreeAddr returns a loopback address with a port free at the time, below
// the ephemeral range (testnet.Addr).
func FreeAddr() (string, error) { return testnet.Addr() }

// Start runs the process and waits until its health check answers; the
// process's output is appended to LogPath.
func (b *Braid) Start(ctx context.Context) error {
	if b.Running() {
		return fmt.Errorf("braid already running (pid %d)", b.proc.Pid())
	}
	args := make([]string, 0, 2*len(b.Configs))
	for _, c := range b.Configs {
		args = append(args, "--config", c)
	}
	p, err := collectorproc.Start(ctx, collectorproc.Spec{
		Binary: b.Binary, Args: args, Env: b.Env,
		LogPath: b.LogPath, Append: true, Health: b.Health,
	})
	if err != nil {
		return err
	}
	b.proc = p
	return nil
}

// Reload asks braid to apply its configuration files again (POST
// /-/reload) and returns its answer's error, if any.
func (b *Braid) Reload() error {
	c := http.Client{Timeout: 30 * time.Second}
	resp, err := c.Post("http://"+b.Admin+"/-/reload", "text/plain", nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("reload: %s: %s", resp.Status, body)
	}
	return nil
}

// Healthy says whether the process runs and its health check answers 200.
func (b *Braid) Healthy() bool { return b.proc != nil && b.proc.Healthy() }

// Running says whether the process has not exited.
func (b *Braid) Running() bool { return b.proc != nil && b.proc.Running() }

// Kill sends SIGKILL, as the kernel's OOM killer or a node failure would,
// and waits for the process to be gone.
func (b *Braid) Kill() {
	if b.proc != nil {
		b.proc.Kill()
	}
}

// Stop asks the process to stop (SIGTERM) and waits for it.
func (b *Braid) Stop() {
	if b.proc != nil {
		b.proc.Stop()
	}
}

// Tail returns the last n bytes of a file.
func Tail(path string, n int) string { return collectorproc.Tail(path, n) }
