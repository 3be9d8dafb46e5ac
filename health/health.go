// Package health runs keepalived's real-server checkers (TCP_CHECK, HTTP_GET, SSL_GET,
// UDP_CHECK, DNS_CHECK, PING_CHECK, MISC_CHECK, FILE_CHECK) from the appliance's own network
// stack, and turns their results into up/down transitions with keepalived's timing (delay_loop,
// retry, delay_before_retry, warmup, alpha) and HAProxy's rise/fall.
//
// The package knows nothing of configuration files or the engine: the appliance builds the
// checkers from its configuration, gives a Monitor the targets, and turns the transitions the
// Monitor reports into new engine tables (weights, sorry server, quorum).
package health

import (
	"context"
	"net"
	"net/netip"
	"time"
)

// Net is where probes leave from: the appliance's own netstack (netstack.Host implements
// it), or the host kernel's network (KernelNet) for tools such as genhash.
type Net interface {
	// DialContext connects to raddr over "tcp" or "udp", from laddr: a zero address lets
	// the stack choose the source address, a zero port the source port (keepalived's
	// bindto / bind_port).
	DialContext(ctx context.Context, network string, laddr, raddr netip.AddrPort) (net.Conn, error)
	// Ping sends ICMP or ICMPv6 echo requests from laddr (zero: chosen by the stack) to raddr
	// until one is answered or ctx ends.
	Ping(ctx context.Context, laddr, raddr netip.Addr) error
}

// Result is the outcome of one check.
type Result struct {
	OK bool
	// Weight is a weight the check sets (MISC_CHECK with misc_dynamic: exit code 2-255 →
	// weight code-2; FILE_CHECK), or -1 to leave the server's configured weight.
	Weight int32
	// Reason says why a check failed, in keepalived's words where it has some
	// ("connection refused", "HTTP status 500", "MD5 digest mismatch", "timeout").
	Reason string
}

// Checker is one configured check of a real server. Check runs it once; it returns when ctx
// ends at the latest (the Monitor's context carries connect_timeout). Check must be safe to
// call from one goroutine at a time; different Checkers run concurrently.
type Checker interface {
	Check(ctx context.Context, n Net) Result
	// String names the check for logs, as keepalived does: "TCP_CHECK 192.168.1.20:80".
	String() string
}

// Timing is when and how often a target is checked (keepalived's names).
type Timing struct {
	DelayLoop        time.Duration // between checks (keepalived's default: 60 s)
	ConnectTimeout   time.Duration // per check attempt
	Retry            int           // retries of a failing check before it counts as failed (nb_get_retry)
	DelayBeforeRetry time.Duration
	Warmup           time.Duration // the first check waits a random time up to this (spreads checks)
	Rise, Fall       int           // consecutive successes to go up / failures to go down (HAProxy); 0 = 1
	Alpha            bool          // start down until the first success (keepalived alpha); else start up
}

// Target is one checker of one real server, with its own timing, as each keepalived checker
// block has. A real server with several is up when all of its targets are (the appliance
// aggregates).
type Target struct {
	ID      string // stable across reloads: the appliance's key of service, server and checker
	Checker Checker
	Timing  Timing
}

// Transition is a change of a target's state, or of its dynamic weight while up.
type Transition struct {
	ID     string
	Up     bool
	Weight int32  // -1: the configured weight (no checker sets one)
	Reason string // of the failure that took it down; "" when up
	At     time.Time
}
