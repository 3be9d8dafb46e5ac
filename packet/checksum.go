package packet

import (
	"encoding/binary"
	"hash/crc32"
	"math/bits"
)

// This file is the one place for checksum math.
//
// Vocabulary. The Internet checksum (RFC 1071) of some data is the complement of the one's
// complement sum of its 16-bit big-endian words. Checksum returns the sum, not complemented,
// so that sums over pieces (a pseudo-header, then a segment) chain through the initial value;
// the field then holds ^sum. A sum over data that contains its own valid checksum is 0xFFFF.
//
// Incremental updates follow RFC 1624 equation 3, HC' = ~(~HC + ~m + m'), which never yields
// the -0 (0xFFFF) that equation 2 can, and gives exactly the value a full recomputation gives
// whenever HC was itself computed (so tests compare them with ==). Changing several words at
// once sums their ~m + m' first (csumDelta) and applies that once (csumApply): that is how an
// address change is carried into both the IPv4 header checksum and a TCP/UDP/ICMPv6 checksum,
// whose pseudo-header contains the address.

// Checksum returns the one's complement sum of b's 16-bit big-endian words added to initial,
// folded to 16 bits and not complemented. An odd final byte counts as the high byte of a
// word whose low byte is zero, so b must start at an even offset of the checksummed data.
func Checksum(b []byte, initial uint16) uint16 {
	// 2^16 ≡ 1 modulo 0xFFFF, so a sum of 64-bit big-endian words with the carries added
	// back in (2^64 ≡ 1 too) folds to the same value as a sum of 16-bit words, four at a time.
	s := uint64(initial)
	var c uint64
	for len(b) >= 32 {
		s, c = bits.Add64(s, binary.BigEndian.Uint64(b[0:]), c)
		s, c = bits.Add64(s, binary.BigEndian.Uint64(b[8:]), c)
		s, c = bits.Add64(s, binary.BigEndian.Uint64(b[16:]), c)
		s, c = bits.Add64(s, binary.BigEndian.Uint64(b[24:]), c)
		b = b[32:]
	}
	for len(b) >= 8 {
		s, c = bits.Add64(s, binary.BigEndian.Uint64(b), c)
		b = b[8:]
	}
	var tail uint64
	switch len(b) {
	case 7:
		tail = uint64(be32(b))<<32 | uint64(be16(b[4:]))<<16 | uint64(b[6])<<8
	case 6:
		tail = uint64(be32(b))<<32 | uint64(be16(b[4:]))<<16
	case 5:
		tail = uint64(be32(b))<<32 | uint64(b[4])<<24
	case 4:
		tail = uint64(be32(b)) << 32
	case 3:
		tail = uint64(be16(b))<<48 | uint64(b[2])<<40
	case 2:
		tail = uint64(be16(b)) << 48
	case 1:
		tail = uint64(b[0]) << 56
	}
	s, c = bits.Add64(s, tail, c)
	s, c = bits.Add64(s, 0, c) // a carry out of here leaves s tiny, so the next add cannot carry
	return fold64(s + c)
}

// fold64 folds a 64-bit end-around-carry sum to 16 bits. It returns 0 only for 0.
func fold64(s uint64) uint16 {
	s = s>>32 + s&0xFFFFFFFF
	s = s>>32 + s&0xFFFFFFFF
	s = s>>16 + s&0xFFFF
	s = s>>16 + s&0xFFFF
	return uint16(s>>16 + s&0xFFFF)
}

// fold32 folds a 32-bit end-around-carry sum to 16 bits.
func fold32(s uint32) uint16 {
	s = s>>16 + s&0xFFFF
	return uint16(s>>16 + s&0xFFFF)
}

// ChecksumCombine returns the one's complement sum of two sums.
func ChecksumCombine(a, b uint16) uint16 { return fold32(uint32(a) + uint32(b)) }

// PseudoHeaderChecksum4 returns the sum of the IPv4 pseudo-header that TCP and UDP checksums
// cover: addresses, protocol and the L4 length (header plus payload).
func PseudoHeaderChecksum4(proto uint8, src, dst [4]byte, length uint16) uint16 {
	s := uint32(be16(src[0:])) + uint32(be16(src[2:])) +
		uint32(be16(dst[0:])) + uint32(be16(dst[2:])) +
		uint32(proto) + uint32(length)
	return fold32(s)
}

