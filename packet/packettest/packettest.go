// Package packettest builds well-formed Ethernet frames for tests: TCP and UDP over IPv4 and
// IPv6, and ICMP errors quoting another frame. Checksums are computed in full here, on
// purpose independently of package packet's incremental math, so tests can check one against
// the other.
package packettest

import (
	"encoding/binary"
	"net/netip"
)

// Frame describes a frame to build.
type Frame struct {
	SrcMAC, DstMAC [6]byte
	VLAN           uint16 // nonzero: add one 802.1Q tag
	Src, Dst       netip.AddrPort
	Proto          uint8 // 6 TCP, 17 UDP
	TCPFlags       uint8
	Seq, Ack       uint32
	TTL            uint8 // 0 = 64
	Payload        []byte
	// ZeroUDPChecksum sends IPv4 UDP without a checksum (0), as RFC 768 allows.
	ZeroUDPChecksum bool
}

// Build returns the frame's bytes.
func (f Frame) Build() []byte {
	ip := f.ip(f.l4())
	return ether(f.DstMAC, f.SrcMAC, f.VLAN, f.Src.Addr().Is4(), ip)
}

func (f Frame) l4() []byte {
	var l4 []byte
	if f.Proto == 6 {
		l4 = make([]byte, 20+len(f.Payload))
		binary.BigEndian.PutUint16(l4[0:], f.Src.Port())
		binary.BigEndian.PutUint16(l4[2:], f.Dst.Port())
		binary.BigEndian.PutUint32(l4[4:], f.Seq)
		binary.BigEndian.PutUint32(l4[8:], f.Ack)
		l4[12] = 5 << 4
		l4[13] = f.TCPFlags
		binary.BigEndian.PutUint16(l4[14:], 65535)
		copy(l4[20:], f.Payload)
		binary.BigEndian.PutUint16(l4[16:], l4Checksum(f.Src.Addr(), f.Dst.Addr(), 6, l4))
		return l4
	}
	l4 = make([]byte, 8+len(f.Payload))
	binary.BigEndian.PutUint16(l4[0:], f.Src.Port())
	binary.BigEndian.PutUint16(l4[2:], f.Dst.Port())
	binary.BigEndian.PutUint16(l4[4:], uint16(len(l4)))
	copy(l4[8:], f.Payload)
	if !(f.ZeroUDPChecksum && f.Src.Addr().Is4()) {
		c := l4Checksum(f.Src.Addr(), f.Dst.Addr(), 17, l4)
		if c == 0 {
			c = 0xffff
		}
		binary.BigEndian.PutUint16(l4[6:], c)
	}
	return l4
}

func (f Frame) ip(l4 []byte) []byte {
	ttl := f.TTL
	if ttl == 0 {
		ttl = 64
	}
	return IP(f.Src.Addr(), f.Dst.Addr(), f.Proto, ttl, l4)
}

// IP wraps payload in an IPv4 or IPv6 header (by the family of src).
func IP(src, dst netip.Addr, proto, ttl uint8, payload []byte) []byte {
	if src.Is4() {
		h := make([]byte, 20+len(payload))
		h[0] = 0x45
		binary.BigEndian.PutUint16(h[2:], uint16(len(h)))
		binary.BigEndian.PutUint16(h[6:], 0x4000) // DF
		h[8], h[9] = ttl, proto
		s, d := src.As4(), dst.As4()
		copy(h[12:], s[:])
		copy(h[16:], d[:])
		binary.BigEndian.PutUint16(h[10:], Checksum(h[:20], 0))
		copy(h[20:], payload)
		return h
	}
	h := make([]byte, 40+len(payload))
	h[0] = 0x60
	binary.BigEndian.PutUint16(h[4:], uint16(len(payload)))
	h[6], h[7] = proto, ttl
	s, d := src.As16(), dst.As16()
	copy(h[8:], s[:])
	copy(h[24:], d[:])
	copy(h[40:], payload)
	return h
}

