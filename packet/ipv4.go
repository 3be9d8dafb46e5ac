package packet

import "net/netip"

// IPv4MinLen is the length of an IPv4 header without options; IPv4MaxLen with the most (IHL 15).
const (
	IPv4MinLen = 20
	IPv4MaxLen = 60
)

// Bits of the IPv4 flags / fragment offset word (bytes 6-7).
const (
	ipv4DF      = 0x4000
	ipv4MF      = 0x2000
	ipv4OffMask = 0x1FFF // in 8-byte units
)

// IPv4 is a view of an IPv4 header (RFC 791) and what follows it. Accessors check nothing; see
// Ethernet.
type IPv4 []byte

// Version returns the version nibble (4 for a real IPv4 header).
func (b IPv4) Version() uint8 { return b[0] >> 4 }

// HeaderLength returns the header length in bytes (IHL × 4).
func (b IPv4) HeaderLength() int { return int(b[0]&0x0F) * 4 }

// SetHeaderLength sets version 4 and the IHL for a header of n bytes (a multiple of 4, 20-60).
func (b IPv4) SetHeaderLength(n int) { b[0] = 0x40 | uint8(n/4)&0x0F }

// TOS returns the type-of-service byte (DSCP and ECN).
func (b IPv4) TOS() uint8 { return b[1] }

// SetTOS sets the type-of-service byte. The header checksum is not updated.
func (b IPv4) SetTOS(v uint8) { b[1] = v }

// TotalLength returns the length of the IP packet, header included.
func (b IPv4) TotalLength() uint16 { return be16(b[2:]) }

// SetTotalLength sets the total length. The header checksum is not updated.
func (b IPv4) SetTotalLength(v uint16) { put16(b[2:], v) }

// ID returns the identification field.
func (b IPv4) ID() uint16 { return be16(b[4:]) }

// SetID sets the identification field. The header checksum is not updated.
func (b IPv4) SetID(v uint16) { put16(b[4:], v) }

// DF reports whether the don't-fragment flag is set.
func (b IPv4) DF() bool { return b[6]&(ipv4DF>>8) != 0 }

// MoreFragments reports whether the more-fragments flag is set.
func (b IPv4) MoreFragments() bool { return b[6]&(ipv4MF>>8) != 0 }

// FragmentOffset returns the fragment offset in bytes.
func (b IPv4) FragmentOffset() int { return int(be16(b[6:])&ipv4OffMask) * 8 }

// IsFragment reports whether the packet is a fragment: more fragments follow, or it is not
// the first.
func (b IPv4) IsFragment() bool { return be16(b[6:])&(ipv4MF|ipv4OffMask) != 0 }

// SetFragment sets the DF and MF flags and the fragment offset (in bytes, a multiple of 8).
// The header checksum is not updated.
func (b IPv4) SetFragment(df, mf bool, offset int) {
	v := uint16(offset/8) & ipv4OffMask
	if df {
		v |= ipv4DF
	}
	if mf {
		v |= ipv4MF
	}
	put16(b[6:], v)
}

// TTL returns the time to live.
func (b IPv4) TTL() uint8 { return b[8] }

// SetTTL sets the time to live. The header checksum is not updated (see DecrementTTL).
func (b IPv4) SetTTL(v uint8) { b[8] = v }

// Protocol returns the protocol of the payload (ProtoTCP, ...).
func (b IPv4) Protocol() uint8 { return b[9] }

// SetProtocol sets the protocol. The header checksum is not updated.
func (b IPv4) SetProtocol(v uint8) { b[9] = v }

// Checksum returns the header checksum field.
func (b IPv4) Checksum() uint16 { return be16(b[10:]) }

// SetChecksum sets the header checksum field.
func (b IPv4) SetChecksum(v uint16) { put16(b[10:], v) }

// Src returns the source address.
func (b IPv4) Src() [4]byte { return [4]byte(b[12:16]) }

// Dst returns the destination address.
func (b IPv4) Dst() [4]byte { return [4]byte(b[16:20]) }

// SetSrc sets the source address. No checksum is updated (see RewriteSrc4).
func (b IPv4) SetSrc(a [4]byte) { copy(b[12:16], a[:]) }

// SetDst sets the destination address. No checksum is updated (see RewriteDst4).
func (b IPv4) SetDst(a [4]byte) { copy(b[16:20], a[:]) }

// SrcAddr returns the source address as a netip.Addr.
func (b IPv4) SrcAddr() netip.Addr { return netip.AddrFrom4(b.Src()) }

// DstAddr returns the destination address as a netip.Addr.
func (b IPv4) DstAddr() netip.Addr { return netip.AddrFrom4(b.Dst()) }

// Options returns the options bytes (empty when IHL is 5).
func (b IPv4) Options() []byte { return b[IPv4MinLen:b.HeaderLength()] }

// Payload returns the bytes after the header up to the total length, excluding any padding
// that follows the packet in its frame.
func (b IPv4) Payload() []byte { return b[b.HeaderLength():b.TotalLength()] }

// ComputeChecksum returns the header checksum the header should carry: the complement of the
// one's complement sum of the header with the checksum field taken as zero.
func (b IPv4) ComputeChecksum() uint16 {
	hl := b.HeaderLength()
	return ^Checksum(b[12:hl], Checksum(b[:10], 0))
}

// IsChecksumValid reports whether the header checksum is correct.
func (b IPv4) IsChecksumValid() bool { return Checksum(b[:b.HeaderLength()], 0) == 0xFFFF }
