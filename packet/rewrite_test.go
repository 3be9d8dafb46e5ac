package packet

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"
)

// sameBytes fails unless got == want, naming the first differing offset.
func sameBytes(t *testing.T, what string, got, want []byte) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: length %d, want %d", what, len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("%s: byte %d is %#02x, want %#02x\n got % x\nwant % x", what, i, got[i], want[i], got, want)
		}
	}
}

// reparsed parses f again and checks p still describes it and its checksums verify.
func reparsed(t *testing.T, what string, f []byte, p *Packet) {
	t.Helper()
	var q Packet
	if err := Parse(f, &q); err != nil {
		t.Fatalf("%s: reparse: %v", what, err)
	}
	if q != *p {
		t.Fatalf("%s: p no longer describes the frame\n  p %+v\nnow %+v", what, *p, q)
	}
	if !ChecksumsValid(f, &q) {
		t.Fatalf("%s: checksums do not verify", what)
	}
}

type portMode int

const (
	portsNormal portMode = iota // TCP, UDP, SCTP: source and destination ports
	portsEcho                   // ICMP echo: one identifier, the last port written
	portsNone                   // no ports: the port argument is ignored
)

type rwKind4 struct {
	name  string
	mode  portMode
	build func(src, dst [4]byte, sport, dport uint16) []byte
}

func rwKinds4() []rwKind4 {
	q := udpToRS4()[:28]
	return []rwKind4{
		{"tcp", portsNormal, func(s, d [4]byte, sp, dp uint16) []byte {
			return eth(v4{src: s, dst: d, proto: ProtoTCP}.pkt(tcpSeg(sp, dp, TCPAck, seq(12), seq(33))))
		}},
		{"tcp vlan ip options", portsNormal, func(s, d [4]byte, sp, dp uint16) []byte {
			return ethVLAN(9, EtherTypeIPv4, v4{src: s, dst: d, proto: ProtoTCP, opts: []byte{1, 1, 1, 0}}.pkt(tcpSeg(sp, dp, TCPSyn, nil, nil)))
		}},
		{"udp padded", portsNormal, func(s, d [4]byte, sp, dp uint16) []byte {
			return pad(eth(v4{src: s, dst: d, proto: ProtoUDP}.pkt(udpSeg(sp, dp, seq(5)))), 13)
		}},
		{"sctp", portsNormal, func(s, d [4]byte, sp, dp uint16) []byte {
			return eth(v4{src: s, dst: d, proto: ProtoSCTP}.pkt(sctpSeg(sp, dp, seq(20))))
		}},
		{"icmp echo", portsEcho, func(s, d [4]byte, sp, dp uint16) []byte {
			return eth(v4{src: s, dst: d, proto: ProtoICMP}.pkt(icmpMsg(ICMPv4EchoRequest, 0, uint32(dp)<<16|9, seq(11))))
		}},
		{"icmp error", portsNone, func(s, d [4]byte, sp, dp uint16) []byte {
			return eth(v4{src: s, dst: d, proto: ProtoICMP}.pkt(icmpMsg(3, 3, 0, append([]byte{}, q...))))
		}},
		{"ipip", portsNone, func(s, d [4]byte, sp, dp uint16) []byte {
			return eth(v4{src: s, dst: d, proto: ProtoIPIP}.pkt(udpToRS4()))
		}},
		{"gre", portsNone, func(s, d [4]byte, sp, dp uint16) []byte {
			return eth(v4{src: s, dst: d, proto: 47}.pkt(seq(16)))
		}},
	}
}

type rwKind6 struct {
	name  string
	mode  portMode
	build func(src, dst [16]byte, sport, dport uint16) []byte
}

