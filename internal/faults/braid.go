package faults

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

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

	cmd  *exec.Cmd
	done chan error
	log  *os.File
}

// FreeAddr returns a loopback address with a port free at the time, below
// the ephemeral range (testnet.Addr).
func FreeAddr() (string, error) { return testnet.Addr() }

// Start runs the process and waits until its health check answers; the
// process's output is appended to LogPath.
func (b *Braid) Start(ctx context.Context) error {
	if b.cmd != nil {
		return fmt.Errorf("braid already running (pid %d)", b.cmd.Process.Pid)
	}
	log, err := os.OpenFile(b.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	args := make([]string, 0, 2*len(b.Configs))
	for _, c := range b.Configs {
		args = append(args, "--config", c)
	}
	cmd := exec.Command(b.Binary, args...)
	cmd.Env = append(os.Environ(), b.Env...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	fmt.Fprintf(log, "---- braid-faults: starting %s %s\n", b.Binary, strings.Join(args, " "))
	if err := cmd.Start(); err != nil {
		log.Close()
		return err
	}
	b.cmd, b.log, b.done = cmd, log, make(chan error, 1)
	go func(done chan error) { done <- cmd.Wait() }(b.done)
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case err := <-b.done:
			b.cmd = nil
			b.log.Close()
			return fmt.Errorf("braid exited at start: %v; log:\n%s", err, Tail(b.LogPath, 3000))
		default:
		}
		if b.Healthy() {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			b.Kill()
			return fmt.Errorf("braid not healthy within 60s; log:\n%s", Tail(b.LogPath, 3000))
		}
		time.Sleep(50 * time.Millisecond)
	}
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

// Healthy says whether the health check answers 200.
func (b *Braid) Healthy() bool {
	c := http.Client{Timeout: time.Second}
	resp, err := c.Get("http://" + b.Health + "/")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// Running says whether the process has not exited.
func (b *Braid) Running() bool {
	if b.cmd == nil {
		return false
	}
	select {
	case err := <-b.done:
		b.done <- err
		return false
	default:
		return true
	}
}

// Kill sends SIGKILL, as the kernel's OOM killer or a node failure would,
// and waits for the process to be gone.
func (b *Braid) Kill() { b.end(syscall.SIGKILL) }

// Stop asks the process to stop (SIGTERM) and waits for it.
func (b *Braid) Stop() { b.end(syscall.SIGTERM) }

func (b *Braid) end(sig syscall.Signal) {
	if b.cmd == nil {
		return
	}
	fmt.Fprintf(b.log, "---- braid-faults: sending %s\n", sig)
	_ = b.cmd.Process.Signal(sig)
	select {
	case <-b.done:
	case <-time.After(30 * time.Second):
		_ = b.cmd.Process.Kill()
		<-b.done
	}
	b.log.Close()
	b.cmd = nil
}

// Tail returns the last n bytes of a file.
func Tail(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	b, _ := io.ReadAll(f)
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
