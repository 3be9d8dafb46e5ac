package conf

import (
	"net/netip"

	"github.com/uvs-lb/uvs/lb"
)

// tunnelKeys are a TUN server's encapsulation settings as written: on a [[virtual_server]]
// (the default for its real servers) or on a real or sorry server, as keepalived allows.
type tunnelKeys struct {
	lb.Tunnel
	// The keys as written, for messages: this table's or inherited from the service's; ""
	// when absent. own is the first key written on this table itself.
	typeKey, portKey, flagsKey, own string
}

// tunnel reads tun_type, tun_port and tun_flags (keepalived's spelling; ipvsadm --tun-type,
// --tun-port, --tun-nocsum / --tun-csum) over the defaults def.
func (p *parser) tunnel(t *table, def tunnelKeys) tunnelKeys {
	k := def
	k.own = ""
	if typ, ok := t.Str("tun_type"); ok {
		switch typ {
		case "ipip":
			k.Type = lb.TunnelIPIP
		case "gue":
			k.Type = lb.TunnelGUE
		case "gre":
			t.Errorf("tun_type", "GRE tunnels are not supported yet (ipip or gue)")
		default:
			t.Errorf("tun_type", "unknown tunnel type %q (ipip or gue)", typ)
		}
	}
	if port, ok := t.Integer("tun_port", 1, 65535); ok {
		k.Port = uint16(port)
	}
	if flags, ok := t.Str("tun_flags"); ok {
		switch flags {
		case "nocsum":
			k.Csum = false
		case "csum":
			k.Csum = true
		case "remcsum":
			t.Errorf("tun_flags", "remote checksum offload (remcsum) is not supported (nocsum or csum)")
		default:
			t.Errorf("tun_flags", "unknown tunnel flags %q (nocsum or csum)", flags)
		}
	}
	for _, f := range []struct {
		name string
		dst  *string
	}{{"tun_type", &k.typeKey}, {"tun_port", &k.portKey}, {"tun_flags", &k.flagsKey}} {
		if t.Has(f.name) {
			*f.dst = t.Key(f.name)
			if k.own == "" {
				k.own = *f.dst
			}
		}
	}
	return k
}

// any reports whether any tunnel key applies.
func (k *tunnelKeys) any() bool { return k.typeKey != "" || k.portKey != "" || k.flagsKey != "" }

// placeTunnel checks server d's tunnel settings against its method m and gives a TUN server
// its outer source address. It reports false when they do not fit.
func (p *parser) placeTunnel(c *Config, d *draft, m lb.Method) bool {
	k := &d.tun
	if m != lb.MethodTUN {
		if k.own != "" {
			p.Errorf(k.own, "applies to lb_kind TUN only; this server is %s", kindName(m))
			return false
		}
		return true
	}
	switch {
	case k.Type == lb.TunnelGUE && k.portKey == "":
		p.Errorf(k.typeKey, "a GUE tunnel needs tun_port: the UDP port the real server terminates GUE on")
		return false
	case k.Type != lb.TunnelGUE && k.portKey != "":
		p.Errorf(k.portKey, "applies to tun_type gue only")
		return false
	case k.Type != lb.TunnelGUE && k.Csum:
		p.Errorf(k.flagsKey, "applies to tun_type gue only")
		return false
	}
	d.Tunnel = k.Tunnel
	if src, ok := c.sourceFor(d.Addr); ok {
		d.Tunnel.Source = src
	}
	return true
}

// sourceFor returns the appliance's own address that packets to a leave from: an address of
// a's family on the interface a is on, or else on the interface of the longest static route
// to a, or else on the interface with a default gateway of a's family.
func (c *Config) sourceFor(a netip.Addr) (netip.Addr, bool) {
	first := func(ifc *Interface) (netip.Addr, bool) {
		for _, pf := range ifc.Addresses {
			if pf.Contains(a) {
				return pf.Addr(), true
			}
		}
		for _, pf := range ifc.Addresses {
			if pf.Addr().Is4() == a.Is4() && !pf.Addr().IsLinkLocalUnicast() {
				return pf.Addr(), true
			}
		}
		return netip.Addr{}, false
	}
	for i := range c.Interfaces {
		if c.Interfaces[i].onLink(a) {
			return first(&c.Interfaces[i])
		}
	}
	best, bits := -1, -1
	for i, ifc := range c.Interfaces {
		for _, r := range ifc.Routes {
			if r.Prefix.Contains(a) && r.Prefix.Bits() > bits {
				best, bits = i, r.Prefix.Bits()
			}
		}
	}
	if best >= 0 {
		return first(&c.Interfaces[best])
	}
	for i, ifc := range c.Interfaces {
		if a.Is4() && ifc.Gateway.IsValid() || a.Is6() && ifc.Gateway6.IsValid() {
			return first(&c.Interfaces[i])
		}
	}
	return netip.Addr{}, false
}
