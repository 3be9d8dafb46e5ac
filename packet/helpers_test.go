package packet

import (
	"encoding/binary"
	"hash/crc32"
	"net/netip"
)

// Frames for the tests are built here, with checksums from a deliberately naive reference
// implementation, so that the package's own checksum code is checked against it rather than
// against itself.

var (
	macA = [6]byte{0x02, 0, 0, 0, 0, 0xAA}
	macB = [6]byte{0x02, 0, 0, 0, 0, 0xBB}

	cli4 = [4]byte{198, 51, 100, 7}
	vip4 = [4]byte{192, 0, 2, 10}
	rs4  = [4]byte{10, 1, 0, 5}
	rtr4 = [4]byte{10, 1, 0, 254}

	cli6 = a16("2001:db8:1::7")
	vip6 = a16("2001:db8:2::10")
	rs6  = a16("2001:db8:3::5")
	rtr6 = a16("2001:db8:3::fe")
)

func a16(s string) [16]byte { return netip.MustParseAddr(s).As16() }

// x16 puts an IPv4 address in FlowKey's array form.
func x16(a [4]byte) (r [16]byte) { copy(r[:], a[:]); return }

func key4(src, dst [4]byte, proto uint8, sport, dport uint16) FlowKey {
	return FlowKey{Src: x16(src), Dst: x16(dst), SrcPort: sport, DstPort: dport, Proto: proto, Family: FamilyIPv4}
}

func key6(src, dst [16]byte, proto uint8, sport, dport uint16) FlowKey {
	return FlowKey{Src: src, Dst: dst, SrcPort: sport, DstPort: dport, Proto: proto, Family: FamilyIPv6}
}

// refSum is RFC 1071 done the obvious way, over the concatenation of the pieces.
func refSum(pieces ...[]byte) uint16 {
	var all []byte
	for _, p := range pieces {
		all = append(all, p...)
	}
	var s uint64
	for i := 0; i < len(all); i += 2 {
		w := uint64(all[i]) << 8
		if i+1 < len(all) {
			w |= uint64(all[i+1])
		}
		s += w
	}
	for s > 0xFFFF {
		s = s>>16 + s&0xFFFF
	}
	return uint16(s)
}

func pseudo4(src, dst [4]byte, proto uint8, n int) []byte {
	b := append(append([]byte{}, src[:]...), dst[:]...)
	return append(b, 0, proto, byte(n>>8), byte(n))
}

func pseudo6(src, dst [16]byte, proto uint8, n int) []byte {
	b := append(append([]byte{}, src[:]...), dst[:]...)
	return append(b, byte(n>>24), byte(n>>16), byte(n>>8), byte(n), 0, 0, 0, proto)
}

// refSCTP is the SCTP CRC32c per RFC 9260 appendix A, with the field zeroed in a copy.
func refSCTP(seg []byte) uint32 {
	c := append([]byte{}, seg...)
	binary.LittleEndian.PutUint32(c[8:], 0)
	return crc32.Checksum(c, crc32.MakeTable(crc32.Castagnoli))
}

// fillL4 computes the checksum of the complete L4 segment seg of protocol proto, given its
// pseudo-header (nil for ICMPv4), and stores it.
func fillL4(proto uint8, seg, pseudo []byte) {
	switch proto {
	case ProtoTCP:
		seg[16], seg[17] = 0, 0
		binary.BigEndian.PutUint16(seg[16:], ^refSum(pseudo, seg))
	case ProtoUDP:
		seg[6], seg[7] = 0, 0
		ck := ^refSum(pseudo, seg)
		if ck == 0 {
			ck = 0xFFFF
		}
		binary.BigEndian.PutUint16(seg[6:], ck)
	case ProtoICMP:
		seg[2], seg[3] = 0, 0
		binary.BigEndian.PutUint16(seg[2:], ^refSum(seg))
	case ProtoICMPv6:
		seg[2], seg[3] = 0, 0
		binary.BigEndian.PutUint16(seg[2:], ^refSum(pseudo, seg))
	case ProtoSCTP:
		binary.LittleEndian.PutUint32(seg[8:], refSCTP(seg))
	}
}

