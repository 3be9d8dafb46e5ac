package tunnel

import (
	"bytes"
	"testing"

	"github.com/uvs-lb/uvs/lb"
	"github.com/uvs-lb/uvs/packet"
)

// segment is the TCP payload of the benchmarks: a full-size segment for a 1500-byte MTU
// once tunnelled (MSS clamping leaves room for the outer headers).
var segment = bytes.Repeat([]byte{0x5A}, 1400)

// benchForward encapsulates one 1400-byte TCP segment per iteration. Forward does not touch
// the IP packet and writes only in front of it, so resetting the Packet is all an iteration
// needs to start from the same fresh frame.
func benchForward(b *testing.B, in, out ends, tt tunType) {
	ip := innerIP(in, kindTCP, segment, 0, 1, true)
	buf := append(make([]byte, headroom), ethFrame(ip, 0, 0)...)
	var saved, p packet.Packet
	if err := packet.Parse(buf[headroom:], &saved); err != nil {
		b.Fatal(err)
	}
	v := verdict(in, out, tt, packet.ProtoTCP, false)
	f := New()
	b.SetBytes(int64(len(ip)))
	b.ReportAllocs()
	for b.Loop() {
		p = saved
		if _, _, r := f.Forward(buf, headroom, &p, &v); r != lb.DropNone {
			b.Fatal(r)
		}
	}
}

// BenchmarkForwardIPIP4in4 is the classic LVS-TUN packet: 20 bytes of IPv4 in front.
func BenchmarkForwardIPIP4in4(b *testing.B) { benchForward(b, fams[0], fams[0], tunTypes[0]) }

// BenchmarkForwardIPIP6in6 adds an IPv6 header with a flow label (one flow hash).
func BenchmarkForwardIPIP6in6(b *testing.B) { benchForward(b, fams[1], fams[1], tunTypes[0]) }

// BenchmarkForwardIPIP4in6 tunnels IPv4 clients to an IPv6-only real server.
func BenchmarkForwardIPIP4in6(b *testing.B) { benchForward(b, fams[0], fams[1], tunTypes[0]) }

// BenchmarkForwardGUE4in4NoCsum is GUE over IPv4 without a UDP checksum (--tun-nocsum).
func BenchmarkForwardGUE4in4NoCsum(b *testing.B) { benchForward(b, fams[0], fams[0], tunTypes[2]) }

// BenchmarkForwardGUE4in4Csum is GUE over IPv4 with a UDP checksum (--tun-csum): one pass
// over the whole packet.
func BenchmarkForwardGUE4in4Csum(b *testing.B) { benchForward(b, fams[0], fams[0], tunTypes[1]) }

// BenchmarkForwardGUE6in6 is GUE over IPv6, which always has a UDP checksum.
func BenchmarkForwardGUE6in6(b *testing.B) { benchForward(b, fams[1], fams[1], tunTypes[1]) }

// benchDecap decapsulates what benchForward sends. Decap moves the Ethernet header over the
// end of the outer headers, so each iteration first puts back the ~80 bytes in front of the
// inner packet (included in the time).
func benchDecap(b *testing.B, in, out ends, tt tunType) {
	ip := innerIP(in, kindTCP, segment, 0, 1, true)
	v := verdict(in, out, tt, packet.ProtoTCP, false)
	_, frame, _, _, r := encap(b, ethFrame(ip, 0, 0), &v)
	if r != lb.DropNone {
		b.Fatal(r)
	}
	hdrs := bytes.Clone(frame[:len(frame)-len(ip)])
	d := NewDecapsulator(testConfig())
	b.SetBytes(int64(len(ip)))
	b.ReportAllocs()
	for b.Loop() {
		copy(frame, hdrs)
		if _, res := d.Decap(frame); res != Decapsulated {
			b.Fatal(res)
		}
	}
}

// BenchmarkDecapIPIP4in4 strips an IPv4 header (and checks its checksum).
func BenchmarkDecapIPIP4in4(b *testing.B) { benchDecap(b, fams[0], fams[0], tunTypes[0]) }

// BenchmarkDecapGUE4in4NoCsum strips IPv4, UDP and GUE without a UDP checksum to verify.
func BenchmarkDecapGUE4in4NoCsum(b *testing.B) { benchDecap(b, fams[0], fams[0], tunTypes[2]) }

// BenchmarkDecapGUE6in6 strips IPv6, UDP and GUE, verifying the UDP checksum.
func BenchmarkDecapGUE6in6(b *testing.B) { benchDecap(b, fams[1], fams[1], tunTypes[1]) }

// BenchmarkInnerGUE checks a GUE payload as a UDP socket delivers it.
func BenchmarkInnerGUE(b *testing.B) {
	ip := innerIP(fams[1], kindTCP, segment, 0, 1, true)
	pl := cat([]byte{0, 41, 0, 0}, ip)
	d := NewDecapsulator(testConfig())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.Inner(pl, packet.ProtoUDP); err != nil {
			b.Fatal(err)
		}
	}
}
