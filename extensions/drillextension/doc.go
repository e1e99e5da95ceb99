// Package drillextension serves Braid's drill-down API (package drill) as a
// collector extension: it reads the trace index of a correlation processor
// in the same collector and answers on an HTTP server configured like any
// collector HTTP server (TLS, auth extensions such as bearertokenauth).
// Component type: drill.
package drillextension
