package conf

import "net/netip"

// Management is the [management] table: a NIC left to the kernel, not a port, for what
// listens on the kernel's sockets — the control API's TCP listener ([control] listen) and
// the metrics ([metrics] listen) — when uvs runs as the VM image's /init, which gives the
// device these addresses and routes. On a host (`uvs run`) the host's own network
// configuration owns the device and uvs does not touch it.
type Management struct {
	Device    string         // the kernel's name of the NIC, e.g. "eth2"; "" when unset
	Addresses []netip.Prefix // the kernel's addresses on it, with their on-link prefixes
	Gateway   netip.Addr     // the kernel's IPv4 default route; invalid: none
	Gateway6  netip.Addr     // the kernel's IPv6 default route
	Routes    []Route
}

// management reads [management]; it comes after the interfaces, whose devices and
// addresses it must not share.
func (p *parser) management(c *Config, t *table) {
	device, hasDevice := t.Str("device")
	addrs, _ := t.StrList("addresses")
	gw, hasGW := t.Str("gateway")
	gw6, hasGW6 := t.Str("gateway6")
	routes := t.Subs("route")
	t.Done()

	m := &c.Management
	if !t.Has("device") {
		t.Errorf("device", "missing: the management NIC's device name (e.g. \"eth2\")")
	} else if hasDevice && p.ifName(t.Key("device"), device) {
		m.Device = device
		for _, o := range c.Interfaces {
			if o.Device == device {
				t.Errorf("device", "device %s is interface %s's port (line %d): a port owns its device whole, the kernel must not use it", device, o.Name, p.Line(o.key))
			}
		}
	}
	// A stand-in interface for the checks interfaces share (on-link gateways, routes).
	ifc := Interface{Name: "management", key: t.Path()}
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
	netsOK := !p.failed(t.Key("addresses"))
	if hasGW {
		m.Gateway = p.gateway(&ifc, t.Key("gateway"), gw, true, netsOK)
	}
	if hasGW6 {
		m.Gateway6 = p.gateway(&ifc, t.Key("gateway6"), gw6, false, netsOK)
	}
	for _, rt := range routes {
		prefix, hasPrefix := rt.Str("prefix")
		via, hasVia := rt.Str("via")
		rt.Done()
		var r Route
		if !rt.Has("prefix") {
			rt.Errorf("prefix", "missing: a route needs a prefix")
			continue
		}
		if !hasPrefix {
			continue
		}
		if r.Prefix, hasPrefix = p.canonicalPrefix(rt.Key("prefix"), prefix, false); !hasPrefix {
			continue
		}
		if hasVia {
			a, ok := p.addr(rt.Key("via"), via)
			switch {
			case !ok:
				continue
			case a.Is4() != r.Prefix.Addr().Is4():
				rt.Errorf("via", "%s is %s; the prefix %s is %s", a, ipName(a), r.Prefix, ipName(r.Prefix.Addr()))
				continue
			case netsOK && !ifc.onLink(a):
				rt.Errorf("via", "%s is on none of the management networks (%s)", a, ifc.prefixes(a.Is4()))
				continue
			}
			r.Via = a
		}
		dup := false
		for _, o := range m.Routes {
			if o.Prefix == r.Prefix {
				rt.Errorf("prefix", "a route to %s is already defined", r.Prefix)
				dup = true
			}
		}
		if !dup {
			m.Routes = append(m.Routes, r)
		}
	}
	m.Addresses = ifc.Addresses
}
