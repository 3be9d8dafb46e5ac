package tunnel

import (
	"bytes"
	"fmt"
	"net/netip"
	"sync"
	"testing"

	"github.com/uvs-lb/uvs/lb"
	"github.com/uvs-lb/uvs/packet"
	"github.com/uvs-lb/uvs/packet/packettest"
)

var payload = []byte("GET / HTTP/1.1\r\nHost: uvs\r\n\r\n")

// testCase is one encapsulation under test.
type testCase struct {
	name         string
	inner, outer ends
	tt           tunType
	kind         int
	vlan         uint16
}

func (c testCase) proto() uint8 {
	if c.kind == kindUDP {
		return packet.ProtoUDP
	}
	return packet.ProtoTCP
}

func (c testCase) verdict() lb.Verdict {
	return verdict(c.inner, c.outer, c.tt, c.proto(), c.kind == kindICMPError)
}

// cases returns every inner family × outer family × tunnel type × packet kind × tagging.
func cases() []testCase {
	var cs []testCase
	for _, in := range fams {
		for _, out := range fams {
			for _, tt := range tunTypes {
				for kind, kname := range kinds {
					for _, vlan := range []uint16{0, 42} {
						cs = append(cs, testCase{
							name:  fmt.Sprintf("%s-in-%s/%s/%s/vlan%d", in.name, out.name, tt.name, kname, vlan),
							inner: in, outer: out, tt: tt, kind: kind, vlan: vlan,
						})
					}
				}
			}
		}
	}
	return cs
}

// TestForward checks every combination, field by field, independently of package packet's
// checksum code, with a DSCP/ECN byte and an IPv4 ID to copy, and Ethernet padding to leave out.
func TestForward(t *testing.T) {
	for _, c := range cases() {
		t.Run(c.name, func(t *testing.T) {
			ip := innerIP(c.inner, c.kind, payload, 0xB8|2, 0x1234, true) // EF, ECT(0)
			in := ethFrame(ip, c.vlan, 7)
			v := c.verdict()
			buf, out, off, p, r := encap(t, in, &v)
			if r != lb.DropNone {
				t.Fatalf("dropped: %v", r)
			}
			l3 := 14
			if c.vlan != 0 {
				l3 = 18
			}
			n, _, _ := New().Overhead(&v)
			if want := headroom + l3 - n - 14; off != want {
				t.Errorf("offset %d, want %d", off, want)
			}
			checkOuter(t, out, ip, &v, p)
			if !bytes.Equal(buf[:off], make([]byte, off)) {
				t.Error("wrote in front of the new frame")
			}
		})
	}
}

// TestDF: an IPv4 packet without DF leaves the outer IPv4 header without DF (and its ID).
func TestDF(t *testing.T) {
	for _, tt := range tunTypes {
		for _, out := range fams {
			ip := innerIP(fams[0], kindUDP, payload, 0, 0xBEEF, false)
			v := verdict(fams[0], out, tt, packet.ProtoUDP, false)
			_, got, _, p, r := encap(t, ethFrame(ip, 0, 0), &v)
			if r != lb.DropNone {
				t.Fatalf("%s/%s: dropped: %v", tt.name, out.name, r)
			}
			checkOuter(t, got, ip, &v, p) // DF and ID are checked against the inner header
			if out.af == packet.FamilyIPv4 && got[14+6]&0x40 != 0 {
				t.Errorf("%s: DF set", tt.name)
			}
		}
	}
}

