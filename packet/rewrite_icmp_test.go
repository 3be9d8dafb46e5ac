package packet

import "testing"

type quoteKind4 struct {
	name string
	mode portMode
	cut  int // bytes of the quoted packet to keep; 0 keeps it whole
	// exact is false when the rewrite cannot give the bytes of a fresh build: a cut inside
	// a checksum it therefore leaves alone, or a quoted SCTP CRC over data not quoted.
	inexact bool
	build   func(src, dst [4]byte, sport, dport uint16) []byte
}

func quoteKinds4() []quoteKind4 {
	udp := func(s, d [4]byte, sp, dp uint16) []byte {
		return v4{src: s, dst: d, proto: ProtoUDP}.pkt(udpSeg(sp, dp, seq(20)))
	}
	tcp := func(s, d [4]byte, sp, dp uint16) []byte {
		return v4{src: s, dst: d, proto: ProtoTCP}.pkt(tcpSeg(sp, dp, TCPSyn|TCPAck, nil, seq(10)))
	}
	sctp := func(s, d [4]byte, sp, dp uint16) []byte {
		return v4{src: s, dst: d, proto: ProtoSCTP}.pkt(sctpSeg(sp, dp, seq(20)))
	}
	return []quoteKind4{
		{name: "udp whole", build: udp},
		{name: "udp 8 bytes", cut: 28, build: udp},
		{name: "udp without checksum", build: func(s, d [4]byte, sp, dp uint16) []byte {
			b := udp(s, d, sp, dp)
			b[26], b[27] = 0, 0
			return b
		}},
		{name: "tcp whole", build: tcp},
		{name: "tcp 8 bytes", cut: 28, build: tcp},
		{name: "tcp 18 bytes (checksum quoted)", cut: 38, build: tcp},
		{name: "tcp 17 bytes (checksum cut)", cut: 37, inexact: true, build: tcp},
		{name: "tcp ip options", build: func(s, d [4]byte, sp, dp uint16) []byte {
			return v4{src: s, dst: d, proto: ProtoTCP, opts: []byte{1, 1, 1, 0}}.pkt(tcpSeg(sp, dp, TCPSyn, nil, nil))
		}},
		{name: "sctp 8 bytes", cut: 28, build: sctp},
		{name: "sctp whole", inexact: true, build: sctp},
		{name: "echo", mode: portsEcho, build: func(s, d [4]byte, sp, dp uint16) []byte {
			return v4{src: s, dst: d, proto: ProtoICMP}.pkt(icmpMsg(ICMPv4EchoRequest, 0, uint32(dp)<<16|1, seq(8)))
		}},
		{name: "non-first fragment", mode: portsNone, build: func(s, d [4]byte, sp, dp uint16) []byte {
			return v4{src: s, dst: d, proto: ProtoUDP, frag: 0x2000 | 100}.pkt(seq(16))
		}},
	}
}

func errFrame4(src, dst [4]byte, q []byte) []byte {
	return eth(v4{src: src, dst: dst, proto: ProtoICMP}.pkt(icmpMsg(ICMPv4DestUnreachable, ICMPv4PortUnreachable, 0, q)))
}

func cut(b []byte, n int) []byte {
	if n == 0 {
		return b
	}
	return b[:n]
}

// TestRewriteInner4 translates ICMPv4 errors the two ways a NAT must (see rewrite_icmp.go) and
// requires the bytes of the same error built from scratch around the translated packet.
func TestRewriteInner4(t *testing.T) {
	for _, k := range quoteKinds4() {
		t.Run(k.name, func(t *testing.T) {
			// An error about a forwarded packet (client → RIP), on its way to the client.
			f := errFrame4(rtr4, cli4, cut(k.build(cli4, rs4, 5000, 53), k.cut))
			var p Packet
			if err := Parse(f, &p); err != nil {
				t.Fatal(err)
			}
			if err := RewriteInnerDst4(f, &p, vip4, 5353); err != nil {
				t.Fatal(err)
			}
			sp, dp := expectPorts(k.mode, 5000, 5353, 5353)
			check4(t, k, f, &p, errFrame4(rtr4, cli4, cut(k.build(cli4, vip4, sp, dp), k.cut)))

			// An error about a reply (VIP → client), sent by the client's side to the VIP.
			f = errFrame4(rtr4, vip4, cut(k.build(vip4, cli4, 5353, 5000), k.cut))
			if err := Parse(f, &p); err != nil {
				t.Fatal(err)
			}
			if err := RewriteInnerSrc4(f, &p, rs4, 53); err != nil {
				t.Fatal(err)
			}
			if err := RewriteDst4(f, &p, rs4, 0); err != nil {
				t.Fatal(err)
			}
			sp, dp = expectPorts(k.mode, 53, 5000, 53)
			check4(t, k, f, &p, errFrame4(rtr4, rs4, cut(k.build(rs4, cli4, sp, dp), k.cut)))
		})
	}
}

