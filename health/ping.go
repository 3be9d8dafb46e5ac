package health

import (
	"context"
	"net/netip"
)

// PingCheck is keepalived's PING_CHECK: the server is up when it answers an ICMP or ICMPv6
// echo request. Requests go out once a second until one is answered or the check's context
// ends (Net.Ping).
type PingCheck struct {
	Connect netip.Addr // connect_ip: the real server's address
	Bind    netip.Addr // bindto; zero: chosen by the stack
}

// Check implements Checker.
func (c PingCheck) Check(ctx context.Context, n Net) Result {
	if !c.Connect.IsValid() {
		return checkFailed("no address to ping")
	}
	if err := n.Ping(ctx, c.Bind, c.Connect); err != nil {
		return failedBy(ctx, err)
	}
	return checkPassed()
}

// String implements Checker: "PING_CHECK 10.0.0.1".
func (c PingCheck) String() string { return "PING_CHECK " + c.Connect.String() }