// TestFlowHash: the flow label and the GUE source port are the same for every packet of a
// flow, ICMP errors about it included, and differ between flows.
func TestFlowHash(t *testing.T) {
	for _, in := range fams {
		for _, out := range fams {
			tt := tunTypes[1]
			get := func(ip []byte, icmpErr bool) (uint32, uint16) {
				v := verdict(in, out, tt, packet.ProtoTCP, icmpErr)
				_, got, _, p, r := encap(t, ethFrame(ip, 0, 0), &v)
				if r != lb.DropNone {
					t.Fatalf("dropped: %v", r)
				}
				return checkOuter(t, got, ip, &v, p)
			}
			l1, s1 := get(innerIP(in, kindTCP, payload, 0, 1, true), false)
			l2, s2 := get(innerIP(in, kindTCP, []byte("other bytes, same flow"), 0x20, 2, true), false)
			l3, s3 := get(innerIP(in, kindICMPError, nil, 0, 3, true), true)
			if l1 != l2 || s1 != s2 || l1 != l3 || s1 != s3 {
				t.Errorf("%s-in-%s: flow label %#x %#x %#x, source port %d %d %d: want one of each",
					in.name, out.name, l1, l2, l3, s1, s2, s3)
			}
			// Other clients' flows spread over the ports (and labels).
			ports := map[uint16]bool{}
			labels := map[uint32]bool{}
			c := in
			for i := range 64 {
				c.c = netip.AddrPortFrom(in.c.Addr(), uint16(1024+i))
				l, s := get(innerIP(c, kindTCP, payload, 0, 1, true), false)
				ports[s], labels[l] = true, true
			}
			if len(ports) < 56 || (out.af == packet.FamilyIPv6 && len(labels) < 60) {
				t.Errorf("%s-in-%s: 64 flows got %d source ports, %d labels", in.name, out.name, len(ports), len(labels))
			}
		}
	}
}

// TestUDPChecksumZero: a computed UDP checksum of 0 is sent as 0xFFFF. The inner packet's
// own UDP checksum field (which the forwarder does not look at) is tuned until the outer
// checksum comes out 0: every other inner byte is compensated by a checksum of its own.
func TestUDPChecksumZero(t *testing.T) {
	for _, out := range fams {
		in := fams[0]
		v := verdict(in, out, tunTypes[1], packet.ProtoUDP, false)
		orig := innerIP(in, kindUDP, payload, 0, 7, true)
		found := false
		for i := range 1 << 16 {
			ip := bytes.Clone(orig)
			ip[20+6], ip[20+7] = byte(i>>8), byte(i)
			_, got, _, p, r := encap(t, ethFrame(ip, 0, 0), &v)
			if r != lb.DropNone {
				t.Fatalf("dropped: %v", r)
			}
			hdr := map[packet.Family]int{4: 20, 6: 40}[out.af]
			if got[14+hdr+6] == 0xFF && got[14+hdr+7] == 0xFF {
				checkOuter(t, got, ip, &v, p)
				found = true
				break
			}
		}
		if !found {
			t.Errorf("%s: no payload gave a checksum of 0xFFFF", out.name)
		}
	}
}

// TestOverhead: the growth of the IP packet and the outer destination, for every family and
// type; refused verdicts say so.
func TestOverhead(t *testing.T) {
	f := New()
	for _, in := range fams {
		for _, out := range fams {
			for _, tt := range tunTypes {
				v := verdict(in, out, tt, packet.ProtoTCP, false)
				n, dst, ok := f.Overhead(&v)
				want := map[packet.Family]int{4: 20, 6: 40}[out.af]
				if tt.typ == lb.TunnelGUE {
					want += 12
				}
				if !ok || n != want || dst != out.rs {
					t.Errorf("%s-in-%s/%s: %d %v %v, want %d %v", in.name, out.name, tt.name, n, dst, ok, want, out.rs)
				}
				// Overhead is what Forward adds to the IP packet.
				ip := innerIP(in, kindTCP, payload, 0, 1, true)
				if _, got, _, _, _ := encap(t, ethFrame(ip, 42, 5), &v); len(got)-14-len(ip) != n {
					t.Errorf("%s-in-%s/%s: Forward grew the IP packet by %d, Overhead says %d", in.name, out.name, tt.name, len(got)-14-len(ip), n)
				}
			}
		}
	}
	for name, mutate := range refusals() {
		v := verdict(fams[0], fams[1], tunTypes[1], packet.ProtoTCP, false)
		mutate(&v)
		if n, dst, ok := f.Overhead(&v); ok || n != 0 || dst.IsValid() {
			t.Errorf("%s: %d %v %v, want refused", name, n, dst, ok)
		}
	}
}

