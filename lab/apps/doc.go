// Package apps holds the programs that run on the lab's hosts: services for real servers
// (an HTTP server, a TCP echo and a UDP echo) and load generators for clients (HTTP at a
// fixed rate or concurrency, long-lived TCP connections, UDP flows, streaming connections
// that measure goodput, and a spoofed SYN flood written as raw frames), with a Recorder that
// turns what the clients saw into a report.
//
// Everything here is written against the standard library's interfaces (net.Listener,
// net.PacketConn, and a Dialer that netstack.Host and net.Dialer both satisfy), so the same
// programs run on a gVisor host in a simulated topology and on loopback in tests; the SYN
// flood, which writes below a host's stack, against a FrameWriter (netstack.Host's NextHop
// and WriteFrames), and builds its frames with package packet.
//
// # Lifecycle
//
// Servers run until their listener is closed or their context ends. Closing the listener
// is how the lab stops a server, and a stopped server is gone, as a killed process is: Serve
// closes the connections it still holds and waits for their goroutines before it returns.
// A failing server (HTTPServer.SetFailing) is the other kind of sick: it still accepts and
// answers, with 500.
//
// Clients run until their context ends (the lab's duration), recording every request into
// a Recorder. A request cut short by that end is not recorded: it neither failed nor
// succeeded, the run just stopped watching.
//
// # Measuring
//
// The open-loop HTTP client keeps a fixed schedule whatever the servers do, and measures
// latency from when a request was due, not from when it could be sent, so a stalled server
// shows as latency instead of silently lowering the offered load (no coordinated omission).
// A request due while the client already has its cap in flight is not queued: it is an
// error of kind "overloaded".
//
// The Recorder keeps counters, a log-bucketed latency histogram (about 1.6% precision) and a
// per-bucket time series: memory grows with the run's duration, never with its request count.
//
// # Error kinds
//
// Errors are reported by kind, not by message (messages carry addresses and ports, which
// would make every error unique): "timeout", "refused", "reset", "eof", "unreachable",
// "closed", "status NNN" (an HTTP answer of 500 or more), "overloaded" (open loop over its
// concurrency cap), "mismatch" (an echo that is not what was sent) and "other".
//
// Kinds are found first by identity (os.ErrDeadlineExceeded, context.DeadlineExceeded, any
// error with Timeout() true, syscall errnos such as ECONNREFUSED, io.EOF, net.ErrClosed),
// which covers the kernel's sockets. gVisor's gonet adapter cannot be matched that way: it
// flattens tcpip errors into errors.New(tcpipErr.String()) inside a net.OpError, so for the
// innermost error of the chain the kind is also recognised by text, both gVisor's wording
// ("connection was refused", "connection reset by peer", "no route to host", ...) and the
// kernel's ("connection refused", ...). Only the innermost error's text is looked at, never
// the whole message, so that an address or URL path cannot change a kind.
package apps
