package conf

import (
	"net/netip"
	"testing"

	"github.com/uvs-lb/uvs/lb"
)

// TestTunnelSettings: the TUN example's servers get their encapsulation and the outer source
// the appliance sends from: its address on the server's network, on the interface of the
// route to it, in the server's family.
func TestTunnelSettings(t *testing.T) {
	c, err := Load("testdata/lvs-tun.toml")
	if err != nil {
		t.Fatal(err)
	}
	type want struct {
		tun    lb.Tunnel
		method lb.Method
	}
	a := netip.MustParseAddr
	wants := map[string]want{
		"10.1.0.21":  {lb.Tunnel{Type: lb.TunnelIPIP, Source: a("10.1.0.254")}, 0},
		"10.2.0.22":  {lb.Tunnel{Type: lb.TunnelGUE, Port: 6080, Csum: true, Source: a("10.1.0.254")}, 0},
		"fd00:1::23": {lb.Tunnel{Type: lb.TunnelIPIP, Source: a("fd00:1::fe")}, 0},
		"fd00:1::21": {lb.Tunnel{Type: lb.TunnelGUE, Port: 6080, Source: a("fd00:1::fe")}, 0},
		"fd00:1::22": {lb.Tunnel{Type: lb.TunnelGUE, Port: 6080, Source: a("fd00:1::fe")}, 0},
	}
	n := 0
	for _, s := range c.Services {
		if s.Method != lb.MethodTUN {
			t.Errorf("%s: method %v", s.VIP, s.Method)
		}
		for _, r := range s.Servers {
			w, ok := wants[r.Addr.String()]
			if !ok {
				t.Errorf("unexpected server %s", r.Addr)
				continue
			}
			n++
			if r.Tunnel != w.tun || r.Method != w.method {
				t.Errorf("%s: tunnel %+v method %v, want %+v %v", r.Addr, r.Tunnel, r.Method, w.tun, w.method)
			}
		}
	}
	if n != len(wants) {
		t.Errorf("%d servers, want %d", n, len(wants))
	}
}
