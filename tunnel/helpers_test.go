package tunnel

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/uvs-lb/uvs/lb"
	"github.com/uvs-lb/uvs/lb/conntab"
	"github.com/uvs-lb/uvs/packet"
	"github.com/uvs-lb/uvs/packet/packettest"
)

// ends holds the endpoints of one address family: a client, the virtual service, a router on
// the client's side (it sends ICMP errors), the appliance's tunnel source and a real server.
type ends struct {
	name       string
	af         packet.Family
	c, v       netip.AddrPort
	router     netip.Addr
	lbSrc, rs  netip.Addr
	etherType  uint16
	tunnelIPIP uint8 // the IPIP protocol number of a packet of this family
}

var fams = []ends{
	{
		name: "v4", af: packet.FamilyIPv4,
		c:      netip.MustParseAddrPort("198.51.100.7:40000"),
		v:      netip.MustParseAddrPort("192.0.2.10:80"),
		router: netip.MustParseAddr("203.0.113.1"),
		lbSrc:  netip.MustParseAddr("10.0.0.254"), rs: netip.MustParseAddr("10.0.0.2"),
		etherType: 0x0800, tunnelIPIP: 4,
	},
	{
		name: "v6", af: packet.FamilyIPv6,
		c:      netip.MustParseAddrPort("[2001:db8:c::7]:40000"),
		v:      netip.MustParseAddrPort("[2001:db8:f::10]:80"),
		router: netip.MustParseAddr("2001:db8:ffff::1"),
		lbSrc:  netip.MustParseAddr("fd00::fe"), rs: netip.MustParseAddr("fd00::2"),
		etherType: 0x86DD, tunnelIPIP: 41,
	},
}

const guePort = 6080

var (
	macA = [6]byte{0x02, 0, 0, 0, 0, 0xa}
	macB = [6]byte{0x02, 0, 0, 0, 0, 0xb}
)

// tunType is a tunnel configuration under test.
type tunType struct {
	name string
	typ  lb.TunnelType
	csum bool
}

var tunTypes = []tunType{
	{"ipip", lb.TunnelIPIP, false},
	{"gue-csum", lb.TunnelGUE, true},
	{"gue-nocsum", lb.TunnelGUE, false},
}

// kinds of inner packet.
const (
	kindTCP = iota
	kindUDP
	kindICMPError
)

var kinds = []string{"tcp", "udp", "icmp-error"}

// tunnelEnds returns the tunnel from the appliance to the real server of family outer.
func tunnelEnds(outer ends, tt tunType) *lb.TunnelEnds {
	e := &lb.TunnelEnds{Type: tt.typ, Port: guePort, Csum: tt.csum}
	e.Family = packet.AddrTo(outer.lbSrc, &e.Src)
	packet.AddrTo(outer.rs, &e.Dst)
	return e
}

// verdict returns the TUN verdict of a connection of family inner to a real server of family
// outer.
func verdict(inner, outer ends, tt tunType, proto uint8, icmpErr bool) lb.Verdict {
	c := conntab.Conn{
		Family: inner.af, Proto: proto, Method: uint8(lb.MethodTUN),
		CPort: inner.c.Port(), VPort: inner.v.Port(), DPort: inner.v.Port(),
	}
	packet.AddrTo(inner.c.Addr(), &c.CAddr)
	packet.AddrTo(inner.v.Addr(), &c.VAddr)
	packet.AddrTo(outer.rs, &c.DAddr)
	return lb.Verdict{Action: lb.ActForward, Method: lb.MethodTUN, Dir: lb.DirIn, ICMPError: icmpErr,
		Conn: c, Tunnel: tunnelEnds(outer, tt)}
}

