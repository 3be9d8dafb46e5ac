package conf

import (
	"fmt"
	"net/netip"

	"github.com/uvs-lb/uvs/lb"
	"github.com/uvs-lb/uvs/packet"
)

// checkFullNAT ties FNAT and the SNAT pool together: FNAT needs local addresses, and local
// addresses without FNAT are a mistake (they would be silently unused). servers includes
// the sorry server.
func (p *parser) checkFullNAT(t *table, s *Service, servers []draft) {
	sc := &s.ServiceConfig
	hasPool := t.Has("local_addresses") // when its addresses are bad, they were reported
	used := sc.Method == lb.MethodFullNAT
	for _, d := range servers {
		used = used || d.method(sc.Method) == lb.MethodFullNAT
	}
	switch {
	case used && !hasPool:
		if sc.Method == lb.MethodFullNAT {
			t.Errorf("lb_kind", "FNAT needs local_addresses, the pool its connections leave from")
			return
		}
		for _, d := range servers {
			if d.Method == lb.MethodFullNAT {
				p.Errorf(d.key+".lb_kind", "FNAT needs local_addresses on the virtual server, the pool its connections leave from")
			}
		}
	case !used && t.Has("local_addresses"):
		t.Errorf("local_addresses", "only FNAT real servers use local addresses, and this service has none")
	case !used && t.Has("local_ports"):
		t.Errorf("local_ports", "only FNAT real servers use local ports, and this service has none")
	}
}

// checkServices refuses what can only be seen across services: a service defined twice and
// a local (full-NAT) address that is some service's VIP.
func (p *parser) checkServices(c *Config) {
	type ident struct {
		proto uint8
		ap    netip.AddrPort
		mark  uint32
		fam   packet.Family
	}
	first := make(map[ident]*Service)
	vips := make(map[netip.Addr]*Service)
	for i := range c.Services {
		s := &c.Services[i]
		var id ident
		switch {
		case s.Mark != 0:
			id = ident{mark: s.Mark, fam: s.Family}
		case s.VIP.IsValid():
			id = ident{proto: s.Proto, ap: netip.AddrPortFrom(s.VIP, s.Port)}
		default:
			continue // its address was refused already
		}
		if o := first[id]; o != nil {
			k := s.key + ".address"
			if s.Mark != 0 {
				k = s.key + ".fwmark"
			}
			p.Errorf(k, "%s is already defined at line %d", serviceName(&s.ServiceConfig), p.Line(o.key))
			continue
		}
		first[id] = s
		if s.Mark == 0 && vips[s.VIP] == nil {
			vips[s.VIP] = s
		}
	}
	for i := range c.Services {
		s := &c.Services[i]
		for j, a := range s.LocalAddrs {
			if o := vips[a]; o != nil {
				p.Errorf(s.locals[j], "%s is the virtual address of %s (line %d); replies to it would be taken for new traffic", a, serviceName(&o.ServiceConfig), p.Line(o.key))
			}
		}
	}
}

// serviceName names a service as ipvsadm does, with the family of a fwmark service.
func serviceName(sc *lb.ServiceConfig) string {
	if sc.Mark != 0 {
		return fmt.Sprintf("%s (%s)", sc, familyName(sc.Family))
	}
	return sc.String()
}