func rwKinds6() []rwKind6 {
	q := v6{src: cli6, dst: rs6, proto: ProtoUDP}.pkt(udpSeg(5000, 53, seq(20)))
	return []rwKind6{
		{"tcp ext headers", portsNormal, func(s, d [16]byte, sp, dp uint16) []byte {
			return eth(v6{src: s, dst: d, proto: ProtoTCP, ext: []ext{hbh(), dstOpts(2), routing()}}.pkt(tcpSeg(sp, dp, TCPAck, nil, seq(21))))
		}},
		{"udp", portsNormal, func(s, d [16]byte, sp, dp uint16) []byte {
			return eth(v6{src: s, dst: d, proto: ProtoUDP}.pkt(udpSeg(sp, dp, seq(31))))
		}},
		{"sctp", portsNormal, func(s, d [16]byte, sp, dp uint16) []byte {
			return eth(v6{src: s, dst: d, proto: ProtoSCTP}.pkt(sctpSeg(sp, dp, seq(20))))
		}},
		{"icmpv6 echo", portsEcho, func(s, d [16]byte, sp, dp uint16) []byte {
			return eth(v6{src: s, dst: d, proto: ProtoICMPv6}.pkt(icmpMsg(ICMPv6EchoReply, 0, uint32(dp)<<16|9, seq(11))))
		}},
		{"icmpv6 error", portsNone, func(s, d [16]byte, sp, dp uint16) []byte {
			return eth(v6{src: s, dst: d, proto: ProtoICMPv6}.pkt(icmpMsg(ICMPv6PacketTooBig, 0, 1400, append([]byte{}, q...))))
		}},
		{"icmpv6 neighbor advertisement", portsNone, func(s, d [16]byte, sp, dp uint16) []byte {
			return eth(v6{src: s, dst: d, proto: ProtoICMPv6, hop: 255}.pkt(icmpMsg(136, 0, 0x60000000, vip6[:])))
		}},
		{"4in6", portsNone, func(s, d [16]byte, sp, dp uint16) []byte {
			return eth(v6{src: s, dst: d, proto: ProtoIPIP}.pkt(udpToRS4()))
		}},
	}
}

// expectPorts returns the ports the from-scratch frame must be built with after a rewrite.
func expectPorts(m portMode, sport, dport, last uint16) (uint16, uint16) {
	switch m {
	case portsEcho:
		return last, last
	case portsNone:
		return 1111, 2222
	}
	return sport, dport
}

// TestRewrite4 rewrites destination then source of each kind of IPv4 packet and requires the
// exact bytes of the same packet built from scratch with the new values.
func TestRewrite4(t *testing.T) {
	for _, k := range rwKinds4() {
		t.Run(k.name, func(t *testing.T) {
			f := k.build(cli4, vip4, 1111, 2222)
			var p Packet
			if err := Parse(f, &p); err != nil {
				t.Fatal(err)
			}
			if err := RewriteDst4(f, &p, rs4, 8080); err != nil {
				t.Fatal(err)
			}
			sp, dp := expectPorts(k.mode, 1111, 8080, 8080)
			sameBytes(t, "after RewriteDst4", f, k.build(cli4, rs4, sp, dp))
			reparsed(t, "after RewriteDst4", f, &p)

			if err := RewriteSrc4(f, &p, vip4, 40001); err != nil {
				t.Fatal(err)
			}
			sp, dp = expectPorts(k.mode, 40001, 8080, 40001)
			sameBytes(t, "after RewriteSrc4", f, k.build(vip4, rs4, sp, dp))
			reparsed(t, "after RewriteSrc4", f, &p)

			// Same address and port: nothing changes.
			before := append([]byte{}, f...)
			if err := RewriteSrc4(f, &p, vip4, p.Key.SrcPort); err != nil {
				t.Fatal(err)
			}
			if k.mode != portsEcho {
				sameBytes(t, "no-op rewrite", f, before)
			}
		})
	}
}