func check4(t *testing.T, k quoteKind4, f []byte, p *Packet, want []byte) {
	t.Helper()
	if !k.inexact {
		sameBytes(t, "translated error", f, want)
	}
	reparsed(t, "translated error", f, p)
	if !IPv4(f[p.Inner.L3Off:]).IsChecksumValid() {
		t.Fatal("quoted IPv4 header checksum")
	}
}

type quoteKind6 struct {
	name  string
	mode  portMode
	cut   int
	build func(src, dst [16]byte, sport, dport uint16) []byte
}

func quoteKinds6() []quoteKind6 {
	udp := func(s, d [16]byte, sp, dp uint16) []byte {
		return v6{src: s, dst: d, proto: ProtoUDP}.pkt(udpSeg(sp, dp, seq(20)))
	}
	tcp := func(s, d [16]byte, sp, dp uint16) []byte {
		return v6{src: s, dst: d, proto: ProtoTCP, ext: []ext{hbh(), dstOpts(1)}}.pkt(tcpSeg(sp, dp, TCPAck, nil, seq(1000)))
	}
	return []quoteKind6{
		{name: "udp whole", build: udp},
		{name: "udp 8 bytes", cut: 48, build: udp},
		{name: "tcp ext headers whole", build: tcp},
		{name: "tcp ext headers 8 bytes", cut: 72, build: tcp},
		{name: "echo", mode: portsEcho, build: func(s, d [16]byte, sp, dp uint16) []byte {
			return v6{src: s, dst: d, proto: ProtoICMPv6}.pkt(icmpMsg(ICMPv6EchoRequest, 0, uint32(dp)<<16|1, seq(8)))
		}},
		{name: "non-first fragment", mode: portsNone, build: func(s, d [16]byte, sp, dp uint16) []byte {
			return v6{src: s, dst: d, proto: ProtoUDP, ext: []ext{frag6(1232, false)}}.pkt(seq(16))
		}},
	}
}

func errFrame6(src, dst [16]byte, q []byte) []byte {
	return eth(v6{src: src, dst: dst, proto: ProtoICMPv6}.pkt(icmpMsg(ICMPv6PacketTooBig, 0, 1280, q)))
}

func TestRewriteInner6(t *testing.T) {
	for _, k := range quoteKinds6() {
		t.Run(k.name, func(t *testing.T) {
			f := errFrame6(rtr6, cli6, cut(k.build(cli6, rs6, 5000, 53), k.cut))
			var p Packet
			if err := Parse(f, &p); err != nil {
				t.Fatal(err)
			}
			if err := RewriteInnerDst6(f, &p, vip6, 5353); err != nil {
				t.Fatal(err)
			}
			sp, dp := expectPorts(k.mode, 5000, 5353, 5353)
			sameBytes(t, "error about a forwarded packet", f, errFrame6(rtr6, cli6, cut(k.build(cli6, vip6, sp, dp), k.cut)))
			reparsed(t, "error about a forwarded packet", f, &p)

			f = errFrame6(rtr6, vip6, cut(k.build(vip6, cli6, 5353, 5000), k.cut))
			if err := Parse(f, &p); err != nil {
				t.Fatal(err)
			}
			if err := RewriteInnerSrc6(f, &p, rs6, 53); err != nil {
				t.Fatal(err)
			}
			if err := RewriteDst6(f, &p, rs6, 0); err != nil {
				t.Fatal(err)
			}
			sp, dp = expectPorts(k.mode, 53, 5000, 53)
			sameBytes(t, "error about a reply", f, errFrame6(rtr6, rs6, cut(k.build(rs6, cli6, sp, dp), k.cut)))
			reparsed(t, "error about a reply", f, &p)
		})
	}
}
