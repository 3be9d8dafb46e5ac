package tunnel

import (
	"net/netip"

	"github.com/uvs-lb/uvs/lb"
	"github.com/uvs-lb/uvs/packet"
)

// Header sizes and constants of the outer headers.
const (
	ethLen = packet.EthernetLen
	gueLen = packet.UDPLen + packet.GUELen // UDP header and GUE variant 0 base header

	// flowSeed keys the flow hash behind the IPv6 flow label and the GUE source port. It is
	// fixed, not random, so that every appliance (and every restart) labels a flow alike.
	flowSeed uint64 = 0x7576_732d_7475_6e31 // "uvs-tun1"

	// The GUE source port range: the dynamic ports (RFC 6335), 2^14 of them.
	gueSrcPortBase = 0xC000
	gueSrcPortMask = 0x3FFF

	maxIPLen = 0xFFFF // the largest IPv4 total length or IPv6 payload length
)

// Forwarder encapsulates frames of TUN connections. It has no state: the Verdict's tunnel
// carries everything, so one Forwarder serves every port loop at once.
type Forwarder struct{}

// New returns a Forwarder.
func New() *Forwarder { return &Forwarder{} }

var _ lb.Encapsulator = (*Forwarder)(nil)

// outerLen returns the length of the headers Forward puts in front of the IP packet for v
// (outer IP header, plus UDP and GUE for GUE), or 0 when v is not a verdict it carries out:
// another method or direction, no tunnel, or a tunnel of unknown type or family.
func outerLen(v *lb.Verdict) int {
	t := v.Tunnel
	if v.Method != lb.MethodTUN || t == nil || v.Dir != lb.DirIn {
		return 0
	}
	var n int
	switch t.Family {
	case packet.FamilyIPv4:
		n = packet.IPv4MinLen
	case packet.FamilyIPv6:
		n = packet.IPv6Len
	default:
		return 0
	}
	switch t.Type {
	case lb.TunnelIPIP:
	case lb.TunnelGUE:
		n += gueLen
	default:
		return 0
	}
	return n
}

// Overhead returns how many bytes Forward adds to the IP packet of verdict v (the outer IP
// header, and 8 bytes of UDP and 4 of GUE for GUE; the Ethernet header and a VLAN tag are
// not part of the IP packet, so neither counts) and the outer destination, the real server.
// The port loop compares the IP packet's length plus n with the egress MTU. ok is false
// for a verdict Forward refuses whatever the packet: another method, another direction than
// lb.DirIn, no tunnel, or a tunnel of unknown type or family.
func (f *Forwarder) Overhead(v *lb.Verdict) (n int, dst netip.Addr, ok bool) {
	n = outerLen(v)
	if n == 0 {
		return 0, netip.Addr{}, false
	}
	return n, packet.AddrFrom(v.Tunnel.Family, &v.Tunnel.Dst), true
}

