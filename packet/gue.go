package packet

// GUELen is the length of the GUE variant 0 base header.
const GUELen = 4

// GUE is a view of a Generic UDP Encapsulation header (draft-ietf-intarea-gue), the UDP
// payload of a GUE packet. Variant 0 has a 4-byte base header, optional fields, then the
// payload of protocol Protocol; variant 1 has no header at all: the payload is an IPv4 or
// IPv6 packet, whose version nibble (0100 or 0110) doubles as the variant bits 01.
type GUE []byte

// Variant returns the two variant bits: 0 (header follows) or 1 (direct IP).
func (g GUE) Variant() uint8 { return g[0] >> 6 }

// Control reports whether the C bit is set: a control message, not a data packet.
func (g GUE) Control() bool { return g[0]&0x20 != 0 }

// HeaderLength returns the length of a variant 0 header in bytes: the base header plus Hlen
// 32-bit words of optional fields.
func (g GUE) HeaderLength() int { return GUELen + int(g[0]&0x1F)*4 }

// Protocol returns the IP protocol number of a variant 0 data packet's payload.
func (g GUE) Protocol() uint8 { return g[1] }

// Flags returns the flags word of a variant 0 header, which says which optional fields follow.
func (g GUE) Flags() uint16 { return be16(g[2:]) }

// ParseGUE looks for GUE in a packet that Parse or ParseIP already decoded into p: a whole (not
// fragmented) UDP datagram to port guePort whose GUE payload is an IPv4 or IPv6 packet,
// variant 0 (Protocol 4 or 41) or variant 1. When it finds one it sets FlagTunnel and
// p.Tunnel (Proto ProtoUDP, InnerOff, Family) and returns true; p.Key stays the outer UDP
// flow. Anything else, GUE control messages and malformed headers included, returns false and
// leaves p untouched. GUE has no well-known port, so the engine passes the one it is
// configured with; a separate step keeps Parse free of configuration.
func ParseGUE(frame []byte, p *Packet, guePort uint16) bool {
	if p.Key.Proto != ProtoUDP || p.Flags&FlagL4 == 0 || p.Flags&FlagFragment != 0 ||
		p.Key.DstPort != guePort {
		return false
	}
	off := p.PayloadOff
	end := p.L4Off + int(UDP(frame[p.L4Off:]).Length())
	if end-off < 1 {
		return false
	}
	g := GUE(frame[off:end])
	var v6 bool
	switch g.Variant() {
	case 0:
		if len(g) < GUELen || g.Control() {
			return false
		}
		switch g.Protocol() {
		case ProtoIPIP:
		case ProtoIPv6:
			v6 = true
		default:
			return false
		}
		off += g.HeaderLength()
		if off > end {
			return false
		}
	case 1:
		v6 = g[0]>>4 == 6
	default:
		return false
	}
	fam, err := innerIPFamily(frame[off:end], v6)
	if err != nil {
		return false
	}
	p.Flags |= FlagTunnel
	p.Tunnel = Tunnel{Proto: ProtoUDP, InnerOff: off, Family: fam}
	return true
}
