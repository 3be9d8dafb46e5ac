package lab

import (
	"net/netip"
	"slices"

	"github.com/uvs-lb/uvs/conf"
)

// withWeight returns a copy of c in which the real server at server (any port when its port
// is 0) has weight w, in every virtual server or only in the one named virtual, and how many
// entries it changed. A weight change is a reload with one number changed, as an operator
// makes it with ipvsadm -e; c itself is left alone.
func withWeight(c *conf.Config, server netip.AddrPort, virtual string, w int32) (*conf.Config, int) {
	next := *c
	next.Services = slices.Clone(c.Services)
	changed := 0
	for i := range next.Services {
		s := &next.Services[i]
		if virtual != "" && !namesService(virtual, s) {
			continue
		}
		s.Servers = slices.Clone(s.Servers)
		for j := range s.Servers {
			d := &s.Servers[j]
			if d.Addr == server.Addr() && (server.Port() == 0 || d.Port == server.Port()) {
				d.Weight = w
				changed++
			}
		}
	}
	return &next, changed
}

// namesService reports whether name designates s: its address and port ("10.0.0.1:80"), or
// its ipvsadm name ("TCP 10.0.0.1:80", "FWM 80").
func namesService(name string, s *conf.Service) bool {
	if s.Mark == 0 && name == netip.AddrPortFrom(s.VIP, s.Port).String() {
		return true
	}
	return name == s.ServiceConfig.String()
}

// serverName prints a real server as the events write it.
func serverName(ap netip.AddrPort) string {
	if ap.Port() == 0 {
		return ap.Addr().String()
	}
	return ap.String()
}
