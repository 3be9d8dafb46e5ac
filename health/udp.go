package health

import (
	"bytes"
	"context"
	"errors"
	"net/netip"
)

// UDPCheck is keepalived's UDP_CHECK: it sends Payload in one datagram to Connect and waits
// for the check's context to end. Without RequireReply the server is up unless an ICMP port
// (or host) unreachable comes back before then: silence passes, as it does in keepalived, so
// the check takes its whole connect_timeout. With RequireReply it is up when a reply comes
// (and, if Reply is set, begins with it); silence fails.
type UDPCheck struct {
	Connect netip.AddrPort // connect_ip and connect_port: the real server's address
	Bind    netip.AddrPort // bindto and bind_port; zero: chosen by the stack
	// Payload is sent as one datagram; none sends an empty datagram, as keepalived does.
	Payload      []byte
	RequireReply bool
	// Reply, with RequireReply, is what the reply must begin with (keepalived's
	// require_reply data; its mask and reply length bounds are not supported).
	Reply []byte
}

// Check implements Checker.
func (c UDPCheck) Check(ctx context.Context, n Net) Result {
	if !hasTarget(c.Connect) {
		return checkFailed("no address to connect to")
	}
	conn, err := n.DialContext(ctx, "udp", c.Bind, c.Connect)
	if err != nil {
		return failedBy(ctx, err)
	}
	defer conn.Close()
	defer limitConn(ctx, conn)()
	if _, err := conn.Write(c.Payload); err != nil {
		return udpFailure(ctx, err)
	}
	buf := make([]byte, max(len(c.Reply), 512)) // a longer reply is read truncated
	got, err := conn.Read(buf)
	switch {
	case err == nil && c.RequireReply && !bytes.HasPrefix(buf[:got], c.Reply):
		return checkFailed("UDP reply data mismatch")
	case err == nil:
		return checkPassed()
	case !c.RequireReply && errors.Is(ctx.Err(), context.DeadlineExceeded):
		return checkPassed() // no news is good news
	}
	return udpFailure(ctx, err)
}

// udpFailure says why a UDP exchange failed: an ICMP port unreachable reads as a refused
// connection on a connected socket.
func udpFailure(ctx context.Context, err error) Result {
	r := failedBy(ctx, err)
	switch r.Reason {
	case "connection refused":
		r.Reason = "ICMP port unreachable"
	case "timeout":
		r.Reason = "no reply (timeout)"
	}
	return r
}

// String implements Checker: "UDP_CHECK 10.0.0.1:53".
func (c UDPCheck) String() string { return "UDP_CHECK " + c.Connect.String() }
