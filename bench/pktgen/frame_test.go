package main

import (
	"encoding/binary"
	"net"
	"net/netip"
	"testing"
)

// verify recomputes both checksums over the finished frame: a correct one sums to 0xffff.
func TestBuildFrameChecksums(t *testing.T) {
	spec := frameSpec{
		dmac: net.HardwareAddr{2, 0, 0, 0, 0, 1},
		smac: net.HardwareAddr{2, 0, 0, 0, 0, 2},
		ttl:  64,
	}
	src := netip.MustParseAddr("10.0.1.2")
	for _, size := range []int{minFrame, 60, 61, 1514} {
		for _, f := range flows(src, []netip.Addr{netip.MustParseAddr("10.0.1.100"), netip.MustParseAddr("10.0.2.12")}, 10000, 9000, 3) {
			spec.size = size
			b, err := buildFrame(spec, f)
			if err != nil {
				t.Fatal(err)
			}
			if len(b) != size {
				t.Fatalf("size %d: got %d bytes", size, len(b))
			}
			ip := b[ethLen : ethLen+ipv4Len]
			if got := fold(sum(ip, 0)); got != 0xffff {
				t.Errorf("size %d %v: IPv4 header sums to %#x", size, f, got)
			}
			u := b[ethLen+ipv4Len:]
			if int(binary.BigEndian.Uint16(u[4:6])) != len(u) || int(binary.BigEndian.Uint16(ip[2:4])) != size-ethLen {
				t.Errorf("size %d: lengths ip %d udp %d", size, binary.BigEndian.Uint16(ip[2:4]), binary.BigEndian.Uint16(u[4:6]))
			}
			ph := sum(ip[12:20], 0) + 17 + uint32(len(u))
			if got := fold(sum(u, ph)); got != 0xffff {
				t.Errorf("size %d %v: UDP sums to %#x", size, f, got)
			}
			if binary.BigEndian.Uint16(u[0:2]) != f.sport || binary.BigEndian.Uint16(u[2:4]) != 9000 {
				t.Errorf("ports %d %d", binary.BigEndian.Uint16(u[0:2]), binary.BigEndian.Uint16(u[2:4]))
			}
		}
	}
	spec.size = minFrame - 1
	if _, err := buildFrame(spec, flow{src: src, dst: src}); err == nil {
		t.Error("a 41-byte frame was built")
	}
}

func TestFlowsInterleaveDestinations(t *testing.T) {
	a, b := netip.MustParseAddr("10.0.2.11"), netip.MustParseAddr("10.0.2.12")
	fs := flows(netip.MustParseAddr("10.0.1.2"), []netip.Addr{a, b}, 10000, 9000, 4)
	if len(fs) != 8 {
		t.Fatalf("%d flows, want 8", len(fs))
	}
	for i, f := range fs {
		want := a
		if i%2 == 1 {
			want = b
		}
		if f.dst != want || f.sport != 10000+uint16(i/2) {
			t.Errorf("flow %d = %v", i, f)
		}
	}
}