func TestRewrite6(t *testing.T) {
	for _, k := range rwKinds6() {
		t.Run(k.name, func(t *testing.T) {
			f := k.build(cli6, vip6, 1111, 2222)
			var p Packet
			if err := Parse(f, &p); err != nil {
				t.Fatal(err)
			}
			if err := RewriteDst6(f, &p, rs6, 8080); err != nil {
				t.Fatal(err)
			}
			sp, dp := expectPorts(k.mode, 1111, 8080, 8080)
			sameBytes(t, "after RewriteDst6", f, k.build(cli6, rs6, sp, dp))
			reparsed(t, "after RewriteDst6", f, &p)

			if err := RewriteSrc6(f, &p, vip6, 40001); err != nil {
				t.Fatal(err)
			}
			sp, dp = expectPorts(k.mode, 40001, 8080, 40001)
			sameBytes(t, "after RewriteSrc6", f, k.build(vip6, rs6, sp, dp))
			reparsed(t, "after RewriteSrc6", f, &p)
		})
	}
}

// TestRewriteRandom compares rewrites of random TCP/UDP packets with fresh builds.
func TestRewriteRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for i := 0; i < 3000; i++ {
		proto := []uint8{ProtoTCP, ProtoUDP}[i%2]
		payload := make([]byte, r.IntN(200))
		fill(r, payload)
		seg := func(sp, dp uint16) []byte {
			if proto == ProtoTCP {
				return tcpSeg(sp, dp, TCPAck, nil, append([]byte{}, payload...))
			}
			return udpSeg(sp, dp, append([]byte{}, payload...))
		}
		sp, dp, np := uint16(r.Uint32()), uint16(r.Uint32()), uint16(r.Uint32())
		var p Packet
		if i%4 < 2 {
			var s, d, n [4]byte
			fill(r, s[:], d[:], n[:])
			f := eth(v4{src: s, dst: d, proto: proto}.pkt(seg(sp, dp)))
			if err := Parse(f, &p); err != nil {
				t.Fatal(err)
			}
			if i%8 < 4 {
				_ = RewriteDst4(f, &p, n, np)
				sameBytes(t, "v4 dst", f, eth(v4{src: s, dst: n, proto: proto}.pkt(seg(sp, np))))
			} else {
				_ = RewriteSrc4(f, &p, n, np)
				sameBytes(t, "v4 src", f, eth(v4{src: n, dst: d, proto: proto}.pkt(seg(np, dp))))
			}
		} else {
			var s, d, n [16]byte
			fill(r, s[:], d[:], n[:])
			f := eth(v6{src: s, dst: d, proto: proto}.pkt(seg(sp, dp)))
			if err := Parse(f, &p); err != nil {
				t.Fatal(err)
			}
			if i%8 < 4 {
				_ = RewriteDst6(f, &p, n, np)
				sameBytes(t, "v6 dst", f, eth(v6{src: s, dst: n, proto: proto}.pkt(seg(sp, np))))
			} else {
				_ = RewriteSrc6(f, &p, n, np)
				sameBytes(t, "v6 src", f, eth(v6{src: n, dst: d, proto: proto}.pkt(seg(np, dp))))
			}
		}
	}
}

func udpCk(f []byte, p *Packet) uint16 { return binary.BigEndian.Uint16(f[p.L4Off+6:]) }

