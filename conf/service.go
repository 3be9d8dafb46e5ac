package conf

import (
	"math"
	"net/netip"
	"slices"
	"strings"

	"github.com/uvs-lb/uvs/lb"
	"github.com/uvs-lb/uvs/packet"
)

// service reads one [[virtual_server]] and appends it to c. Real servers are judged against
// the service (family, ports, method) and the interfaces (reachability).
func (p *parser) service(c *Config, t *table) {
	s := Service{key: t.Path()}
	sc := &s.ServiceConfig
	isMark, fam := p.identity(t, sc)
	sc.Method = lb.MethodNAT
	if kind, ok := t.Str("lb_kind"); ok {
		if m, ok := p.method(t.Key("lb_kind"), kind); ok {
			sc.Method = m
		}
	}
	tun := p.tunnel(t, tunnelKeys{})
	var hkeys healthKeys
	var inhibit opt[bool]
	s.Health, hkeys, inhibit = p.serviceHealth(t)
	var servers []draft
	realServers := t.Subs("real_server")
	for _, rt := range realServers {
		if d, ok := p.server(rt, false, tun); ok {
			servers = append(servers, d)
		}
	}
	var sorry *draft
	if st, ok := t.Sub("sorry_server"); ok {
		if d, ok := p.server(st, true, tun); ok {
			sorry = &d
		}
	}
	if isMark && !t.Has("family") {
		// As keepalived: the family of the first real server that is not tunnelled, which
		// is the only kind that may differ from the service's.
		fam = packet.FamilyIPv4
		for _, d := range servers {
			if d.method(sc.Method) != lb.MethodTUN {
				fam = familyOf(d.Addr)
				break
			}
		}
	}
	sc.Family = fam
	p.scheduler(t, sc, len(servers))
	p.persistence(t, sc, fam)
	if ops, _ := t.Bool("ops"); ops {
		if !isMark && sc.Proto == packet.ProtoTCP {
			t.Errorf("ops", "one-packet scheduling is for UDP services")
		} else {
			sc.OnePacket = true
		}
	}
	p.localPool(t, &s, fam)
	s.SMTPAlert = p.smtpAlert(c, t, c.Alerts.SMTPAlertChecker)

	seen := make(map[netip.AddrPort]string)
	for i := range servers {
		if p.placeServer(c, &s, &servers[i], fam, seen) {
			sc.Servers = append(sc.Servers, servers[i].ServerConfig)
			s.ServerHealth = append(s.ServerHealth, p.placeHealth(c, &s, &servers[i], hkeys, inhibit))
		}
	}
	p.checkQuorum(t, &s, len(sc.Servers) == len(realServers))
	if sorry != nil {
		if p.placeServer(c, &s, sorry, fam, seen) {
			sc.Sorry = &sorry.ServerConfig
		}
		servers = append(servers, *sorry)
	}
	p.checkFullNAT(t, &s, servers)
	if tun.own != "" && !slices.ContainsFunc(servers, func(d draft) bool { return d.method(sc.Method) == lb.MethodTUN }) {
		p.Errorf(tun.own, "applies to lb_kind TUN only, and no server of this service is TUN")
	}
	t.Done()
	c.Services = append(c.Services, s)
}

// identity reads what the service is: VIP:port and protocol, or firewall mark and family.
// fam is 0 when unknown (a bad address, a fwmark service's family still to be inferred):
// the checks that need it are then skipped.
func (p *parser) identity(t *table, sc *lb.ServiceConfig) (isMark bool, fam packet.Family) {
	addr, hasAddr := t.Str("address")
	mark, hasMark := t.Integer("fwmark", 1, math.MaxUint32)
	proto, hasProto := t.Str("protocol")
	family, hasFamily := t.Str("family")

	isMark = t.Has("fwmark") && !t.Has("address")
	switch {
	case t.Has("address") && t.Has("fwmark"):
		t.Errorf("fwmark", "a virtual server has an address or a fwmark, not both")
	case !t.Has("address") && !t.Has("fwmark"):
		t.Errorf("address", "missing: a virtual server needs an address (VIP:port) or a fwmark")
	case hasAddr:
		if ap, ok := p.vip(t.Key("address"), addr); ok {
			sc.VIP, sc.Port, fam = ap.Addr(), ap.Port(), familyOf(ap.Addr())
		}
	case hasMark:
		sc.Mark = uint32(mark)
	}

	if !isMark {
		sc.Proto = packet.ProtoTCP // keepalived's default protocol
	}
	switch {
	case isMark && t.Has("protocol"):
		t.Errorf("protocol", "does not apply to a fwmark service: its [[mark]] rules choose the packets")
	case hasProto:
		switch strings.ToLower(proto) { // keepalived takes TCP or tcp
		case "tcp":
		case "udp":
			sc.Proto = packet.ProtoUDP
		case "sctp":
			t.Errorf("protocol", "SCTP services are not supported yet")
		default:
			t.Errorf("protocol", "unknown protocol %q (tcp or udp)", proto)
		}
	}

	switch {
	case !isMark && t.Has("family"):
		t.Errorf("family", "applies to fwmark services only; the address gives this one's")
	case hasFamily && family == "ipv4":
		fam = packet.FamilyIPv4
	case hasFamily && family == "ipv6":
		fam = packet.FamilyIPv6
	case hasFamily:
		t.Errorf("family", "unknown family %q (ipv4 or ipv6)", family)
	}
	return isMark, fam
}

