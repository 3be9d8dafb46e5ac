package conf

import (
	"net/netip"
	"strings"
)

// maxIfName is the longest Linux interface name (IFNAMSIZ less the terminating NUL).
const maxIfName = 15

// iface reads one [[interface]] and appends it to c.
func (p *parser) iface(c *Config, t *table) {
	ifc := Interface{key: t.Path(), Kind: KindAFPacket, MTU: 1500}
	name, hasName := t.Str("name")
	kind, hasKind := t.Str("kind")
	device, hasDevice := t.Str("device")
	addrs, _ := t.StrList("addresses")
	mtu, hasMTU := t.Integer("mtu", 68, 65535)
	gw, hasGW := t.Str("gateway")
	gw6, hasGW6 := t.Str("gateway6")
	routes := t.Subs("route")
	ifc.Promiscuous, _ = t.Bool("promiscuous")
	vnet, hasVnet := t.Bool("vnet_hdr")
	synRing, hasSYNRing := t.Bool("syn_ring")
	t.Done()

	dupName := false
	if !t.Has("name") {
		t.Errorf("name", "missing: every interface needs a name")
	} else if hasName && p.ifName(t.Key("name"), name) {
		ifc.Name = name
		for _, o := range c.Interfaces {
			if o.Name == name {
				t.Errorf("name", "interface %s is already defined at line %d", name, p.Line(o.key))
				dupName = true
			}
		}
	}
	if hasKind {
		switch k := Kind(kind); k {
		case KindAFPacket, KindTap, KindMemory:
			ifc.Kind = k
		default:
			t.Errorf("kind", "unknown kind %q (afpacket, tap or memory)", kind)
		}
	}
	if hasMTU {
		ifc.MTU = int(mtu)
	}

	ifc.VnetHdr = ifc.Kind != KindMemory
	ifc.SYNRing = ifc.Kind == KindAFPacket
	if hasSYNRing {
		if synRing && ifc.Kind != KindAFPacket {
			t.Errorf("syn_ring", "only an afpacket interface has a SYN ring, not a %s one", ifc.Kind)
		} else {
			ifc.SYNRing = synRing
		}
	}
	if ifc.Kind == KindMemory {
		if t.Has("device") {
			t.Errorf("device", "a memory interface has no host device")
		}
		if hasVnet && vnet {
			t.Errorf("vnet_hdr", "a memory interface has no virtio-net headers")
		}
	} else {
		if hasVnet {
			ifc.VnetHdr = vnet
		}
		ifc.Device = ifc.Name
		if hasDevice && p.ifName(t.Key("device"), device) {
			ifc.Device = device
		}
		for _, o := range c.Interfaces {
			if ifc.Device != "" && o.Device == ifc.Device && (hasDevice || !dupName) {
				t.Errorf("device", "device %s is already used by interface %s (line %d)", ifc.Device, o.Name, p.Line(o.key))
			}
		}
	}

	for _, it := range addrs {
		pf, ok := p.ifAddr(c, it.Key, it.V.(string))
		switch {
		case !ok:
		case ifc.owns(pf.Addr()):
			p.Errorf(it.Key, "%s is listed twice", pf.Addr())
		default:
			ifc.Addresses = append(ifc.Addresses, pf)
		}
	}
	for _, pf := range ifc.Addresses {
		if pf.Addr().Is6() && ifc.MTU < 1280 {
			t.Errorf("mtu", "IPv6 needs an MTU of at least 1280, not %d", ifc.MTU)
			break
		}
	}

	// With a bad address, the interface's networks are unknown: no on-link check is fair.
	netsOK := !p.failed(t.Key("addresses"))
	if hasGW {
		ifc.Gateway = p.gateway(&ifc, t.Key("gateway"), gw, true, netsOK)
	}
	if hasGW6 {
		ifc.Gateway6 = p.gateway(&ifc, t.Key("gateway6"), gw6, false, netsOK)
	}
	for _, rt := range routes {
		p.route(c, &ifc, rt, netsOK)
	}
	c.Interfaces = append(c.Interfaces, ifc)
}

// ifName checks a Linux interface name.
func (p *parser) ifName(key, s string) bool {
	switch {
	case s == "":
		p.Errorf(key, "must not be empty")
	case len(s) > maxIfName:
		p.Errorf(key, "%q is longer than %d bytes, the most Linux allows", s, maxIfName)
	case s == "." || s == ".." || strings.ContainsAny(s, "/: \t\n"):
		p.Errorf(key, "%q is not a valid interface name", s)
	default:
		return true
	}
	return false
}