func ether(dst, src [6]byte, vlan uint16, v4 bool, payload []byte) []byte {
	n := 14
	if vlan != 0 {
		n += 4
	}
	b := make([]byte, n+len(payload))
	copy(b[0:], dst[:])
	copy(b[6:], src[:])
	et := uint16(0x86dd)
	if v4 {
		et = 0x0800
	}
	if vlan != 0 {
		binary.BigEndian.PutUint16(b[12:], 0x8100)
		binary.BigEndian.PutUint16(b[14:], vlan)
		binary.BigEndian.PutUint16(b[16:], et)
	} else {
		binary.BigEndian.PutUint16(b[12:], et)
	}
	copy(b[n:], payload)
	return b
}

// ICMPError builds an ICMP (v4: type/code) or ICMPv6 error from `from` to `to` quoting the IP
// packet inside frame (an Ethernet frame without VLAN tag), truncated as the RFCs allow.
func ICMPError(srcMAC, dstMAC [6]byte, from, to netip.Addr, typ, code uint8, quoted []byte) []byte {
	ipq := quoted[14:]
	if from.Is4() {
		if len(ipq) > 28 {
			ipq = ipq[:28] // header + 8 bytes
		}
		m := make([]byte, 8+len(ipq))
		m[0], m[1] = typ, code
		copy(m[8:], ipq)
		binary.BigEndian.PutUint16(m[2:], Checksum(m, 0))
		return ether(dstMAC, srcMAC, 0, true, IP(from, to, 1, 64, m))
	}
	m := make([]byte, 8+len(ipq))
	m[0], m[1] = typ, code
	copy(m[8:], ipq)
	binary.BigEndian.PutUint16(m[2:], l4Checksum(from, to, 58, m))
	return ether(dstMAC, srcMAC, 0, false, IP(from, to, 58, 64, m))
}

// Checksum is the RFC 1071 Internet checksum of b, starting from the partial sum initial.
func Checksum(b []byte, initial uint32) uint16 {
	sum := initial
	for len(b) >= 2 {
		sum += uint32(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint32(b[0]) << 8
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

func l4Checksum(src, dst netip.Addr, proto uint8, l4 []byte) uint16 {
	var sum uint32
	add := func(b []byte) {
		for i := 0; i+1 < len(b); i += 2 {
			sum += uint32(binary.BigEndian.Uint16(b[i:]))
		}
	}
	if src.Is4() {
		s, d := src.As4(), dst.As4()
		add(s[:])
		add(d[:])
	} else {
		s, d := src.As16(), dst.As16()
		add(s[:])
		add(d[:])
	}
	sum += uint32(proto) + uint32(len(l4))
	return Checksum(l4, sum)
}

// VerifyChecksums recomputes the IPv4 header checksum and the TCP/UDP/ICMP checksum of an
// untagged Ethernet frame and reports whether both are right (a zero IPv4 UDP checksum counts
// as right).
func VerifyChecksums(frame []byte) bool {
	et := binary.BigEndian.Uint16(frame[12:])
	ip := frame[14:]
	var src, dst netip.Addr
	var proto uint8
	var l4 []byte
	if et == 0x0800 {
		ihl := int(ip[0]&0xf) * 4
		if Checksum(ip[:ihl], 0) != 0 {
			return false
		}
		tl := int(binary.BigEndian.Uint16(ip[2:]))
		src, dst = netip.AddrFrom4([4]byte(ip[12:16])), netip.AddrFrom4([4]byte(ip[16:20]))
		proto, l4 = ip[9], ip[ihl:tl]
	} else {
		pl := int(binary.BigEndian.Uint16(ip[4:]))
		src, dst = netip.AddrFrom16([16]byte(ip[8:24])), netip.AddrFrom16([16]byte(ip[24:40]))
		proto, l4 = ip[6], ip[40:40+pl]
	}
	switch proto {
	case 1:
		return Checksum(l4, 0) == 0
	case 17:
		if et == 0x0800 && binary.BigEndian.Uint16(l4[6:]) == 0 {
			return true
		}
	}
	return l4Checksum(src, dst, proto, l4) == 0
}
