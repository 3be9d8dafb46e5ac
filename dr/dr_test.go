package dr

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/uvs-lb/uvs/lb"
	"github.com/uvs-lb/uvs/lb/conntab"
	"github.com/uvs-lb/uvs/packet"
	"github.com/uvs-lb/uvs/packet/packettest"
)

var (
	macA = [6]byte{0x02, 0, 0, 0, 0, 0xa}
	macB = [6]byte{0x02, 0, 0, 0, 0, 0xb}
)

type conn struct {
	name    string
	c, v, d netip.AddrPort
	router  netip.Addr // on the reply path, sends ICMP errors to the VIP
}

var conns = []conn{
	{"v4", netip.MustParseAddrPort("198.51.100.7:40000"), netip.MustParseAddrPort("192.0.2.10:80"),
		netip.MustParseAddrPort("192.0.2.21:80"), netip.MustParseAddr("203.0.113.1")},
	{"v6", netip.MustParseAddrPort("[2001:db8:c::7]:40000"), netip.MustParseAddrPort("[2001:db8:f::10]:80"),
		netip.MustParseAddrPort("[2001:db8:f::21]:80"), netip.MustParseAddr("2001:db8:ffff::1")},
}

// verdict is the engine's decision for an inbound packet of c.
func (c conn) verdict(icmpError bool) lb.Verdict {
	v := lb.Verdict{Action: lb.ActForward, Method: lb.MethodDR, Dir: lb.DirIn, ICMPError: icmpError}
	k := &v.Conn
	k.Family = packet.AddrTo(c.c.Addr(), &k.CAddr)
	packet.AddrTo(c.v.Addr(), &k.VAddr)
	packet.AddrTo(c.d.Addr(), &k.DAddr)
	k.CPort, k.VPort, k.DPort = c.c.Port(), c.v.Port(), c.d.Port()
	k.Proto, k.Flags = packet.ProtoTCP, conntab.FlagInputOnly
	return v
}

// frames returns the inbound frames of c a DR forwarder sees: TCP and UDP from the client,
// tagged and not, and an ICMP error from a router on the reply path about a reply.
func (c conn) frames() map[string][]byte {
	tcp := packettest.Frame{SrcMAC: macA, DstMAC: macB, Src: c.c, Dst: c.v, Proto: 6, TCPFlags: packet.TCPSyn, Seq: 7}
	udp := packettest.Frame{SrcMAC: macA, DstMAC: macB, Src: c.c, Dst: c.v, Proto: 17, Payload: []byte("query")}
	tagged := tcp
	tagged.VLAN = 12
	reply := packettest.Frame{SrcMAC: macB, DstMAC: macA, Src: c.v, Dst: c.c, Proto: 6, TCPFlags: packet.TCPAck, Payload: make([]byte, 1400)}
	typ, code := uint8(3), uint8(4) // fragmentation needed
	if c.c.Addr().Is6() {
		typ, code = 2, 0 // packet too big
	}
	return map[string][]byte{
		"tcp":    tcp.Build(),
		"udp":    udp.Build(),
		"tagged": tagged.Build(),
		"icmp":   packettest.ICMPError(macA, macB, c.router, c.v.Addr(), typ, code, reply.Build()),
	}
}

// TestForwardLeavesFrame: direct routing changes no byte of the frame (the loop sets the MACs)
// and keeps its bounds, for every family and kind of inbound frame.
func TestForwardLeavesFrame(t *testing.T) {
	f := New()
	for _, c := range conns {
		for name, frame := range c.frames() {
			t.Run(c.name+"/"+name, func(t *testing.T) {
				var p packet.Packet
				if err := packet.Parse(frame, &p); err != nil {
					t.Fatal(err)
				}
				const off = 64
				buf := append(make([]byte, off), frame...)
				v := c.verdict(name == "icmp")
				start, size, reason := f.Forward(buf, off, &p, &v)
				if reason != lb.DropNone || start != off || size != len(frame) {
					t.Fatalf("Forward = %d, %d, %v; want %d, %d, none", start, size, reason, off, len(frame))
				}
				if !bytes.Equal(buf[off:], frame) {
					t.Fatal("the frame changed")
				}
				if name != "tagged" && !packettest.VerifyChecksums(buf[off:]) { // it reads untagged frames
					t.Fatal("checksums broken")
				}
			})
		}
	}
}

// TestForwardRefuses: verdicts direct routing cannot carry out are dropped as forwarder
// errors, with the frame untouched.
func TestForwardRefuses(t *testing.T) {
	f := New()
	c := conns[0]
	frame := c.frames()["tcp"]
	var p packet.Packet
	if err := packet.Parse(frame, &p); err != nil {
		t.Fatal(err)
	}
	cases := map[string]func(v *lb.Verdict, p *packet.Packet){
		"nat method":   func(v *lb.Verdict, p *packet.Packet) { v.Method = lb.MethodNAT },
		"tun method":   func(v *lb.Verdict, p *packet.Packet) { v.Method = lb.MethodTUN },
		"reply":        func(v *lb.Verdict, p *packet.Packet) { v.Dir = lb.DirOut },
		"other family": func(v *lb.Verdict, p *packet.Packet) { v.Conn.Family = packet.FamilyIPv6 },
		"icmp mismatch": func(v *lb.Verdict, p *packet.Packet) {
			v.ICMPError = true
		},
		"not ip": func(v *lb.Verdict, p *packet.Packet) { p.Key.Family = packet.FamilyNone },
		"bounds": func(v *lb.Verdict, p *packet.Packet) { p.Len = 1 << 20 },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			buf := append(make([]byte, 64), frame...)
			pp, v := p, c.verdict(false)
			mutate(&v, &pp)
			if _, _, reason := f.Forward(buf, 64, &pp, &v); reason != lb.DropForwarder {
				t.Fatalf("reason %v, want forwarder", reason)
			}
			if !bytes.Equal(buf[64:], frame) {
				t.Fatal("a refused frame changed")
			}
		})
	}
}

func TestForwardAllocs(t *testing.T) {
	f := New()
	frame := conns[1].frames()["tcp"]
	var p packet.Packet
	if err := packet.Parse(frame, &p); err != nil {
		t.Fatal(err)
	}
	buf := append(make([]byte, 64), frame...)
	v := conns[1].verdict(false)
	if n := testing.AllocsPerRun(100, func() { f.Forward(buf, 64, &p, &v) }); n != 0 {
		t.Fatalf("%v allocations per Forward", n)
	}
}

func BenchmarkForward(b *testing.B) {
	f := New()
	frame := conns[0].frames()["tcp"]
	var p packet.Packet
	if err := packet.Parse(frame, &p); err != nil {
		b.Fatal(err)
	}
	buf := append(make([]byte, 64), frame...)
	v := conns[0].verdict(false)
	b.ReportAllocs()
	for b.Loop() {
		f.Forward(buf, 64, &p, &v)
	}
}
