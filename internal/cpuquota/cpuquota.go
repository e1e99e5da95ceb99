// Package cpuquota limits a running process to a share of the machine's CPU
// with a cgroup, so that one machine can offer a Braid process many times
// what it can take (the overload and fair-share runs, and their tests).
package cpuquota

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// roots are where a CPU controller may be mounted: cgroup v2's unified
// hierarchy, and cgroup v1's cpu hierarchy.
var roots = []string{"/sys/fs/cgroup", "/sys/fs/cgroup/unified", "/sys/fs/cgroup/cpu"}

// ErrUnavailable is wrapped by Limit's error when the process could not be
// moved into a group: not root, or no writable CPU controller.
var ErrUnavailable = errors.New("needs root and a writable cgroup CPU controller")

// Limit moves process pid, every thread of it, into a new cgroup that may
// use cpus CPUs at most (0.25 is a quarter of one core). It returns a
// function that removes the group once the process has exited.
func Limit(pid int, cpus float64) (remove func(), err error) {
	if !(cpus > 0) {
		return nil, fmt.Errorf("cpu quota must be positive, got %g", cpus)
	}
	const period = 100_000 // µs
	quota := int(cpus * period)
	var errs []error
	for _, root := range roots {
		dir := filepath.Join(root, fmt.Sprintf("braid-cpuquota-%d", pid))
		var files map[string]string
		switch {
		case fileExists(filepath.Join(root, "cgroup.controllers")): // v2
			files = map[string]string{"cpu.max": fmt.Sprintf("%d %d", quota, period)}
		case fileExists(filepath.Join(root, "cpu.cfs_quota_us")): // v1
			files = map[string]string{"cpu.cfs_period_us": strconv.Itoa(period), "cpu.cfs_quota_us": strconv.Itoa(quota)}
		default:
			continue
		}
		if err := os.Mkdir(dir, 0o755); err != nil {
			errs = append(errs, err)
			continue
		}
		remove := func() {
			// The group can go once its processes have; wait a little for
			// the kernel to see the process gone.
			for range 50 {
				if os.Remove(dir) == nil {
					return
				}
				time.Sleep(100 * time.Millisecond)
			}
		}
		err := writeFiles(dir, files)
		if err == nil {
			// cgroup.procs moves the whole process, all its threads.
			err = os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0o644)
		}
		if err != nil {
			os.Remove(dir)
			errs = append(errs, err)
			continue
		}
		return remove, nil
	}
	if len(errs) == 0 {
		errs = append(errs, fmt.Errorf("no cgroup CPU controller under %v", roots))
	}
	return nil, fmt.Errorf("limit the CPU of process %d (%w): %w", pid, ErrUnavailable, errors.Join(errs...))
}

func writeFiles(dir string, files map[string]string) error {
	// cgroup v1 wants the period set before a quota that relies on it.
	for _, name := range []string{"cpu.cfs_period_us", "cpu.cfs_quota_us", "cpu.max"} {
		if v, ok := files[name]; ok {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(v), 0o644); err != nil {
				return err
			}
		}
	}
	return nil
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// RequireEnv names the variable that, set to 1, makes a test that needs a
// CPU quota fail where Limit cannot set one, instead of skipping: CI sets it,
// so that no such test is skipped there unseen.
const RequireEnv = "BRAID_REQUIRE_CGROUP"

// SkipUnlessRequired ends test t because Limit failed with err: a failure
// when RequireEnv is 1, a skip saying what is missing otherwise.
func SkipUnlessRequired(t testing.TB, err error) {
	t.Helper()
	if os.Getenv(RequireEnv) == "1" {
		t.Fatalf("%s=1, but no CPU quota can be set: %v", RequireEnv, err)
	}
	t.Skipf("no CPU quota can be set (set %s=1 to make this a failure): %v", RequireEnv, err)
}
