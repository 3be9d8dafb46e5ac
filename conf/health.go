package conf

import (
	"net/netip"
	"time"
)

// CheckKind is a kind of health check: one of keepalived's checker blocks, in lower case.
type CheckKind string

// The kinds of health check.
const (
	CheckTCP  CheckKind = "tcp_check"  // TCP_CHECK: a TCP connection is accepted
	CheckHTTP CheckKind = "http_get"   // HTTP_GET: each URL answers with a good status (and body digest)
	CheckSSL  CheckKind = "ssl_get"    // SSL_GET: HTTP_GET over TLS
	CheckUDP  CheckKind = "udp_check"  // UDP_CHECK: a datagram draws no ICMP unreachable (or a reply)
	CheckDNS  CheckKind = "dns_check"  // DNS_CHECK: a DNS query is answered
	CheckPing CheckKind = "ping_check" // PING_CHECK: an ICMP or ICMPv6 echo is answered
	CheckMisc CheckKind = "misc_check" // MISC_CHECK: a command exits 0 (or 2-255 with misc_dynamic)
	CheckFile CheckKind = "file_check" // FILE_CHECK: a number read from a file
)

// CheckKinds lists every kind, in the order ServerHealth.Checks lists a server's checks.
var CheckKinds = []CheckKind{CheckTCP, CheckHTTP, CheckSSL, CheckUDP, CheckDNS, CheckPing, CheckMisc, CheckFile}

// keepalived's defaults (keepalived.conf(5), check_data.c).
const (
	defaultDelayLoop      = 60 * time.Second
	defaultConnectTimeout = 5 * time.Second
	defaultDNSType        = "SOA"
	defaultDNSName        = "."
)

// ServiceHealth is what a [[virtual_server]] says about health as a whole: its quorum and what
// to run when it is gained or lost. The defaults it gives its real servers' checks are applied
// already (ServerHealth, Check.Timing).
type ServiceHealth struct {
	// Quorum is the total weight of live real servers the service needs (keepalived: default
	// 1). The service gains quorum when that weight reaches Quorum+Hysteresis and loses it
	// below Quorum-Hysteresis (or when it is 0); without quorum a sorry server replaces the
	// real servers.
	Quorum, Hysteresis int64
	// QuorumUp and QuorumDown are command lines run, without a shell, when quorum is gained
	// and lost; "": none. See Check.Command.
	QuorumUp, QuorumDown string
	Alpha                bool // the default of its servers' checks: start down until a first success
	Omega                bool // run quorum_down and notify_down on shutdown
	// SorryInhibit keeps the sorry server in the table at weight 0 while real servers serve,
	// instead of removing it (keepalived sorry_server_inhibit).
	SorryInhibit bool
	DelayLoop    time.Duration // delay_loop as written on the service, else 60 s
}

// ServerHealth is the health checking of one real server. A server with several checks is up
// when all of them are; one with none is always up.
type ServerHealth struct {
	Checks []Check // by kind in CheckKinds order, then in file order
	// InhibitOnFailure sets a failed server's weight to 0 (it keeps its connections)
	// instead of removing it.
	InhibitOnFailure bool
	// NotifyUp and NotifyDown are command lines run, without a shell, when the server goes
	// up or down; "": none. See Check.Command.
	NotifyUp, NotifyDown string
}

// Check is one checker of a real server, with every default resolved.
type Check struct {
	Kind CheckKind
	// Connect is where the probe goes: connect_ip and connect_port, by default the real
	// server's address and port. Its port is 0 for ping_check; it is the zero AddrPort for
	// misc_check and file_check, which connect nowhere.
	Connect netip.AddrPort
	// Bind is where the probe leaves from (bindto, bind_port): one of the appliance's own
	// addresses, of Connect's family. A zero address or port lets the stack choose.
	Bind   netip.AddrPort
	Timing CheckTiming

	URLs []URL // http_get, ssl_get: at least one
	// VirtualHost is the Host header of the URLs that set none: the checker's virtualhost,
	// else the real server's, else the virtual server's; "": the connect address.
	VirtualHost string
	// SNI is the TLS server name (ssl_get): sni_name, or with enable_sni the host part of
	// VirtualHost; "": none. A URL with its own virtualhost may send another (URL.SNI).
	SNI    string
	Verify bool   // ssl_get: verify the server's certificate (keepalived does not)
	CA     string // ssl_get with Verify: a PEM file of the authorities to trust; "": the system's

	Payload      []byte // udp_check: the datagram sent; nil: none configured (the checker's default)
	RequireReply bool   // udp_check: the server must answer, not merely send no ICMP error
	Reply        []byte // udp_check with RequireReply: what the answer must begin with; nil: anything

	DNSType string // dns_check: the query type, in capitals (default SOA)
	DNSName string // dns_check: the name queried (default ".")

	// Command is misc_check's command line (misc_path), run without a shell: blanks separate
	// words; '...' quotes everything; "..." quotes all but \" \\ \$ \` and \newline; a
	// backslash outside quotes keeps the next character (health.ParseCommand's syntax).
	Command string
	Timeout time.Duration // misc_check: misc_timeout, the command's time limit (also Timing.ConnectTimeout)
	Dynamic bool          // misc_check: exit status 2-255 sets the weight to status-2
	User    string        // misc_check: run as this user ("": the appliance's default)
	Group   string        // misc_check: and group ("": the user's)

	File    string // file_check: the absolute path of the file holding a number
	Weight  int32  // file_check: 0 means the value is a status (0 up, else down); else value×Weight is added to the weight
	Reverse bool   // file_check: negate the weight (with Weight 0: a non-zero value means up)
}

// URL is one URL an http_get or ssl_get fetches. The check passes when every URL does.
type URL struct {
	Path   string        // the request target, from "/"
	Digest string        // the MD5 of the body in 32 lower-case hex digits (genhash's); "": not checked
	Status []StatusRange // the status codes that pass; default 200-299
	// VirtualHost and SNI are the check's, or those of the url's own virtualhost.
	VirtualHost string
	SNI         string
}

// StatusRange is a range of HTTP status codes, bounds included.
type StatusRange struct{ Lo, Hi int }

// Contains reports whether status code n is in r.
func (r StatusRange) Contains(n int) bool { return r.Lo <= n && n <= r.Hi }

// CheckTiming is when and how often a check runs, in keepalived's terms (and HAProxy's rise and
// fall); the same as health.Timing, which conf cannot import.
type CheckTiming struct {
	DelayLoop        time.Duration // between checks
	ConnectTimeout   time.Duration // per attempt (misc_check: misc_timeout)
	DelayBeforeRetry time.Duration // between the retries of a failing check
	Warmup           time.Duration // the first check waits a random time up to this
	Retry            int           // retries before a check counts as failed
	Rise, Fall       int           // consecutive successes to go up, failures to go down
	Alpha            bool          // start down until the first success
}