// PseudoHeaderChecksum6 returns the sum of the IPv6 pseudo-header that TCP, UDP and ICMPv6
// checksums cover (RFC 8200 8.1): addresses, upper-layer length and next header.
func PseudoHeaderChecksum6(proto uint8, src, dst *[16]byte, length uint32) uint16 {
	s := uint64(proto) + uint64(length>>16) + uint64(length&0xFFFF)
	for i := 0; i < 16; i += 8 {
		s += binary.BigEndian.Uint64(src[i:])>>32 + binary.BigEndian.Uint64(src[i:])&0xFFFFFFFF
		s += binary.BigEndian.Uint64(dst[i:])>>32 + binary.BigEndian.Uint64(dst[i:])&0xFFFFFFFF
	}
	return fold64(s)
}

// ChecksumUpdate16 returns checksum field hc updated for one 16-bit word (a port, an ICMP
// identifier, TTL with protocol) changing from old to new (RFC 1624 eqn 3).
func ChecksumUpdate16(hc, old, new uint16) uint16 {
	return ^fold32(uint32(^hc) + uint32(^old) + uint32(new))
}

// ChecksumUpdateAddr4 returns checksum field hc updated for an IPv4 address in the summed
// data (or pseudo-header) changing from old to new.
func ChecksumUpdateAddr4(hc uint16, old, new [4]byte) uint16 {
	return csumApply(hc, csumDelta(old[:], new[:]))
}

// ChecksumUpdateAddr6 returns checksum field hc updated for an IPv6 address in the summed
// data (or pseudo-header) changing from old to new.
func ChecksumUpdateAddr6(hc uint16, old, new *[16]byte) uint16 {
	return csumApply(hc, csumDelta(old[:], new[:]))
}

// csumDelta returns the folded sum of ~m + m' over the 16-bit words of old and new, which
// have the same even length: what a change of those bytes adds to any sum covering them.
// Addresses take the wide path: complementing a 32- or 64-bit word complements each of its
// 16-bit words, and wide sums fold to the same value (see Checksum).
func csumDelta(old, new []byte) uint16 {
	switch len(old) {
	case 4:
		return fold64(uint64(^be32(old)) + uint64(be32(new[:4])))
	case 16:
		o0, o1 := binary.BigEndian.Uint64(old), binary.BigEndian.Uint64(old[8:])
		n0, n1 := binary.BigEndian.Uint64(new[:16]), binary.BigEndian.Uint64(new[8:16])
		s, c := bits.Add64(^o0, n0, 0)
		s, c = bits.Add64(s, ^o1, c)
		s, c = bits.Add64(s, n1, c)
		s, c = bits.Add64(s, 0, c)
		return fold64(s + c)
	}
	var s uint32
	new = new[:len(old)]
	for i := 0; i+1 < len(old); i += 2 {
		s += uint32(^be16(old[i:])) + uint32(be16(new[i:]))
	}
	return fold32(s)
}

// csumApply returns checksum field hc updated by a delta from csumDelta.
func csumApply(hc, d uint16) uint16 { return ^fold32(uint32(^hc) + uint32(d)) }

// udpFinal maps a computed UDP checksum of 0 to 0xFFFF: 0 on the wire means "no checksum"
// over IPv4 and is invalid over IPv6 (RFC 768, RFC 8200 8.1), and both are the same value in
// one's complement.
func udpFinal(ck uint16) uint16 {
	if ck == 0 {
		return 0xFFFF
	}
	return ck
}

// castagnoli is the CRC32c table SCTP uses; crc32 builds it once and hands back the same one.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// zero4 stands in for the SCTP checksum field while summing, so verification need not write.
var zero4 [4]byte

// SCTPChecksum returns the CRC32c of the SCTP packet seg (common header and chunks) with its
// checksum field taken as zero: the value SetChecksum should store (RFC 9260 appendix A).
// Unlike the Internet checksum it cannot be updated incrementally by field, so rewrites that
// change SCTP ports recompute it over the whole packet.
func SCTPChecksum(seg []byte) uint32 {
	c := crc32.Update(0, castagnoli, seg[:8])
	c = crc32.Update(c, castagnoli, zero4[:])
	return crc32.Update(c, castagnoli, seg[SCTPLen:])
}

