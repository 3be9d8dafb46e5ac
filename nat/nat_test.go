package nat

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"sync"
	"testing"

	"github.com/uvs-lb/uvs/lb"
	"github.com/uvs-lb/uvs/lb/conntab"
	"github.com/uvs-lb/uvs/packet"
	"github.com/uvs-lb/uvs/packet/packettest"
)

// TestForward checks every family × method × direction × protocol against the frame
// packettest builds directly with the translated endpoints and TTL - 1: equal bytes prove
// the incremental checksums equal full recomputations.
func TestForward(t *testing.T) {
	for _, fam := range families {
		for _, m := range methods {
			for _, d := range dirs {
				for _, pr := range protos {
					t.Run(fam.name+"/"+m.name+"/"+d.name+"/"+pr.name, func(t *testing.T) {
						src, dst, wsrc, wdst := flow(fam, m.m, d.d)
						v := verdict(fam, m.m, d.d, pr.p, false)
						got, p, r := forward(t, frame(pr.p, src, dst, 64), &v)
						if r != lb.DropNone {
							t.Fatalf("dropped: %v", r)
						}
						checkFrame(t, got, frame(pr.p, wsrc, wdst, 63), p)
					})
				}
			}
		}
	}
}

// TestForwardVLAN: the L3 offset comes from the parse, so a tagged frame works the same.
func TestForwardVLAN(t *testing.T) {
	fam := families[0]
	build := func(src, dst netip.AddrPort, ttl uint8) []byte {
		return packettest.Frame{SrcMAC: macA, DstMAC: macB, VLAN: 42, Src: src, Dst: dst,
			Proto: packet.ProtoTCP, TCPFlags: packet.TCPSyn, TTL: ttl}.Build()
	}
	v := verdict(fam, lb.MethodFullNAT, lb.DirIn, packet.ProtoTCP, false)
	got, _, r := forward(t, build(fam.c, fam.v, 64), &v)
	if want := build(fam.l, fam.d, 63); r != lb.DropNone || !bytes.Equal(got, want) {
		t.Fatalf("reason %v\n got %x\nwant %x", r, got, want)
	}
}

// TestOffset: the frame may start anywhere in buf (headroom for encapsulating forwarders).
func TestOffset(t *testing.T) {
	fam := families[1]
	in := frame(packet.ProtoUDP, fam.c, fam.v, 64)
	buf := append(make([]byte, 32), in...)
	buf = append(buf, 0xEE, 0xEE) // bytes after the frame are not the frame's
	var p packet.Packet
	if err := packet.Parse(buf[32:32+len(in)], &p); err != nil {
		t.Fatal(err)
	}
	v := verdict(fam, lb.MethodNAT, lb.DirIn, packet.ProtoUDP, false)
	off, n, r := New().Forward(buf, 32, &p, &v)
	if off != 32 || n != len(in) || r != lb.DropNone {
		t.Fatalf("got off %d len %d reason %v", off, n, r)
	}
	if want := frame(packet.ProtoUDP, fam.c, fam.d, 63); !bytes.Equal(buf[32:32+n], want) {
		t.Fatalf("frame differs\n got %x\nwant %x", buf[32:32+n], want)
	}
	if !bytes.Equal(buf[:32], make([]byte, 32)) || buf[len(buf)-1] != 0xEE || buf[len(buf)-2] != 0xEE {
		t.Fatal("bytes outside the frame changed")
	}
}

// TestTTL: a router forwards TTL 2 as 1 and refuses 1 and 0 without touching the frame, so
// the port loop can quote it in an ICMP time exceeded.
func TestTTL(t *testing.T) {
	for _, fam := range families {
		for _, ttl := range []uint8{0, 1, 2} {
			in := withTTL(fam, frame(packet.ProtoTCP, fam.c, fam.v, 64), ttl)
			v := verdict(fam, lb.MethodNAT, lb.DirIn, packet.ProtoTCP, false)
			got, p, r := forward(t, in, &v)
			if ttl > 1 {
				if r != lb.DropNone || p.TTL != ttl-1 || got[fam.ttlOff] != ttl-1 {
					t.Errorf("%s TTL %d: reason %v, TTL %d", fam.name, ttl, r, got[fam.ttlOff])
				}
				continue
			}
			if r != dropTTLExceeded || !bytes.Equal(got, in) || p.TTL != ttl {
				t.Errorf("%s TTL %d: reason %v, changed %v, want TTL exceeded and no change",
					fam.name, ttl, r, !bytes.Equal(got, in))
			}
		}
	}
}