// ifAddr parses one of an interface's addresses: the appliance's address and its on-link
// prefix, as `ip addr add` takes them.
func (p *parser) ifAddr(c *Config, key, s string) (netip.Prefix, bool) {
	pf, err := netip.ParsePrefix(s)
	if err != nil {
		if a, aerr := netip.ParseAddr(s); aerr == nil {
			bits := 64
			if a.Is4() {
				bits = 24
			}
			p.Errorf(key, "%q needs a prefix length, like %s/%d", s, a, bits)
		} else {
			p.Errorf(key, "%q is not an address with a prefix length (like 10.0.0.2/24)", s)
		}
		return netip.Prefix{}, false
	}
	a := pf.Addr()
	if !p.unicast(key, a) {
		return netip.Prefix{}, false
	}
	if a.Is4() && pf.Bits() < 31 && a == pf.Masked().Addr() {
		p.Errorf(key, "%s is the network address of %s, not a host's", a, pf.Masked())
		return netip.Prefix{}, false
	}
	if o, ok := c.ownerOf(a); ok {
		p.Errorf(key, "%s is already an address of interface %s (line %d)", a, o.Name, p.Line(o.key))
		return netip.Prefix{}, false
	}
	return pf, true
}

// gateway parses a default gateway of ifc, which must be on one of its networks.
func (p *parser) gateway(ifc *Interface, key, s string, v4, netsOK bool) netip.Addr {
	a, ok := p.addr(key, s)
	switch {
	case !ok:
	case a.Is4() != v4:
		if v4 {
			p.Errorf(key, "%s is IPv6; an IPv6 gateway goes in gateway6", a)
		} else {
			p.Errorf(key, "%s is IPv4; an IPv4 gateway goes in gateway", a)
		}
	case netsOK && !ifc.onLink(a):
		p.Errorf(key, "%s is on none of the interface's networks (%s)", a, ifc.prefixes(a.Is4()))
	case ifc.owns(a):
		p.Errorf(key, "%s is the interface's own address", a)
	default:
		return a
	}
	return netip.Addr{}
}

// route reads one [[interface.route]].
func (p *parser) route(c *Config, ifc *Interface, t *table, netsOK bool) {
	prefix, hasPrefix := t.Str("prefix")
	via, hasVia := t.Str("via")
	t.Done()
	var r Route
	if !t.Has("prefix") {
		t.Errorf("prefix", "missing: a route needs a prefix")
	} else if hasPrefix {
		r.Prefix, hasPrefix = p.canonicalPrefix(t.Key("prefix"), prefix, false)
	}
	if hasVia {
		a, ok := p.addr(t.Key("via"), via)
		switch {
		case !ok:
		case hasPrefix && a.Is4() != r.Prefix.Addr().Is4():
			t.Errorf("via", "%s is %s; the prefix %s is %s", a, ipName(a), r.Prefix, ipName(r.Prefix.Addr()))
		case netsOK && !ifc.onLink(a):
			t.Errorf("via", "%s is on none of interface %s's networks (%s)", a, ifc.Name, ifc.prefixes(a.Is4()))
		default:
			r.Via = a
		}
	}
	if !r.Prefix.IsValid() {
		return
	}
	for _, o := range append(c.Interfaces[:len(c.Interfaces):len(c.Interfaces)], *ifc) {
		for _, or := range o.Routes {
			if or.Prefix == r.Prefix {
				t.Errorf("prefix", "a route to %s is already defined on interface %s", r.Prefix, o.Name)
				return
			}
		}
	}
	ifc.Routes = append(ifc.Routes, r)
}

// checkGateways refuses two default routes of one family: which would be used?
func (p *parser) checkGateways(c *Config) {
	var first4, first6 *Interface
	for i := range c.Interfaces {
		ifc := &c.Interfaces[i]
		if ifc.Gateway.IsValid() {
			if first4 != nil {
				p.Errorf(ifc.key+".gateway", "the IPv4 default gateway is already set on interface %s (line %d)", first4.Name, p.Line(first4.key+".gateway"))
			} else {
				first4 = ifc
			}
		}
		if ifc.Gateway6.IsValid() {
			if first6 != nil {
				p.Errorf(ifc.key+".gateway6", "the IPv6 default gateway is already set on interface %s (line %d)", first6.Name, p.Line(first6.key+".gateway6"))
			} else {
				first6 = ifc
			}
		}
	}
}

// onLink reports whether a is on one of ifc's networks. IPv6 link-local addresses are on
// every link.
func (ifc *Interface) onLink(a netip.Addr) bool {
	if a.Is6() && a.IsLinkLocalUnicast() {
		return true
	}
	for _, pf := range ifc.Addresses {
		if pf.Contains(a) {
			return true
		}
	}
	return false
}

func (ifc *Interface) owns(a netip.Addr) bool {
	for _, pf := range ifc.Addresses {
		if pf.Addr() == a {
			return true
		}
	}
	return false
}

// prefixes lists ifc's networks of one family, for messages.
func (ifc *Interface) prefixes(v4 bool) string {
	var s []string
	for _, pf := range ifc.Addresses {
		if pf.Addr().Is4() == v4 {
			s = append(s, pf.String())
		}
	}
	if len(s) == 0 {
		if v4 {
			return "it has no IPv4 address"
		}
		return "it has no IPv6 address"
	}
	return strings.Join(s, ", ")
}

// ownerOf returns the interface that has a as its own address.
func (c *Config) ownerOf(a netip.Addr) (*Interface, bool) {
	for i := range c.Interfaces {
		if c.Interfaces[i].owns(a) {
			return &c.Interfaces[i], true
		}
	}
	return nil, false
}
