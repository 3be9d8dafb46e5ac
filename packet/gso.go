package packet

// Software segmentation of GSO super-frames.
//
// Ports with virtio-net headers (AF_PACKET with PACKET_VNET_HDR, TAP with IFF_VNET_HDR) receive
// TCP and UDP super-frames of up to 64 KiB that the kernel would have cut into MTU-sized
// packets on a real NIC. When the egress cannot take them whole (no vnet header there, or an
// encapsulation with no virtio GSO type, as IPIP and GUE), SegmentTCP and SegmentUDP cut them
// in software, the way Linux's inet_gso_segment / tcp_gso_segment / __udp_gso_segment do.
//
// Every segment is the super-frame's headers (Ethernet and any 802.1Q tag, IP header with its
// options or extension headers, L4 header with its options) followed by the next mss bytes of
// payload. Per segment: IPv4 total length, an ID counted up by one from the super-frame's,
// and the header checksum; IPv6 payload length; TCP sequence number (advanced by the payload
// already sent), CWR on the first segment only, PSH and FIN on the last only; UDP length. The
// L4 checksum is always computed in full: on a super-frame received with NEEDS_CSUM the field
// holds only a pseudo-header sum, so nothing is taken from it.

// SegmentCount returns how many segments SegmentTCP or SegmentUDP makes of the parsed
// super-frame p with mss payload bytes each: the payload length p.L3End()-p.PayloadOff
// divided by mss, rounded up, and at least 1. It returns 0 when p has no L4 payload offset or
// mss < 1. Callers use it to take enough buffers before segmenting.
func SegmentCount(p *Packet, mss int) int {
	if mss < 1 || p.Flags&FlagL4 == 0 || p.PayloadOff > p.L3End() {
		return 0
	}
	n := p.L3End() - p.PayloadOff
	if n <= mss {
		return 1
	}
	return (n + mss - 1) / mss
}

// SegmentTCP splits the TCP super-frame frame (Ethernet [+VLAN] + IPv4/IPv6 + TCP + payload,
// parsed into p) into frames carrying at most mss payload bytes each, written to out[i][off:],
// with sizes[i] their lengths. It returns how many it wrote (SegmentCount(p, mss)); a
// super-frame whose payload fits in mss yields one segment with its lengths and checksums
// corrected. Ethernet padding after p.L3End() is left out. frame is only read.
//
// Errors leave out untouched (every check comes before the first write):
//   - ErrShortBuffer: out or sizes have fewer than SegmentCount entries, an out[i] cannot hold
//     off plus its segment, or off < 0.
//   - ErrUnsupported: p is not TCP with a parsed header, is a fragment, mss < 1, an IPv6
//     routing header still has segments left (the checksum would need the final destination),
//     or a SYN or RST would be cut into more than one segment.
//   - ErrBadHeader: the IP or TCP header in frame disagrees with p (IPv4 total length 0, as
//     BIG TCP sends, or any other length or offset that is not what p says).
//   - ErrTruncated: p describes more bytes than frame has.
//
// It does not allocate.
func SegmentTCP(frame []byte, p *Packet, mss int, out [][]byte, off int, sizes []int) (int, error) {
	return segment(frame, p, ProtoTCP, mss, out, off, sizes)
}

// SegmentUDP is SegmentTCP for a UDP super-frame (virtio GSO_UDP_L4, UDP_SEGMENT): every
// segment is a UDP datagram with the super-frame's UDP header, its own length and a full
// checksum (over IPv4 too, where the super-frame may have none; a computed 0 is sent as
// 0xFFFF). The super-frame's UDP length must cover its IP payload exactly (ErrBadHeader).
// Errors are SegmentTCP's, without the SYN/RST case.
func SegmentUDP(frame []byte, p *Packet, mss int, out [][]byte, off int, sizes []int) (int, error) {
	return segment(frame, p, ProtoUDP, mss, out, off, sizes)
}

