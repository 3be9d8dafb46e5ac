// Package lb is the load-balancing engine: IPVS's virtual services, real servers, schedulers,
// connection table, persistence and firewall marks, over raw frames.
//
// The control path compiles a Config into an immutable Table (Engine.Apply) and publishes it
// through an atomic pointer. The data path is a Worker per port loop: Worker.Process takes a
// batch of frames, loads the Table once, and returns a Verdict per frame — forward (with the
// method and the connection's endpoints, for a Forwarder to rewrite the frame in place), pass
// to the appliance's host stack, drop with a reason, or reject (ICMP port unreachable). It
// takes no global lock and allocates nothing.
//
// Semantics follow IPVS: service lookup by firewall mark, then (protocol, VIP, port), then
// (protocol, VIP, 0); a TCP connection is opened only by a SYN (or any non-RST segment with
// SloppyTCP); persistence templates keyed by the client's masked address; quiesced servers
// (weight 0) keep their connections; servers that leave keep theirs too unless
// ExpireNoDestConn; conn_reuse_mode reschedules a SYN that hits a TIME_WAIT connection;
// connection thresholds with IPVS's OVERLOAD hysteresis. This package imports only packet,
// its own subpackages and the standard library (DESIGN.md, levels 0-1).
package lb