// refValidL4 verifies the checksum of a complete L4 segment with the reference code.
func refValidL4(proto uint8, seg, pseudo []byte) bool {
	switch proto {
	case ProtoTCP, ProtoICMPv6:
		return refSum(pseudo, seg) == 0xFFFF
	case ProtoUDP:
		return binary.BigEndian.Uint16(seg[6:]) == 0 && len(pseudo) == 12 || refSum(pseudo, seg) == 0xFFFF
	case ProtoICMP:
		return refSum(seg) == 0xFFFF
	case ProtoSCTP:
		return binary.LittleEndian.Uint32(seg[8:]) == refSCTP(seg)
	}
	return true
}

func tcpSeg(sport, dport uint16, flags uint8, opts, payload []byte) []byte {
	b := make([]byte, 20, 20+len(opts)+len(payload))
	binary.BigEndian.PutUint16(b[0:], sport)
	binary.BigEndian.PutUint16(b[2:], dport)
	binary.BigEndian.PutUint32(b[4:], 0x01020304)
	binary.BigEndian.PutUint32(b[8:], 0x0A0B0C0D)
	b[12] = byte((20+len(opts))/4) << 4
	b[13] = flags
	binary.BigEndian.PutUint16(b[14:], 65535)
	b = append(b, opts...)
	return append(b, payload...)
}

func udpSeg(sport, dport uint16, payload []byte) []byte {
	b := make([]byte, 8, 8+len(payload))
	binary.BigEndian.PutUint16(b[0:], sport)
	binary.BigEndian.PutUint16(b[2:], dport)
	binary.BigEndian.PutUint16(b[4:], uint16(8+len(payload)))
	return append(b, payload...)
}

func sctpSeg(sport, dport uint16, payload []byte) []byte {
	b := make([]byte, 12, 12+len(payload))
	binary.BigEndian.PutUint16(b[0:], sport)
	binary.BigEndian.PutUint16(b[2:], dport)
	binary.BigEndian.PutUint32(b[4:], 0xCAFEF00D)
	return append(b, payload...)
}

func icmpMsg(typ, code uint8, rest uint32, payload []byte) []byte {
	b := make([]byte, 8, 8+len(payload))
	b[0], b[1] = typ, code
	binary.BigEndian.PutUint32(b[4:], rest)
	return append(b, payload...)
}

// v4 describes an IPv4 header to build; zero values give a plain, valid header.
type v4 struct {
	src, dst [4]byte
	proto    uint8
	ttl      uint8  // 0: 64
	opts     []byte // a multiple of 4 bytes
	frag     uint16 // the flags / fragment offset word
	noCk     bool   // leave the L4 checksum alone
	// malformations
	ver  uint8 // 0: 4
	ihl  int   // 0: from opts
	tlen int   // 0: the real length
}

func (h v4) pkt(l4 []byte) []byte {
	hl := 20 + len(h.opts)
	if h.frag&0x3FFF == 0 && !h.noCk {
		var ps []byte
		if h.proto != ProtoICMP {
			ps = pseudo4(h.src, h.dst, h.proto, len(l4))
		}
		fillL4(h.proto, l4, ps)
	}
	b := make([]byte, hl, hl+len(l4))
	ver, ihl, tl := h.ver, h.ihl, h.tlen
	if ver == 0 {
		ver = 4
	}
	if ihl == 0 {
		ihl = hl / 4
	}
	if tl == 0 {
		tl = hl + len(l4)
	}
	ttl := h.ttl
	if ttl == 0 {
		ttl = 64
	}
	b[0] = ver<<4 | byte(ihl)
	binary.BigEndian.PutUint16(b[2:], uint16(tl))
	binary.BigEndian.PutUint16(b[4:], 0x1234)
	binary.BigEndian.PutUint16(b[6:], h.frag)
	b[8], b[9] = ttl, h.proto
	copy(b[12:], h.src[:])
	copy(b[16:], h.dst[:])
	copy(b[20:], h.opts)
	binary.BigEndian.PutUint16(b[10:], ^refSum(b))
	return append(b, l4...)
}

// ext is an IPv6 extension header to build.
type ext struct {
	typ     uint8
	size    int // total bytes: 8n (16+ for AH: 12+4n)
	fragOff int // fragment header: offset in bytes
	more    bool
}

