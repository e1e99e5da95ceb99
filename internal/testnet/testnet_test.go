package testnet

import (
	"net"
	"strconv"
	"testing"
)

func TestAddrIsBelowTheEphemeralRange(t *testing.T) {
	low := ephemeralLow()
	for range 20 {
		addr := FreeAddr(t)
		_, port, err := net.SplitHostPort(addr)
		if err != nil {
			t.Fatal(err)
		}
		p, _ := strconv.Atoi(port)
		if low > lowestPort+1 && (p < lowestPort || p >= low) {
			t.Errorf("port %d outside [%d, %d)", p, lowestPort, low)
		}
		l, err := net.Listen("tcp", addr)
		if err != nil {
			t.Errorf("%s is not free: %v", addr, err)
			continue
		}
		l.Close()
	}
}
