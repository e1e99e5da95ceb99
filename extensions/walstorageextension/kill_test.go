package walstorageextension

import (
	"bufio"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

const (
	killHelperEnv = "WAL_STORAGE_KILL_HELPER_DIR"
	killCalls     = 50_000
	killSegment   = 64 << 10
)

// TestKillHelper is the process TestSurvivesKill9 kills: it runs the
// scripted calls against a store and prints the number of each call done.
func TestKillHelper(t *testing.T) {
	dir := os.Getenv(killHelperEnv)
	if dir == "" {
		t.Skip("run by TestSurvivesKill9")
	}
	s, err := openStore(dir, testOptions(killSegment))
	require.NoError(t, err)
	w := bufio.NewWriterSize(os.Stdout, 0)
	for i, c := range scriptedCalls(killCalls, rand.New(rand.NewPCG(9, 10))) {
		require.NoError(t, s.batch(c))
		_, _ = w.WriteString(strconv.Itoa(i+1) + "\n")
	}
	select {} // wait for the kill
}

// TestSurvivesKill9 kills a process writing to a store with SIGKILL at
// a few points: the store opens, holds every call the process saw done,
// and is exactly the state after some call (no call half-applied).
func TestSurvivesKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	calls := scriptedCalls(killCalls, rand.New(rand.NewPCG(9, 10)))
	for _, after := range []int{1, 700, 5000, 20000} {
		dir := t.TempDir()
		cmd := exec.Command(os.Args[0], "-test.run=^TestKillHelper$")
		cmd.Env = append(os.Environ(), killHelperEnv+"="+dir)
		out, err := cmd.StdoutPipe()
		require.NoError(t, err)
		require.NoError(t, cmd.Start())
		sc := bufio.NewScanner(out)
		acked := 0
		for acked < after && sc.Scan() {
			acked, err = strconv.Atoi(sc.Text())
			require.NoError(t, err, sc.Text())
		}
		require.NoError(t, cmd.Process.Kill())
		_ = cmd.Wait()
		require.Equal(t, after, acked, "the helper stopped early")

		s, err := openStore(dir, testOptions(killSegment))
		require.NoError(t, err)
		got := contents(t, s)
		require.NoError(t, s.close())

		model := map[string]string{}
		for _, c := range calls[:acked] {
			applyModel(model, c)
		}
		k := acked
		for ; k < len(calls) && !maps.Equal(model, got); k++ {
			applyModel(model, calls[k])
		}
		require.Equal(t, model, got, "killed after %d acknowledged calls: no prefix of the calls matches", acked)
		t.Logf("killed after %d acknowledged calls; the store holds the first %d", acked, k)
	}
}
