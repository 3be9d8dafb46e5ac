package realserver

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/uvs-lb/uvs/packet/packettest"
)

var (
	vip4    = netip.MustParseAddr("10.88.100.1")
	vip6    = netip.MustParseAddr("fd00:100::1")
	client4 = netip.MustParseAddr("10.88.0.1")
	client6 = netip.MustParseAddr("fd00:88::1")
	lb4     = netip.MustParseAddr("10.88.0.254")
	rs4     = netip.MustParseAddr("10.88.0.2")
)

// udpIP builds an IP packet (no Ethernet) carrying a UDP datagram from src:40000 to dst:7.
func udpIP(src, dst netip.Addr, payload string) []byte {
	return packettest.Frame{Src: netip.AddrPortFrom(src, 40000), Dst: netip.AddrPortFrom(dst, 7),
		Proto: 17, Payload: []byte(payload)}.Build()[14:]
}

// gue0 puts a GUE variant 0 header (payload protocol proto, hlen words of options) before b.
func gue0(proto uint8, hlen int, b []byte) []byte {
	h := make([]byte, 4+4*hlen)
	h[0], h[1] = byte(hlen), proto
	return append(h, b...)
}

func TestInner(t *testing.T) {
	s := newDecapsulator([]netip.Addr{vip4, vip6, netip.MustParseAddr("::ffff:10.88.100.2")})
	in4 := udpIP(client4, vip4, "hello")
	in6 := udpIP(client6, vip6, "hello6")
	in4b := udpIP(client4, netip.MustParseAddr("10.88.100.2"), "mapped VIP")
	other4 := udpIP(client4, rs4, "relay?")
	other6 := udpIP(client6, netip.MustParseAddr("fd00:88::2"), "relay?")
	badsum := bytes.Clone(in4)
	badsum[10] ^= 0xff
	nested := packettest.IP(client4, vip4, 4, 64, in4)
	nested6 := packettest.IP(client6, vip6, 41, 64, in6)
	short := bytes.Clone(in4)
	short[3] += 50 // total length beyond the data
	padded := append(bytes.Clone(in4), 0, 0, 0, 0)
	for _, c := range []struct {
		name  string
		b     []byte
		proto uint8
		want  []byte
		drop  Drop
	}{
		{"ipip v4", in4, 4, in4, DropNone},
		{"ipip v4 mapped VIP", in4b, 4, in4b, DropNone},
		{"ip6 in ip", in6, 41, in6, DropNone},
		{"trailing bytes trimmed", padded, 4, in4, DropNone},
		{"not a VIP v4", other4, 4, nil, DropNotVIP},
		{"not a VIP v6", other6, 41, nil, DropNotVIP},
		{"v6 behind proto 4", in6, 4, nil, DropMalformed},
		{"v4 behind proto 41", in4, 41, nil, DropMalformed},
		{"bad header checksum", badsum, 4, nil, DropMalformed},
		{"truncated v4", short, 4, nil, DropMalformed},
		{"truncated v6", in6[:50], 41, nil, DropMalformed},
		{"too short", in4[:10], 4, nil, DropMalformed},
		{"empty", nil, 4, nil, DropMalformed},
		{"nested ipip", nested, 4, nil, DropNested},
		{"nested ip6ip6", nested6, 41, nil, DropNested},
		{"gue v0 ipip", gue0(4, 0, in4), 17, in4, DropNone},
		{"gue v0 ip6", gue0(41, 0, in6), 17, in6, DropNone},
		{"gue v0 options skipped", gue0(4, 2, in4), 17, in4, DropNone},
		{"gue v0 options past the end", gue0(4, 31, in4[:20])[:40], 17, nil, DropMalformed},
		{"gue v1 v4", in4, 17, in4, DropNone},
		{"gue v1 v6", in6, 17, in6, DropNone},
		{"gue v0 not a VIP", gue0(4, 0, other4), 17, nil, DropNotVIP},
		{"gue control", append([]byte{0x20, 0, 0, 0}, in4...), 17, nil, DropGUE},
		{"gue proto udp", gue0(17, 0, in4), 17, nil, DropGUE},
		{"gue v0 proto 4 carrying v6", gue0(4, 0, in6), 17, nil, DropMalformed},
		{"gue variant 2", append([]byte{0x80, 4, 0, 0}, in4...), 17, nil, DropGUE},
		{"gue short header", []byte{0, 4}, 17, nil, DropMalformed},
		{"gue empty", []byte{}, 17, nil, DropMalformed},
		{"unknown protocol", in4, 47, nil, DropMalformed},
	} {
		got, d := s.inner(c.b, c.proto, ecnUnknown)
		if d != c.drop || !bytes.Equal(got, c.want) {
			t.Errorf("%s: got %d bytes, %v; want %d bytes, %v", c.name, len(got), d, len(c.want), c.drop)
		}
	}
}

