package tunnel

import (
	"errors"
	"net/netip"
	"slices"

	"github.com/uvs-lb/uvs/packet"
)

// Errors returned by Inner. They are package-level values, so returning one allocates nothing;
// compare with == or errors.Is.
var (
	// ErrMalformed means the payload is not a whole IP packet of the announced family: too
	// short for its header or for the length its header claims, or a wrong version.
	ErrMalformed = errors.New("tunnel: malformed inner packet")
	// ErrProtocol means the payload is not of a tunnel protocol: proto is not 4, 41 or 17, or
	// a GUE header announces a payload that is neither IPv4 nor IPv6.
	ErrProtocol = errors.New("tunnel: payload is not an encapsulated IP packet")
	// ErrGUEControl means the payload is a GUE control message (C bit set), not data.
	ErrGUEControl = errors.New("tunnel: GUE control message")
	// ErrGUEVersion means a GUE header of a version (variant) this package does not know.
	ErrGUEVersion = errors.New("tunnel: unknown GUE version")
	// ErrNotVIP means the inner packet is not addressed to one of the host's VIPs.
	ErrNotVIP = errors.New("tunnel: inner destination is not a VIP of this host")
)

// DecapConfig says which tunnels a host terminates.
type DecapConfig struct {
	Local    []netip.Addr // outer destinations this host terminates (its own addresses)
	GUEPorts []uint16     // UDP ports that carry GUE; none = GUE is not terminated
	VIPs     []netip.Addr // inner destinations accepted (the VIPs this real server holds); empty = any
}

// Decapsulator strips tunnel headers on the receive side of a real server. It is immutable
// after NewDecapsulator and safe for concurrent use.
type Decapsulator struct {
	local    []netip.Addr
	guePorts []uint16
	vips     []netip.Addr
}

// NewDecapsulator returns a Decapsulator for cfg, which it copies. Addresses are compared
// without zone, and IPv4-mapped IPv6 addresses stand for their IPv4 address (a packet's IPv4
// address is never mapped); invalid addresses are ignored.
func NewDecapsulator(cfg DecapConfig) *Decapsulator {
	return &Decapsulator{
		local:    normalize(cfg.Local),
		guePorts: slices.Clone(cfg.GUEPorts),
		vips:     normalize(cfg.VIPs),
	}
}

func normalize(as []netip.Addr) []netip.Addr {
	var out []netip.Addr
	for _, a := range as {
		if a.IsValid() {
			out = append(out, a.Unmap().WithZone(""))
		}
	}
	return out
}

// Result is what Decap did with a frame.
type Result uint8

const (
	// NotTunnel: the frame is no tunnel packet this host terminates; it is returned unchanged.
	NotTunnel Result = iota
	// Decapsulated: the frame was a tunnel packet for this host and now carries the inner
	// packet.
	Decapsulated
	// Dropped: the frame is a tunnel packet for this host that must not be delivered
	// (malformed, fragmented, a GUE control message, a bad outer checksum, an inner
	// destination that is no VIP here, or an ECN combination RFC 6040 says to drop). It is
	// unchanged; the caller counts and drops it.
	Dropped
	numResults
)

var resultNames = [numResults]string{"not_tunnel", "decapsulated", "dropped"}

func (r Result) String() string {
	if r < numResults {
		return resultNames[r]
	}
	return "unknown"
}