// refusals are the verdict changes that both Overhead and Forward refuse.
func refusals() map[string]func(*lb.Verdict) {
	return map[string]func(v *lb.Verdict){
		"masquerading":   func(v *lb.Verdict) { v.Method = lb.MethodNAT },
		"direct routing": func(v *lb.Verdict) { v.Method = lb.MethodDR },
		"full-NAT":       func(v *lb.Verdict) { v.Method = lb.MethodFullNAT },
		"no method":      func(v *lb.Verdict) { v.Method = 0 },
		"no tunnel":      func(v *lb.Verdict) { v.Tunnel = nil },
		"reply":          func(v *lb.Verdict) { v.Dir = lb.DirOut },
		"direction 7":    func(v *lb.Verdict) { v.Dir = 7 },
		"tunnel type 9":  func(v *lb.Verdict) { v.Tunnel.Type = 9 },
		"outer family 0": func(v *lb.Verdict) { v.Tunnel.Family = 0 },
		"outer family 5": func(v *lb.Verdict) { v.Tunnel.Family = 5 },
	}
}

// TestRefused: what Forward cannot carry out is dropped with the buffer and Packet untouched.
func TestRefused(t *testing.T) {
	ip := innerIP(fams[0], kindTCP, payload, 0, 1, true)
	in := ethFrame(ip, 0, 0)
	try := func(name string, buf []byte, off int, p packet.Packet, v lb.Verdict, want lb.DropReason) {
		t.Helper()
		before, saved := bytes.Clone(buf), p
		_, _, r := New().Forward(buf, off, &p, &v)
		if r != want || (r != lb.DropNone && (!bytes.Equal(buf, before) || p != saved)) {
			t.Errorf("%s: reason %v (want %v), buffer changed %v, Packet changed %v",
				name, r, want, !bytes.Equal(buf, before), p != saved)
		}
	}
	var p packet.Packet
	buf := append(make([]byte, headroom), in...)
	if err := packet.Parse(buf[headroom:], &p); err != nil {
		t.Fatal(err)
	}
	good := verdict(fams[0], fams[1], tunTypes[1], packet.ProtoTCP, false)
	for name, mutate := range refusals() {
		v := good
		tun := *v.Tunnel
		v.Tunnel = &tun
		mutate(&v)
		try(name, buf, headroom, p, v, lb.DropForwarder)
	}
	v := good
	v.Conn.Family = packet.FamilyIPv6
	try("connection of the other family", buf, headroom, p, v, lb.DropForwarder)

	// Not enough headroom: IPv6 + UDP + GUE + Ethernet is 66 bytes, 14 of them in the frame.
	try("headroom 51", buf[headroom-51:], 51, p, good, lb.DropForwarder)
	try("headroom 52", buf[headroom-52:], 52, p, good, lb.DropNone) // (changes the buffer: last)

	// Bounds.
	buf = append(make([]byte, headroom), in...)
	try("offset -1", buf, -1, p, good, lb.DropForwarder)
	try("frame past the buffer", buf[:len(buf)-1], headroom, p, good, lb.DropForwarder)
	q := p
	q.IPLen = p.Len
	try("IP packet past the frame", buf, headroom, q, good, lb.DropForwarder)
	q = p
	q.IPLen = 19
	try("IPv4 packet shorter than its header", buf, headroom, q, good, lb.DropForwarder)
	q = p
	q.L3Off = -1
	try("negative L3 offset", buf, headroom, q, good, lb.DropForwarder)
	q = p
	q.Key.Family = packet.FamilyIPv6
	v = good
	v.Conn.Family = packet.FamilyIPv6
	try("Packet of the wrong family", buf, headroom, q, v, lb.DropForwarder)

	// Not IP at all: an ARP frame parses with no family.
	arp := make([]byte, 14+28)
	copy(arp[12:], []byte{0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1})
	var pa packet.Packet
	if err := packet.Parse(arp, &pa); err != nil {
		t.Fatal(err)
	}
	try("ARP", append(make([]byte, headroom), arp...), headroom, pa, good, lb.DropForwarder)
}