func TestStripIPv4(t *testing.T) {
	in := udpIP(client4, vip4, "x")
	outer := packettest.IP(lb4, rs4, 4, 64, in)
	outer[1] = 0xb8 | ecnCE // DSCP EF, CE
	got, ecn, d := stripIPv4(append(outer, 1, 2, 3))
	if d != DropNone || !bytes.Equal(got, in) || ecn != ecnCE {
		t.Fatalf("stripIPv4: %v %x ECN %d", d, got, ecn)
	}
	for name, b := range map[string][]byte{
		"short":     outer[:19],
		"v6":        packettest.IP(client6, vip6, 41, 64, nil),
		"bad ihl":   append([]byte{0x44}, outer[1:]...),
		"truncated": outer[:len(outer)-1],
	} {
		if _, _, d := stripIPv4(b); d != DropMalformed {
			t.Errorf("%s: %v, want malformed", name, d)
		}
	}
}

func TestInnerAllocs(t *testing.T) {
	s := newDecapsulator([]netip.Addr{vip4, vip6})
	b := gue0(4, 0, udpIP(client4, vip4, "hello"))
	if n := testing.AllocsPerRun(100, func() { s.inner(b, 17, ecnCE) }); n != 0 {
		t.Fatalf("%v allocations per packet", n)
	}
}

func FuzzInner(f *testing.F) {
	f.Add(udpIP(client4, vip4, "a"), uint8(4))
	f.Add(udpIP(client6, vip6, "a"), uint8(41))
	f.Add(gue0(4, 1, udpIP(client4, vip4, "a")), uint8(17))
	s := newDecapsulator([]netip.Addr{vip4, vip6})
	f.Fuzz(func(t *testing.T, b []byte, proto uint8) {
		got, d := s.inner(b, proto%64, proto>>6)
		if (d == DropNone) != (got != nil) {
			t.Fatalf("drop %v with %d bytes", d, len(got))
		}
		if d == DropNone {
			if got[0]>>4 == 4 && netip.AddrFrom4([4]byte(got[16:20])) != vip4 {
				t.Fatalf("accepted a non-VIP")
			}
			if got[0]>>4 == 6 && netip.AddrFrom16([16]byte(got[24:40])) != vip6 {
				t.Fatalf("accepted a non-VIP")
			}
		}
	})
}

// TestECN checks RFC 6040's decapsulation table (section 4.2) on IPv4 and IPv6 inner packets:
// the resulting inner ECN field, or a drop, and a still valid IPv4 header checksum.
func TestECN(t *testing.T) {
	s := newDecapsulator([]netip.Addr{vip4, vip6})
	const drop = 0xFF
	// want[inner][outer]: Not-ECT 0, ECT(1) 1, ECT(0) 2, CE 3.
	want := [4][4]uint8{
		{0, 0, 0, drop},
		{1, 1, 1, 3},
		{2, 1, 2, 3},
		{3, 3, 3, 3},
	}
	for _, v6 := range []bool{false, true} {
		for inner := range uint8(4) {
			for outer := range uint8(4) {
				var b []byte
				proto := uint8(4)
				if v6 {
					b, proto = udpIP(client6, vip6, "ecn"), 41
					b[0], b[1] = 0x6b, b[1]&0x0f|(0x8|inner)<<4 // traffic class 0xb8|inner (DSCP 46)
				} else {
					b = udpIP(client4, vip4, "ecn")
					b[1] = 0xb8 | inner
					b[10], b[11] = 0, 0
					c := packettest.Checksum(b[:20], 0)
					b[10], b[11] = byte(c>>8), byte(c)
				}
				got, d := s.inner(b, proto, outer)
				w := want[inner][outer]
				if w == drop {
					if d != DropECN {
						t.Errorf("v6=%v inner %d outer %d: %v, want dropped", v6, inner, outer, d)
					}
					continue
				}
				if d != DropNone {
					t.Errorf("v6=%v inner %d outer %d: dropped (%v)", v6, inner, outer, d)
					continue
				}
				tos := got[1]
				if v6 {
					tos = got[0]<<4 | got[1]>>4
				}
				if tos != 0xb8|w {
					t.Errorf("v6=%v inner %d outer %d: TOS %#x, want %#x", v6, inner, outer, tos, 0xb8|w)
				}
				if !v6 && packettest.Checksum(got[:20], 0) != 0 {
					t.Errorf("inner %d outer %d: bad IPv4 header checksum after the ECN update", inner, outer)
				}
			}
		}
	}
}
