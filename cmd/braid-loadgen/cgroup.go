package main

import "github.com/braidobs/braid/internal/cpuquota"

// limitCPU moves process pid into a new cgroup that may use cpus CPUs at
// most, and returns a function that removes the group once the process has
// exited (internal/cpuquota). It needs root and a writable CPU controller,
// and says so when it has neither.
func limitCPU(pid int, cpus float64) (func(), error) { return cpuquota.Limit(pid, cpus) }
