package health

import (
	"context"
	"net"
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
	closeCheckConn(conn)
	return checkPassed()
}

// closeCheckConn closes a check's connection with a reset when the stack can (netstack's
// connections can, the kernel's through SO_LINGER 0): a check every second to each of many
// servers would otherwise keep thousands of connections in TIME_WAIT.
func closeCheckConn(conn net.Conn) {
	switch c := conn.(type) {
	case interface{ Abort() error }:
		c.Abort()
	case *net.TCPConn:
		c.SetLinger(0)
		c.Close()
	default:
		conn.Close()
	}
}

// abortOnClose makes Close close with a reset (closeCheckConn), for connections net/http
// closes.
type abortOnClose struct{ net.Conn }

func (c abortOnClose) Close() error {
	closeCheckConn(c.Conn)
	return nil
}

// String implements Checker: "TCP_CHECK 10.0.0.1:80".
func (c TCPCheck) String() string { return "TCP_CHECK " + c.Connect.String() }