// vip parses a virtual server's address: the VIP and a port, 0 meaning every port.
func (p *parser) vip(key, s string) (netip.AddrPort, bool) {
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		if a, aerr := netip.ParseAddr(s); aerr == nil {
			p.Errorf(key, "%q needs a port, like %s (port 0 for all ports)", s, netip.AddrPortFrom(a, 80))
		} else {
			p.Errorf(key, "%q is not an address:port (like 10.0.0.1:80 or [2001:db8::1]:80)", s)
		}
		return netip.AddrPort{}, false
	}
	return ap, p.unicast(key, ap.Addr())
}

// persistence reads persistence_timeout and persistence_granularity (ipvsadm -p and -M).
func (p *parser) persistence(t *table, sc *lb.ServiceConfig, fam packet.Family) {
	if d, ok := t.Seconds("persistence_timeout", maxTimeout); ok {
		sc.Persistence = d
	}
	gran, ok := t.Get("persistence_granularity")
	if !ok || fam == 0 {
		return
	}
	if n, ok := p.granularity(t.Key("persistence_granularity"), gran, fam); ok {
		sc.PersistMask = n
	}
	if !t.Has("persistence_timeout") {
		sc.Persistence = lb.DefaultPersistence // keepalived: a granularity implies persistence
	}
}

// localPool reads the full-NAT source pool: local_addresses and local_ports.
func (p *parser) localPool(t *table, s *Service, fam packet.Family) {
	sc := &s.ServiceConfig
	locals, _ := t.StrList("local_addresses")
	for _, it := range locals {
		a, ok := p.addr(it.Key, it.V.(string))
		switch {
		case !ok:
		case slices.Contains(sc.LocalAddrs, a):
			p.Errorf(it.Key, "%s is listed twice", a)
		case fam != 0 && familyOf(a) != fam:
			p.Errorf(it.Key, "%s is %s; the service is %s", a, ipName(a), familyName(fam))
		default:
			sc.LocalAddrs = append(sc.LocalAddrs, a)
			s.locals = append(s.locals, it.Key)
		}
	}
	if v, ok := t.M["local_addresses"].([]any); ok && len(v) == 0 {
		t.Errorf("local_addresses", "must list at least one address")
	}
	if len(locals) > 0 {
		sc.LocalPorts = [2]uint16{1024, 65535} // the engine's default, made explicit
	}
	if s, ok := t.Str("local_ports"); ok {
		if r, err := portRange(s); err != nil {
			t.Errorf("local_ports", "%v", err)
		} else if span := int(r.Hi) - int(r.Lo) + 1; span < lb.MinLocalPorts {
			t.Errorf("local_ports", "%s spans %d ports; full-NAT needs at least %d (each connection takes a local port that lands in its connection-table shard)", s, span, lb.MinLocalPorts)
		} else {
			sc.LocalPorts = [2]uint16{r.Lo, r.Hi}
		}
	}
}

// method parses an lb_kind, spelt as keepalived spells it.
func (p *parser) method(key, s string) (lb.Method, bool) {
	switch s {
	case "NAT":
		return lb.MethodNAT, true
	case "DR":
		return lb.MethodDR, true
	case "TUN":
		return lb.MethodTUN, true
	case "FNAT":
		return lb.MethodFullNAT, true
	}
	p.Errorf(key, "unknown lb_kind %q (NAT, DR, TUN or FNAT)", s)
	return 0, false
}

// kindName is the lb_kind spelling of m.
func kindName(m lb.Method) string {
	switch m {
	case lb.MethodDR:
		return "DR"
	case lb.MethodTUN:
		return "TUN"
	case lb.MethodFullNAT:
		return "FNAT"
	}
	return "NAT"
}