// Forward encapsulates the IP packet of the frame buf[off:off+p.Len] for v's tunnel (see the
// package comment). The outer headers and a new untagged Ethernet header (outer EtherType,
// MAC addresses left for the port loop) are written into the bytes in front of the IP
// packet, growing into the headroom buf[:off]; the IP packet itself is not touched and any
// Ethernet padding after it is left out. It returns the new frame's bounds in buf, and
// updates p to describe the new frame as packet.Parse (and, for GUE, packet.ParseGUE with the
// tunnel's port) would.
//
// It refuses with lb.DropForwarder, leaving buf and p untouched, a verdict that Overhead
// refuses, a packet that is not IPv4 or IPv6 or not of the connection's family, a frame that
// does not lie in buf as p says, and one whose headroom is too small. A packet too big for
// any outer header's length field is refused with lb.DropTooBig.
func (f *Forwarder) Forward(buf []byte, off int, p *packet.Packet, v *lb.Verdict) (newOff, newLen int, reason lb.DropReason) {
	hdr := outerLen(v)
	fam := p.Key.Family
	if hdr == 0 || (fam != packet.FamilyIPv4 && fam != packet.FamilyIPv6) || fam != v.Conn.Family {
		return off, p.Len, lb.DropForwarder
	}
	minHdr := packet.IPv4MinLen
	if fam == packet.FamilyIPv6 {
		minHdr = packet.IPv6Len
	}
	if off < 0 || p.Len < 0 || off > len(buf)-p.Len ||
		p.L3Off < 0 || p.IPLen < minHdr || p.L3Off > p.Len-p.IPLen {
		return off, p.Len, lb.DropForwarder
	}
	ipOff := off + p.L3Off
	ip := buf[ipOff : ipOff+p.IPLen]
	if ip[0]>>4 != uint8(fam) {
		return off, p.Len, lb.DropForwarder // p does not describe these bytes
	}
	t := v.Tunnel
	ipHdr := packet.IPv4MinLen
	if t.Family == packet.FamilyIPv6 {
		ipHdr = packet.IPv6Len
	}
	// The outer length field: IPv4 total length counts the IPv4 header, IPv6 payload
	// length does not count the IPv6 header.
	outerIPLen := hdr + len(ip)
	if t.Family == packet.FamilyIPv6 {
		outerIPLen -= packet.IPv6Len
	}
	if outerIPLen > maxIPLen {
		return off, p.Len, lb.DropTooBig
	}
	start := ipOff - hdr - ethLen
	if start < 0 {
		return off, p.Len, lb.DropForwarder // not enough headroom
	}

	// What the outer header copies from the inner one.
	var tos, ttl uint8
	var id uint16
	df := true
	innerProto := packet.ProtoIPv6
	if fam == packet.FamilyIPv4 {
		in := packet.IPv4(ip)
		tos, ttl, id, df = in.TOS(), in.TTL(), in.ID(), in.DF()
		innerProto = packet.ProtoIPIP
	} else {
		in := packet.IPv6(ip)
		tos, ttl = in.TrafficClass(), in.HopLimit()
	}
	proto := innerProto
	if t.Type == lb.TunnelGUE {
		proto = packet.ProtoUDP
	}

	frame := buf[start : ipOff+len(ip)]
	etherType := packet.EtherTypeIPv4
	if t.Family == packet.FamilyIPv6 {
		etherType = packet.EtherTypeIPv6
	}
	packet.Ethernet(frame).SetEtherType(etherType)

	var h uint64
	if t.Type == lb.TunnelGUE || t.Family == packet.FamilyIPv6 {
		h = flowHash(p, v)
	}
	outer := frame[ethLen:]
	if t.Family == packet.FamilyIPv4 {
		o := packet.IPv4(outer[:packet.IPv4MinLen])
		o.SetHeaderLength(packet.IPv4MinLen)
		o.SetTOS(tos)
		o.SetTotalLength(uint16(outerIPLen))
		o.SetID(id)
		o.SetFragment(df, false, 0)
		o.SetTTL(ttl)
		o.SetProtocol(proto)
		src, dst := [4]byte(t.Src[:4]), [4]byte(t.Dst[:4])
		o.SetSrc(src)
		o.SetDst(dst)
		o.SetChecksum(headerChecksum4(tos, uint16(outerIPLen), id, df, ttl, proto, src, dst))
	} else {
		o := packet.IPv6(outer[:packet.IPv6Len])
		o.SetVersionClassFlow(tos, flowLabel(h))
		o.SetPayloadLength(uint16(outerIPLen))
		o.SetNextHeader(proto)
		o.SetHopLimit(ttl)
		o.SetSrc(t.Src)
		o.SetDst(t.Dst)
	}
	sport := uint16(0)
	if t.Type == lb.TunnelGUE {
		sport = gueSrcPort(h)
		seg := outer[ipHdr:]
		u := packet.UDP(seg)
		u.SetSrcPort(sport)
		u.SetDstPort(t.Port)
		u.SetLength(uint16(len(seg)))
		u.SetChecksum(0)
		g := seg[packet.UDPLen:gueLen]
		g[0] = 0 // version 0, C = 0 (data), Hlen = 0 (no optional fields)
		g[1] = innerProto
		g[2], g[3] = 0, 0 // flags: none
		if t.Family == packet.FamilyIPv6 || t.Csum {
			u.SetChecksum(udpChecksum(t, seg))
		}
	}

	describe(p, len(frame), hdr, ipHdr, proto, ttl, sport, t, fam)
	return start, len(frame), lb.DropNone
}