// innerIP returns an IP packet of family fam as a client sends it to the VIP (or, for an ICMP
// error, as a router on the client's side sends it about a reply of the connection), with
// the DSCP/ECN byte tos and, for IPv4, ID id and the DF flag df. Checksums are packettest's.
func innerIP(fam ends, kind int, payload []byte, tos uint8, id uint16, df bool) []byte {
	var f []byte
	switch kind {
	case kindTCP, kindUDP:
		proto := uint8(packet.ProtoTCP)
		if kind == kindUDP {
			proto = packet.ProtoUDP
		}
		f = packettest.Frame{SrcMAC: macA, DstMAC: macB, Src: fam.c, Dst: fam.v, Proto: proto,
			TCPFlags: packet.TCPAck | packet.TCPPsh, Seq: 1000, Ack: 2000, TTL: 57, Payload: payload}.Build()
	case kindICMPError:
		reply := packettest.Frame{SrcMAC: macB, DstMAC: macA, Src: fam.v, Dst: fam.c,
			Proto: packet.ProtoTCP, TCPFlags: packet.TCPAck, Payload: payload}.Build()
		typ, code := uint8(3), uint8(1) // host unreachable
		if fam.af == packet.FamilyIPv6 {
			typ, code = 1, 3 // address unreachable
		}
		f = packettest.ICMPError(macA, macB, fam.router, fam.v.Addr(), typ, code, reply)
	}
	ip := f[14:]
	if fam.af == packet.FamilyIPv4 {
		ip[1] = tos
		binary.BigEndian.PutUint16(ip[4:], id)
		if df {
			ip[6] |= 0x40
		} else {
			ip[6] &^= 0x40
		}
		binary.BigEndian.PutUint16(ip[10:], 0)
		binary.BigEndian.PutUint16(ip[10:], packettest.Checksum(ip[:20], 0))
	} else {
		binary.BigEndian.PutUint32(ip[0:], 6<<28|uint32(tos)<<20|0xABCDE)
	}
	return ip
}

// ethFrame puts an Ethernet header (tagged with vlan when nonzero) in front of an IP packet,
// and pad bytes of padding after it.
func ethFrame(ip []byte, vlan uint16, pad int) []byte {
	et := uint16(0x86DD)
	if ip[0]>>4 == 4 {
		et = 0x0800
	}
	b := append([]byte{}, macB[:]...)
	b = append(b, macA[:]...)
	if vlan != 0 {
		b = binary.BigEndian.AppendUint16(b, 0x8100)
		b = binary.BigEndian.AppendUint16(b, vlan)
	}
	b = binary.BigEndian.AppendUint16(b, et)
	b = append(b, ip...)
	return append(b, make([]byte, pad)...)
}

// headroom is what the port loops leave in front of a frame.
const headroom = 64

// encap forwards a copy of frame placed after headroom bytes in a buffer and returns the
// buffer, the new frame in it, its offset, the Packet and the reason.
func encap(t testing.TB, frame []byte, v *lb.Verdict) (buf, out []byte, off int, p *packet.Packet, r lb.DropReason) {
	t.Helper()
	buf = append(make([]byte, headroom), frame...)
	p = new(packet.Packet)
	if err := packet.Parse(buf[headroom:], p); err != nil {
		t.Fatalf("parse input: %v", err)
	}
	off, n, r := New().Forward(buf, headroom, p, v)
	return buf, buf[off : off+n], off, p, r
}

// pseudoSum is the one's complement sum of the TCP/UDP pseudo-header, in packettest.Checksum's
// initial form; written here so the test does not rely on package packet's checksum code.
func pseudoSum(src, dst []byte, proto uint8, n int) uint32 {
	var s uint32
	for i := 0; i+1 < len(src); i += 2 {
		s += uint32(binary.BigEndian.Uint16(src[i:])) + uint32(binary.BigEndian.Uint16(dst[i:]))
	}
	return s + uint32(proto) + uint32(n)
}

