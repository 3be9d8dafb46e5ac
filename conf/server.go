package conf

import (
	"math"
	"net/netip"
	"strings"

	"github.com/uvs-lb/uvs/lb"
	"github.com/uvs-lb/uvs/packet"
)

// maxWeight is keepalived's limit on a real server's weight (IPVS_WEIGHT_LIMIT).
const maxWeight = 65535

// draft is a real or sorry server read from its table, before the service places it.
type draft struct {
	lb.ServerConfig
	key     string // "virtual_server[i].real_server[j]"
	portSet bool   // the address had a nonzero port
	tun     tunnelKeys
	health  serverDraft
}

// method is the server's effective forwarding method in a service whose default is def.
func (d *draft) method(def lb.Method) lb.Method {
	if d.Method != 0 {
		return d.Method
	}
	return def
}

// server reads a [[virtual_server.real_server]] or a [virtual_server.sorry_server]. It
// reports false when the address is unusable, so that no check is made on a guess.
func (p *parser) server(t *table, sorry bool, tun tunnelKeys) (draft, bool) {
	d := draft{key: t.Path()}
	d.tun = p.tunnel(t, tun)
	d.Weight = 1 // keepalived's default; the engine also needs it on a sorry server
	addr, hasAddr := t.Str("address")
	kind, hasKind := t.Str("lb_kind")
	weight, hasWeight := t.Integer("weight", 0, maxWeight)
	upper, hasUpper := t.Integer("uthreshold", 0, math.MaxUint32)
	lower, hasLower := t.Integer("lthreshold", 0, math.MaxUint32)
	d.health = p.serverHealth(t, sorry)
	t.Done()

	if sorry {
		for _, k := range []string{"weight", "uthreshold", "lthreshold"} {
			if t.Has(k) {
				t.Errorf(k, "does not apply to a sorry server")
			}
		}
		hasWeight, hasUpper, hasLower = false, false, false
	}
	if hasKind {
		d.Method, _ = p.method(t.Key("lb_kind"), kind)
	}
	if hasWeight {
		d.Weight = int32(weight)
	}
	if hasUpper {
		d.Upper = uint32(upper)
	}
	if hasLower {
		switch {
		case !t.Has("uthreshold") || hasUpper && upper == 0:
			t.Errorf("lthreshold", "has no effect without uthreshold")
		case !hasUpper: // a bad uthreshold, reported already
		case lower > upper:
			t.Errorf("lthreshold", "%d is above uthreshold %d", lower, upper)
		default:
			d.Lower = uint32(lower)
		}
	}

	if !t.Has("address") {
		t.Errorf("address", "missing: a real server needs an address")
		return d, false
	}
	if !hasAddr {
		return d, false
	}
	if strings.HasPrefix(addr, "[") && strings.HasSuffix(addr, "]") {
		addr = addr[1 : len(addr)-1] // an IPv6 address in brackets, with no port
	}
	if ap, err := netip.ParseAddrPort(addr); err == nil {
		d.Addr, d.Port, d.portSet = ap.Addr(), ap.Port(), ap.Port() != 0
	} else if a, err := netip.ParseAddr(addr); err == nil {
		d.Addr = a
	} else {
		t.Errorf("address", "%q is not an address or address:port (like 192.168.1.20 or 192.168.1.20:8080)", addr)
		return d, false
	}
	return d, p.unicast(t.Key("address"), d.Addr)
}

// placeServer checks server d of s against the service and the interfaces, and gives it its
// port. fam is the service's family, 0 if unknown. seen holds the servers placed so far.
func (p *parser) placeServer(c *Config, s *Service, d *draft, fam packet.Family, seen map[netip.AddrPort]string) bool {
	sc := &s.ServiceConfig
	key := d.key + ".address"
	m := d.method(sc.Method)
	if !d.portSet && sc.Mark == 0 {
		d.Port = sc.Port // as ipvsadm -r without a port; 0 on a port-0 service: the client's
	}
	ok := true
	if fam != 0 && familyOf(d.Addr) != fam && m != lb.MethodTUN {
		p.Errorf(key, "%s is %s; the service is %s (only TUN real servers may differ)", d.Addr, ipName(d.Addr), familyName(fam))
		ok = false
	}
	if m.InputOnly() && d.portSet && d.Port != sc.Port {
		// DR and TUN leave the packet's ports alone: the server sees what the client sent.
		if sc.Mark != 0 || sc.Port == 0 {
			p.Errorf(key, "%s cannot map ports: the real server gets the port the client asked for; write the address without a port", kindName(m))
		} else {
			p.Errorf(key, "%s cannot map ports: the real server gets the service's port %d; write the address without a port", kindName(m), sc.Port)
		}
		ok = false
	}
	if !p.placeTunnel(c, d, m) {
		ok = false
	}
	ap := netip.AddrPortFrom(d.Addr, d.Port)
	if prev, dup := seen[ap]; dup {
		p.Errorf(key, "real server %s is already listed at line %d", ap, p.Line(prev))
		return false
	}
	seen[ap] = d.key
	if o, own := c.ownerOf(d.Addr); own {
		p.Errorf(key, "%s is this appliance's own address (interface %s)", d.Addr, o.Name)
		return false
	}
	switch {
	case p.failed("interface"):
		// The networks are not all known: reachability cannot be judged.
	case m == lb.MethodDR && !c.onLink(d.Addr):
		p.Errorf(key, "DR needs a real server on a directly connected network; %s is not (%s)", d.Addr, c.networks(d.Addr.Is4()))
		ok = false
	case m != lb.MethodDR && !c.routable(d.Addr):
		p.Errorf(key, "no route to %s (%s; no [[interface.route]] covers it and no %s gateway is set)", d.Addr, c.networks(d.Addr.Is4()), ipName(d.Addr))
		ok = false
	}
	return ok
}

// onLink reports whether a is on the network of one of c's interfaces.
func (c *Config) onLink(a netip.Addr) bool {
	for i := range c.Interfaces {
		if c.Interfaces[i].onLink(a) {
			return true
		}
	}
	return false
}

// routable reports whether the appliance has a route to a: on-link, a static route or a
// default gateway of a's family.
func (c *Config) routable(a netip.Addr) bool {
	if c.onLink(a) {
		return true
	}
	for _, ifc := range c.Interfaces {
		if a.Is4() && ifc.Gateway.IsValid() || a.Is6() && ifc.Gateway6.IsValid() {
			return true
		}
		for _, r := range ifc.Routes {
			if r.Prefix.Contains(a) {
				return true
			}
		}
	}
	return false
}

// networks lists the interfaces' networks of one family, for messages.
func (c *Config) networks(v4 bool) string {
	var s []string
	for _, ifc := range c.Interfaces {
		for _, pf := range ifc.Addresses {
			if pf.Addr().Is4() == v4 {
				s = append(s, pf.Masked().String()+" on "+ifc.Name)
			}
		}
	}
	switch {
	case len(c.Interfaces) == 0:
		return "no [[interface]] is configured"
	case len(s) == 0 && v4:
		return "no interface has an IPv4 address"
	case len(s) == 0:
		return "no interface has an IPv6 address"
	}
	return "networks: " + strings.Join(s, ", ")
}
