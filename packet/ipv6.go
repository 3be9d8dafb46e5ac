package packet

import "net/netip"

// IPv6Len is the length of the fixed IPv6 header.
const IPv6Len = 40

// IPv6 extension headers and the protocol numbers that end the walk in Parse.
const (
	ProtoHopByHop uint8 = 0  // hop-by-hop options; must come first (RFC 8200 4.1)
	ProtoRouting  uint8 = 43 // routing header
	ProtoFragment uint8 = 44 // fragment header
	ProtoESP      uint8 = 50 // encapsulating security payload: opaque, the walk stops
	ProtoAH       uint8 = 51 // authentication header: length in 4-byte units
	ProtoNoNext   uint8 = 59 // no next header
	ProtoDstOpts  uint8 = 60 // destination options
)

// MaxExtHeaders bounds the IPv6 extension header walk. RFC 8200 allows each header at most
// once (destination options twice), so a longer chain is an attack on the parser's time, not
// a packet anyone needs forwarded: Parse returns ErrUnsupported.
const MaxExtHeaders = 16

// IPv6FragmentLen is the length of the IPv6 fragment extension header.
const IPv6FragmentLen = 8

// IPv6 is a view of an IPv6 header (RFC 8200) and what follows it. Accessors check nothing;
// see Ethernet.
type IPv6 []byte

// Version returns the version nibble (6 for a real IPv6 header).
func (b IPv6) Version() uint8 { return b[0] >> 4 }

// TrafficClass returns the traffic class (DSCP and ECN).
func (b IPv6) TrafficClass() uint8 { return uint8(be16(b[0:]) >> 4) }

// FlowLabel returns the 20-bit flow label.
func (b IPv6) FlowLabel() uint32 { return be32(b[0:]) & 0x000FFFFF }

// SetVersionClassFlow sets the first word: version 6, traffic class and flow label.
func (b IPv6) SetVersionClassFlow(class uint8, flow uint32) {
	put32(b[0:], 6<<28|uint32(class)<<20|flow&0x000FFFFF)
}

// PayloadLength returns the length of what follows the fixed header, extension headers included.
func (b IPv6) PayloadLength() uint16 { return be16(b[4:]) }

// SetPayloadLength sets the payload length.
func (b IPv6) SetPayloadLength(v uint16) { put16(b[4:], v) }

// NextHeader returns the protocol of the first extension header or of the payload.
func (b IPv6) NextHeader() uint8 { return b[6] }

// SetNextHeader sets the next header field.
func (b IPv6) SetNextHeader(v uint8) { b[6] = v }

// HopLimit returns the hop limit.
func (b IPv6) HopLimit() uint8 { return b[7] }

// SetHopLimit sets the hop limit.
func (b IPv6) SetHopLimit(v uint8) { b[7] = v }

// Src returns the source address.
func (b IPv6) Src() [16]byte { return [16]byte(b[8:24]) }

// Dst returns the destination address.
func (b IPv6) Dst() [16]byte { return [16]byte(b[24:40]) }

// SetSrc sets the source address. No checksum is updated (see RewriteSrc6).
func (b IPv6) SetSrc(a [16]byte) { copy(b[8:24], a[:]) }

// SetDst sets the destination address. No checksum is updated (see RewriteDst6).
func (b IPv6) SetDst(a [16]byte) { copy(b[24:40], a[:]) }

// SrcAddr returns the source address as a netip.Addr.
func (b IPv6) SrcAddr() netip.Addr { return netip.AddrFrom16(b.Src()) }

// DstAddr returns the destination address as a netip.Addr.
func (b IPv6) DstAddr() netip.Addr { return netip.AddrFrom16(b.Dst()) }

// Payload returns the bytes after the fixed header up to the payload length, excluding any
// padding that follows the packet in its frame.
func (b IPv6) Payload() []byte { return b[IPv6Len : IPv6Len+int(b.PayloadLength())] }

// IPv6Fragment is a view of an IPv6 fragment extension header.
type IPv6Fragment []byte

// NextHeader returns the protocol of the fragmentable part.
func (f IPv6Fragment) NextHeader() uint8 { return f[0] }

// FragmentOffset returns the fragment offset in bytes.
func (f IPv6Fragment) FragmentOffset() int { return int(be16(f[2:]) & 0xFFF8) }

// MoreFragments reports whether the M flag is set.
func (f IPv6Fragment) MoreFragments() bool { return f[3]&1 != 0 }

// ID returns the identification.
func (f IPv6Fragment) ID() uint32 { return be32(f[4:]) }

// extHeaderLen returns the length in bytes of the extension header of type proto at b, whose
// first two bytes (next header, length) must be present, or 0 when proto does not chain
// like an extension header.
func extHeaderLen(proto uint8, b []byte) int {
	switch proto {
	case ProtoHopByHop, ProtoRouting, ProtoDstOpts:
		return (int(b[1]) + 1) * 8
	case ProtoFragment:
		return IPv6FragmentLen
	case ProtoAH:
		return (int(b[1]) + 2) * 4
	}
	return 0
}

// walkIPv6 follows the extension header chain that starts at off with protocol next and must
// end by end. It returns the upper-layer protocol and its offset, and what it crossed
// (FlagExtHdrs, FlagFragment, FlagFirstFrag). For a non-first fragment the walk stops at the
// fragment header: proto is the fragment header's next header and off is 0, since nothing
// after it is a header. ESP and no-next-header end the walk like an upper-layer protocol.
func walkIPv6(b []byte, off, end int, next uint8) (l4 int, proto uint8, f Flags, err error) {
	for i := 0; ; i++ {
		n := 0
		if next == ProtoHopByHop || next == ProtoRouting || next == ProtoDstOpts ||
			next == ProtoFragment || next == ProtoAH {
			if next == ProtoHopByHop && i > 0 {
				return 0, next, f, ErrBadHeader
			}
			if i == MaxExtHeaders {
				return 0, next, f, ErrUnsupported
			}
			if end-off < 8 { // every extension header is at least 8 bytes
				return 0, next, f, ErrTruncated
			}
			n = extHeaderLen(next, b[off:])
			if end-off < n {
				return 0, next, f, ErrTruncated
			}
		}
		if n == 0 {
			return off, next, f, nil
		}
		f |= FlagExtHdrs
		if next == ProtoFragment {
			f |= FlagFragment
			next = b[off]
			if be16(b[off+2:])&0xFFF8 != 0 {
				return 0, next, f, nil
			}
			f |= FlagFirstFrag
		} else {
			next = b[off]
		}
		off += n
	}
}