// TestUDPZeroChecksum: an IPv4 datagram sent without checksum keeps none; inventing one
// from a delta would make it wrong.
func TestUDPZeroChecksum(t *testing.T) {
	fam := families[0]
	build := func(src, dst netip.AddrPort, ttl uint8) []byte {
		return packettest.Frame{SrcMAC: macA, DstMAC: macB, Src: src, Dst: dst, Proto: packet.ProtoUDP,
			TTL: ttl, Payload: []byte("query"), ZeroUDPChecksum: true}.Build()
	}
	for _, m := range methods {
		for _, d := range dirs {
			src, dst, wsrc, wdst := flow(fam, m.m, d.d)
			v := verdict(fam, m.m, d.d, packet.ProtoUDP, false)
			got, p, r := forward(t, build(src, dst, 64), &v)
			if r != lb.DropNone {
				t.Fatalf("%s/%s: dropped: %v", m.name, d.name, r)
			}
			if ck := binary.BigEndian.Uint16(got[p.L4Off+6:]); ck != 0 {
				t.Fatalf("%s/%s: UDP checksum %#04x, want 0", m.name, d.name, ck)
			}
			checkFrame(t, got, build(wsrc, wdst, 63), p)
		}
	}
}

// TestUDPChecksumNotZero: a datagram whose translated checksum computes to 0 carries 0xFFFF,
// since 0 means "no checksum". The payload is searched for one that lands there.
func TestUDPChecksumNotZero(t *testing.T) {
	for _, fam := range families {
		build := func(src, dst netip.AddrPort, ttl uint8, x uint16) []byte {
			return packettest.Frame{SrcMAC: macA, DstMAC: macB, Src: src, Dst: dst, Proto: packet.ProtoUDP,
				TTL: ttl, Payload: binary.BigEndian.AppendUint16(nil, x)}.Build()
		}
		ckOff := len(build(fam.c, fam.d, 63, 0)) - 2 - 2 // the checksum just before the 2-byte payload
		found := false
		for x := range 1 << 16 {
			want := build(fam.c, fam.d, 63, uint16(x))
			if binary.BigEndian.Uint16(want[ckOff:]) != 0xFFFF {
				continue
			}
			found = true
			v := verdict(fam, lb.MethodNAT, lb.DirIn, packet.ProtoUDP, false)
			got, p, r := forward(t, build(fam.c, fam.v, 64, uint16(x)), &v)
			if r != lb.DropNone {
				t.Fatalf("dropped: %v", r)
			}
			checkFrame(t, got, want, p)
			break
		}
		if !found {
			t.Fatalf("%s: no payload gives a checksum of 0xFFFF", fam.name)
		}
	}
}