// ChecksumsValid reports whether the checksums of a parsed packet verify by full
// recomputation: the IPv4 header checksum and, when the whole L4 segment is in the frame (not
// a fragment), the TCP, UDP, SCTP, ICMP or ICMPv6 checksum. A UDP checksum field of 0 is valid
// over IPv4 ("none") and invalid over IPv6. It is for tests, tools and slow paths: the forwarding path never verifies.
// IPv6 pseudo-headers use the destination field, so a packet with a routing header still
// underway (segments left > 0) reports invalid.
func ChecksumsValid(frame []byte, p *Packet) bool {
	ip := frame[p.L3Off:p.L3End()]
	switch p.Key.Family {
	case FamilyIPv4:
		if !IPv4(ip).IsChecksumValid() {
			return false
		}
	case FamilyIPv6:
	default:
		return true
	}
	if p.Flags&FlagL4 == 0 || p.Flags&FlagFragment != 0 {
		return true
	}
	seg := frame[p.L4Off:p.L3End()]
	switch p.Key.Proto {
	case ProtoUDP:
		seg = seg[:UDP(seg).Length()]
		if UDP(seg).Checksum() == 0 {
			// "None" over IPv4. Over IPv6 a receiver discards it (RFC 8200 8.1) even when
			// the sum works out, as it does for a datagram whose checksum is 0 (sent as 0xFFFF).
			return p.Key.Family == FamilyIPv4
		}
	case ProtoSCTP:
		return SCTP(seg).Checksum() == SCTPChecksum(seg)
	case ProtoICMP:
		return Checksum(seg, 0) == 0xFFFF
	case ProtoTCP, ProtoICMPv6:
	default:
		return true
	}
	return Checksum(seg, pseudoSum(frame, p, len(seg))) == 0xFFFF
}

// pseudoSum returns the pseudo-header sum for the outer packet's L4 protocol and length n.
func pseudoSum(frame []byte, p *Packet, n int) uint16 {
	ip := frame[p.L3Off:]
	if p.Key.Family == FamilyIPv4 {
		return PseudoHeaderChecksum4(p.Key.Proto, IPv4(ip).Src(), IPv4(ip).Dst(), uint16(n))
	}
	return PseudoHeaderChecksum6(p.Key.Proto, (*[16]byte)(ip[8:24]), (*[16]byte)(ip[24:40]), uint32(n))
}

// FillChecksums computes and stores the checksums of a parsed packet from scratch: the IPv4
// header checksum and, when the packet is not a fragment, its TCP, UDP (never leaving 0),
// SCTP, ICMP or ICMPv6 checksum. It is for packets this appliance builds or encapsulates; the
// forwarding path updates checksums incrementally instead.
func FillChecksums(frame []byte, p *Packet) {
	if p.Flags&FlagL4 != 0 && p.Flags&FlagFragment == 0 {
		seg := frame[p.L4Off:p.L3End()]
		switch p.Key.Proto {
		case ProtoTCP:
			TCP(seg).SetChecksum(0)
			TCP(seg).SetChecksum(^Checksum(seg, pseudoSum(frame, p, len(seg))))
		case ProtoUDP:
			seg = seg[:UDP(seg).Length()]
			UDP(seg).SetChecksum(0)
			UDP(seg).SetChecksum(udpFinal(^Checksum(seg, pseudoSum(frame, p, len(seg)))))
		case ProtoSCTP:
			SCTP(seg).SetChecksum(SCTPChecksum(seg))
		case ProtoICMP:
			ICMPv4(seg).SetChecksum(0)
			ICMPv4(seg).SetChecksum(^Checksum(seg, 0))
		case ProtoICMPv6:
			ICMPv6(seg).SetChecksum(0)
			ICMPv6(seg).SetChecksum(^Checksum(seg, pseudoSum(frame, p, len(seg))))
		}
	}
	if p.Key.Family == FamilyIPv4 {
		ip := IPv4(frame[p.L3Off:])
		ip.SetChecksum(ip.ComputeChecksum())
	}
}