// Decap looks at an Ethernet frame. A tunnel packet (IPIP/IPv6-in-IP, or UDP to a GUE port)
// whose outer destination is Local is rewritten in place into an Ethernet frame that carries
// the inner IP packet (same MAC addresses, EtherType of the inner family, VLAN tag dropped)
// and returned as a subslice of frame with Decapsulated. Anything else is returned unchanged
// with NotTunnel. A tunnel packet for a Local address that is malformed, fragmented, a GUE
// control message, or whose inner destination is not in VIPs returns Dropped (the caller
// counts and drops it); so does one whose outer IPv4 header or UDP checksum is wrong (a zero
// UDP checksum is accepted over IPv4, and over IPv6 for GUE as RFC 6935/6936 allow tunnels:
// Linux IPVS sends one with --tun-nocsum), and one that RFC 6040 says to drop
// (outer congestion experienced, inner not ECN-capable). Padding after the inner packet is
// left out. A congestion mark on the outer header is copied to the inner one (RFC 6040).
// Decap does not allocate.
func (d *Decapsulator) Decap(frame []byte) ([]byte, Result) {
	var p packet.Packet
	err := packet.Parse(frame, &p)
	k := &p.Key
	if k.Family == packet.FamilyNone {
		return frame, NotTunnel
	}
	switch k.Proto {
	case packet.ProtoIPIP, packet.ProtoIPv6:
	case packet.ProtoUDP:
		// A non-first fragment has no ports: nothing says it is GUE, the host reassembles it.
		if p.Flags&packet.FlagL4 == 0 || !slices.Contains(d.guePorts, k.DstPort) {
			return frame, NotTunnel
		}
	default:
		return frame, NotTunnel
	}
	if !slices.Contains(d.local, k.DstAddr()) {
		return frame, NotTunnel
	}
	if err != nil || p.Flags&packet.FlagFragment != 0 || !outerChecksumsValid(frame, &p) {
		return frame, Dropped
	}
	var off, end int
	if k.Proto == packet.ProtoUDP {
		off, end = p.PayloadOff, p.L4Off+int(packet.UDP(frame[p.L4Off:]).Length())
	} else {
		off, end = p.Tunnel.InnerOff, p.L3End()
	}
	in, inner, err := d.inner(frame[off:end], k.Proto)
	if err != nil {
		return frame, Dropped
	}
	off += in
	ecn := outerECN(frame[p.L3Off:], k.Family)
	if !DecapECN(inner, ecn) {
		return frame, Dropped
	}
	// The new Ethernet header goes right in front of the inner packet, over the end of the
	// outer headers (off ≥ 14 + 20, so it does not reach the old MAC addresses).
	e := frame[off-ethLen : off]
	copy(e[:12], frame[:12])
	et := packet.EtherTypeIPv4
	if inner[0]>>4 == 6 {
		et = packet.EtherTypeIPv6
	}
	packet.Ethernet(e).SetEtherType(et)
	return frame[off-ethLen : off+len(inner)], Decapsulated
}

// Inner validates an already-stripped tunnel payload, for callers whose socket strips the
// outer IP header (raw IPPROTO_IPIP sockets on IPv6, UDP sockets for GUE): proto is 4 or 41
// for IPIP, or 17 for a GUE payload (the UDP payload, GUE header first). It returns the inner
// IP packet (a subslice, without anything after the length its header gives) or an error
// saying why not (including inner destination not in VIPs). It does not allocate. The outer
// header's ECN marks are not known here, so they are not propagated.
func (d *Decapsulator) Inner(payload []byte, proto uint8) ([]byte, error) {
	_, inner, err := d.inner(payload, proto)
	return inner, err
}

// inner finds and checks the inner packet of a tunnel payload of protocol proto (see Inner)
// and returns its offset in payload and the packet.
func (d *Decapsulator) inner(b []byte, proto uint8) (int, []byte, error) {
	off := 0
	var fam packet.Family
	switch proto {
	case packet.ProtoIPIP:
		fam = packet.FamilyIPv4
	case packet.ProtoIPv6:
		fam = packet.FamilyIPv6
	case packet.ProtoUDP:
		var err error
		if off, fam, err = gueInner(b); err != nil {
			return 0, nil, err
		}
	default:
		return 0, nil, ErrProtocol
	}
	ip, dst, err := ipPacket(b[off:], fam)
	if err != nil {
		return 0, nil, err
	}
	if len(d.vips) != 0 && !slices.Contains(d.vips, dst) {
		return 0, nil, ErrNotVIP
	}
	return off, ip, nil
}

// gueInner reads the GUE header at the start of a UDP payload and returns the offset and
// family of the IP packet it carries.
func gueInner(b []byte) (int, packet.Family, error) {
	if len(b) == 0 {
		return 0, 0, ErrMalformed
	}
	g := packet.GUE(b)
	switch g.Variant() {
	case 0:
		if len(b) < packet.GUELen {
			return 0, 0, ErrMalformed
		}
		if g.Control() {
			return 0, 0, ErrGUEControl
		}
		n := g.HeaderLength() // optional fields, which we have no use for, are skipped
		if n > len(b) {
			return 0, 0, ErrMalformed
		}
		switch g.Protocol() {
		case packet.ProtoIPIP:
			return n, packet.FamilyIPv4, nil
		case packet.ProtoIPv6:
			return n, packet.FamilyIPv6, nil
		}
		return 0, 0, ErrProtocol
	case 1:
		// Direct IP: the version nibble is 0100 or 0110; 0101 and 0111 are nobody's.
		switch b[0] >> 4 {
		case 4:
			return 0, packet.FamilyIPv4, nil
		case 6:
			return 0, packet.FamilyIPv6, nil
		}
	}
	return 0, 0, ErrGUEVersion
}