// TestRefused: verdicts this forwarder cannot carry out drop the frame untouched.
func TestRefused(t *testing.T) {
	fam := families[0]
	in := frame(packet.ProtoTCP, fam.c, fam.v, 64)
	cases := map[string]func(v *lb.Verdict){
		"direct routing":            func(v *lb.Verdict) { v.Method = lb.MethodDR },
		"tunnel":                    func(v *lb.Verdict) { v.Method = lb.MethodTUN },
		"no method":                 func(v *lb.Verdict) { v.Method = 0 },
		"full-NAT without local":    func(v *lb.Verdict) { v.Conn.Flags &^= conntab.FlagFullNAT },
		"connection of IPv6":        func(v *lb.Verdict) { v.Conn.Family = packet.FamilyIPv6 },
		"ICMP error flag, no error": func(v *lb.Verdict) { v.ICMPError = true },
		"unknown direction":         func(v *lb.Verdict) { v.Dir = 7 },
	}
	for name, mutate := range cases {
		v := verdict(fam, lb.MethodFullNAT, lb.DirIn, packet.ProtoTCP, false)
		mutate(&v)
		got, _, r := forward(t, in, &v)
		if r != lb.DropForwarder || !bytes.Equal(got, in) {
			t.Errorf("%s: reason %v, changed %v; want %v and no change", name, r, !bytes.Equal(got, in), lb.DropForwarder)
		}
	}

	// An ICMP error the verdict does not call one would have its quote left untranslated.
	quoted := frame(packet.ProtoTCP, fam.c, fam.d, 63)
	icmp := packettest.ICMPError(macA, macB, fam.d.Addr(), fam.c.Addr(), 3, 3, quoted)
	v := verdict(fam, lb.MethodNAT, lb.DirOut, packet.ProtoTCP, false)
	if got, _, r := forward(t, icmp, &v); r != lb.DropForwarder || !bytes.Equal(got, icmp) {
		t.Errorf("ICMP error without ICMPError: reason %v", r)
	}

	// A frame that does not fit its buffer.
	var p packet.Packet
	if err := packet.Parse(in, &p); err != nil {
		t.Fatal(err)
	}
	v = verdict(fam, lb.MethodNAT, lb.DirIn, packet.ProtoTCP, false)
	for _, off := range []int{-1, 1} {
		if _, _, r := New().Forward(in, off, &p, &v); r != lb.DropForwarder {
			t.Errorf("offset %d: reason %v", off, r)
		}
	}
}

// TestNoAllocs: the hot-path rule (DESIGN.md).
func TestNoAllocs(t *testing.T) {
	f := New()
	for _, fam := range families {
		for _, m := range methods {
			for _, icmpErr := range []bool{false, true} {
				in := frame(packet.ProtoTCP, fam.c, fam.v, 64)
				dir := lb.DirIn
				if icmpErr {
					in = packettest.ICMPError(macA, macB, fam.d.Addr(), fam.c.Addr(), 3, 3, frame(packet.ProtoTCP, fam.c, fam.d, 63))
					if m.m == lb.MethodFullNAT {
						in = packettest.ICMPError(macA, macB, fam.d.Addr(), fam.l.Addr(), 3, 3, frame(packet.ProtoTCP, fam.l, fam.d, 63))
					}
					dir = lb.DirOut
				}
				v := verdict(fam, m.m, dir, packet.ProtoTCP, icmpErr)
				buf := bytes.Clone(in)
				var p, saved packet.Packet
				if err := packet.Parse(buf, &saved); err != nil {
					t.Fatal(err)
				}
				n := testing.AllocsPerRun(100, func() {
					copy(buf, in)
					p = saved
					if _, _, r := f.Forward(buf, 0, &p, &v); r != lb.DropNone {
						t.Fatalf("dropped: %v", r)
					}
				})
				if n != 0 {
					t.Errorf("%s/%s icmp=%v: %v allocations per packet, want 0", fam.name, m.name, icmpErr, n)
				}
			}
		}
	}
}

// TestConcurrent: one Forwarder serves many port loops (run with -race).
func TestConcurrent(t *testing.T) {
	f := New()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			fam := families[i%2]
			in := frame(packet.ProtoUDP, fam.c, fam.v, 64)
			want := frame(packet.ProtoUDP, fam.l, fam.d, 63)
			v := verdict(fam, lb.MethodFullNAT, lb.DirIn, packet.ProtoUDP, false)
			buf := make([]byte, len(in))
			var p packet.Packet
			for range 200 {
				copy(buf, in)
				if err := packet.Parse(buf, &p); err != nil {
					t.Error(err)
					return
				}
				if _, _, r := f.Forward(buf, 0, &p, &v); r != lb.DropNone || !bytes.Equal(buf, want) {
					t.Errorf("reason %v, frame %x", r, buf)
					return
				}
			}
		})
	}
	wg.Wait()
}
