package nat

import (
	"net/netip"
	"testing"

	"github.com/uvs-lb/uvs/lb"
	"github.com/uvs-lb/uvs/packet"
	"github.com/uvs-lb/uvs/packet/packettest"
)

// icmpCase is one ICMP error about a connection: as it reaches the appliance and as it must
// leave, each built whole by packettest.
type icmpCase struct {
	name    string
	dir     lb.Dir
	in      []byte
	want    []byte
	wantOut [2]netip.Addr     // outer source, destination after translation
	wantIn  [2]netip.AddrPort // quoted source, destination after translation
}

// icmpCases returns the errors of every kind the forwarder translates, for one connection.
//
// Out (towards the client): an error about a packet the client sent, from the real server or
// a router behind it. It quotes that packet as the server side saw it (client → server, or
// local endpoint → server for full-NAT), and leaves from the VIP quoting client → VIP.
//
// In (towards the servers): an error about a reply, from the client or a router on its side,
// sent to the VIP. It quotes the reply as the client side saw it (VIP → client) and goes to
// the real server quoting server → client (server → local endpoint for full-NAT), from the
// local address for full-NAT.
func icmpCases(fam family, m lb.Method, proto uint8) []icmpCase {
	full := m == lb.MethodFullNAT
	typOut, codeOut, typIn, codeIn := uint8(3), uint8(4), uint8(3), uint8(3) // frag needed; port unreachable
	if fam.af == packet.FamilyIPv6 {
		typOut, codeOut, typIn, codeIn = 2, 0, 1, 4 // packet too big; port unreachable
	}
	// The quoted packet crossed one router (the appliance) on its way.
	q := func(src, dst netip.AddrPort) []byte { return frame(proto, src, dst, 63) }
	icmp := func(from, to netip.Addr, typ, code uint8, quoted []byte) []byte {
		return packettest.ICMPError(macA, macB, from, to, typ, code, quoted)
	}
	var cs []icmpCase

	inner := fam.c // the client endpoint as the servers see it
	if full {
		inner = fam.l
	}
	for _, from := range []struct {
		name string
		a    netip.Addr
	}{{"from real server", fam.d.Addr()}, {"from inside router", fam.inside}} {
		cs = append(cs, icmpCase{
			name: "out " + from.name, dir: lb.DirOut,
			in:      icmp(from.a, inner.Addr(), typOut, codeOut, q(inner, fam.d)),
			want:    withTTL(fam, icmp(fam.v.Addr(), fam.c.Addr(), typOut, codeOut, q(fam.c, fam.v)), 63),
			wantOut: [2]netip.Addr{fam.v.Addr(), fam.c.Addr()},
			wantIn:  [2]netip.AddrPort{fam.c, fam.v},
		})
	}

	for _, from := range []struct {
		name string
		a    netip.Addr
	}{{"from client", fam.c.Addr()}, {"from outside router", fam.outside}} {
		src := from.a // NAT: the real server routes back through the appliance anyway
		if full {
			src = fam.l.Addr() // the real server may have no route to the sender
		}
		cs = append(cs, icmpCase{
			name: "in " + from.name, dir: lb.DirIn,
			in:      icmp(from.a, fam.v.Addr(), typIn, codeIn, q(fam.v, fam.c)),
			want:    withTTL(fam, icmp(src, fam.d.Addr(), typIn, codeIn, q(fam.d, inner)), 63),
			wantOut: [2]netip.Addr{src, fam.d.Addr()},
			wantIn:  [2]netip.AddrPort{fam.d, inner},
		})
	}
	return cs
}

// TestICMPError translates errors both ways for every family, method and quoted protocol,
// and checks the result against packettest's build (outer and quoted headers, the quoted
// checksums and the error's own), then the addresses and checksums one by one.
func TestICMPError(t *testing.T) {
	for _, fam := range families {
		for _, m := range methods {
			for _, pr := range protos {
				for _, c := range icmpCases(fam, m.m, pr.p) {
					t.Run(fam.name+"/"+m.name+"/"+pr.name+"/"+c.name, func(t *testing.T) {
						v := verdict(fam, m.m, c.dir, pr.p, true)
						got, p, r := forward(t, c.in, &v)
						if r != lb.DropNone {
							t.Fatalf("dropped: %v", r)
						}
						checkFrame(t, got, c.want, p)
						checkICMP(t, fam, got, c)
					})
				}
			}
		}
	}
}

// checkICMP checks the translated error field by field, so a failure says which one.
func checkICMP(t *testing.T, fam family, f []byte, c icmpCase) {
	t.Helper()
	var p packet.Packet
	if err := packet.Parse(f, &p); err != nil || !p.Has(packet.FlagICMPError) {
		t.Fatalf("not an ICMP error after translation: %v", err)
	}
	if s, d := p.Key.SrcAddr(), p.Key.DstAddr(); s != c.wantOut[0] || d != c.wantOut[1] {
		t.Errorf("outer %v → %v, want %v → %v", s, d, c.wantOut[0], c.wantOut[1])
	}
	k := &p.Inner.Key
	s := netip.AddrPortFrom(k.SrcAddr(), k.SrcPort)
	d := netip.AddrPortFrom(k.DstAddr(), k.DstPort)
	if s != c.wantIn[0] || d != c.wantIn[1] {
		t.Errorf("quoted %v → %v, want %v → %v", s, d, c.wantIn[0], c.wantIn[1])
	}
	if !packet.ChecksumsValid(f, &p) {
		t.Error("ICMP checksum wrong")
	}
	quote := f[p.Inner.L3Off:p.L3End()]
	if fam.af == packet.FamilyIPv4 && packettest.Checksum(quote[:20], 0) != 0 {
		t.Error("quoted IPv4 header checksum wrong")
	}
	if fam.af == packet.FamilyIPv6 {
		// ICMPv6 quotes the whole packet here, so its L4 checksum can be verified too.
		if !packettest.VerifyChecksums(append(f[:14:14], quote...)) {
			t.Error("quoted L4 checksum wrong")
		}
	}
}

// TestICMPErrorTTL: an error is forwarded like any packet, TTL included.
func TestICMPErrorTTL(t *testing.T) {
	for _, fam := range families {
		c := icmpCases(fam, lb.MethodNAT, packet.ProtoUDP)[0]
		in := withTTL(fam, c.in, 1)
		v := verdict(fam, lb.MethodNAT, c.dir, packet.ProtoUDP, true)
		got, _, r := forward(t, in, &v)
		if r != dropTTLExceeded || string(got) != string(in) {
			t.Errorf("%s: reason %v, want TTL exceeded and no change", fam.name, r)
		}
	}
}
