package tunnel

import (
	"bytes"
	"testing"

	"github.com/uvs-lb/uvs/lb"
	"github.com/uvs-lb/uvs/packet"
)

// FuzzForward feeds arbitrary frames and verdicts to Forward. It must never panic, never write
// outside the new frame (which lies in buf[:off+p.Len]), leave buf and the Packet untouched
// when it refuses, and, when it encapsulates a frame whose Packet is right, produce a frame
// that parses to the Packet it left and carries the original IP packet to the tunnel's end.
//
// room is the headroom in front of the frame; skew, when nonzero, corrupts the Packet's
// IP length so the bounds checks meet Packets that do not describe the frame.
func FuzzForward(f *testing.F) {
	for _, c := range cases() {
		ip := innerIP(c.inner, c.kind, payload, 0x2A, 77, c.kind == kindTCP)
		v := c.verdict()
		f.Add(ethFrame(ip, c.vlan, 2), uint8(headroom), uint8(v.Method), uint8(v.Dir), uint8(v.Tunnel.Type),
			uint8(v.Tunnel.Family), uint8(0), v.Tunnel.Csum, v.ICMPError, v.Tunnel.Port,
			append(v.Tunnel.Src[:], v.Tunnel.Dst[:]...), int8(0))
	}
	fw := New()
	f.Fuzz(func(t *testing.T, frame []byte, room, method, dir, typ, tfam, famSel uint8, csum, icmpErr bool,
		port uint16, addrs []byte, skew int8) {
		var p packet.Packet
		_ = packet.Parse(frame, &p) // a failed parse still leaves a Packet to refuse
		tun := lb.TunnelEnds{Type: lb.TunnelType(typ % 4), Port: port, Csum: csum,
			Family: [4]packet.Family{packet.FamilyIPv4, packet.FamilyIPv6, 0, 5}[tfam%4]}
		var a [32]byte
		copy(a[:], addrs)
		tun.Src, tun.Dst = [16]byte(a[:16]), [16]byte(a[16:])
		v := lb.Verdict{Action: lb.ActForward, Method: lb.Method(method % 6), Dir: lb.Dir(dir % 3),
			ICMPError: icmpErr, Tunnel: &tun}
		v.Conn.Family = [4]packet.Family{p.Key.Family, packet.FamilyIPv4, packet.FamilyIPv6, 0}[famSel%4]
		if famSel&0x80 != 0 {
			v.Tunnel = nil
		}
		p.IPLen += int(skew)

		const tail = 16
		off := int(room)
		buf := make([]byte, off+len(frame)+tail)
		for i := range buf {
			buf[i] = 0xA5
		}
		copy(buf[off:], frame)
		before, saved := bytes.Clone(buf), p
		lo := min(max(p.L3Off, 0), len(frame))
		ip := bytes.Clone(frame[lo:min(max(p.L3End(), lo), len(frame))])

		newOff, newLen, r := fw.Forward(buf[:off+len(frame)+tail], off, &p, &v)
		if r != lb.DropNone {
			if !bytes.Equal(buf, before) || p != saved {
				t.Fatalf("refused (%v) but changed the buffer or the Packet", r)
			}
			return
		}
		if newOff < 0 || newLen < 0 || newOff+newLen > off+saved.Len {
			t.Fatalf("new frame [%d, +%d) outside buf[:%d]", newOff, newLen, off+saved.Len)
		}
		if !bytes.Equal(buf[:newOff], before[:newOff]) || !bytes.Equal(buf[off+saved.Len:], before[off+saved.Len:]) {
			t.Fatal("wrote outside the new frame")
		}
		if skew != 0 {
			return // the Packet lied about the frame: only the bounds can be checked
		}
		out := buf[newOff : newOff+newLen]
		if !bytes.Equal(out[newLen-len(ip):], ip) {
			t.Fatal("the IP packet changed or moved")
		}
		var q packet.Packet
		if err := packet.Parse(out, &q); err != nil {
			t.Fatalf("result does not parse: %v", err)
		}
		if tun.Type == lb.TunnelGUE && !packet.ParseGUE(out, &q, tun.Port) {
			t.Fatal("result is not GUE")
		}
		if q != p {
			t.Fatalf("Packet does not describe the result\n got %+v\nwant %+v", p, q)
		}
		if q.Key.DstAddr() != packet.AddrFrom(tun.Family, &tun.Dst) || q.Tunnel.Family != saved.Key.Family ||
			q.Tunnel.InnerOff != newLen-len(ip) {
			t.Fatalf("wrong tunnel: %+v", q)
		}
		if !packet.ChecksumsValid(out, &q) { // a GUE checksum of 0 over IPv4 counts as valid
			t.Fatal("bad outer checksum")
		}
	})
}

// fuzzConfig is the Decapsulator the fuzz targets use: the tests' real server.
func fuzzConfig() *Decapsulator { return NewDecapsulator(testConfig()) }

// decapSeeds returns encapsulated frames of every combination, and their variants without
// VIP checks or GUE.
func decapSeeds(tb testing.TB) [][]byte {
	var ss [][]byte
	for _, c := range cases() {
		ip := innerIP(c.inner, c.kind, payload, 0x2B, 77, true)
		v := c.verdict()
		_, out, _, _, r := encap(tb, ethFrame(ip, c.vlan, 0), &v)
		if r != lb.DropNone {
			tb.Fatal(r)
		}
		ss = append(ss, bytes.Clone(out))
	}
	return ss
}

