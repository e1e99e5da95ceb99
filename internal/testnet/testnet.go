// Package testnet holds what Braid's tests need from the network.
package testnet

import (
	"net"
	"testing"
)

// FreeAddr returns a loopback address (127.0.0.1:port) with a port nobody
// listens on at the time of the call. Another process can take it before
// the caller binds it; tests that start a collector on it retry with a new
// address when the bind fails.
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free loopback port: %v", err)
	}
	defer l.Close()
	return l.Addr().String()
}
