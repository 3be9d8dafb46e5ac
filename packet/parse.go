package packet

// Parse decodes the Ethernet frame in place into p, which it resets first. It reads each header
// once and records offsets into frame and the fields the engine needs (only addresses and
// ports are copied, into the keys); p holds no reference to frame and nothing is allocated.
// One 802.1Q tag is understood; padding after the IP packet is ignored.
//
// Every length is checked before it is used, so malformed input returns an error (ErrTruncated,
// ErrBadHeader, ErrUnsupported) and never a panic. Non-IP frames return ErrNotIP with EtherType,
// VLAN and L3Off set. ARP returns nil with EtherType and L3Off set and no Key. Checksums are
// not verified: the forwarding path updates them incrementally, which keeps a bad one bad for
// the receiver to drop (ChecksumsValid checks them when wanted).
func Parse(frame []byte, p *Packet) error {
	*p = Packet{Len: len(frame)}
	if len(frame) < EthernetLen {
		return ErrTruncated
	}
	et := be16(frame[12:])
	off := EthernetLen
	if et == EtherTypeVLAN {
		if len(frame) < EthernetLen+VLANTagLen {
			return ErrTruncated
		}
		p.Flags |= FlagVLAN
		p.VLAN = be16(frame[14:]) & 0x0FFF
		et = be16(frame[16:])
		off += VLANTagLen
	}
	p.EtherType = et
	p.L3Off = off
	switch et {
	case EtherTypeIPv4:
		return parseIPv4(frame, p)
	case EtherTypeIPv6:
		return parseIPv6(frame, p)
	case EtherTypeARP:
		if len(frame)-off < ARPLen {
			return ErrTruncated
		}
		if !ARP(frame[off:]).IsEthernetIPv4() {
			return ErrUnsupported
		}
		return nil
	case EtherTypeVLAN, EtherTypeQinQ:
		return ErrUnsupported
	}
	return ErrNotIP
}

// ParseIP is Parse for a buffer that starts at the IP header (L3Off = 0), as a TUN device or an
// inner packet after decapsulation delivers it. EtherType is set from the version nibble.
func ParseIP(b []byte, p *Packet) error {
	*p = Packet{Len: len(b)}
	if len(b) == 0 {
		return ErrTruncated
	}
	switch b[0] >> 4 {
	case 4:
		p.EtherType = EtherTypeIPv4
		return parseIPv4(b, p)
	case 6:
		p.EtherType = EtherTypeIPv6
		return parseIPv6(b, p)
	}
	return ErrNotIP
}

// parseIPv4 decodes the IPv4 header at p.L3Off and what follows it.
func parseIPv4(frame []byte, p *Packet) error {
	off := p.L3Off
	b := frame[off:]
	if len(b) < IPv4MinLen {
		return ErrTruncated
	}
	ip := IPv4(b)
	hl := ip.HeaderLength()
	tl := int(ip.TotalLength())
	if ip.Version() != 4 || hl < IPv4MinLen || tl < hl {
		return ErrBadHeader
	}
	if tl > len(b) {
		return ErrTruncated
	}
	if hl > IPv4MinLen {
		p.Flags |= FlagIPOptions
	}
	p.IPLen = tl
	p.TTL = ip.TTL()
	k := &p.Key
	k.Family = FamilyIPv4
	k.Proto = ip.Protocol()
	copy(k.Src[:4], b[12:16])
	copy(k.Dst[:4], b[16:20])
	if ip.IsFragment() {
		p.Flags |= FlagFragment
		if ip.FragmentOffset() != 0 {
			return nil // only the first fragment carries the L4 header
		}
		p.Flags |= FlagFirstFrag
	}
	return parseL4(frame, p, off+hl, off+tl)
}

// parseIPv6 decodes the IPv6 header at p.L3Off, walks its extension headers, and decodes
// the upper-layer header.
func parseIPv6(frame []byte, p *Packet) error {
	off := p.L3Off
	b := frame[off:]
	if len(b) < IPv6Len {
		return ErrTruncated
	}
	ip := IPv6(b)
	if ip.Version() != 6 {
		return ErrBadHeader
	}
	n := IPv6Len + int(ip.PayloadLength())
	if n > len(b) {
		return ErrTruncated
	}
	p.IPLen = n
	p.TTL = ip.HopLimit()
	k := &p.Key
	k.Family = FamilyIPv6
	k.Src = [16]byte(b[8:24])
	k.Dst = [16]byte(b[24:40])
	l4, proto, f, err := walkIPv6(frame, off+IPv6Len, off+n, ip.NextHeader())
	k.Proto = proto
	p.Flags |= f
	if err != nil || l4 == 0 {
		return err
	}
	return parseL4(frame, p, l4, off+n)
}