func hbh() ext                     { return ext{typ: ProtoHopByHop, size: 8} }
func dstOpts(n int) ext            { return ext{typ: ProtoDstOpts, size: 8 * n} }
func routing() ext                 { return ext{typ: ProtoRouting, size: 24} }
func frag6(off int, more bool) ext { return ext{typ: ProtoFragment, size: 8, fragOff: off, more: more} }
func ahHdr() ext                   { return ext{typ: ProtoAH, size: 24} }
func (e ext) encode(next uint8) []byte {
	b := make([]byte, e.size)
	b[0] = next
	switch e.typ {
	case ProtoFragment:
		v := uint16(e.fragOff)
		if e.more {
			v |= 1
		}
		binary.BigEndian.PutUint16(b[2:], v)
		binary.BigEndian.PutUint32(b[4:], 0xF00D)
	case ProtoAH:
		b[1] = byte(e.size/4 - 2)
	default:
		b[1] = byte(e.size/8 - 1)
		if e.typ == ProtoHopByHop || e.typ == ProtoDstOpts {
			b[2], b[3] = 1, byte(e.size-4) // one PadN option filling the header
		}
	}
	return b
}

// v6 describes an IPv6 header (and extension headers) to build.
type v6 struct {
	src, dst [16]byte
	proto    uint8 // upper-layer protocol, after the extension headers
	hop      uint8 // 0: 64
	ext      []ext
	noCk     bool
	// malformations
	ver  uint8 // 0: 6
	plen int   // 0: the real length
}

func (h v6) pkt(l4 []byte) []byte {
	complete := true
	var exts []byte
	for i, e := range h.ext {
		next := h.proto
		if i+1 < len(h.ext) {
			next = h.ext[i+1].typ
		}
		if e.typ == ProtoFragment && (e.fragOff != 0 || e.more) {
			complete = false
		}
		exts = append(exts, e.encode(next)...)
	}
	if complete && !h.noCk {
		fillL4(h.proto, l4, pseudo6(h.src, h.dst, h.proto, len(l4)))
	}
	first := h.proto
	if len(h.ext) > 0 {
		first = h.ext[0].typ
	}
	ver, plen, hop := h.ver, h.plen, h.hop
	if ver == 0 {
		ver = 6
	}
	if plen == 0 {
		plen = len(exts) + len(l4)
	}
	if hop == 0 {
		hop = 64
	}
	b := make([]byte, 40, 40+len(exts)+len(l4))
	b[0] = ver << 4
	binary.BigEndian.PutUint16(b[4:], uint16(plen))
	b[6], b[7] = first, hop
	copy(b[8:], h.src[:])
	copy(b[24:], h.dst[:])
	b = append(b, exts...)
	return append(b, l4...)
}

// eth wraps an IP packet in an untagged Ethernet header with the EtherType its version says.
func eth(l3 []byte) []byte {
	et := EtherTypeIPv4
	if len(l3) > 0 && l3[0]>>4 == 6 {
		et = EtherTypeIPv6
	}
	return ethT(et, l3)
}

func ethT(et uint16, l3 []byte) []byte {
	b := make([]byte, 14, 14+len(l3))
	copy(b[0:], macB[:])
	copy(b[6:], macA[:])
	binary.BigEndian.PutUint16(b[12:], et)
	return append(b, l3...)
}

func ethVLAN(vid, et uint16, l3 []byte) []byte {
	b := make([]byte, 18, 18+len(l3))
	copy(b[0:], macB[:])
	copy(b[6:], macA[:])
	binary.BigEndian.PutUint16(b[12:], EtherTypeVLAN)
	binary.BigEndian.PutUint16(b[14:], 0x2000|vid) // priority 1, to check it is masked off
	binary.BigEndian.PutUint16(b[16:], et)
	return append(b, l3...)
}

func arpPkt(op uint16) []byte {
	b := make([]byte, 28)
	binary.BigEndian.PutUint16(b[0:], 1)
	binary.BigEndian.PutUint16(b[2:], EtherTypeIPv4)
	b[4], b[5] = 6, 4
	binary.BigEndian.PutUint16(b[6:], op)
	copy(b[8:], macA[:])
	copy(b[14:], cli4[:])
	copy(b[24:], vip4[:])
	return b
}

// pad appends n zero bytes (Ethernet padding).
func pad(b []byte, n int) []byte { return append(b, make([]byte, n)...) }

func seq(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + 3)
	}
	return b
}