// segment implements SegmentTCP and SegmentUDP for proto.
func segment(frame []byte, p *Packet, proto uint8, mss int, out [][]byte, off int, sizes []int) (int, error) {
	if err := checkSegmentable(frame, p, proto, mss); err != nil {
		return 0, err
	}
	hdr := p.PayloadOff // Ethernet + IP + L4 headers, copied into every segment
	payload := frame[hdr:p.L3End()]
	n := SegmentCount(p, mss)
	if proto == ProtoTCP && n > 1 && TCP(frame[p.L4Off:]).Flags()&(TCPSyn|TCPRst) != 0 {
		return 0, ErrUnsupported
	}
	if off < 0 || len(out) < n || len(sizes) < n {
		return 0, ErrShortBuffer
	}
	for i := range n {
		if len(out[i])-off < hdr+min(mss, len(payload)-i*mss) {
			return 0, ErrShortBuffer
		}
	}

	q := *p // the segment being written: same offsets, its own lengths
	var id uint16
	if p.Key.Family == FamilyIPv4 {
		id = IPv4(frame[p.L3Off:]).ID()
	}
	var seq uint32
	var flags uint8
	if proto == ProtoTCP {
		seq = TCP(frame[p.L4Off:]).Seq()
		flags = TCP(frame[p.L4Off:]).Flags()
	}
	for i := range n {
		pos := i * mss
		chunk := payload[pos:min(pos+mss, len(payload))]
		size := hdr + len(chunk)
		seg := out[i][off : off+size]
		copy(seg, frame[:hdr])
		copy(seg[hdr:], chunk)
		q.Len = size
		q.IPLen = size - p.L3Off
		if p.Key.Family == FamilyIPv4 {
			ip := IPv4(seg[p.L3Off:])
			ip.SetTotalLength(uint16(q.IPLen))
			ip.SetID(id + uint16(i))
		} else {
			IPv6(seg[p.L3Off:]).SetPayloadLength(uint16(q.IPLen - IPv6Len))
		}
		if proto == ProtoTCP {
			t := TCP(seg[p.L4Off:])
			put32(t[4:], seq+uint32(pos))
			f := flags
			if i > 0 {
				f &^= TCPCwr
			}
			if i < n-1 {
				f &^= TCPFin | TCPPsh
			}
			t.SetFlags(f)
			q.TCPFlags = f
		} else {
			UDP(seg[p.L4Off:]).SetLength(uint16(size - p.L4Off))
		}
		FillChecksums(seg, &q)
		sizes[i] = size
	}
	return n, nil
}

// checkSegmentable checks that p describes a whole, unfragmented proto packet in frame, and
// that the headers in frame say what p says, so that a stale or foreign p cannot make
// segment read or write out of bounds or build segments that contradict their headers.
func checkSegmentable(frame []byte, p *Packet, proto uint8, mss int) error {
	if mss < 1 || p.Key.Proto != proto || p.Flags&FlagL4 == 0 || p.Flags&FlagFragment != 0 {
		return ErrUnsupported
	}
	l3, l4, pay, end := p.L3Off, p.L4Off, p.PayloadOff, p.L3End()
	if l3 < 0 || l4 < l3 || pay < l4 || end < pay {
		return ErrBadHeader
	}
	if end > len(frame) {
		return ErrTruncated
	}
	ip := frame[l3:end]
	switch p.Key.Family {
	case FamilyIPv4:
		if len(ip) < IPv4MinLen || IPv4(ip).Version() != 4 || IPv4(ip).Protocol() != proto ||
			IPv4(ip).TotalLength() == 0 || int(IPv4(ip).TotalLength()) != p.IPLen ||
			IPv4(ip).HeaderLength() != l4-l3 || IPv4(ip).IsFragment() {
			return ErrBadHeader
		}
	case FamilyIPv6:
		if len(ip) < IPv6Len || IPv6(ip).Version() != 6 || IPv6(ip).PayloadLength() == 0 ||
			IPv6Len+int(IPv6(ip).PayloadLength()) != p.IPLen || l4-l3 < IPv6Len {
			return ErrBadHeader
		}
		if l4-l3 > IPv6Len && ipv6RoutingPending(frame, l3+IPv6Len, l4, IPv6(ip).NextHeader()) {
			return ErrUnsupported
		}
	default:
		return ErrUnsupported
	}
	l4b := frame[l4:end]
	if proto == ProtoTCP {
		if len(l4b) < TCPMinLen || TCP(l4b).DataOffset() != pay-l4 {
			return ErrBadHeader
		}
	} else if len(l4b) < UDPLen || pay-l4 != UDPLen || int(UDP(l4b).Length()) != len(l4b) {
		return ErrBadHeader
	}
	return nil
}

// ipv6RoutingPending reports whether the IPv6 extension headers in frame[off:end], the first
// of type next, include a routing header with segments left: the transport checksum of such
// a packet covers the final destination, not the destination field.
func ipv6RoutingPending(frame []byte, off, end int, next uint8) bool {
	for i := 0; i < MaxExtHeaders && end-off >= 8; i++ {
		n := extHeaderLen(next, frame[off:])
		if n == 0 {
			return false
		}
		if next == ProtoRouting && frame[off+3] != 0 {
			return true
		}
		next = frame[off]
		off += n
	}
	return false
}
