package packet

// Builders for the ICMP errors the appliance originates. Each writes an IP packet (no
// Ethernet header: put one in front with PutEthernet) into buf and returns its length. orig is
// the offending packet from its IP header on, e.g. p.IP(frame); buf may overlap it, so an
// error can be built in place over the frame that caused it (everything needed from orig is
// read before buf is written, and the quote is moved with copy, which handles overlap).
//
// Builders refuse, with ErrICMPNotAllowed, to answer what the RFCs say must never be
// answered: an ICMP error (no storms of errors about errors), a non-first fragment, a packet
// sent to a multicast or broadcast address (except IPv6 packet too big), or one whose source
// does not name a single host. Rate limiting is the caller's job.

// Fields of the errors this appliance sends.
const (
	icmpErrorTTL  = 64   // hop limit / TTL, a common host default
	icmpErrorTOS  = 0xC0 // IPv4 precedence "internetwork control", as routers send errors
	ipv4QuoteData = 8    // RFC 792: the original IP header plus the first 64 bits of its data
	ipv6MinMTU    = 1280 // RFC 4443 2.4(c): the error must fit the minimum IPv6 MTU
)

// BuildICMPv4Error writes an IPv4 packet from src carrying an ICMPv4 error of type typ and code
// about orig, an IPv4 packet, addressed to orig's source. rest is the 4-byte rest-of-header
// (the MTU for fragmentation needed, the pointer for parameter problem, zero otherwise). The
// quote is orig's IP header and the first 8 bytes of its payload (RFC 792).
func BuildICMPv4Error(buf []byte, src [4]byte, typ, code uint8, rest uint32, orig []byte) (int, error) {
	if len(orig) < IPv4MinLen {
		return 0, ErrTruncated
	}
	o := IPv4(orig)
	hl := o.HeaderLength()
	if o.Version() != 4 || hl < IPv4MinLen {
		return 0, ErrBadHeader
	}
	if hl > len(orig) {
		return 0, ErrTruncated
	}
	if !icmpv4Allowed(o, hl) {
		return 0, ErrICMPNotAllowed
	}
	q := min(hl+ipv4QuoteData, len(orig))
	if tl := int(o.TotalLength()); tl >= hl && tl < q {
		q = tl // a short packet: quote it, not the padding after it
	}
	n := IPv4MinLen + ICMPLen + q
	if len(buf) < n {
		return 0, ErrShortBuffer
	}
	dst := o.Src()
	copy(buf[IPv4MinLen+ICMPLen:n], orig[:q])

	ip := IPv4(buf[:IPv4MinLen])
	ip.SetHeaderLength(IPv4MinLen)
	ip.SetTOS(icmpErrorTOS)
	ip.SetTotalLength(uint16(n))
	ip.SetID(0) // RFC 6864: the ID of an atomic (DF) datagram carries no meaning
	ip.SetFragment(true, false, 0)
	ip.SetTTL(icmpErrorTTL)
	ip.SetProtocol(ProtoICMP)
	ip.SetSrc(src)
	ip.SetDst(dst)
	ip.SetChecksum(ip.ComputeChecksum())

	m := ICMPv4(buf[IPv4MinLen:n])
	m.SetType(typ)
	m.SetCode(code)
	m.SetChecksum(0)
	put32(m[4:], rest)
	m.SetChecksum(^Checksum(m, 0))
	return n, nil
}

// BuildICMPv4DestUnreachable writes an ICMPv4 destination unreachable with code (e.g.
// ICMPv4PortUnreachable) about orig; see BuildICMPv4Error.
func BuildICMPv4DestUnreachable(buf []byte, src [4]byte, code uint8, orig []byte) (int, error) {
	return BuildICMPv4Error(buf, src, ICMPv4DestUnreachable, code, 0, orig)
}

// BuildICMPv4FragNeeded writes an ICMPv4 "fragmentation needed and DF set" (type 3 code 4)
// carrying the next-hop mtu (RFC 1191) about orig; see BuildICMPv4Error.
func BuildICMPv4FragNeeded(buf []byte, src [4]byte, mtu uint16, orig []byte) (int, error) {
	return BuildICMPv4Error(buf, src, ICMPv4DestUnreachable, ICMPv4FragNeeded, uint32(mtu), orig)
}

// BuildICMPv4TimeExceeded writes an ICMPv4 "TTL exceeded in transit" about orig; see
// BuildICMPv4Error.
func BuildICMPv4TimeExceeded(buf []byte, src [4]byte, orig []byte) (int, error) {
	return BuildICMPv4Error(buf, src, ICMPv4TimeExceeded, 0, 0, orig)
}