// parseL4 decodes the L4 header of the outer packet, which lies in frame[off:end]. An
// unknown protocol is not an error: the packet simply has no L4 (L4Off stays 0).
func parseL4(frame []byte, p *Packet, off, end int) error {
	k := &p.Key
	b := frame[off:end]
	switch k.Proto {
	case ProtoTCP:
		if len(b) < TCPMinLen {
			return ErrTruncated
		}
		n := TCP(b).DataOffset()
		if n < TCPMinLen {
			return ErrBadHeader
		}
		if n > len(b) {
			return ErrTruncated
		}
		k.SrcPort, k.DstPort = TCP(b).SrcPort(), TCP(b).DstPort()
		p.TCPFlags = TCP(b).Flags()
		p.PayloadOff = off + n
	case ProtoUDP:
		if len(b) < UDPLen {
			return ErrTruncated
		}
		n := int(UDP(b).Length())
		if n < UDPLen {
			return ErrBadHeader
		}
		// The length covers the whole datagram, which a first fragment does not hold.
		if n > len(b) && p.Flags&FlagFragment == 0 {
			return ErrTruncated
		}
		k.SrcPort, k.DstPort = UDP(b).SrcPort(), UDP(b).DstPort()
		p.PayloadOff = off + UDPLen
	case ProtoSCTP:
		if len(b) < SCTPLen {
			return ErrTruncated
		}
		k.SrcPort, k.DstPort = SCTP(b).SrcPort(), SCTP(b).DstPort()
		p.PayloadOff = off + SCTPLen
	case ProtoICMP, ProtoICMPv6:
		if (k.Proto == ProtoICMP) != (k.Family == FamilyIPv4) {
			return nil // ICMPv4 over IPv6 or ICMPv6 over IPv4: nobody's protocol
		}
		return parseICMP(frame, p, off, end)
	case ProtoIPIP, ProtoIPv6:
		return parseTunnel(frame, p, off, end)
	default:
		return nil
	}
	p.L4Off = off
	p.Flags |= FlagL4
	return nil
}

// parseICMP decodes an ICMP or ICMPv6 header: echo identifiers become ports, errors have
// their quoted packet decoded into p.Inner.
func parseICMP(frame []byte, p *Packet, off, end int) error {
	b := frame[off:end]
	if len(b) < ICMPLen {
		return ErrTruncated
	}
	p.ICMPType, p.ICMPCode = b[0], b[1]
	p.L4Off = off
	p.PayloadOff = off + ICMPLen
	p.Flags |= FlagL4
	f := p.Key.Family
	switch {
	case icmpIsEcho(f, b[0]):
		id := be16(b[4:])
		p.Key.SrcPort, p.Key.DstPort = id, id
	case icmpIsError(f, b[0]):
		p.Flags |= FlagICMPError
		return parseInner(frame, p, off+ICMPLen, end)
	}
	return nil
}

// parseInner decodes the packet quoted by an ICMP error, in frame[off:end], into p.Inner. The
// quote is cut short by design: only its IP header and the first 8 bytes of its L4 header
// (RFC 792) are required, and its length fields describe the original, not the quote, so
// they are not checked against what is here. Its key is the quoted packet's own, as sent.
func parseInner(frame []byte, p *Packet, off, end int) error {
	in := &p.Inner
	k := &in.Key
	b := frame[off:end]
	in.L3Off = off
	l4 := 0
	if p.Key.Family == FamilyIPv4 {
		if len(b) < IPv4MinLen {
			return ErrTruncated
		}
		ip := IPv4(b)
		hl := ip.HeaderLength()
		if ip.Version() != 4 || hl < IPv4MinLen {
			return ErrBadHeader
		}
		if hl > len(b) {
			return ErrTruncated
		}
		k.Family = FamilyIPv4
		k.Proto = ip.Protocol()
		copy(k.Src[:4], b[12:16])
		copy(k.Dst[:4], b[16:20])
		if ip.FragmentOffset() != 0 {
			return nil
		}
		l4 = off + hl
	} else {
		if len(b) < IPv6Len {
			return ErrTruncated
		}
		if IPv6(b).Version() != 6 {
			return ErrBadHeader
		}
		k.Family = FamilyIPv6
		k.Src = [16]byte(b[8:24])
		k.Dst = [16]byte(b[24:40])
		var err error
		l4, k.Proto, _, err = walkIPv6(frame, off+IPv6Len, end, IPv6(b).NextHeader())
		if err != nil || l4 == 0 {
			return err
		}
	}
	switch k.Proto {
	case ProtoTCP, ProtoUDP, ProtoSCTP:
		if end-l4 < 8 {
			return ErrTruncated
		}
		k.SrcPort, k.DstPort = be16(frame[l4:]), be16(frame[l4+2:])
	case ProtoICMP, ProtoICMPv6:
		if (k.Proto == ProtoICMP) != (k.Family == FamilyIPv4) {
			return nil
		}
		if end-l4 < ICMPLen {
			return ErrTruncated
		}
		if icmpIsEcho(k.Family, frame[l4]) {
			id := be16(frame[l4+4:])
			k.SrcPort, k.DstPort = id, id
		}
	default:
		return nil
	}
	in.L4Off = l4
	return nil
}

// parseTunnel records an IPIP or IPv6-in-IP encapsulation after checking that an inner IP
// header of the announced version is there.
func parseTunnel(frame []byte, p *Packet, off, end int) error {
	fam, err := innerIPFamily(frame[off:end], p.Key.Proto == ProtoIPv6)
	if err != nil {
		return err
	}
	p.Flags |= FlagTunnel
	p.Tunnel = Tunnel{Proto: p.Key.Proto, InnerOff: off, Family: fam}
	return nil
}

// innerIPFamily checks that b starts with a whole fixed IP header of version 6 (v6) or 4.
func innerIPFamily(b []byte, v6 bool) (Family, error) {
	want, n, fam := uint8(4), IPv4MinLen, FamilyIPv4
	if v6 {
		want, n, fam = 6, IPv6Len, FamilyIPv6
	}
	if len(b) < n {
		return FamilyNone, ErrTruncated
	}
	if b[0]>>4 != want {
		return FamilyNone, ErrBadHeader
	}
	return fam, nil
}
