package lb

import (
	"net/netip"
	"testing"

	"github.com/uvs-lb/uvs/packet"
)

// TestTunnelVerdict: a TUN connection's verdicts carry its server's compiled tunnel, for the
// first packet and the later ones, an IPv4 service may tunnel to an IPv6 server, and the other
// methods carry none.
func TestTunnelVerdict(t *testing.T) {
	rs6 := netip.MustParseAddr("fd00::21")
	src4, src6 := netip.MustParseAddr("192.168.1.1"), netip.MustParseAddr("fd00::1")
	svc := ServiceConfig{Proto: packet.ProtoTCP, VIP: vip, Port: 80, Scheduler: "rr", Method: MethodTUN,
		Servers: []ServerConfig{
			{Addr: rs1, Weight: 1, Tunnel: Tunnel{Source: src4}},
			{Addr: rs6, Weight: 1, Tunnel: Tunnel{Type: TunnelGUE, Port: 6080, Source: src6}},
			{Addr: rs2, Weight: 1, Method: MethodDR},
		}}
	r := newRig(t, &Config{Services: []ServiceConfig{svc}}, Options{})
	want := map[netip.Addr]TunnelEnds{
		rs1: {Type: TunnelIPIP, Family: packet.FamilyIPv4, Src: addrArray(src4), Dst: addrArray(rs1)},
		rs6: {Type: TunnelGUE, Port: 6080, Family: packet.FamilyIPv6, Src: addrArray(src6), Dst: addrArray(rs6)},
	}
	for i := range 3 {
		c := ap(client1, uint16(1000+i))
		v := r.send(tcp(c, ap(vip, 80), packet.TCPSyn))
		if v.Action != ActForward {
			t.Fatalf("verdict %+v", v)
		}
		if v.Method != MethodTUN {
			if v.Tunnel != nil {
				t.Errorf("%v verdict carries a tunnel", v.Method)
			}
			continue
		}
		if v.Tunnel == nil {
			t.Fatalf("TUN verdict without a tunnel: %+v", v)
		}
		d := packet.AddrFrom(v.Tunnel.Family, &v.Conn.DAddr) // the server's family, not the client's
		if w, ok := want[d]; !ok || *v.Tunnel != w {
			t.Fatalf("server %s: tunnel %+v, want %+v", d, v.Tunnel, w)
		}
		if v2 := r.send(tcp(c, ap(vip, 80), packet.TCPAck)); v2.Tunnel != v.Tunnel {
			t.Errorf("server %s: the next packet's tunnel %p, want %p", d, v2.Tunnel, v.Tunnel)
		}
	}
}

func TestTunnelConfigErrors(t *testing.T) {
	src := netip.MustParseAddr("192.168.1.1")
	cases := map[string]Tunnel{
		"no source":     {},
		"source family": {Source: netip.MustParseAddr("fd00::1")},
		"gue port":      {Type: TunnelGUE, Source: src},
		"unknown type":  {Type: numTunnelTypes, Source: src},
	}
	for name, tun := range cases {
		svc := ServiceConfig{Proto: packet.ProtoTCP, VIP: vip, Port: 80, Scheduler: "rr", Method: MethodTUN,
			Servers: []ServerConfig{{Addr: rs1, Weight: 1, Tunnel: tun}}}
		if err := New(Options{}).Apply(&Config{Services: []ServiceConfig{svc}}); err == nil {
			t.Errorf("%s: no error", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
}