// TestRewriteUDPZero covers both meanings of zero: a field of 0 (no checksum) stays 0, and a
// result of 0 is sent as 0xFFFF.
func TestRewriteUDPZero(t *testing.T) {
	var p Packet
	for _, v6f := range []bool{false, true} {
		f := eth(v4{src: cli4, dst: vip4, proto: ProtoUDP}.pkt(udpSeg(1, 2, seq(9))))
		if v6f {
			f = eth(v6{src: cli6, dst: vip6, proto: ProtoUDP}.pkt(udpSeg(1, 2, seq(9))))
		}
		if err := Parse(f, &p); err != nil {
			t.Fatal(err)
		}
		binary.BigEndian.PutUint16(f[p.L4Off+6:], 0)
		if v6f {
			_ = RewriteDst6(f, &p, rs6, 3)
		} else {
			_ = RewriteDst4(f, &p, rs4, 3)
		}
		if ck := udpCk(f, &p); ck != 0 {
			t.Errorf("v6=%v: absent checksum became %#04x", v6f, ck)
		}
		if !v6f {
			reparsed(t, "v4 no checksum", f, &p)
		}
	}

	// Find a payload word w for which the datagram to the new address sums to a checksum of 0.
	for _, v6f := range []bool{false, true} {
		build := func(dst int, w uint16) []byte {
			seg := udpSeg(1, 2, []byte{byte(w >> 8), byte(w)})
			if v6f {
				return eth(v6{src: cli6, dst: [][16]byte{vip6, rs6}[dst], proto: ProtoUDP}.pkt(seg))
			}
			return eth(v4{src: cli4, dst: [][4]byte{vip4, rs4}[dst], proto: ProtoUDP}.pkt(seg))
		}
		found := false
		for w := 0; w <= 0xFFFF && !found; w++ {
			want := build(1, uint16(w))
			l4 := 14 + 20
			if v6f {
				l4 = 14 + 40
			}
			// The builder maps 0 to 0xFFFF; recompute with the field 0 to see the raw value.
			seg := append([]byte{}, want[l4:]...)
			seg[6], seg[7] = 0, 0
			var ps []byte
			if v6f {
				ps = pseudo6(cli6, rs6, ProtoUDP, len(seg))
			} else {
				ps = pseudo4(cli4, rs4, ProtoUDP, len(seg))
			}
			if ^refSum(ps, seg) != 0 {
				continue
			}
			found = true
			f := build(0, uint16(w))
			if err := Parse(f, &p); err != nil {
				t.Fatal(err)
			}
			if v6f {
				_ = RewriteDst6(f, &p, rs6, 2)
			} else {
				_ = RewriteDst4(f, &p, rs4, 2)
			}
			if ck := udpCk(f, &p); ck != 0xFFFF {
				t.Errorf("v6=%v: computed zero sent as %#04x, want 0xffff", v6f, ck)
			}
			sameBytes(t, "computed zero", f, want)
			reparsed(t, "computed zero", f, &p)
			// And back: a field of 0xFFFF is an ordinary checksum to update.
			if v6f {
				_ = RewriteDst6(f, &p, vip6, 2)
			} else {
				_ = RewriteDst4(f, &p, vip4, 2)
			}
			sameBytes(t, "from 0xffff", f, build(0, uint16(w)))
		}
		if !found {
			t.Fatalf("v6=%v: no payload gives a zero checksum", v6f)
		}
	}
}

// TestRewriteFragments rewrites both fragments of a TCP datagram and checks the reassembled
// segment's checksum, which only the first fragment carries.
func TestRewriteFragments(t *testing.T) {
	seg := tcpSeg(40000, 80, TCPAck, nil, seq(64))
	fillL4(ProtoTCP, seg, pseudo4(cli4, vip4, ProtoTCP, len(seg)))
	f1 := eth(v4{src: cli4, dst: vip4, proto: ProtoTCP, frag: 0x2000, noCk: true}.pkt(append([]byte{}, seg[:40]...)))
	f2 := eth(v4{src: cli4, dst: vip4, proto: ProtoTCP, frag: 5, noCk: true}.pkt(append([]byte{}, seg[40:]...)))
	var p1, p2 Packet
	if Parse(f1, &p1) != nil || Parse(f2, &p2) != nil {
		t.Fatal("parse")
	}
	_ = RewriteDst4(f1, &p1, rs4, 8080)
	_ = RewriteDst4(f2, &p2, rs4, 8080)
	if p2.Key.DstPort != 0 || p1.Key.DstPort != 8080 {
		t.Errorf("ports: first %d, other %d", p1.Key.DstPort, p2.Key.DstPort)
	}
	reparsed(t, "first fragment", f1, &p1)
	reparsed(t, "second fragment", f2, &p2)
	whole := append(append([]byte{}, f1[34:]...), f2[34:]...)
	if !refValidL4(ProtoTCP, whole, pseudo4(cli4, rs4, ProtoTCP, len(whole))) {
		t.Error("reassembled segment does not verify")
	}
}

