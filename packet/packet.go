// Package packet parses and rewrites network frames in place.
//
// It is level 0 of uvs (see DESIGN.md): standard library only, no allocation and no copy on the
// parse path. Parse reads an Ethernet frame once and records offsets and the few fields the
// load-balancing engine needs in a Packet, which callers keep in a reusable array (one per batch
// slot). The header byte-view types (Ethernet, IPv4, IPv6, TCP, UDP, ICMP, ...) give accessors
// over the same bytes, in the spirit of gVisor's pkg/tcpip/header. All checksum math lives in
// checksum.go.
package packet

import "net/netip"

// IP protocol numbers the engine cares about.
const (
	ProtoICMP   uint8 = 1
	ProtoIPIP   uint8 = 4  // IPv4 in IP
	ProtoTCP    uint8 = 6  //
	ProtoUDP    uint8 = 17 //
	ProtoIPv6   uint8 = 41 // IPv6 in IP
	ProtoICMPv6 uint8 = 58
	ProtoSCTP   uint8 = 132
)

// EtherTypes.
const (
	EtherTypeIPv4 uint16 = 0x0800
	EtherTypeARP  uint16 = 0x0806
	EtherTypeVLAN uint16 = 0x8100
	EtherTypeIPv6 uint16 = 0x86DD
)

// Family is the address family of a packet or flow key: 4 or 6 (0 when not IP).
type Family uint8

const (
	FamilyNone Family = 0
	FamilyIPv4 Family = 4
	FamilyIPv6 Family = 6
)

// Flags describe facts about a parsed packet that change how the engine treats it.
type Flags uint16

const (
	FlagVLAN      Flags = 1 << iota // the frame carries one 802.1Q tag
	FlagIPOptions                   // IPv4 header has options (IHL > 5)
	FlagFragment                    // IPv4/IPv6 fragment (any fragment)
	FlagFirstFrag                   // fragment with offset 0 (L4 header present)
	FlagExtHdrs                     // IPv6 extension headers were walked
	FlagICMPError                   // ICMP/ICMPv6 error; Inner holds the embedded header
	FlagL4                          // the L4 header (ports, TCP flags) was parsed
	FlagTunnel                      // L3 payload is an IPIP / IPv6-in-IP / GUE encapsulation; Tunnel describes it
)

// TCP flag bits as they appear in byte 13 of the TCP header.
const (
	TCPFin uint8 = 0x01
	TCPSyn uint8 = 0x02
	TCPRst uint8 = 0x04
	TCPPsh uint8 = 0x08
	TCPAck uint8 = 0x10
	TCPUrg uint8 = 0x20
	TCPEce uint8 = 0x40 // ECN echo (RFC 3168)
	TCPCwr uint8 = 0x80 // congestion window reduced (RFC 3168)
)

// FlowKey identifies one direction of a flow. It is fixed-size and comparable, so it can be a
// map key and is hashed without allocation. IPv4 addresses are stored in the first 4 bytes of
// the arrays (the rest zero); Family tells them apart from IPv6.
type FlowKey struct {
	Src, Dst         [16]byte
	SrcPort, DstPort uint16 // for ICMP echo both hold the identifier; 0 when the protocol has no ports
	Proto            uint8
	Family           Family
}

// SrcAddr returns the source address as a netip.Addr.
func (k *FlowKey) SrcAddr() netip.Addr { return AddrFrom(k.Family, &k.Src) }

// DstAddr returns the destination address as a netip.Addr.
func (k *FlowKey) DstAddr() netip.Addr { return AddrFrom(k.Family, &k.Dst) }

// Reverse returns the key of the opposite direction.
func (k FlowKey) Reverse() FlowKey {
	k.Src, k.Dst = k.Dst, k.Src
	k.SrcPort, k.DstPort = k.DstPort, k.SrcPort
	return k
}

// AddrFrom converts the array form used in FlowKey to a netip.Addr without allocating.
func AddrFrom(f Family, a *[16]byte) netip.Addr {
	if f == FamilyIPv4 {
		return netip.AddrFrom4([4]byte(a[:4]))
	}
	return netip.AddrFrom16(*a)
}

// AddrTo stores a in the array form used in FlowKey and returns its family.
func AddrTo(a netip.Addr, dst *[16]byte) Family {
	if a.Is4() {
		*dst = [16]byte{}
		b := a.As4()
		copy(dst[:4], b[:])
		return FamilyIPv4
	}
	*dst = a.As16()
	return FamilyIPv6
}

// Inner is the header embedded in an ICMP error: the start of the packet that caused it.
type Inner struct {
	L3Off, L4Off int // offsets in the frame; L4Off is 0 when the embedded L4 header is absent
	Key          FlowKey
}

// Tunnel describes an encapsulation found at L3 (IPIP, IPv6-in-IP, GUE).
type Tunnel struct {
	Proto    uint8  // ProtoIPIP, ProtoIPv6 or ProtoUDP (GUE)
	InnerOff int    // offset in the frame of the inner IP header
	Family   Family // family of the inner IP header (its version nibble was checked)
}

// Packet is the result of Parse: offsets into the frame and the decoded fields the engine
// needs. It holds no reference to the frame; the frame is passed alongside it.
type Packet struct {
	Len        int    // frame length that was parsed
	EtherType  uint16 // after any VLAN tag
	VLAN       uint16 // VLAN ID when FlagVLAN
	L3Off      int    // start of the IP (or ARP) header
	L4Off      int    // start of the L4 header, 0 when absent (non-first fragment, unknown proto)
	PayloadOff int    // start of the L4 payload, 0 when absent
	IPLen      int    // IP total length (v4) / header + payload length (v6), as the header says
	TTL        uint8  // TTL / hop limit
	Flags      Flags
	TCPFlags   uint8 // when Key.Proto == ProtoTCP and FlagL4
	ICMPType   uint8 // when Key.Proto is ICMP / ICMPv6
	ICMPCode   uint8
	Key        FlowKey // the outer flow
	Inner      Inner   // valid when FlagICMPError
	Tunnel     Tunnel  // valid when FlagTunnel
}

// Has reports whether all of f are set.
func (p *Packet) Has(f Flags) bool { return p.Flags&f == f }

// L3End is the offset just past the IP packet: L3Off + IPLen. Bytes from there to the end of
// the frame are Ethernet padding (or trailing garbage) and belong to no header.
func (p *Packet) L3End() int { return p.L3Off + p.IPLen }

// IP returns the IP packet inside frame, without Ethernet header or padding (empty for ARP).
// It is a subslice of frame, not a copy.
func (p *Packet) IP(frame []byte) []byte { return frame[p.L3Off : p.L3Off+p.IPLen] }