// FuzzDecap feeds arbitrary frames to Decap. It must never panic; what it does not
// decapsulate comes back as the same, unchanged slice; what it decapsulates is a subslice of
// the frame with the original MAC addresses, the inner family's EtherType, and the inner
// packet Inner finds in the same payload (ECN bits and the IPv4 header checksum aside).
// fill recomputes the frame's checksums first, so mutated frames get past the checksum check.
func FuzzDecap(f *testing.F) {
	for _, s := range decapSeeds(f) {
		f.Add(s, false)
	}
	d := fuzzConfig()
	f.Fuzz(func(t *testing.T, frame []byte, fill bool) {
		var p packet.Packet
		perr := packet.Parse(frame, &p)
		if fill && perr == nil {
			packet.FillChecksums(frame, &p)
		}
		before := bytes.Clone(frame)
		got, res := d.Decap(frame)
		if res != Decapsulated {
			if res != NotTunnel && res != Dropped {
				t.Fatalf("result %v", res)
			}
			if !bytes.Equal(frame, before) || len(got) != len(frame) || (len(got) > 0 && &got[0] != &frame[0]) {
				t.Fatalf("%v but the frame changed or another slice came back", res)
			}
			return
		}
		if perr != nil || !within(got, frame) || len(got) < ethLen+packet.IPv4MinLen {
			t.Fatalf("decapsulated a frame that does not parse (%v) or returned %d bytes outside it", perr, len(got))
		}
		if !bytes.Equal(got[:12], before[:12]) {
			t.Fatal("MAC addresses changed")
		}
		inner := got[ethLen:]
		et := uint16(got[12])<<8 | uint16(got[13])
		if !(inner[0]>>4 == 4 && et == packet.EtherTypeIPv4) && !(inner[0]>>4 == 6 && et == packet.EtherTypeIPv6) {
			t.Fatalf("EtherType %#x for version %d", et, inner[0]>>4)
		}
		// The payload Inner would get from a socket, from the frame as it was.
		var payload []byte
		var proto uint8
		switch p.Key.Proto {
		case packet.ProtoUDP:
			payload = before[p.PayloadOff : p.L4Off+int(packet.UDP(before[p.L4Off:]).Length())]
			proto = packet.ProtoUDP
		default:
			payload = before[p.Tunnel.InnerOff:p.L3End()]
			proto = p.Key.Proto
		}
		want, err := d.Inner(payload, proto)
		if err != nil {
			t.Fatalf("Decap took what Inner refuses: %v", err)
		}
		if len(want) != len(inner) || !sameButECN(inner, want) {
			t.Fatalf("inner packet\n got %x\nwant %x", inner, want)
		}
	})
}

// sameButECN reports whether IP packets a and b of equal length differ at most in their ECN
// bits and, for IPv4, the header checksum.
func sameButECN(a, b []byte) bool {
	a, b = bytes.Clone(a), bytes.Clone(b)
	if a[0]>>4 == 4 {
		a[1] &^= 3
		b[1] &^= 3
		a[10], a[11], b[10], b[11] = 0, 0, 0, 0
	} else {
		a[1] &^= 0x30
		b[1] &^= 0x30
	}
	return bytes.Equal(a, b)
}

// FuzzInner feeds arbitrary payloads to Inner. It must never panic, and what it accepts is a
// subslice of the payload holding exactly one IP packet by its own header's length.
func FuzzInner(f *testing.F) {
	ip4 := innerIP(fams[0], kindTCP, payload, 0, 1, true)
	ip6 := innerIP(fams[1], kindUDP, payload, 0, 1, true)
	f.Add(ip4, uint8(4))
	f.Add(ip6, uint8(41))
	f.Add(cat([]byte{0, 4, 0, 0}, ip4), uint8(17))
	f.Add(cat([]byte{1, 41, 0, 0, 9, 9, 9, 9}, ip6), uint8(17))
	f.Add(ip6, uint8(17))
	f.Add(cat([]byte{0x20, 4, 0, 0}, ip4), uint8(17))
	d := fuzzConfig()
	f.Fuzz(func(t *testing.T, pl []byte, proto uint8) {
		before := bytes.Clone(pl)
		got, err := d.Inner(pl, proto)
		if !bytes.Equal(pl, before) {
			t.Fatal("Inner changed the payload")
		}
		if err != nil {
			if got != nil {
				t.Fatal("a packet and an error")
			}
			return
		}
		if !within(got, pl) || len(got) < packet.IPv4MinLen {
			t.Fatal("result outside the payload or too short")
		}
		switch got[0] >> 4 {
		case 4:
			if int(packet.IPv4(got).TotalLength()) != len(got) {
				t.Fatal("IPv4 length")
			}
		case 6:
			if len(got) < packet.IPv6Len || int(packet.IPv6(got).PayloadLength())+packet.IPv6Len != len(got) {
				t.Fatal("IPv6 length")
			}
		default:
			t.Fatalf("version %d", got[0]>>4)
		}
	})
}

// TestFuzzSeeds runs the Decap seeds as a plain test: every one must decapsulate.
func TestFuzzSeeds(t *testing.T) {
	d := fuzzConfig()
	for i, s := range decapSeeds(t) {
		if _, res := d.Decap(s); res != Decapsulated {
			t.Errorf("seed %d: %v", i, res)
		}
	}
}
