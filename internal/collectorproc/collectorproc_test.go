package collectorproc

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/braidobs/braid/internal/testnet"
)

// The test binary stands in for a collector when FAKE_COLLECTOR is set: it
// serves a health check on FAKE_HEALTH after FAKE_DELAY, or exits at once
// with FAKE_EXIT, and says how it was stopped.
func TestMain(m *testing.M) {
	switch os.Getenv("FAKE_COLLECTOR") {
	case "":
		os.Exit(m.Run())
	case "exit":
		fmt.Println("bad config: receivers::otlp: unknown key")
		os.Exit(2)
	default:
		fakeCollector()
	}
}

func fakeCollector() {
	fmt.Println("args:", strings.Join(os.Args[1:], " "))
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM)
	if d, err := time.ParseDuration(os.Getenv("FAKE_DELAY")); err == nil {
		time.Sleep(d)
	}
	go func() {
		_ = http.ListenAndServe(os.Getenv("FAKE_HEALTH"), http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	}()
	<-stop
	fmt.Println("stopping on SIGTERM")
	os.Exit(0)
}

func spec(t *testing.T, mode string, env ...string) Spec {
	t.Helper()
	health, err := testnet.Addr()
	require.NoError(t, err)
	return Spec{
		Binary:  os.Args[0],
		Args:    []string{"--config", "gateway.yaml"},
		Env:     append([]string{"FAKE_COLLECTOR=" + mode, "FAKE_HEALTH=" + health}, env...),
		LogPath: filepath.Join(t.TempDir(), "collector.log"),
		Health:  health,
	}
}

func TestStartWaitsForTheHealthCheckAndStopAsksPolitely(t *testing.T) {
	s := spec(t, "serve", "FAKE_DELAY=300ms")
	var startedPid int
	s.Started = func(pid int) error { startedPid = pid; return nil }
	p, err := Start(context.Background(), s)
	require.NoError(t, err)
	assert.True(t, p.Healthy(), "healthy when Start returns")
	assert.Equal(t, p.Pid(), startedPid)

	p.Stop()
	assert.False(t, p.Running())
	assert.False(t, p.Healthy())
	assert.NoError(t, p.Wait())
	log := Tail(s.LogPath, 1<<20)
	assert.Contains(t, log, "args: --config gateway.yaml")
	assert.Contains(t, log, "stopping on SIGTERM")
	p.Stop() // again: nothing to do
}

func TestKillEndsTheProcessAtOnce(t *testing.T) {
	s := spec(t, "serve")
	p, err := Start(context.Background(), s)
	require.NoError(t, err)
	p.Kill()
	assert.False(t, p.Running())
	assert.ErrorContains(t, p.Wait(), "signal: killed")
	assert.NotContains(t, Tail(s.LogPath, 1<<20), "stopping on SIGTERM")
}

func TestAProcessThatExitsAtStartIsAnErrorWithItsLog(t *testing.T) {
	_, err := Start(context.Background(), spec(t, "exit"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "exited at start: exit status 2")
	assert.Contains(t, err.Error(), "receivers::otlp: unknown key")
}

func TestStartGivesUpWhenTheContextEnds(t *testing.T) {
	s := spec(t, "serve", "FAKE_DELAY=1h")
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := Start(ctx, s)
	require.ErrorContains(t, err, "not healthy")
	assert.Contains(t, Tail(s.LogPath, 1<<20), "---- sending signal 9 (killed)", "and the process is killed")
}

func TestAStartedHookErrorStopsTheProcess(t *testing.T) {
	s := spec(t, "serve", "FAKE_DELAY=1h")
	s.Started = func(int) error { return fmt.Errorf("no cgroup") }
	_, err := Start(context.Background(), s)
	require.ErrorContains(t, err, "no cgroup")
}

func TestAppendKeepsEarlierRunsLog(t *testing.T) {
	s := spec(t, "serve")
	s.Append = true
	for range 2 {
		p, err := Start(context.Background(), s)
		require.NoError(t, err)
		p.Stop()
	}
	assert.Equal(t, 2, strings.Count(Tail(s.LogPath, 1<<20), "stopping on SIGTERM"))
}

func TestTail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	require.NoError(t, os.WriteFile(path, []byte("0123456789"), 0o644))
	for _, tc := range []struct {
		name string
		n    int
		want string
	}{
		{"the last bytes", 4, "6789"},
		{"a file shorter than n", 100, "0123456789"},
	} {
		t.Run(tc.name, func(t *testing.T) { assert.Equal(t, tc.want, Tail(path, tc.n)) })
	}
	assert.Contains(t, Tail(filepath.Join(t.TempDir(), "missing"), 4), "no such file")
}
