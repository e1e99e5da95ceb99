// Package testnet holds what Braid's tests need from the network.
package testnet

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
)

// FreeAddr returns a loopback address (127.0.0.1:port) with a port nobody
// listens on at the time of the call (Addr). Another process can take it
// before the caller binds it; tests that start a collector on it retry with
// a new address when the bind fails.
func FreeAddr(t testing.TB) string {
	t.Helper()
	addr, err := Addr()
	if err != nil {
		t.Fatalf("find a free loopback port: %v", err)
	}
	return addr
}

// lowestPort is the lowest port Addr picks.
const lowestPort = 10000

// Addr returns a loopback address with a port free at the time of the call,
// picked below the kernel's ephemeral range: a port the kernel hands out
// for port 0 is one that any outgoing connection on the machine may take as
// its own local port before the caller binds it, which tests that start
// many processes (each dialling others) run into.
func Addr() (string, error) {
	hi := ephemeralLow() - 1
	for i := 0; hi > lowestPort && i < 100; i++ {
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", lowestPort+rand.IntN(hi-lowestPort+1)))
		if err != nil {
			continue // taken: try another
		}
		addr := l.Addr().String()
		l.Close()
		return addr, nil
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// ephemeralLow is the lowest port of the kernel's ephemeral range (Linux's
// default when it cannot be read).
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil {
				return n
			}
		}
	}
	return 32768
}