// icmpv4Allowed applies RFC 1122 3.2.2 and RFC 1812 4.3.2.7 to the IPv4 packet o with header
// length hl.
func icmpv4Allowed(o IPv4, hl int) bool {
	if o.FragmentOffset() != 0 {
		return false
	}
	if o.Protocol() == ProtoICMP && len(o) > hl && icmpIsError(FamilyIPv4, o[hl]) {
		return false
	}
	s, d := o.Src(), o.Dst()
	if s[0] == 0 || s[0] == 127 || s[0] >= 224 { // this network, loopback, multicast, class E, broadcast
		return false
	}
	return (d[0] < 224 || d[0] > 239) && d != [4]byte{255, 255, 255, 255} // not multicast, not broadcast
}

// BuildICMPv6Error writes an IPv6 packet from src carrying an ICMPv6 error of type typ and code
// about orig, an IPv6 packet, addressed to orig's source. rest is the 4-byte rest-of-header
// (the MTU for packet too big, the pointer for parameter problem, zero otherwise). The quote
// is as much of orig as keeps the error within the minimum IPv6 MTU (RFC 4443 2.4(c)).
func BuildICMPv6Error(buf []byte, src [16]byte, typ, code uint8, rest uint32, orig []byte) (int, error) {
	if len(orig) < IPv6Len {
		return 0, ErrTruncated
	}
	o := IPv6(orig)
	if o.Version() != 6 {
		return 0, ErrBadHeader
	}
	if !icmpv6Allowed(o, typ, code) {
		return 0, ErrICMPNotAllowed
	}
	q := min(len(orig), IPv6Len+int(o.PayloadLength()), ipv6MinMTU-IPv6Len-ICMPLen)
	n := IPv6Len + ICMPLen + q
	if len(buf) < n {
		return 0, ErrShortBuffer
	}
	dst := o.Src()
	copy(buf[IPv6Len+ICMPLen:n], orig[:q])

	ip := IPv6(buf[:IPv6Len])
	ip.SetVersionClassFlow(0, 0)
	ip.SetPayloadLength(uint16(ICMPLen + q))
	ip.SetNextHeader(ProtoICMPv6)
	ip.SetHopLimit(icmpErrorTTL)
	ip.SetSrc(src)
	ip.SetDst(dst)

	m := ICMPv6(buf[IPv6Len:n])
	m.SetType(typ)
	m.SetCode(code)
	m.SetChecksum(0)
	put32(m[4:], rest)
	m.SetChecksum(^Checksum(m, PseudoHeaderChecksum6(ProtoICMPv6, &src, &dst, uint32(len(m)))))
	return n, nil
}

// BuildICMPv6DestUnreachable writes an ICMPv6 destination unreachable with code (e.g.
// ICMPv6PortUnreachable) about orig; see BuildICMPv6Error.
func BuildICMPv6DestUnreachable(buf []byte, src [16]byte, code uint8, orig []byte) (int, error) {
	return BuildICMPv6Error(buf, src, ICMPv6DestUnreachable, code, 0, orig)
}

// BuildICMPv6PacketTooBig writes an ICMPv6 packet too big carrying mtu about orig; see
// BuildICMPv6Error.
func BuildICMPv6PacketTooBig(buf []byte, src [16]byte, mtu uint32, orig []byte) (int, error) {
	return BuildICMPv6Error(buf, src, ICMPv6PacketTooBig, 0, mtu, orig)
}

// BuildICMPv6TimeExceeded writes an ICMPv6 "hop limit exceeded in transit" about orig; see
// BuildICMPv6Error.
func BuildICMPv6TimeExceeded(buf []byte, src [16]byte, orig []byte) (int, error) {
	return BuildICMPv6Error(buf, src, ICMPv6TimeExceeded, 0, 0, orig)
}

// icmpv6Allowed applies RFC 4443 2.4(e) to the IPv6 packet o, for an error of type typ.
func icmpv6Allowed(o IPv6, typ, code uint8) bool {
	s := o.Src()
	if s[0] == 0xFF || s == [16]byte{} {
		return false
	}
	// Packet too big makes path MTU discovery work for multicast; a parameter problem about
	// an unrecognized option whose type asks for a report even to multicast is allowed too.
	if o[24] == 0xFF && typ != ICMPv6PacketTooBig && (typ != ICMPv6ParamProblem || code != 2) {
		return false
	}
	end := min(len(o), IPv6Len+int(o.PayloadLength()))
	l4, proto, _, err := walkIPv6(o, IPv6Len, end, o.NextHeader())
	if err != nil || l4 == 0 || proto != ProtoICMPv6 || l4 >= end {
		// A quote we cannot walk to its end is no ICMPv6 error we could recognize either.
		return err != nil || l4 != 0
	}
	return o[l4] >= 128 // informational messages may be answered, errors may not
}
