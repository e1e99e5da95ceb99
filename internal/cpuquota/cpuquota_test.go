package cpuquota

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLimitPutsTheWholeProcessInAQuotaGroup runs where the tests run: as
// root with a writable CPU controller (the CI machine), the process lands in
// a group with the quota, and the group is gone after the process; without
// them, the error says what is missing, and the test fails if
// BRAID_REQUIRE_CGROUP=1 and is skipped otherwise.
func TestLimitPutsTheWholeProcessInAQuotaGroup(t *testing.T) {
	_, err := Limit(os.Getpid(), 0)
	require.ErrorContains(t, err, "cpu quota must be positive")

	cmd := exec.Command("sleep", "30")
	require.NoError(t, cmd.Start())
	pid := cmd.Process.Pid
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()

	remove, err := Limit(pid, 0.5)
	if err != nil {
		require.ErrorIs(t, err, ErrUnavailable)
		SkipUnlessRequired(t, err)
	}
	group := fmt.Sprintf("braid-cpuquota-%d", pid)
	cg, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	require.NoError(t, err)
	assert.Contains(t, string(cg), group, "the process is in the new group")

	var dir string
	for _, root := range roots {
		if _, err := os.Stat(filepath.Join(root, group)); err == nil {
			dir = filepath.Join(root, group)
		}
	}
	require.NotEmpty(t, dir)
	t.Logf("limited in %s", dir)
	if b, err := os.ReadFile(filepath.Join(dir, "cpu.max")); err == nil {
		assert.Equal(t, "50000 100000", strings.TrimSpace(string(b)))
	} else {
		b, err := os.ReadFile(filepath.Join(dir, "cpu.cfs_quota_us"))
		require.NoError(t, err)
		assert.Equal(t, "50000", strings.TrimSpace(string(b)))
	}

	require.NoError(t, cmd.Process.Kill())
	_ = cmd.Wait()
	remove()
	_, err = os.Stat(dir)
	assert.True(t, os.IsNotExist(err), "the group is removed after the process: %v", err)
}
