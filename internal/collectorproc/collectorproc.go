// Package collectorproc runs a collector binary (braid, or the upstream-only
// build the benchmarks compare it with) as a child process: started, waited
// for until its health check answers, stopped or killed. The fault harness
// and the load generator both run their collectors with it.
package collectorproc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// StartTimeout bounds how long Start waits for the health check.
const StartTimeout = 60 * time.Second

// stopTimeout is how long Stop waits after its signal before SIGKILL.
const stopTimeout = 30 * time.Second

// Spec says what to run.
type Spec struct {
	Binary string
	Args   []string
	// Env is added to this process's environment.
	Env []string
	// CPUs, when set, is the CPU list the collector runs on: it is started
	// under taskset, so that every thread it makes inherits the list.
	CPUs string
	// LogPath receives the process's output. With Append the file is
	// appended to (a process restarted on the same log), else truncated.
	LogPath string
	Append  bool
	// Health is the address of the health check, answering 200 on GET /.
	Health string
	// Started, when set, runs once the process exists, before Start waits
	// for its health check (a CPU limit set on the pid); an error stops it.
	Started func(pid int) error
}

// Process is a running collector.
type Process struct {
	spec Spec
	cmd  *exec.Cmd
	log  *os.File
	// done receives the process's exit once; Running and Healthy put it
	// back for the next reader.
	done chan error
}

// Start runs the collector and waits until its health check answers 200.
// When the process exits first, or is not healthy within StartTimeout or
// before ctx ends, it is stopped and the error carries the end of its log.
func Start(ctx context.Context, s Spec) (*Process, error) {
	flags := os.O_CREATE | os.O_WRONLY | os.O_TRUNC
	if s.Append {
		flags = os.O_CREATE | os.O_WRONLY | os.O_APPEND
	}
	log, err := os.OpenFile(s.LogPath, flags, 0o644)
	if err != nil {
		return nil, err
	}
	name, args := s.Binary, s.Args
	if s.CPUs != "" {
		taskset, err := exec.LookPath("taskset")
		if err != nil {
			log.Close()
			return nil, fmt.Errorf("running on CPUs %s needs taskset (util-linux): %w", s.CPUs, err)
		}
		name, args = taskset, append([]string{"-c", s.CPUs, s.Binary}, s.Args...)
	}
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), s.Env...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	fmt.Fprintf(log, "---- starting %s %s\n", s.Binary, strings.Join(s.Args, " "))
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, err
	}
	p := &Process{spec: s, cmd: cmd, log: log, done: make(chan error, 1)}
	go func() {
		err := cmd.Wait()
		log.Close()
		p.done <- err
	}()
	if s.Started != nil {
		if err := s.Started(cmd.Process.Pid); err != nil {
			p.Kill()
			return nil, err
		}
	}
	base := filepath.Base(s.Binary)
	deadline := time.Now().Add(StartTimeout)
	for {
		select {
		case err := <-p.done:
			p.done <- err
			return nil, fmt.Errorf("%s exited at start: %v; log:\n%s", base, err, Tail(s.LogPath, 4000))
		default:
		}
		if p.healthCheck() {
			return p, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			p.Kill()
			return nil, fmt.Errorf("%s not healthy within %s; log:\n%s", base, StartTimeout, Tail(s.LogPath, 4000))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Pid is the process's id (taskset's, which execs the collector in its
// place, when CPUs is set).
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// LogPath is where the process's output goes.
func (p *Process) LogPath() string { return p.spec.LogPath }

// Running says whether the process has not exited.
func (p *Process) Running() bool {
	select {
	case err := <-p.done:
		p.done <- err
		return false
	default:
		return true
	}
}

// Healthy says whether the process is running and its health check answers
// 200.
func (p *Process) Healthy() bool { return p.Running() && p.healthCheck() }

func (p *Process) healthCheck() bool {
	c := http.Client{Timeout: time.Second}
	resp, err := c.Get("http://" + p.spec.Health + "/")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// Kill sends SIGKILL, as the kernel's OOM killer or a node failure would,
// and waits for the process to be gone.
func (p *Process) Kill() { p.end(syscall.SIGKILL) }

// Stop asks the process to stop (SIGTERM), waits for it, and kills it after
// 30 s.
func (p *Process) Stop() { p.end(syscall.SIGTERM) }

func (p *Process) end(sig syscall.Signal) {
	if !p.Running() {
		return
	}
	fmt.Fprintf(p.log, "---- sending signal %d (%s)\n", sig, sig)
	_ = p.cmd.Process.Signal(sig)
	var err error
	select {
	case err = <-p.done:
	case <-time.After(stopTimeout):
		_ = p.cmd.Process.Kill()
		err = <-p.done
	}
	p.done <- err
}

// Wait waits for the process to exit and returns its exit error.
func (p *Process) Wait() error {
	err := <-p.done
	p.done <- err
	return err
}

// Tail returns the last n bytes of a file, or the error reading it.
func Tail(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > int64(n) {
		if _, err := f.Seek(st.Size()-int64(n), io.SeekStart); err != nil {
			return err.Error()
		}
	}
	b, err := io.ReadAll(f)
	if err != nil && !errors.Is(err, io.EOF) {
		return err.Error()
	}
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
