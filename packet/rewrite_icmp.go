package packet

// A NAT translates ICMP errors both ways: the quoted packet is one the other side sent, so its
// addresses and ports must be translated like that packet's were (or are about to be), and
// the outer header like the error's own direction. For a DNAT from VIP:vport to RIP:rport:
//
//   - an error about a forwarded packet (it quotes client → RIP:rport, travelling to the
//     client) gets RewriteInnerDst*(VIP, vport), and RewriteSrc*(VIP, ...) when the real
//     server itself sent it;
//   - an error about a reply (it quotes VIP:vport → client, travelling to the VIP) gets
//     RewriteInnerSrc*(RIP, rport) and RewriteDst*(RIP, ...).
//
// The connection to look up is p.Inner.Key.Reverse(): the quote is a packet of the opposite
// direction to the error.
//
// The inner rewrites change the quoted address and port and keep right what covers them:
// the quoted IPv4 header checksum; the quoted L4 checksum when the quote holds it (UDP always,
// within the first 8 bytes; TCP only when the quote goes past 18 bytes of it; an ICMP echo's,
// with the ICMPv6 pseudo-header); and the error's own ICMP or ICMPv6 checksum, incrementally,
// for every word changed. A quoted SCTP CRC32c covers data the quote does not hold, so only
// the port changes. p.Inner.Key is updated.

// RewriteInnerSrc4 sets the source address and port of the IPv4 packet an ICMPv4 error quotes.
func RewriteInnerSrc4(frame []byte, p *Packet, addr [4]byte, port uint16) error {
	if err := innerOK(p, FamilyIPv4); err != nil {
		return err
	}
	rewriteInner(frame, p, false, addr[:], port)
	return nil
}

// RewriteInnerDst4 sets the destination address and port of the IPv4 packet an ICMPv4 error
// quotes.
func RewriteInnerDst4(frame []byte, p *Packet, addr [4]byte, port uint16) error {
	if err := innerOK(p, FamilyIPv4); err != nil {
		return err
	}
	rewriteInner(frame, p, true, addr[:], port)
	return nil
}

// RewriteInnerSrc6 sets the source address and port of the IPv6 packet an ICMPv6 error quotes.
func RewriteInnerSrc6(frame []byte, p *Packet, addr [16]byte, port uint16) error {
	if err := innerOK(p, FamilyIPv6); err != nil {
		return err
	}
	rewriteInner(frame, p, false, addr[:], port)
	return nil
}

// RewriteInnerDst6 sets the destination address and port of the IPv6 packet an ICMPv6 error
// quotes.
func RewriteInnerDst6(frame []byte, p *Packet, addr [16]byte, port uint16) error {
	if err := innerOK(p, FamilyIPv6); err != nil {
		return err
	}
	rewriteInner(frame, p, true, addr[:], port)
	return nil
}

func innerOK(p *Packet, f Family) error {
	if p.Flags&FlagICMPError == 0 {
		return ErrNoInner
	}
	if p.Key.Family != f {
		return ErrFamily
	}
	return nil
}

// rewriteInner changes one endpoint of the quoted packet; see the comment at the top.
func rewriteInner(frame []byte, p *Packet, dst bool, addr []byte, port uint16) {
	in := &p.Inner
	k := &in.Key
	end := p.L3End()
	ckoff := p.L4Off + 2 // the error's own checksum
	ck := be16(frame[ckoff:])

	l3 := in.L3Off
	aoff := l3 + 12
	if k.Family == FamilyIPv6 {
		aoff = l3 + 8
	}
	if dst {
		aoff += len(addr)
	}
	a := frame[aoff : aoff+len(addr)]
	d := csumDelta(a, addr)
	copy(a, addr)
	if dst {
		copy(k.Dst[:], addr)
	} else {
		copy(k.Src[:], addr)
	}
	ck = csumApply(ck, d) // the address is part of the error's message
	if k.Family == FamilyIPv4 {
		ck = putWord(frame, l3+10, csumApply(be16(frame[l3+10:]), d), ck)
	}

	l4 := in.L4Off
	if l4 == 0 {
		put16(frame[ckoff:], ck)
		return
	}
	poff := l4
	if dst {
		poff += 2
	}
	switch k.Proto {
	case ProtoTCP:
		if l4+18 <= end {
			ck = rewriteQuotedL4(frame, l4+16, d, poff, port, false, ck)
		} else {
			ck = putWord(frame, poff, port, ck)
		}
	case ProtoUDP:
		ck = rewriteQuotedL4(frame, l4+6, d, poff, port, true, ck)
	case ProtoSCTP:
		ck = putWord(frame, poff, port, ck)
	case ProtoICMP, ProtoICMPv6:
		ick := be16(frame[l4+2:])
		if k.Proto == ProtoICMPv6 {
			ick = csumApply(ick, d)
		}
		if icmpIsEcho(k.Family, frame[l4]) {
			ick = ChecksumUpdate16(ick, be16(frame[l4+4:]), port)
			ck = putWord(frame, l4+4, port, ck)
			k.SrcPort, k.DstPort = port, port
		}
		put16(frame[ckoff:], putWord(frame, l4+2, ick, ck))
		return
	}
	if dst {
		k.DstPort = port
	} else {
		k.SrcPort = port
	}
	put16(frame[ckoff:], ck)
}

// rewriteQuotedL4 is rewriteL4 for a quoted TCP or UDP header: it also carries each changed
// word into the enclosing ICMP checksum outer, and returns that.
func rewriteQuotedL4(frame []byte, ckoff int, d uint16, poff int, port uint16, udp bool, outer uint16) uint16 {
	old := be16(frame[poff:])
	outer = putWord(frame, poff, port, outer)
	ck := be16(frame[ckoff:])
	if udp && ck == 0 {
		return outer
	}
	ck = ChecksumUpdate16(csumApply(ck, d), old, port)
	if udp {
		ck = udpFinal(ck)
	}
	return putWord(frame, ckoff, ck, outer)
}

// putWord writes v at off and returns checksum field hc updated for that word's change.
// Every word it writes sits at an even offset from the start of the ICMP message, as the
// checksum requires: the quote starts 8 bytes in, and IP and L4 headers have even lengths.
func putWord(frame []byte, off int, v uint16, hc uint16) uint16 {
	old := be16(frame[off:])
	put16(frame[off:], v)
	return ChecksumUpdate16(hc, old, v)
}