func TestDecrementTTL(t *testing.T) {
	var p Packet
	f := eth(v4{src: cli4, dst: vip4, proto: ProtoUDP, ttl: 2}.pkt(udpSeg(1, 2, nil)))
	_ = Parse(f, &p)
	if !DecrementTTL(f, &p) || p.TTL != 1 {
		t.Fatal("v4 2 -> 1")
	}
	sameBytes(t, "v4 ttl", f, eth(v4{src: cli4, dst: vip4, proto: ProtoUDP, ttl: 1}.pkt(udpSeg(1, 2, nil))))
	if DecrementTTL(f, &p) || p.TTL != 1 || f[14+8] != 1 {
		t.Error("v4 TTL 1 was decremented")
	}
	f6 := eth(v6{src: cli6, dst: vip6, proto: ProtoUDP, hop: 255}.pkt(udpSeg(1, 2, nil)))
	_ = Parse(f6, &p)
	if !DecrementTTL(f6, &p) || p.TTL != 254 || f6[14+7] != 254 {
		t.Error("v6 255 -> 254")
	}
	reparsed(t, "v6 hop limit", f6, &p)
	f6[14+7] = 0
	_ = Parse(f6, &p)
	if DecrementTTL(f6, &p) {
		t.Error("v6 hop limit 0 was decremented")
	}
	_ = Parse(ethT(EtherTypeARP, arpPkt(1)), &p)
	if DecrementTTL(nil, &p) {
		t.Error("ARP has no TTL")
	}
}

func TestRewriteErrors(t *testing.T) {
	f := tcp4Frame()
	var p Packet
	_ = Parse(f, &p)
	if RewriteDst6(f, &p, rs6, 1) != ErrFamily || RewriteSrc6(f, &p, rs6, 1) != ErrFamily {
		t.Error("v6 rewrite of v4 packet")
	}
	if RewriteInnerDst4(f, &p, rs4, 1) != ErrNoInner || RewriteInnerSrc4(f, &p, rs4, 1) != ErrNoInner {
		t.Error("inner rewrite of a non-error")
	}
	f6 := tcp6ExtFrame()
	_ = Parse(f6, &p)
	if RewriteDst4(f6, &p, rs4, 1) != ErrFamily || RewriteSrc4(f6, &p, rs4, 1) != ErrFamily {
		t.Error("v4 rewrite of v6 packet")
	}
	e := icmp4ErrFrame(3, 3, 0, udpToRS4()[:28])
	_ = Parse(e, &p)
	if RewriteInnerDst6(e, &p, rs6, 1) != ErrFamily || RewriteInnerSrc6(e, &p, rs6, 1) != ErrFamily {
		t.Error("v6 inner rewrite of ICMPv4 error")
	}
	if string(e) != string(icmp4ErrFrame(3, 3, 0, udpToRS4()[:28])) {
		t.Error("failed rewrites changed the frame")
	}
}

func TestRewriteAllocs(t *testing.T) {
	f4, f6, fe := tcp4Frame(), tcp6ExtFrame(), icmp4ErrFrame(3, 3, 0, udpToRS4()[:28])
	var p4, p6, pe Packet
	_, _, _ = Parse(f4, &p4), Parse(f6, &p6), Parse(fe, &pe)
	n := testing.AllocsPerRun(100, func() {
		_ = RewriteDst4(f4, &p4, rs4, 8080)
		_ = RewriteSrc4(f4, &p4, vip4, 80)
		_ = RewriteDst6(f6, &p6, rs6, 8080)
		_ = RewriteSrc6(f6, &p6, vip6, 443)
		_ = RewriteInnerDst4(fe, &pe, vip4, 53)
		_ = RewriteSrc4(fe, &pe, vip4, 0)
		DecrementTTL(f4, &p4)
	})
	if n != 0 {
		t.Errorf("%v allocations per rewrite round", n)
	}
	fs := eth(v4{src: cli4, dst: vip4, proto: ProtoSCTP}.pkt(sctpSeg(1, 2, seq(100))))
	var ps Packet
	_ = Parse(fs, &ps)
	port := uint16(0)
	if n := testing.AllocsPerRun(100, func() { port++; _ = RewriteDst4(fs, &ps, rs4, port) }); n != 0 {
		t.Errorf("%v allocations per SCTP rewrite", n)
	}
}
