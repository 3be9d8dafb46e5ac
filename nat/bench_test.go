package nat

import (
	"bytes"
	"testing"

	"github.com/uvs-lb/uvs/lb"
	"github.com/uvs-lb/uvs/packet"
	"github.com/uvs-lb/uvs/packet/packettest"
)

// benchForward forwards one 1400-byte TCP segment per iteration. Each iteration first puts
// back the headers the previous one rewrote (the payload is never touched) and the parsed
// Packet, so every packet is the same fresh one; that copy of ~60 bytes is included.
func benchForward(b *testing.B, fam family, m lb.Method, dir lb.Dir) {
	src, dst, _, _ := flow(fam, m, dir)
	in := packettest.Frame{SrcMAC: macA, DstMAC: macB, Src: src, Dst: dst, Proto: packet.ProtoTCP,
		TCPFlags: packet.TCPAck, Seq: 1, Ack: 1, Payload: bytes.Repeat([]byte{0x5A}, 1400)}.Build()
	buf := bytes.Clone(in)
	var saved packet.Packet
	if err := packet.Parse(buf, &saved); err != nil {
		b.Fatal(err)
	}
	hdrs := in[:saved.PayloadOff]
	v := verdict(fam, m, dir, packet.ProtoTCP, false)
	f := New()
	var p packet.Packet
	b.ReportAllocs()
	for b.Loop() {
		copy(buf, hdrs)
		p = saved
		if _, _, r := f.Forward(buf, 0, &p, &v); r != lb.DropNone {
			b.Fatal(r)
		}
	}
}

// BenchmarkForwardNAT4 is the DNAT of an inbound IPv4 TCP segment: destination address and
// port, TTL, IPv4 header and TCP checksums.
func BenchmarkForwardNAT4(b *testing.B) { benchForward(b, families[0], lb.MethodNAT, lb.DirIn) }

// BenchmarkForwardFullNAT4 rewrites both endpoints of an inbound IPv4 TCP segment.
func BenchmarkForwardFullNAT4(b *testing.B) {
	benchForward(b, families[0], lb.MethodFullNAT, lb.DirIn)
}

// BenchmarkForwardNAT6 is BenchmarkForwardNAT4 over IPv6 (no header checksum, 16-byte
// addresses in the pseudo-header).
func BenchmarkForwardNAT6(b *testing.B) { benchForward(b, families[1], lb.MethodNAT, lb.DirIn) }

// BenchmarkForwardFullNAT6 rewrites both endpoints of an inbound IPv6 TCP segment.
func BenchmarkForwardFullNAT6(b *testing.B) {
	benchForward(b, families[1], lb.MethodFullNAT, lb.DirIn)
}

// BenchmarkForwardICMPError4 translates an ICMPv4 error from a real server (full-NAT): the
// outer addresses, the quoted header and ports, three checksums.
func BenchmarkForwardICMPError4(b *testing.B) {
	fam := families[0]
	in := packettest.ICMPError(macA, macB, fam.d.Addr(), fam.l.Addr(), 3, 4,
		frame(packet.ProtoTCP, fam.l, fam.d, 63))
	buf := bytes.Clone(in)
	var saved, p packet.Packet
	if err := packet.Parse(buf, &saved); err != nil {
		b.Fatal(err)
	}
	v := verdict(fam, lb.MethodFullNAT, lb.DirOut, packet.ProtoTCP, true)
	f := New()
	b.ReportAllocs()
	for b.Loop() {
		copy(buf, in)
		p = saved
		if _, _, r := f.Forward(buf, 0, &p, &v); r != lb.DropNone {
			b.Fatal(r)
		}
	}
}
