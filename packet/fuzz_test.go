package packet

import "testing"

// seedFrames returns every frame the table tests build, valid and malformed.
func seedFrames() [][]byte {
	var fs [][]byte
	for _, c := range parseCases() {
		fs = append(fs, c.frame)
	}
	for _, k := range rwKinds4() {
		fs = append(fs, k.build(cli4, vip4, 1, 2))
	}
	for _, k := range rwKinds6() {
		fs = append(fs, k.build(cli6, vip6, 1, 2))
	}
	for _, k := range quoteKinds4() {
		fs = append(fs, errFrame4(rtr4, cli4, cut(k.build(cli4, rs4, 5000, 53), k.cut)))
	}
	for _, k := range quoteKinds6() {
		fs = append(fs, errFrame6(rtr6, cli6, cut(k.build(cli6, rs6, 5000, 53), k.cut)))
	}
	in4 := v4{src: cli4, dst: vip4, proto: ProtoTCP}.pkt(tcpSeg(1, 80, TCPSyn, nil, nil))
	fs = append(fs,
		gueFrame4(1, guePort, cat(gueHdr(ProtoIPIP, 1, false), in4)),
		gueFrame4(1, guePort, in4),
		eth(v6{src: vip6, dst: rs6, proto: ProtoUDP}.pkt(udpSeg(1, guePort, cat(gueHdr(ProtoIPIP, 0, false), in4)))))
	return fs
}

// checkInvariants holds for every successful parse: offsets in order and inside the frame.
func checkInvariants(t *testing.T, f []byte, p *Packet) {
	t.Helper()
	if p.Len != len(f) || p.L3Off > len(f) {
		t.Fatalf("Len %d L3Off %d", p.Len, p.L3Off)
	}
	if p.Key.Family == FamilyNone {
		if p.Key != (FlowKey{}) || p.Flags&^FlagVLAN != 0 || p.L3Off+ARPLen > len(f) {
			t.Fatalf("ARP with IP fields: %+v", p)
		}
		return
	}
	min := IPv4MinLen
	if p.Key.Family == FamilyIPv6 {
		min = IPv6Len
	}
	end := p.L3End()
	if p.IPLen < min || end > len(f) {
		t.Fatalf("IPLen %d at %d in %d bytes", p.IPLen, p.L3Off, len(f))
	}
	if p.Has(FlagL4) {
		if p.L4Off < p.L3Off+min || p.PayloadOff <= p.L4Off || p.PayloadOff > end {
			t.Fatalf("L4Off %d PayloadOff %d end %d", p.L4Off, p.PayloadOff, end)
		}
	} else if p.L4Off != 0 || p.PayloadOff != 0 || p.Key.SrcPort != 0 || p.Key.DstPort != 0 {
		t.Fatalf("L4 fields without FlagL4: %+v", p)
	}
	if p.Has(FlagFragment) && !p.Has(FlagFirstFrag) && p.Has(FlagL4) {
		t.Fatal("L4 parsed in a non-first fragment")
	}
	if p.Has(FlagICMPError) {
		in := p.Inner
		if in.L3Off != p.L4Off+ICMPLen || in.Key.Family != p.Key.Family ||
			in.L4Off != 0 && (in.L4Off <= in.L3Off || in.L4Off+8 > end) {
			t.Fatalf("inner %+v, end %d", in, end)
		}
	} else if p.Inner != (Inner{}) {
		t.Fatalf("Inner set without FlagICMPError: %+v", p.Inner)
	}
	if p.Has(FlagTunnel) {
		if p.Tunnel.InnerOff < p.L3Off+min || p.Tunnel.InnerOff+IPv4MinLen > end {
			t.Fatalf("tunnel %+v, end %d", p.Tunnel, end)
		}
	}
}

