package health

import (
	"context"
	"net/netip"
)

// TCPCheck is keepalived's TCP_CHECK: the server is up when a TCP connection to Connect
// opens (it is closed at once).
type TCPCheck struct {
	Connect netip.AddrPort // connect_ip and connect_port: the real server's address
	Bind    netip.AddrPort // bindto and bind_port; zero: chosen by the stack
}

// Check implements Checker.
func (c TCPCheck) Check(ctx context.Context, n Net) Result {
	if !hasTarget(c.Connect) {
		return checkFailed("no address to connect to")
	}
	conn, err := n.DialContext(ctx, "tcp", c.Bind, c.Connect)
	if err != nil {
		return failedBy(ctx, err)
	}
	conn.Close()
	return checkPassed()
}

// String implements Checker: "TCP_CHECK 10.0.0.1:80".
func (c TCPCheck) String() string { return "TCP_CHECK " + c.Connect.String() }
