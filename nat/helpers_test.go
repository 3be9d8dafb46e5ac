package nat

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

// family holds the endpoints of one test connection: client, virtual service, real server,
// full-NAT local endpoint, and a router on each side for ICMP errors.
type family struct {
	name            string
	af              packet.Family
	c, v, d, l      netip.AddrPort
	outside, inside netip.Addr // a router on the client's side, one on the servers' side
	ttlOff          int        // offset of the TTL / hop limit in an untagged frame
}

var families = []family{
	{
		name: "v4",
		c:    netip.MustParseAddrPort("198.51.100.7:40000"),
		v:    netip.MustParseAddrPort("192.0.2.10:80"),
		d:    netip.MustParseAddrPort("10.0.0.2:8080"),
		l:    netip.MustParseAddrPort("10.0.0.254:61000"),

		outside: netip.MustParseAddr("203.0.113.1"), inside: netip.MustParseAddr("10.0.0.1"),
		af: packet.FamilyIPv4, ttlOff: 14 + 8,
	},
	{
		name: "v6",
		c:    netip.MustParseAddrPort("[2001:db8:c::7]:40000"),
		v:    netip.MustParseAddrPort("[2001:db8:f::10]:80"),
		d:    netip.MustParseAddrPort("[fd00::2]:8080"),
		l:    netip.MustParseAddrPort("[fd00::fe]:61000"),

		outside: netip.MustParseAddr("2001:db8:ffff::1"), inside: netip.MustParseAddr("fd00::1"),
		af: packet.FamilyIPv6, ttlOff: 14 + 7,
	},
}

var (
	macA = [6]byte{0x02, 0, 0, 0, 0, 0xa}
	macB = [6]byte{0x02, 0, 0, 0, 0, 0xb}
)

var methods = []struct {
	name string
	m    lb.Method
}{{"nat", lb.MethodNAT}, {"fullnat", lb.MethodFullNAT}}

var dirs = []struct {
	name string
	d    lb.Dir
}{{"in", lb.DirIn}, {"out", lb.DirOut}}

var protos = []struct {
	name string
	p    uint8
}{{"tcp", packet.ProtoTCP}, {"udp", packet.ProtoUDP}}

// verdict returns the forward verdict of the connection between fam's endpoints.
func verdict(fam family, m lb.Method, dir lb.Dir, proto uint8, icmpErr bool) lb.Verdict {
	c := conntab.Conn{
		Family: fam.af, Proto: proto, Method: uint8(m),
		CPort: fam.c.Port(), VPort: fam.v.Port(), DPort: fam.d.Port(),
	}
	packet.AddrTo(fam.c.Addr(), &c.CAddr)
	packet.AddrTo(fam.v.Addr(), &c.VAddr)
	packet.AddrTo(fam.d.Addr(), &c.DAddr)
	if m == lb.MethodFullNAT {
		c.Flags |= conntab.FlagFullNAT
		c.LPort = fam.l.Port()
		packet.AddrTo(fam.l.Addr(), &c.LAddr)
	}
	return lb.Verdict{Action: lb.ActForward, Method: m, Dir: dir, ICMPError: icmpErr, Conn: c}
}

// flow returns the source and destination of a packet of the connection as the appliance
// receives it (before) and as it must send it on (after).
func flow(fam family, m lb.Method, dir lb.Dir) (src, dst, wantSrc, wantDst netip.AddrPort) {
	full := m == lb.MethodFullNAT
	if dir == lb.DirIn {
		if full {
			return fam.c, fam.v, fam.l, fam.d
		}
		return fam.c, fam.v, fam.c, fam.d
	}
	if full {
		return fam.d, fam.l, fam.v, fam.c
	}
	return fam.d, fam.c, fam.v, fam.c
}

// frame builds a data packet between src and dst.
func frame(proto uint8, src, dst netip.AddrPort, ttl uint8) []byte {
	return packettest.Frame{
		SrcMAC: macA, DstMAC: macB, Src: src, Dst: dst, Proto: proto,
		TCPFlags: packet.TCPAck | packet.TCPPsh, Seq: 1000, Ack: 2000, TTL: ttl,
		Payload: []byte("GET / HTTP/1.1\r\nHost: uvs\r\n\r\n"),
	}.Build()
}

// withTTL returns f, an untagged frame, with its TTL or hop limit set to ttl and, for IPv4,
// its header checksum recomputed in full (packettest's, independent of package packet).
func withTTL(fam family, f []byte, ttl uint8) []byte {
	f = bytes.Clone(f)
	f[fam.ttlOff] = ttl
	if fam.af == packet.FamilyIPv4 {
		binary.BigEndian.PutUint16(f[14+10:], 0)
		binary.BigEndian.PutUint16(f[14+10:], packettest.Checksum(f[14:34], 0))
	}
	return f
}

// forward parses a copy of in and forwards it with v, returning the result and the packet.
func forward(t *testing.T, in []byte, v *lb.Verdict) ([]byte, *packet.Packet, lb.DropReason) {
	t.Helper()
	out := bytes.Clone(in)
	p := new(packet.Packet)
	if err := packet.Parse(out, p); err != nil {
		t.Fatalf("parse input: %v", err)
	}
	off, n, r := New().Forward(out, 0, p, v)
	if off != 0 || n != len(in) {
		t.Fatalf("Forward moved the frame: off %d len %d, want 0 %d", off, n, len(in))
	}
	return out, p, r
}

// checkFrame asserts that got equals want byte for byte, that its checksums verify both
// ways (packettest's full recomputation and packet's), and that p still describes it.
func checkFrame(t *testing.T, got, want []byte, p *packet.Packet) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Fatalf("frame differs\n got %x\nwant %x", got, want)
	}
	if !packettest.VerifyChecksums(got) {
		t.Error("packettest.VerifyChecksums: bad checksum")
	}
	var q packet.Packet
	if err := packet.Parse(got, &q); err != nil {
		t.Fatalf("result does not parse: %v", err)
	}
	if !packet.ChecksumsValid(got, &q) {
		t.Error("packet.ChecksumsValid: bad checksum")
	}
	if q != *p {
		t.Errorf("Packet not kept up to date\n got %+v\nwant %+v", *p, q)
	}
}
