package nat

import "github.com/uvs-lb/uvs/packet"

// side names one endpoint of a frame: of the packet itself, or of the packet an ICMP error
// quotes.
type side uint8

const (
	outerSrc side = iota
	outerDst
	innerSrc
	innerDst
)

// rewrite sets the endpoint s of the frame to e through package packet's helper for p's
// family, which keeps the checksums and p right. A nil e.addr leaves the endpoint alone. The
// port becomes e.port only when proto has ports (TCP, UDP, SCTP); otherwise cur is kept, so
// an ICMP echo's identifier, which packet treats as both ports, is never overwritten.
func rewrite(frame []byte, p *packet.Packet, s side, e endpoint, proto uint8, cur uint16) error {
	if e.addr == nil {
		return nil
	}
	port := cur
	if hasPorts(proto) {
		port = e.port
	}
	if p.Key.Family == packet.FamilyIPv4 {
		a := [4]byte(e.addr[:4])
		switch s {
		case outerSrc:
			return packet.RewriteSrc4(frame, p, a, port)
		case outerDst:
			return packet.RewriteDst4(frame, p, a, port)
		case innerSrc:
			return packet.RewriteInnerSrc4(frame, p, a, port)
		default:
			return packet.RewriteInnerDst4(frame, p, a, port)
		}
	}
	switch s {
	case outerSrc:
		return packet.RewriteSrc6(frame, p, *e.addr, port)
	case outerDst:
		return packet.RewriteDst6(frame, p, *e.addr, port)
	case innerSrc:
		return packet.RewriteInnerSrc6(frame, p, *e.addr, port)
	default:
		return packet.RewriteInnerDst6(frame, p, *e.addr, port)
	}
}

// hasPorts reports whether proto's header starts with source and destination ports that a
// connection's endpoints translate.
func hasPorts(proto uint8) bool {
	return proto == packet.ProtoTCP || proto == packet.ProtoUDP || proto == packet.ProtoSCTP
}
