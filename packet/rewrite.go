package packet

// The rewrite helpers change addresses and ports of a parsed packet in place and keep every
// checksum right incrementally (see checksum.go): the IPv4 header checksum; the TCP, UDP and
// ICMPv6 checksums, whose pseudo-header covers the addresses; the ICMP checksum when an echo
// identifier changes; the SCTP CRC32c (recomputed) when an SCTP port changes. They also update
// p.Key, so p keeps describing the frame. p must come from Parse or ParseIP of this frame.
//
// The port is written only where the packet has one: TCP, UDP and SCTP ports, and the
// identifier of an ICMP echo (which is both key ports, so the last rewrite wins). Packets
// without an L4 header (non-first fragments, unknown protocols, tunnels) and ICMP errors get
// the address alone; use the RewriteInner helpers for what an ICMP error quotes. Pass the
// current port (p.Key.SrcPort or DstPort) to keep it.
//
// Fragments stay consistent: the first fragment's L4 checksum gets the pseudo-header change,
// so every fragment of a datagram must get the same rewrite.
//
// UDP: a checksum field of 0 means the sender computed none (always legal over IPv4, and over
// IPv6 for tunnels, RFC 6935), so it stays 0: updating it would invent a wrong checksum. A
// result of 0 is written as 0xFFFF, its one's complement twin, since 0 would mean "none".

// RewriteSrc4 sets the source address of an IPv4 packet and, where it has one, its source port.
func RewriteSrc4(frame []byte, p *Packet, addr [4]byte, port uint16) error {
	if p.Key.Family != FamilyIPv4 {
		return ErrFamily
	}
	rewriteOuter(frame, p, false, addr[:], port)
	return nil
}

// RewriteDst4 sets the destination address of an IPv4 packet and, where it has one, its
// destination port.
func RewriteDst4(frame []byte, p *Packet, addr [4]byte, port uint16) error {
	if p.Key.Family != FamilyIPv4 {
		return ErrFamily
	}
	rewriteOuter(frame, p, true, addr[:], port)
	return nil
}

// RewriteSrc6 sets the source address of an IPv6 packet and, where it has one, its source port.
func RewriteSrc6(frame []byte, p *Packet, addr [16]byte, port uint16) error {
	if p.Key.Family != FamilyIPv6 {
		return ErrFamily
	}
	rewriteOuter(frame, p, false, addr[:], port)
	return nil
}

// RewriteDst6 sets the destination address of an IPv6 packet and, where it has one, its
// destination port. The L4 pseudo-header takes the address from the IPv6 header, which is the
// final destination unless a routing header is still underway (not a case for a load balancer).
func RewriteDst6(frame []byte, p *Packet, addr [16]byte, port uint16) error {
	if p.Key.Family != FamilyIPv6 {
		return ErrFamily
	}
	rewriteOuter(frame, p, true, addr[:], port)
	return nil
}

// DecrementTTL decrements the IPv4 TTL (updating the header checksum) or the IPv6 hop limit,
// as a router forwarding the packet must, and p.TTL with it. It returns false and changes
// nothing when the TTL is 0 or 1: the packet must not be forwarded (an ICMP time exceeded is
// due, see BuildICMPv4TimeExceeded).
func DecrementTTL(frame []byte, p *Packet) bool {
	l3 := p.L3Off
	switch p.Key.Family {
	case FamilyIPv4:
		ttl := frame[l3+8]
		if ttl <= 1 {
			return false
		}
		old := uint16(ttl)<<8 | uint16(frame[l3+9]) // TTL shares its checksum word with the protocol
		frame[l3+8] = ttl - 1
		put16(frame[l3+10:], ChecksumUpdate16(be16(frame[l3+10:]), old, old-0x100))
	case FamilyIPv6:
		if frame[l3+7] <= 1 {
			return false
		}
		frame[l3+7]--
	default:
		return false
	}
	p.TTL--
	return true
}

// rewriteOuter changes one endpoint of the outer packet (the destination when dst, else the
// source) to addr (4 or 16 bytes, matching p.Key.Family) and port, as described above.
func rewriteOuter(frame []byte, p *Packet, dst bool, addr []byte, port uint16) {
	k := &p.Key
	l3 := p.L3Off
	aoff := l3 + 12 // IPv4 source
	if k.Family == FamilyIPv6 {
		aoff = l3 + 8
	}
	if dst {
		aoff += len(addr)
	}
	a := frame[aoff : aoff+len(addr)]
	d := csumDelta(a, addr) // before the copy: the delta needs the old address
	copy(a, addr)
	if dst {
		copy(k.Dst[:], addr)
	} else {
		copy(k.Src[:], addr)
	}
	if k.Family == FamilyIPv4 {
		put16(frame[l3+10:], csumApply(be16(frame[l3+10:]), d))
	}
	if p.Flags&FlagL4 == 0 {
		return
	}
	l4 := p.L4Off
	poff := l4 // source port; the destination port follows it in TCP, UDP and SCTP
	if dst {
		poff += 2
	}
	switch k.Proto {
	case ProtoTCP:
		rewriteL4(frame, l4+16, d, poff, port, false)
	case ProtoUDP:
		rewriteL4(frame, l4+6, d, poff, port, true)
	case ProtoSCTP:
		// CRC32c covers neither pseudo-header nor addresses, only the SCTP packet itself,
		// which a first fragment does not hold whole: then the port changes and the CRC
		// cannot follow (IPVS does not forward fragmented SCTP either).
		if be16(frame[poff:]) != port {
			put16(frame[poff:], port)
			if p.Flags&FlagFragment == 0 {
				seg := SCTP(frame[l4:p.L3End()])
				seg.SetChecksum(SCTPChecksum(seg))
			}
		}
	case ProtoICMP, ProtoICMPv6:
		ck := be16(frame[l4+2:])
		if k.Proto == ProtoICMPv6 {
			ck = csumApply(ck, d)
		}
		if icmpIsEcho(k.Family, p.ICMPType) {
			ck = ChecksumUpdate16(ck, be16(frame[l4+4:]), port)
			put16(frame[l4+4:], port)
			k.SrcPort, k.DstPort = port, port
		}
		put16(frame[l4+2:], ck)
		return
	default:
		return
	}
	if dst {
		k.DstPort = port
	} else {
		k.SrcPort = port
	}
}

// rewriteL4 writes port at poff and updates the TCP or UDP checksum at ckoff for the port
// change and the address delta d.
func rewriteL4(frame []byte, ckoff int, d uint16, poff int, port uint16, udp bool) {
	old := be16(frame[poff:])
	put16(frame[poff:], port)
	ck := be16(frame[ckoff:])
	if udp && ck == 0 {
		return // no checksum: keep none
	}
	ck = ChecksumUpdate16(csumApply(ck, d), old, port)
	if udp {
		ck = udpFinal(ck)
	}
	put16(frame[ckoff:], ck)
}