// udpChecksum returns the checksum field of the UDP datagram seg (its checksum field zero)
// sent between t's ends: never 0, which would mean "none" (RFC 768).
func udpChecksum(t *lb.TunnelEnds, seg []byte) uint16 {
	var ph uint16
	if t.Family == packet.FamilyIPv4 {
		ph = packet.PseudoHeaderChecksum4(packet.ProtoUDP, [4]byte(t.Src[:4]), [4]byte(t.Dst[:4]), uint16(len(seg)))
	} else {
		ph = packet.PseudoHeaderChecksum6(packet.ProtoUDP, &t.Src, &t.Dst, uint32(len(seg)))
	}
	if c := ^packet.Checksum(seg, ph); c != 0 {
		return c
	}
	return 0xFFFF // the same value in one's complement
}

// headerChecksum4 returns the checksum field of an IPv4 header without options with these
// fields. It sums the fields as values, with package packet's helpers, rather than reading
// back the bytes just written: the pseudo-header sum covers the addresses, the protocol and
// the length, which leaves four words. (Reading the header back costs a third of Forward:
// its wide loads wait for the narrow stores that wrote it.)
func headerChecksum4(tos uint8, length, id uint16, df bool, ttl, proto uint8, src, dst [4]byte) uint16 {
	s := packet.PseudoHeaderChecksum4(proto, src, dst, length)
	s = packet.ChecksumCombine(s, 0x4500|uint16(tos))
	s = packet.ChecksumCombine(s, id)
	if df {
		s = packet.ChecksumCombine(s, 0x4000) // the flags word: DF, no MF, offset 0
	}
	s = packet.ChecksumCombine(s, uint16(ttl)<<8)
	return ^s
}

// flowHash returns the hash of the flow a packet belongs to, as the client sends it. An ICMP
// error that belongs to a connection quotes a packet of the reply direction, whose key,
// reversed, is the connection's: the error hashes like the connection's own packets.
func flowHash(p *packet.Packet, v *lb.Verdict) uint64 {
	if v.ICMPError && p.Has(packet.FlagICMPError) && p.Inner.Key.Family == p.Key.Family {
		k := p.Inner.Key.Reverse()
		return k.Hash(flowSeed)
	}
	return p.Key.Hash(flowSeed)
}

// flowLabel returns the IPv6 flow label for flow hash h: 20 bits of it, never 0.
func flowLabel(h uint64) uint32 {
	if l := uint32(h) & 0xFFFFF; l != 0 {
		return l
	}
	return 1
}

// gueSrcPort returns the GUE UDP source port for flow hash h, in 49152–65535. It takes other
// bits of h than the flow label does.
func gueSrcPort(h uint64) uint16 { return gueSrcPortBase | uint16(h>>40)&gueSrcPortMask }

// describe sets p to what packet.Parse (and ParseGUE) report for the encapsulated frame of
// length n: outer headers of length hdr (the IP header of which is ipHdr long) in front of
// an inner packet of family inner.
func describe(p *packet.Packet, n, hdr, ipHdr int, proto, ttl uint8, sport uint16, t *lb.TunnelEnds, inner packet.Family) {
	l3 := ethLen
	*p = packet.Packet{}
	p.Len, p.L3Off, p.IPLen, p.TTL, p.Flags = n, l3, n-l3, ttl, packet.FlagTunnel
	p.Tunnel = packet.Tunnel{Proto: proto, InnerOff: l3 + hdr, Family: inner}
	p.Key.SrcPort, p.Key.Proto, p.Key.Family = sport, proto, t.Family
	if t.Family == packet.FamilyIPv4 {
		p.EtherType = packet.EtherTypeIPv4
		copy(p.Key.Src[:4], t.Src[:4]) // the rest stays zero, as the FlowKey form has it
		copy(p.Key.Dst[:4], t.Dst[:4])
	} else {
		p.EtherType = packet.EtherTypeIPv6
		p.Key.Src, p.Key.Dst = t.Src, t.Dst
	}
	if proto == packet.ProtoUDP {
		p.Flags |= packet.FlagL4
		p.L4Off = l3 + ipHdr
		p.PayloadOff = p.L4Off + packet.UDPLen
		p.Key.DstPort = t.Port
	}
}