// FuzzParse feeds arbitrary frames to the parsers: they must not panic, successful parses must
// be self-consistent, and a packet (with its checksums filled in) must, after a destination rewrite
// (and, for ICMP errors, a rewrite of the quoted source), parse back to exactly the packet the
// rewrite described, with checksums that still verify by full recomputation.
func FuzzParse(f *testing.F) {
	for _, s := range seedFrames() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var q Packet
		_ = ParseIP(data, &q)
		var p Packet
		if err := Parse(data, &p); err != nil {
			if p.Len != len(data) {
				t.Fatal("Len not set on error")
			}
			return
		}
		checkInvariants(t, data, &p)
		if p.Key.Family == FamilyNone {
			return
		}

		// The IP packet alone parses the same way.
		if err := ParseIP(data[p.L3Off:p.L3End()], &q); err != nil {
			t.Fatalf("ParseIP of the IP part: %v", err)
		}
		if q.Key != p.Key || q.Flags != p.Flags&^FlagVLAN || q.Inner.Key != p.Inner.Key {
			t.Fatalf("ParseIP differs:\n%+v\n%+v", q, p)
		}

		// GUE, on whatever port this datagram goes to.
		g := p
		if ParseGUE(data, &g, p.Key.DstPort) {
			checkInvariants(t, data, &g)
		} else if g != p {
			t.Fatal("ParseGUE changed p and said no")
		}

		// Random bytes rarely carry valid checksums: fill them in, so the round trip below
		// runs on (nearly) every input rather than only on the seeds.
		fr := append([]byte(nil), data...)
		if !ChecksumsValid(fr, &p) {
			FillChecksums(fr, &p)
			if !ChecksumsValid(fr, &p) {
				t.Fatal("FillChecksums left invalid checksums")
			}
			var again Packet
			if err := Parse(fr, &again); err != nil || again != p {
				t.Fatalf("FillChecksums changed the parse: %v", err)
			}
		}
		want := p
		var err error
		if p.Key.Family == FamilyIPv4 {
			a := [4]byte{203, 0, 113, byte(len(data))}
			err = RewriteDst4(fr, &want, a, 4242)
			if p.Has(FlagICMPError) && err == nil {
				err = RewriteInnerSrc4(fr, &want, [4]byte{198, 18, 0, 1}, 2424)
			}
		} else {
			a := vip6
			a[15] = byte(len(data))
			err = RewriteDst6(fr, &want, a, 4242)
			if p.Has(FlagICMPError) && err == nil {
				err = RewriteInnerSrc6(fr, &want, rs6, 2424)
			}
		}
		if err != nil {
			t.Fatal(err)
		}
		var got Packet
		if err := Parse(fr, &got); err != nil {
			t.Fatalf("rewritten frame does not parse: %v", err)
		}
		if got != want {
			t.Fatalf("rewritten frame reads back differently\n got %+v\nwant %+v", got, want)
		}
		if !ChecksumsValid(fr, &got) {
			t.Fatal("checksums do not verify after rewrite")
		}
	})
}

// FuzzBuildICMP builds ICMP errors about arbitrary packets: no panic, and what is built parses
// as an ICMP error whose checksums verify.
func FuzzBuildICMP(f *testing.F) {
	for _, s := range seedFrames() {
		if len(s) > EthernetLen {
			f.Add(s[EthernetLen:], uint16(1400))
		}
	}
	f.Fuzz(func(t *testing.T, orig []byte, mtu uint16) {
		buf := make([]byte, 1500)
		var n int
		var err error
		if len(orig) > 0 && orig[0]>>4 == 6 {
			n, err = BuildICMPv6PacketTooBig(buf, rtr6, uint32(mtu), orig)
		} else {
			n, err = BuildICMPv4FragNeeded(buf, rtr4, mtu, orig)
		}
		if err != nil {
			return
		}
		b := buf[:n]
		if b[0]>>4 == 4 {
			if !IPv4(b).IsChecksumValid() || int(IPv4(b).TotalLength()) != n || Checksum(b[20:], 0) != 0xFFFF {
				t.Fatalf("built ICMPv4 error does not verify: % x", b)
			}
		} else {
			src, dst := IPv6(b).Src(), IPv6(b).Dst()
			if int(IPv6(b).PayloadLength()) != n-IPv6Len || n > 1280 ||
				Checksum(b[40:], PseudoHeaderChecksum6(ProtoICMPv6, &src, &dst, uint32(n-IPv6Len))) != 0xFFFF {
				t.Fatalf("built ICMPv6 error does not verify: % x", b)
			}
		}
		// The quote may be malformed past its first header, which ParseIP then reports; when
		// it parses, it is an error about the packet quoted.
		var p Packet
		if err := ParseIP(b, &p); err == nil && (!p.Has(FlagICMPError) || !ChecksumsValid(b, &p)) {
			t.Fatalf("built error parses as %+v", p)
		}
	})
}
