package tunnel

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
	"testing"
	"unsafe"

	"github.com/uvs-lb/uvs/lb"
	"github.com/uvs-lb/uvs/packet"
	"github.com/uvs-lb/uvs/packet/packettest"
)

var (
	macC = [6]byte{0x02, 0, 0, 0, 0, 0xc}
	macD = [6]byte{0x02, 0, 0, 0, 0, 0xd}
)

// testConfig is a real server holding both families' addresses and VIPs, with GUE on guePort.
func testConfig() DecapConfig {
	return DecapConfig{
		Local:    []netip.Addr{fams[0].rs, fams[1].rs},
		GUEPorts: []uint16{guePort},
		VIPs:     []netip.Addr{fams[0].v.Addr(), fams[1].v.Addr()},
	}
}

// wantDecap is the frame Decap must make of a tunnel packet carrying ip between the MAC
// addresses dst and src.
func wantDecap(dst, src [6]byte, ip []byte) []byte {
	b := append(append(dst[:], src[:]...), 0x86, 0xDD)
	if ip[0]>>4 == 4 {
		b[12], b[13] = 0x08, 0x00
	}
	return append(b, ip...)
}

// within reports whether sub lies inside b's memory.
func within(sub, b []byte) bool {
	if len(sub) == 0 {
		return true
	}
	s, e := uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(unsafe.Pointer(unsafe.SliceData(sub)))
	return e >= s && e+uintptr(len(sub)) <= s+uintptr(len(b))
}

// TestRoundTrip: Forward then Decap gives back the original inner packet, for every
// combination, and Inner finds it in the payload a socket would deliver.
func TestRoundTrip(t *testing.T) {
	d := NewDecapsulator(testConfig())
	for _, c := range cases() {
		t.Run(c.name, func(t *testing.T) {
			ip := innerIP(c.inner, c.kind, payload, 0xB8|1, 0x1234, c.kind != kindUDP) // EF, ECT(1)
			v := c.verdict()
			_, out, _, _, r := encap(t, ethFrame(ip, c.vlan, 3), &v)
			if r != lb.DropNone {
				t.Fatalf("dropped: %v", r)
			}
			copy(out[0:6], macD[:])
			copy(out[6:12], macC[:])
			// What a socket delivers: the payload after the outer IP header (and UDP).
			hdr := map[packet.Family]int{4: 20, 6: 40}[c.outer.af]
			proto := c.inner.tunnelIPIP
			if c.tt.typ == lb.TunnelGUE {
				hdr += 8
				proto = packet.ProtoUDP
			}
			sock := bytes.Clone(out[14+hdr:])

			got, res := d.Decap(out)
			if res != Decapsulated {
				t.Fatalf("Decap: %v", res)
			}
			if want := wantDecap(macD, macC, ip); !bytes.Equal(got, want) {
				t.Fatalf("Decap\n got %x\nwant %x", got, want)
			}
			if !within(got, out) {
				t.Error("Decap returned memory outside the frame")
			}
			in, err := d.Inner(sock, proto)
			if err != nil || !bytes.Equal(in, ip) {
				t.Fatalf("Inner: %v\n got %x\nwant %x", err, in, ip)
			}
		})
	}
}

// outerIPIP returns a frame carrying ip in an IPIP / IPv6-in-IP packet from the appliance to
// the real server of family outer, built with packettest (independently of Forward).
func outerIPIP(outer ends, ip []byte, vlan uint16) []byte {
	proto := uint8(4)
	if ip[0]>>4 == 6 {
		proto = 41
	}
	return ethFrame(packettest.IP(outer.lbSrc, outer.rs, proto, 64, ip), vlan, 0)
}

// outerGUE returns a frame carrying the GUE payload pl (GUE header first) over UDP to port.
func outerGUE(outer ends, port uint16, pl []byte, noCsum bool) []byte {
	return packettest.Frame{SrcMAC: macC, DstMAC: macD, Src: netip.AddrPortFrom(outer.lbSrc, 50000),
		Dst: netip.AddrPortFrom(outer.rs, port), Proto: packet.ProtoUDP, Payload: pl,
		ZeroUDPChecksum: noCsum}.Build()
}

func cat(bs ...[]byte) []byte {
	var r []byte
	for _, b := range bs {
		r = append(r, b...)
	}
	return r
}

