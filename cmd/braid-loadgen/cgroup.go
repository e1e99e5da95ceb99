package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// cpuCgroupRoots are where a CPU controller may be mounted: cgroup v2's
// unified hierarchy, and cgroup v1's cpu hierarchy.
var cpuCgroupRoots = []string{"/sys/fs/cgroup", "/sys/fs/cgroup/unified", "/sys/fs/cgroup/cpu"}

// limitCPU moves process pid, every thread of it, into a new cgroup that
// may use cpus CPUs at most (0.25 is a quarter of one core), so that one
// machine can offer a process many times what it can take. It returns a
// function that removes the group once the process has exited. It needs
// root and a writable CPU controller, and says which when it has neither.
func limitCPU(pid int, cpus float64) (func(), error) {
	if cpus <= 0 {
		return nil, fmt.Errorf("cpu quota must be positive, got %g", cpus)
	}
	const period = 100_000 // µs
	quota := int(cpus * period)
	var errs []error
	for _, root := range cpuCgroupRoots {
		dir := filepath.Join(root, fmt.Sprintf("braid-loadgen-%d", pid))
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
		errs = append(errs, fmt.Errorf("no cgroup CPU controller under %v", cpuCgroupRoots))
	}
	return nil, fmt.Errorf("limit Braid's CPU (needs root and a writable cgroup CPU controller): %w", errors.Join(errs...))
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