// ipPacket checks that b starts with a whole IP packet of family fam and returns it (without
// what follows it) and its destination.
func ipPacket(b []byte, fam packet.Family) ([]byte, netip.Addr, error) {
	if fam == packet.FamilyIPv4 {
		if len(b) < packet.IPv4MinLen {
			return nil, netip.Addr{}, ErrMalformed
		}
		ip := packet.IPv4(b)
		hl, tl := ip.HeaderLength(), int(ip.TotalLength())
		if ip.Version() != 4 || hl < packet.IPv4MinLen || tl < hl || tl > len(b) {
			return nil, netip.Addr{}, ErrMalformed
		}
		return b[:tl], ip.DstAddr(), nil
	}
	if len(b) < packet.IPv6Len {
		return nil, netip.Addr{}, ErrMalformed
	}
	ip := packet.IPv6(b)
	n := packet.IPv6Len + int(ip.PayloadLength())
	if ip.Version() != 6 || n > len(b) {
		return nil, netip.Addr{}, ErrMalformed
	}
	return b[:n], ip.DstAddr(), nil
}

// ECN codepoints (RFC 3168), the low two bits of the TOS / traffic class byte.
const (
	ecnNotECT = 0
	ecnECT1   = 1
	ecnECT0   = 2
	ecnCE     = 3
	ecnMask   = 3
)

// outerECN returns the ECN field of the outer IP header ip of family fam.
func outerECN(ip []byte, fam packet.Family) uint8 {
	if fam == packet.FamilyIPv4 {
		return packet.IPv4(ip).TOS() & ecnMask
	}
	return packet.IPv6(ip).TrafficClass() & ecnMask
}

// DecapECN applies RFC 6040 section 4.2 to the inner packet ip, given the outer header's ECN
// field: CE on the outer header marks an ECN-capable inner packet CE, ECT(1) turns an
// ECT(0) inner packet ECT(1); everything else leaves the inner packet as it is. It returns
// false, changing nothing, for an outer CE over a not-ECN-capable inner packet, which must
// be dropped (the congestion it signals can be reported in no other way).
func DecapECN(ip []byte, outer uint8) bool {
	var tos uint8
	v4 := ip[0]>>4 == 4
	if v4 {
		tos = packet.IPv4(ip).TOS()
	} else {
		tos = packet.IPv6(ip).TrafficClass()
	}
	in := tos & ecnMask
	to := in
	switch {
	case in == ecnNotECT:
		return outer != ecnCE
	case in == ecnCE:
	case outer == ecnCE:
		to = ecnCE
	case outer == ecnECT1:
		to = ecnECT1
	}
	if to == in {
		return true
	}
	tos = tos&^ecnMask | to
	if v4 {
		h := packet.IPv4(ip)
		old := uint16(ip[0])<<8 | uint16(ip[1])
		h.SetTOS(tos)
		h.SetChecksum(packet.ChecksumUpdate16(h.Checksum(), old, uint16(ip[0])<<8|uint16(tos)))
	} else {
		h := packet.IPv6(ip)
		h.SetVersionClassFlow(tos, h.FlowLabel())
	}
	return true
}

// outerChecksumsValid checks the outer IPv4 header and UDP checksums, taking a zero UDP
// checksum over IPv6 as "none" for GUE (RFC 6935): the inner packet has its own checksums.
func outerChecksumsValid(frame []byte, p *packet.Packet) bool {
	if p.Key.Family == packet.FamilyIPv6 && p.Key.Proto == packet.ProtoUDP && packet.UDP(frame[p.L4Off:]).Checksum() == 0 {
		return true // IPv6 has no header checksum
	}
	return packet.ChecksumsValid(frame, p)
}