// TestDecapAccepts: what other encapsulators send, built independently of Forward.
func TestDecapAccepts(t *testing.T) {
	d := NewDecapsulator(testConfig())
	ip4 := innerIP(fams[0], kindTCP, payload, 0, 1, true)
	ip6 := innerIP(fams[1], kindUDP, payload, 0, 0, true)
	ext := []byte{0x02, 41, 0, 0, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4} // Hlen 2: 8 bytes of fields
	for _, c := range []struct {
		name  string
		frame []byte
		ip    []byte
	}{
		{"ipip v4 in v4", outerIPIP(fams[0], ip4, 0), ip4},
		{"ipip v6 in v4, tagged", outerIPIP(fams[0], ip6, 7), ip6},
		{"ipip v4 in v6", outerIPIP(fams[1], ip4, 0), ip4},
		{"ipip with trailing bytes", outerIPIP(fams[0], append(bytes.Clone(ip4), 1, 2, 3), 0), ip4},
		{"gue variant 0 with optional fields", outerGUE(fams[0], guePort, cat(ext, ip6), false), ip6},
		{"gue variant 1 ipv4", outerGUE(fams[0], guePort, ip4, false), ip4},
		{"gue variant 1 ipv6 over ipv6", outerGUE(fams[1], guePort, ip6, false), ip6},
		{"gue without checksum over ipv4", outerGUE(fams[0], guePort, cat([]byte{0, 4, 0, 0}, ip4), true), ip4},
		{"gue without checksum over ipv6 (RFC 6935, IPVS --tun-nocsum)", outerGUE(fams[1], guePort, cat([]byte{0, 4, 0, 0}, ip4), true), ip4},
	} {
		src, dst := [6]byte(c.frame[6:12]), [6]byte(c.frame[0:6])
		got, res := d.Decap(bytes.Clone(c.frame))
		if want := wantDecap(dst, src, c.ip); res != Decapsulated || !bytes.Equal(got, want) {
			t.Errorf("%s: %v\n got %x\nwant %x", c.name, res, got, want)
		}
	}

	// No VIPs configured: any inner destination.
	anyVIP := NewDecapsulator(DecapConfig{Local: []netip.Addr{fams[0].rs}})
	other := innerIP(ends{af: 4, c: fams[0].c, v: netip.MustParseAddrPort("192.0.2.99:1")}, kindTCP, nil, 0, 1, true)
	if _, res := anyVIP.Decap(outerIPIP(fams[0], other, 0)); res != Decapsulated {
		t.Errorf("no VIPs configured: %v", res)
	}
	// Mapped and zoned configuration addresses.
	mapped := NewDecapsulator(DecapConfig{
		Local: []netip.Addr{netip.AddrFrom16(fams[0].rs.As16())},
		VIPs:  []netip.Addr{fams[1].v.Addr().WithZone("eth0")},
	})
	if _, res := mapped.Decap(outerIPIP(fams[0], ip6, 0)); res != Decapsulated {
		t.Errorf("mapped local, zoned VIP: %v", res)
	}
}

// TestDecapECN applies RFC 6040's decapsulation table.
func TestDecapECN(t *testing.T) {
	const notECT, ect1, ect0, ce = 0, 1, 2, 3
	d := NewDecapsulator(testConfig())
	for _, fam := range fams {
		for inner := range 4 {
			for outer := range 4 {
				want := inner // the default: the inner field is kept
				switch {
				case inner == notECT && outer == ce:
					want = -1 // dropped
				case inner == ect0 && outer == ect1:
					want = ect1
				case inner != notECT && outer == ce:
					want = ce
				}
				ip := innerIP(fam, kindTCP, payload, 0xB8|uint8(inner), 5, true)
				f := outerIPIP(fams[0], ip, 0)
				f[15] = 0x20 | uint8(outer) // outer TOS
				binary.BigEndian.PutUint16(f[24:], 0)
				binary.BigEndian.PutUint16(f[24:], packettest.Checksum(f[14:34], 0))
				before := bytes.Clone(f)
				got, res := d.Decap(f)
				if want < 0 {
					if res != Dropped || !bytes.Equal(f, before) {
						t.Errorf("%s inner %d outer %d: %v, want dropped and unchanged", fam.name, inner, outer, res)
					}
					continue
				}
				if res != Decapsulated {
					t.Fatalf("%s inner %d outer %d: %v", fam.name, inner, outer, res)
				}
				wantIP := innerIP(fam, kindTCP, payload, 0xB8|uint8(want), 5, true)
				if !bytes.Equal(got[14:], wantIP) {
					t.Errorf("%s inner %d outer %d: got\n%x\nwant\n%x", fam.name, inner, outer, got[14:], wantIP)
				}
				if !packettest.VerifyChecksums(got) {
					t.Errorf("%s inner %d outer %d: bad checksum", fam.name, inner, outer)
				}
			}
		}
	}
}