// TestTooBig: a packet whose outer length field would overflow is refused as too big.
func TestTooBig(t *testing.T) {
	for _, c := range []struct {
		in, out ends
		n       int // TCP payload: the largest that fits the inner family
	}{
		{fams[0], fams[0], 65535 - 40},
		{fams[1], fams[1], 65535 - 20},
		{fams[1], fams[0], 65535 - 20},
	} {
		ip := innerIP(c.in, kindTCP, make([]byte, c.n), 0, 1, true)
		in := ethFrame(ip, 0, 0)
		v := verdict(c.in, c.out, tunTypes[0], packet.ProtoTCP, false)
		buf := append(make([]byte, headroom), in...)
		var p packet.Packet
		if err := packet.Parse(buf[headroom:], &p); err != nil {
			t.Fatal(err)
		}
		before, saved := bytes.Clone(buf), p
		if _, _, r := New().Forward(buf, headroom, &p, &v); r != lb.DropTooBig || !bytes.Equal(buf, before) || p != saved {
			t.Errorf("%s-in-%s: reason %v, want %v and nothing changed", c.in.name, c.out.name, r, lb.DropTooBig)
		}
	}
	// IPv4 in IPv6 fits: the IPv6 payload length does not count the IPv6 header.
	ip := innerIP(fams[0], kindTCP, make([]byte, 65535-40), 0, 1, true)
	v := verdict(fams[0], fams[1], tunTypes[0], packet.ProtoTCP, false)
	if _, got, _, p, r := encap(t, ethFrame(ip, 0, 0), &v); r != lb.DropNone {
		t.Errorf("v4-in-v6 of 65535 bytes: %v", r)
	} else {
		checkOuter(t, got, ip, &v, p)
	}
}

// TestConcurrent: one Forwarder serves many port loops (run with -race).
func TestConcurrent(t *testing.T) {
	f := New()
	var wg sync.WaitGroup
	for _, c := range cases()[:8] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ip := innerIP(c.inner, c.kind, payload, 0, 1, true)
			in := ethFrame(ip, c.vlan, 0)
			v := c.verdict()
			for range 100 {
				buf := append(make([]byte, headroom), in...)
				var p packet.Packet
				if err := packet.Parse(buf[headroom:], &p); err != nil {
					t.Error(err)
					return
				}
				off, n, r := f.Forward(buf, headroom, &p, &v)
				if r != lb.DropNone || !bytes.Equal(buf[off+n-len(ip):off+n], ip) {
					t.Errorf("%s: %v", c.name, r)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// TestNoAllocs: the hot-path rule (DESIGN.md), for every combination.
func TestNoAllocs(t *testing.T) {
	f := New()
	for _, c := range cases() {
		ip := innerIP(c.inner, c.kind, payload, 0, 1, true)
		buf := append(make([]byte, headroom), ethFrame(ip, c.vlan, 0)...)
		var saved, p packet.Packet
		if err := packet.Parse(buf[headroom:], &saved); err != nil {
			t.Fatal(err)
		}
		v := c.verdict()
		// Forward leaves the IP packet alone, so the same buffer serves every run.
		if a := testing.AllocsPerRun(100, func() {
			p = saved
			if _, _, r := f.Forward(buf, headroom, &p, &v); r != lb.DropNone {
				t.Fatal(r)
			}
			_, _, _ = f.Overhead(&v)
		}); a != 0 {
			t.Errorf("%s: %v allocations per packet", c.name, a)
		}
	}
}

// TestPacketTest makes sure the frames the tests start from are what they claim: valid
// checksums by packettest's own verification.
func TestPacketTest(t *testing.T) {
	for _, fam := range fams {
		for kind := range kinds {
			if f := ethFrame(innerIP(fam, kind, payload, 0xB8, 9, false), 0, 0); !packettest.VerifyChecksums(f) {
				t.Errorf("%s/%s: test frame has a bad checksum", fam.name, kinds[kind])
			}
		}
	}
}
