package packet

import "testing"

func benchParse(b *testing.B, f []byte) {
	var p Packet
	b.ReportAllocs()
	for b.Loop() {
		if err := Parse(f, &p); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseTCP4(b *testing.B) {
	benchParse(b, eth(v4{src: cli4, dst: vip4, proto: ProtoTCP}.pkt(tcpSeg(40000, 80, TCPAck, nil, seq(1400)))))
}

func BenchmarkParseTCP6(b *testing.B) {
	benchParse(b, eth(v6{src: cli6, dst: vip6, proto: ProtoTCP}.pkt(tcpSeg(40000, 80, TCPAck, nil, seq(1400)))))
}

func BenchmarkParseTCP6ExtHdrs(b *testing.B) { benchParse(b, tcp6ExtFrame()) }

func BenchmarkParseICMPError4(b *testing.B) {
	benchParse(b, icmp4ErrFrame(3, 4, 1400, udpToRS4()[:28]))
}

// BenchmarkRewriteNAT4 is the DNAT of one packet: destination address and port, with the IPv4
// header and TCP checksums updated.
func BenchmarkRewriteNAT4(b *testing.B) {
	f := eth(v4{src: cli4, dst: vip4, proto: ProtoTCP}.pkt(tcpSeg(40000, 80, TCPAck, nil, seq(1400))))
	var p Packet
	if err := Parse(f, &p); err != nil {
		b.Fatal(err)
	}
	addrs, ports := [2][4]byte{rs4, vip4}, [2]uint16{8080, 80}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		_ = RewriteDst4(f, &p, addrs[i&1], ports[i&1])
		i++
	}
}

func BenchmarkRewriteNAT6(b *testing.B) {
	f := eth(v6{src: cli6, dst: vip6, proto: ProtoTCP}.pkt(tcpSeg(40000, 80, TCPAck, nil, seq(1400))))
	var p Packet
	if err := Parse(f, &p); err != nil {
		b.Fatal(err)
	}
	addrs, ports := [2][16]byte{rs6, vip6}, [2]uint16{8080, 80}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		_ = RewriteDst6(f, &p, addrs[i&1], ports[i&1])
		i++
	}
}

// BenchmarkForwardNAT4 is the packet part of a NAT forward: parse, DNAT, TTL.
func BenchmarkForwardNAT4(b *testing.B) {
	f := eth(v4{src: cli4, dst: vip4, proto: ProtoTCP, ttl: 255}.pkt(tcpSeg(40000, 80, TCPAck, nil, seq(1400))))
	var p Packet
	b.ReportAllocs()
	for b.Loop() {
		_ = Parse(f, &p)
		_ = RewriteDst4(f, &p, rs4, 8080)
		if !DecrementTTL(f, &p) {
			f[14+8] = 255 // keep going; the checksum no longer matters here
		}
	}
}

func BenchmarkRewriteInner4(b *testing.B) {
	f := icmp4ErrFrame(3, 4, 1400, udpToRS4()[:28])
	var p Packet
	if err := Parse(f, &p); err != nil {
		b.Fatal(err)
	}
	addrs, ports := [2][4]byte{vip4, rs4}, [2]uint16{5353, 53}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		_ = RewriteInnerDst4(f, &p, addrs[i&1], ports[i&1])
		i++
	}
}

// The hash benchmarks walk a table of inputs, as a connection table sees different keys.

func BenchmarkFlowKeyHash(b *testing.B) {
	keys := make([]FlowKey, 1024)
	for i := range keys {
		s := cli6
		s[14], s[15] = byte(i>>8), byte(i)
		keys[i] = key6(s, vip6, ProtoTCP, uint16(40000+i), 443)
	}
	var sink uint64
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		sink += keys[i&1023].Hash(testSeed)
		i++
	}
	_ = sink
}

func BenchmarkHashAddr(b *testing.B) {
	addrs := make([][16]byte, 1024)
	for i := range addrs {
		addrs[i] = cli6
		addrs[i][14], addrs[i][15] = byte(i>>8), byte(i)
	}
	var sink uint64
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		sink += HashAddr(testSeed, &addrs[i&1023])
		i++
	}
	_ = sink
}

func BenchmarkChecksum1500(b *testing.B) {
	d := seq(1500)
	b.ReportAllocs()
	b.SetBytes(int64(len(d)))
	var sink uint16
	for b.Loop() {
		sink += Checksum(d, 0)
	}
	_ = sink
}

func BenchmarkBuildICMPv4FragNeeded(b *testing.B) {
	orig := v4{src: cli4, dst: vip4, proto: ProtoTCP}.pkt(tcpSeg(40000, 80, TCPAck, nil, seq(1400)))
	buf := make([]byte, 1500)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := BuildICMPv4FragNeeded(buf, vip4, 1400, orig); err != nil {
			b.Fatal(err)
		}
	}
}