// TestDecapNotTunnel: frames that are not tunnels for this host come back as they are.
func TestDecapNotTunnel(t *testing.T) {
	d := NewDecapsulator(testConfig())
	noGUE := NewDecapsulator(DecapConfig{Local: testConfig().Local})
	ip4 := innerIP(fams[0], kindTCP, payload, 0, 1, true)
	other := fams[0]
	other.rs = netip.MustParseAddr("10.0.0.3")
	arp := make([]byte, 14+28)
	copy(arp[12:], []byte{0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1})
	frag := outerGUE(fams[0], guePort, cat([]byte{0, 4, 0, 0}, ip4), false)
	binary.BigEndian.PutUint16(frag[14+6:], 5) // non-first fragment (offset 40): no ports
	binary.BigEndian.PutUint16(frag[14+10:], 0)
	binary.BigEndian.PutUint16(frag[14+10:], packettest.Checksum(frag[14:34], 0))
	for _, c := range []struct {
		name  string
		d     *Decapsulator
		frame []byte
	}{
		{"plain TCP to the server", d, ethFrame(packettest.IP(fams[0].c.Addr(), fams[0].rs, 6, 64, make([]byte, 20)), 0, 0)},
		{"plain TCP to the VIP", d, ethFrame(ip4, 0, 0)},
		{"IPIP to another host", d, outerIPIP(other, ip4, 0)},
		{"UDP to another port", d, outerGUE(fams[0], guePort+1, cat([]byte{0, 4, 0, 0}, ip4), false)},
		{"GUE not configured", noGUE, outerGUE(fams[0], guePort, cat([]byte{0, 4, 0, 0}, ip4), false)},
		{"GUE to another host", d, outerGUE(other, guePort, cat([]byte{0, 4, 0, 0}, ip4), false)},
		{"non-first UDP fragment", d, frag},
		{"ARP", d, arp},
		{"not IP", d, append(append(macB[:], macA[:]...), 0x88, 0xCC, 1, 2, 3)},
		{"runt", d, []byte{1, 2, 3}},
		{"empty", d, nil},
		{"truncated IPv4 header", d, outerIPIP(fams[0], ip4, 0)[:30]},
	} {
		before := bytes.Clone(c.frame)
		got, res := c.d.Decap(c.frame)
		if res != NotTunnel || !bytes.Equal(c.frame, before) || len(got) != len(c.frame) ||
			(len(got) > 0 && &got[0] != &c.frame[0]) {
			t.Errorf("%s: %v, changed %v; want not_tunnel, the same slice unchanged", c.name, res, !bytes.Equal(c.frame, before))
		}
	}
}

