// Package drillfleet runs three real braid gateways, each holding part of a
// trace, and checks that any one of them answers the drill-down API for all
// of them, and that one killed with SIGKILL makes the answers partial
// (make drill-fleet).
package drillfleet
