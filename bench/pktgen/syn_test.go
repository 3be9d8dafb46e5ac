package main

import (
	"encoding/binary"
	"math/rand/v2"
	"net"
	"net/netip"
	"testing"
)

func synSpec(size int) frameSpec {
	return frameSpec{dmac: net.HardwareAddr{2, 0, 0, 0, 0, 1}, smac: net.HardwareAddr{2, 0, 0, 0, 0, 2}, size: size, ttl: 64}
}

// checkSYN verifies one finished SYN frame from scratch: both checksums sum to 0xffff over
// the finished headers, and every field is what a SYN to dst:dport from inside pfx must be.
func checkSYN(t *testing.T, b []byte, size int, pfx netip.Prefix, dst netip.Addr, dport uint16) (src netip.Addr, sport uint16, seq uint32) {
	t.Helper()
	if len(b) != size {
		t.Fatalf("frame of %d bytes, want %d", len(b), size)
	}
	if binary.BigEndian.Uint16(b[12:14]) != 0x0800 || b[0] != 2 || b[5] != 1 || b[11] != 2 {
		t.Fatalf("Ethernet header % x", b[:14])
	}
	ip := b[ethLen : ethLen+ipv4Len]
	if got := fold(sum(ip, 0)); got != 0xffff {
		t.Errorf("IPv4 header sums to %#x", got)
	}
	if ip[0] != 0x45 || ip[9] != protoTCP || ip[8] != 64 || binary.BigEndian.Uint16(ip[6:8]) != 0x4000 ||
		binary.BigEndian.Uint16(ip[2:4]) != ipv4Len+tcpSynLen {
		t.Errorf("IPv4 header % x", ip)
	}
	src = netip.AddrFrom4([4]byte(ip[12:16]))
	if !pfx.Contains(src) {
		t.Errorf("source %v outside %v", src, pfx)
	}
	if netip.AddrFrom4([4]byte(ip[16:20])) != dst {
		t.Errorf("destination %v", netip.AddrFrom4([4]byte(ip[16:20])))
	}
	tc := b[ethLen+ipv4Len : ethLen+ipv4Len+tcpSynLen]
	ph := sum(ip[12:20], 0) + protoTCP + tcpSynLen
	if got := fold(sum(tc, ph)); got != 0xffff {
		t.Errorf("TCP segment sums to %#x", got)
	}
	sport = binary.BigEndian.Uint16(tc[0:2])
	if sport < 1024 {
		t.Errorf("source port %d", sport)
	}
	if binary.BigEndian.Uint16(tc[2:4]) != dport {
		t.Errorf("destination port %d", binary.BigEndian.Uint16(tc[2:4]))
	}
	if ack := binary.BigEndian.Uint32(tc[8:12]); ack != 0 {
		t.Errorf("ack %d in a SYN", ack)
	}
	if tc[12]>>4 != 6 || tc[13] != tcpFlagSYN || binary.BigEndian.Uint16(tc[14:16]) != synWindow {
		t.Errorf("TCP header % x", tc)
	}
	if tc[20] != 2 || tc[21] != 4 || binary.BigEndian.Uint16(tc[22:24]) != synMSS {
		t.Errorf("MSS option % x", tc[20:24])
	}
	for i, x := range b[minSYN:] {
		if x != 0 {
			t.Errorf("padding byte %d is %#x", minSYN+i, x)
		}
	}
	return src, sport, binary.BigEndian.Uint32(tc[4:8])
}

func TestSYNFrames(t *testing.T) {
	dst := netip.MustParseAddr("10.0.1.100")
	for _, tc := range []struct {
		pfx  string
		size int
	}{{"198.18.0.0/15", 60}, {"198.18.0.0/15", minSYN}, {"203.0.113.7/32", 60}, {"0.0.0.0/0", 1514}, {"10.9.0.0/24", 64}} {
		pfx := netip.MustParsePrefix(tc.pfx)
		tp, err := newSYNTemplate(synSpec(tc.size), pfx, dst, 80)
		if err != nil {
			t.Fatal(err)
		}
		b := tp.frame()
		r := rand.NewPCG(42, 0)
		srcs, ports, seqs := map[netip.Addr]bool{}, map[uint16]bool{}, map[uint32]bool{}
		for i := 0; i < 2000; i++ {
			// the same buffer written over and over, as the send loop does
			tp.fill(b, r)
			src, sport, seq := checkSYN(t, b, tc.size, pfx, dst, 80)
			srcs[src], ports[sport], seqs[seq] = true, true, true
		}
		if want := min(1900, 1<<(32-pfx.Bits())); len(srcs) < want || len(ports) < 1900 || len(seqs) < 1990 {
			t.Errorf("%s: 2000 frames have %d sources, %d ports, %d sequence numbers", tc.pfx, len(srcs), len(ports), len(seqs))
		}
	}
}

// The edges of the fields the checksums fold: all-ones and all-zero words.
func TestSYNWriteEdges(t *testing.T) {
	pfx := netip.MustParsePrefix("198.18.0.0/15")
	dst := netip.MustParseAddr("10.0.1.100")
	tp, err := newSYNTemplate(synSpec(60), pfx, dst, 5201)
	if err != nil {
		t.Fatal(err)
	}
	b := tp.frame()
	for _, v := range []struct {
		host  uint32
		sport uint16
		seq   uint32
		id    uint16
	}{{0, 1024, 0, 0}, {^uint32(0), 65535, ^uint32(0), 65535}, {0x1ffff, 0xffff, 0xffff0000, 1}, {1, 40000, 0x0000ffff, 0x8000}} {
		tp.write(b, v.host, v.sport, v.seq, v.id)
		src, sport, seq := checkSYN(t, b, 60, pfx, dst, 5201)
		wantSrc := netip.AddrFrom4([4]byte{198, 18 | byte(v.host>>16&1), byte(v.host >> 8), byte(v.host)})
		if src != wantSrc || sport != v.sport || seq != v.seq || binary.BigEndian.Uint16(b[ethLen+4:ethLen+6]) != v.id {
			t.Errorf("%+v: wrote src %v port %d seq %#x", v, src, sport, seq)
		}
	}
}

func TestSYNTemplateRefuses(t *testing.T) {
	dst := netip.MustParseAddr("10.0.1.100")
	pfx := netip.MustParsePrefix("198.18.0.0/15")
	if _, err := newSYNTemplate(synSpec(minSYN-1), pfx, dst, 80); err == nil {
		t.Error("a 57-byte SYN frame was built")
	}
	if _, err := newSYNTemplate(synSpec(60), netip.MustParsePrefix("2001:db8::/64"), dst, 80); err == nil {
		t.Error("an IPv6 source prefix was taken")
	}
}

func TestSYNFillAllocatesNothing(t *testing.T) {
	tp, err := newSYNTemplate(synSpec(60), netip.MustParsePrefix("198.18.0.0/15"), netip.MustParseAddr("10.0.1.100"), 80)
	if err != nil {
		t.Fatal(err)
	}
	b, r := tp.frame(), rand.NewPCG(1, 0)
	if n := testing.AllocsPerRun(1000, func() { tp.fill(b, r) }); n != 0 {
		t.Errorf("fill allocates %.0f times per frame", n)
	}
}

func BenchmarkSYNFill(b *testing.B) {
	tp, _ := newSYNTemplate(synSpec(60), netip.MustParsePrefix("198.18.0.0/15"), netip.MustParseAddr("10.0.1.100"), 80)
	f, r := tp.frame(), rand.NewPCG(1, 0)
	for b.Loop() {
		tp.fill(f, r)
	}
}