// TestDecapDropped: tunnel packets for this host that must not be delivered.
func TestDecapDropped(t *testing.T) {
	d := NewDecapsulator(testConfig())
	ip4 := innerIP(fams[0], kindTCP, payload, 0, 1, true)
	ip6 := innerIP(fams[1], kindTCP, payload, 0, 1, true)
	gue := func(h ...byte) []byte { return outerGUE(fams[0], guePort, cat(h, ip4), false) }
	notVIP := innerIP(ends{af: 4, c: fams[0].c, v: netip.MustParseAddrPort("192.0.2.99:80")}, kindTCP, nil, 0, 1, true)

	mf := outerIPIP(fams[0], ip4, 0)
	binary.BigEndian.PutUint16(mf[14+6:], 0x2000) // more fragments
	binary.BigEndian.PutUint16(mf[14+10:], 0)
	binary.BigEndian.PutUint16(mf[14+10:], packettest.Checksum(mf[14:34], 0))
	later := bytes.Clone(mf)
	binary.BigEndian.PutUint16(later[14+6:], 0x0010) // a later fragment
	binary.BigEndian.PutUint16(later[14+10:], 0)
	binary.BigEndian.PutUint16(later[14+10:], packettest.Checksum(later[14:34], 0))

	// IPv6 outer with a fragment header (first fragment, M set) in front of the inner packet.
	fh := []byte{4, 0, 0, 1, 0, 0, 0, 9}
	v6frag := ethFrame(packettest.IP(fams[1].lbSrc, fams[1].rs, 44, 64, cat(fh, ip4)), 0, 0)

	badIPCsum := outerIPIP(fams[0], ip4, 0)
	badIPCsum[14+10] ^= 0xFF
	badUDP := gue(0, 4, 0, 0)
	badUDP[len(badUDP)-1] ^= 0x01
	zeroUDP6 := outerGUE(fams[1], guePort, cat([]byte{0, 4, 0, 0}, ip4), false)
	zeroUDP6[14+40+6], zeroUDP6[14+40+7] = 0, 0

	truncInner := bytes.Clone(ip4)
	binary.BigEndian.PutUint16(truncInner[2:], uint16(len(ip4)+1))
	binary.BigEndian.PutUint16(truncInner[10:], 0)
	binary.BigEndian.PutUint16(truncInner[10:], packettest.Checksum(truncInner[:20], 0))

	for _, c := range []struct {
		name  string
		frame []byte
	}{
		{"inner destination not a VIP", outerIPIP(fams[0], notVIP, 0)},
		{"IPv4 first fragment", mf},
		{"IPv4 later fragment", later},
		{"IPv6 fragment", v6frag},
		{"bad outer header checksum", badIPCsum},
		{"bad UDP checksum", badUDP},
		{"inner longer than the payload", outerIPIP(fams[0], truncInner, 0)},
		{"IPIP with an IPv6 inside", ethFrame(packettest.IP(fams[0].lbSrc, fams[0].rs, 4, 64, ip6), 0, 0)},
		{"IPIP with a runt inside", ethFrame(packettest.IP(fams[0].lbSrc, fams[0].rs, 41, 64, ip6[:39]), 0, 0)},
		{"GUE control message", gue(0x20, 4, 0, 0)},
		{"GUE version 2", gue(0x80, 4, 0, 0)},
		{"GUE version 3", gue(0xC0, 4, 0, 0)},
		{"GUE variant 1 nibble 5", gue(0x50)},
		{"GUE protocol TCP", gue(0, 6, 0, 0)},
		{"GUE optional fields past the end", outerGUE(fams[0], guePort, []byte{0x1F, 4, 0, 0}, false)},
		{"GUE header cut short", outerGUE(fams[0], guePort, []byte{0, 4}, false)},
		{"GUE empty", outerGUE(fams[0], guePort, nil, false)},
		{"GUE inner not a VIP", outerGUE(fams[0], guePort, cat([]byte{0, 4, 0, 0}, notVIP), false)},
		{"GUE inner of the wrong version", outerGUE(fams[0], guePort, cat([]byte{0, 41, 0, 0}, ip4), false)},
	} {
		before := bytes.Clone(c.frame)
		got, res := d.Decap(c.frame)
		if res != Dropped || !bytes.Equal(c.frame, before) || len(got) != len(c.frame) {
			t.Errorf("%s: %v, changed %v; want dropped, unchanged", c.name, res, !bytes.Equal(c.frame, before))
		}
	}
}