// checkOuter verifies an encapsulated frame against the inner packet ip it must carry and
// the verdict, reading every field with encoding/binary and summing with packettest. It
// returns the outer flow hash bits that vary per flow: the IPv6 flow label (0 for IPv4) and
// the GUE source port (0 for IPIP).
func checkOuter(t *testing.T, out, ip []byte, v *lb.Verdict, p *packet.Packet) (label uint32, sport uint16) {
	t.Helper()
	tun := v.Tunnel
	inner4 := ip[0]>>4 == 4
	innerProto := uint8(41)
	if inner4 {
		innerProto = 4
	}
	gue := tun.Type == lb.TunnelGUE

	// Packet: what packet.Parse (and ParseGUE) make of the result.
	var q packet.Packet
	if err := packet.Parse(out, &q); err != nil {
		t.Fatalf("result does not parse: %v\n%x", err, out)
	}
	if gue && !packet.ParseGUE(out, &q, tun.Port) {
		t.Fatalf("result is not GUE: %+v", q)
	}
	if !q.Has(packet.FlagTunnel) {
		t.Fatalf("result is no tunnel: %+v", q)
	}
	if q != *p {
		t.Errorf("Packet not describing the result\n got %+v\nwant %+v", *p, q)
	}

	// Ethernet.
	et := binary.BigEndian.Uint16(out[12:])
	hdr := 20
	if tun.Family == packet.FamilyIPv6 {
		hdr = 40
	}
	ipHdr := hdr
	if gue {
		hdr += 12
	}
	if want := map[packet.Family]uint16{4: 0x0800, 6: 0x86DD}[tun.Family]; et != want {
		t.Fatalf("EtherType %#x, want %#x", et, want)
	}
	if len(out) != 14+hdr+len(ip) {
		t.Fatalf("length %d, want %d", len(out), 14+hdr+len(ip))
	}
	if !bytes.Equal(out[14+hdr:], ip) {
		t.Fatalf("inner packet changed\n got %x\nwant %x", out[14+hdr:], ip)
	}

	// What the outer header copies from the inner one.
	var tos, ttl uint8
	var id uint16
	df := true
	if inner4 {
		tos, ttl, id, df = ip[1], ip[8], binary.BigEndian.Uint16(ip[4:]), ip[6]&0x40 != 0
	} else {
		tos, ttl = uint8(binary.BigEndian.Uint16(ip[0:])>>4), ip[7]
	}
	proto := innerProto
	if gue {
		proto = 17
	}
	o := out[14 : 14+ipHdr]
	var src, dst []byte
	if tun.Family == packet.FamilyIPv4 {
		src, dst = o[12:16], o[16:20]
		switch {
		case o[0] != 0x45:
			t.Errorf("version/IHL %#x", o[0])
		case o[1] != tos:
			t.Errorf("TOS %#x, want %#x", o[1], tos)
		case int(binary.BigEndian.Uint16(o[2:])) != hdr+len(ip):
			t.Errorf("total length %d, want %d", binary.BigEndian.Uint16(o[2:]), hdr+len(ip))
		case binary.BigEndian.Uint16(o[4:]) != id:
			t.Errorf("ID %#x, want %#x", binary.BigEndian.Uint16(o[4:]), id)
		case binary.BigEndian.Uint16(o[6:]) != map[bool]uint16{true: 0x4000, false: 0}[df]:
			t.Errorf("flags/offset %#x, want DF %v", binary.BigEndian.Uint16(o[6:]), df)
		case o[8] != ttl:
			t.Errorf("TTL %d, want %d", o[8], ttl)
		case o[9] != proto:
			t.Errorf("protocol %d, want %d", o[9], proto)
		case !bytes.Equal(src, tun.Src[:4]) || !bytes.Equal(dst, tun.Dst[:4]):
			t.Errorf("addresses %x → %x", src, dst)
		case packettest.Checksum(o, 0) != 0:
			t.Errorf("bad IPv4 header checksum")
		}
	} else {
		src, dst = o[8:24], o[24:40]
		w := binary.BigEndian.Uint32(o)
		label = w & 0xFFFFF
		switch {
		case w>>28 != 6:
			t.Errorf("version %d", w>>28)
		case uint8(w>>20) != tos:
			t.Errorf("traffic class %#x, want %#x", uint8(w>>20), tos)
		case label == 0:
			t.Errorf("no flow label")
		case int(binary.BigEndian.Uint16(o[4:])) != hdr-40+len(ip):
			t.Errorf("payload length %d, want %d", binary.BigEndian.Uint16(o[4:]), hdr-40+len(ip))
		case o[6] != proto:
			t.Errorf("next header %d, want %d", o[6], proto)
		case o[7] != ttl:
			t.Errorf("hop limit %d, want %d", o[7], ttl)
		case !bytes.Equal(src, tun.Src[:]) || !bytes.Equal(dst, tun.Dst[:]):
			t.Errorf("addresses %x → %x", src, dst)
		}
	}
	if !gue {
		return label, 0
	}
	seg := out[14+ipHdr:]
	sport = binary.BigEndian.Uint16(seg[0:])
	ck := binary.BigEndian.Uint16(seg[6:])
	switch {
	case sport < 49152:
		t.Errorf("GUE source port %d", sport)
	case binary.BigEndian.Uint16(seg[2:]) != tun.Port:
		t.Errorf("GUE port %d, want %d", binary.BigEndian.Uint16(seg[2:]), tun.Port)
	case int(binary.BigEndian.Uint16(seg[4:])) != len(seg):
		t.Errorf("UDP length %d, want %d", binary.BigEndian.Uint16(seg[4:]), len(seg))
	case !bytes.Equal(seg[8:12], []byte{0, innerProto, 0, 0}):
		t.Errorf("GUE header %x", seg[8:12])
	}
	if tun.Family == packet.FamilyIPv4 && !tun.Csum {
		if ck != 0 {
			t.Errorf("UDP checksum %#x, want none", ck)
		}
	} else if ck == 0 || packettest.Checksum(seg, pseudoSum(src, dst, 17, len(seg))) != 0 {
		t.Errorf("bad UDP checksum %#x", ck)
	}
	return label, sport
}
