package packet

import "errors"

// Errors returned by the parsers, the rewrite helpers and the builders. They are package-level
// values so that the hot path returns them without allocating; compare with == or errors.Is.
var (
	// ErrTruncated means a header, or a length a header claims, runs past the end of the frame.
	ErrTruncated = errors.New("packet: truncated")
	// ErrBadHeader means a header field is impossible: wrong IP version, IPv4 IHL < 5, total
	// length shorter than the header, TCP data offset < 5, UDP length < 8, a hop-by-hop
	// header that is not first, an ICMPv4 error quoting an IPv6 header, ...
	ErrBadHeader = errors.New("packet: malformed header")
	// ErrNotIP means the frame carries neither IPv4, IPv6 nor ARP. Parse still sets EtherType,
	// VLAN and L3Off, so the caller can hand the frame to whoever speaks that protocol.
	ErrNotIP = errors.New("packet: not IP")
	// ErrUnsupported means well-formed input this package does not handle: stacked VLAN tags,
	// ARP for other than Ethernet/IPv4, more IPv6 extension headers than MaxExtHeaders.
	ErrUnsupported = errors.New("packet: unsupported")
	// ErrFamily means a helper for one address family got a packet of the other.
	ErrFamily = errors.New("packet: address family mismatch")
	// ErrNoInner means an inner rewrite got a packet that is not a parsed ICMP error.
	ErrNoInner = errors.New("packet: not an ICMP error")
	// ErrShortBuffer means a builder's buffer cannot hold the packet it builds.
	ErrShortBuffer = errors.New("packet: buffer too small")
	// ErrICMPNotAllowed means the RFCs forbid sending an ICMP error about the given packet
	// (RFC 1122 3.2.2, RFC 1812 4.3.2.7, RFC 4443 2.4(e)): it is itself an ICMP error, a
	// non-first fragment, sent to a multicast or broadcast address, or from an address that
	// does not name a single host.
	ErrICMPNotAllowed = errors.New("packet: ICMP error not allowed for this packet")
)