// TestInner: the errors Inner gives for payloads a socket delivers.
func TestInner(t *testing.T) {
	d := NewDecapsulator(testConfig())
	ip4 := innerIP(fams[0], kindTCP, payload, 0, 1, true)
	ip6 := innerIP(fams[1], kindUDP, payload, 0, 1, true)
	notVIP := innerIP(ends{af: 6, c: fams[1].c, v: netip.MustParseAddrPort("[2001:db8:f::99]:80")}, kindTCP, nil, 0, 1, true)
	for _, c := range []struct {
		name    string
		payload []byte
		proto   uint8
		want    []byte
		err     error
	}{
		{"ipip", ip4, 4, ip4, nil},
		{"ipv6 in ip", ip6, 41, ip6, nil},
		{"trailing bytes", append(bytes.Clone(ip6), 0, 0), 41, ip6, nil},
		{"gue v0", cat([]byte{0, 41, 0, 0}, ip6), 17, ip6, nil},
		{"gue v0 hlen 1", cat([]byte{1, 4, 0x80, 0, 1, 2, 3, 4}, ip4), 17, ip4, nil},
		{"gue v1", ip6, 17, ip6, nil},
		{"proto TCP", ip4, 6, nil, ErrProtocol},
		{"ipip version mismatch", ip6, 4, nil, ErrMalformed},
		{"ipv6 in ip version mismatch", ip4, 41, nil, ErrMalformed},
		{"ipv4 runt", ip4[:19], 4, nil, ErrMalformed},
		{"ipv4 truncated", ip4[:len(ip4)-1], 4, nil, ErrMalformed},
		{"ipv6 truncated", ip6[:len(ip6)-1], 41, nil, ErrMalformed},
		{"ipv4 IHL 4", append([]byte{0x44}, ip4[1:]...), 4, nil, ErrMalformed},
		{"empty", nil, 17, nil, ErrMalformed},
		{"gue control", cat([]byte{0x20, 4, 0, 0}, ip4), 17, nil, ErrGUEControl},
		{"gue version 2", cat([]byte{0x80, 4, 0, 0}, ip4), 17, nil, ErrGUEVersion},
		{"gue v1 nibble 7", []byte{0x70, 0, 0, 0}, 17, nil, ErrGUEVersion},
		{"gue protocol 0", cat([]byte{0, 0, 0, 0}, ip4), 17, nil, ErrProtocol},
		{"gue short", []byte{0, 4, 0}, 17, nil, ErrMalformed},
		{"gue hlen past end", []byte{3, 4, 0, 0, 0}, 17, nil, ErrMalformed},
		{"not a VIP", notVIP, 41, nil, ErrNotVIP},
	} {
		got, err := d.Inner(c.payload, c.proto)
		if !errors.Is(err, c.err) || !bytes.Equal(got, c.want) || !within(got, c.payload) {
			t.Errorf("%s: %x, %v; want %x, %v", c.name, got, err, c.want, c.err)
		}
	}
}

// TestDecapNoAllocs: Decap and Inner on the receive path allocate nothing.
func TestDecapNoAllocs(t *testing.T) {
	d := NewDecapsulator(testConfig())
	for _, c := range cases() {
		ip := innerIP(c.inner, c.kind, payload, 0, 1, true)
		v := c.verdict()
		_, out, _, _, r := encap(t, ethFrame(ip, c.vlan, 0), &v)
		if r != lb.DropNone {
			t.Fatal(r)
		}
		orig := bytes.Clone(out)
		hdr := 14 + map[packet.Family]int{4: 20, 6: 40}[c.outer.af]
		proto := c.inner.tunnelIPIP
		if c.tt.typ == lb.TunnelGUE {
			hdr += 8
			proto = packet.ProtoUDP
		}
		if a := testing.AllocsPerRun(100, func() {
			copy(out, orig)
			if _, res := d.Decap(out); res != Decapsulated {
				t.Fatal(res)
			}
			if _, err := d.Inner(orig[hdr:], proto); err != nil {
				t.Fatal(err)
			}
		}); a != 0 {
			t.Errorf("%s: %v allocations per packet", c.name, a)
		}
	}
	// Refusals allocate nothing either.
	notVIP := NewDecapsulator(DecapConfig{Local: testConfig().Local, VIPs: []netip.Addr{netip.MustParseAddr("192.0.2.1")}})
	f := outerIPIP(fams[0], innerIP(fams[0], kindTCP, payload, 0, 1, true), 0)
	if a := testing.AllocsPerRun(100, func() {
		if _, res := notVIP.Decap(f); res != Dropped {
			t.Fatal(res)
		}
		if _, err := notVIP.Inner(f[34:], 4); err != ErrNotVIP {
			t.Fatal(err)
		}
	}); a != 0 {
		t.Errorf("refusals: %v allocations", a)
	}
}

func TestResultString(t *testing.T) {
	for r, want := range map[Result]string{NotTunnel: "not_tunnel", Decapsulated: "decapsulated", Dropped: "dropped", 9: "unknown"} {
		if r.String() != want {
			t.Errorf("%d: %q, want %q", r, r.String(), want)
		}
	}
}

// TestConfigCopied: the Decapsulator does not see later changes to its configuration.
func TestConfigCopied(t *testing.T) {
	cfg := testConfig()
	d := NewDecapsulator(cfg)
	cfg.Local[0] = netip.MustParseAddr("10.9.9.9")
	cfg.GUEPorts[0] = 1
	cfg.VIPs[0] = netip.MustParseAddr("10.9.9.9")
	ip4 := innerIP(fams[0], kindTCP, payload, 0, 1, true)
	if _, res := d.Decap(outerGUE(fams[0], guePort, cat([]byte{0, 4, 0, 0}, ip4), false)); res != Decapsulated {
		t.Errorf("configuration not copied: %v", res)
	}
}
