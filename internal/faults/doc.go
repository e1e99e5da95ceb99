// Package faults is Braid's fault harness: it sends telemetry whose every
// item carries an ID, runs real braid processes through kills, backend
// outages, a full disk and a corrupt queue file, and checks, ID by ID, that
// every item Braid acknowledged reached the backends (make faults).
package faults
