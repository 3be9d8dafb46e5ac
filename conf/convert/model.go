package convert

import (
	"fmt"
	"net/netip"
	"strings"
)

// model is a converted configuration before it is written. The converters fill the tables
// in uvs's terms; what the source does not say (the appliance's own addresses) is derived
// by plan from the addresses the tables use, which the converters record beside them.
type model struct {
	source string // the file converted, for the header

	ifaces   []string          // interface names, in the order the source names them
	ifaceWhy map[string]string // why each interface exists, for its comment
	known    []knownAddr       // this router's own addresses, as the source gives them

	alerts   *table // [alerts]
	vrrp     *table // [vrrp]
	scripts  []*table
	files    []*table
	insts    []*inst
	groups   []*table
	marks    []*table
	services []*service
	ipvs     *table
	sync     *table
	syncIf   string   // [sync]'s interface: it needs an IPv4 address
	trailer  []string // comment lines written at the end
	used     map[netip.Addr]bool
}

func newModel(source string) *model {
	return &model{source: source, ifaceWhy: map[string]string{}, used: map[netip.Addr]bool{}}
}

// knownAddr is an address of this router that the source states (keepalived's
// unicast_src_ip, an address owner's virtual addresses, lvs.cf's primary).
type knownAddr struct {
	iface    string
	pf       netip.Prefix
	explicit bool // the prefix length was written; otherwise it is derived
	why      string
}

// inst is a VRRP instance: its table, and the addresses it puts on its interfaces.
type inst struct {
	t          *table
	name       string
	iface      string
	vips       []vipRef // advertised and excluded
	src        netip.Addr
	peers      []netip.Addr
	owner      bool // priority 255: its virtual addresses are the interface's own
	multicast6 bool // IPv6 multicast adverts come from a link-local address
}

// vipRef is a virtual address and the interface that holds it.
type vipRef struct {
	pf       netip.Prefix
	explicit bool // written with a prefix length
	iface    string
}

// service is a virtual server's table with the addresses the interfaces must reach.
type service struct {
	t       *table
	vip     netip.Addr // invalid for a fwmark service
	servers []netip.Addr
}

// iface registers an interface named by the source. A Linux alias (eth0:1, as keepalived's
// labels and Piranha's devices write them) is its device.
func (m *model) iface(name, why string) string {
	if i := strings.IndexByte(name, ':'); i > 0 {
		name = name[:i]
	}
	if _, ok := m.ifaceWhy[name]; !ok {
		m.ifaces = append(m.ifaces, name)
		m.ifaceWhy[name] = why
	}
	return name
}

// use records an address the source mentions, so that no placeholder takes it.
func (m *model) use(a netip.Addr) {
	if a.IsValid() {
		m.used[a.Unmap()] = true
	}
}

// hostNet is the network assumed around an address whose prefix length the source does not
// give: a /24 for IPv4, a /64 for IPv6, the usual LAN sizes.
func hostNet(a netip.Addr) netip.Prefix {
	bits := 64
	if a.Is4() {
		bits = 24
	}
	p, _ := a.Prefix(bits)
	return p
}

// ifPlan is a derived [[interface]].
type ifPlan struct {
	name     string
	addrs    []netip.Prefix
	comments []string
}

func (p *ifPlan) covers(a netip.Addr) bool {
	for _, pf := range p.addrs {
		if pf.Contains(a) || a.Is6() && a.IsLinkLocalUnicast() && pf.Addr().IsLinkLocalUnicast() {
			return true
		}
	}
	return false
}

func (p *ifPlan) owns(a netip.Addr) bool {
	for _, pf := range p.addrs {
		if pf.Addr() == a {
			return true
		}
	}
	return false
}

// need is a network an interface must be on, and why.
type need struct {
	net     netip.Prefix
	guessed bool // its length is hostNet's guess
	why     string
}

// plan derives the interfaces: each with its known addresses, and a placeholder address on
// every network it must be on and has none of: its virtual addresses', its unicast peers',
// and those of real servers no interface reaches.
func (m *model) plan() []*ifPlan {
	var plans []*ifPlan
	byName := map[string]*ifPlan{}
	get := func(name string) *ifPlan {
		if p, ok := byName[name]; ok {
			return p
		}
		p := &ifPlan{name: name}
		byName[name] = p
		plans = append(plans, p)
		return p
	}
	for _, name := range m.ifaces {
		get(name)
	}
	needs := map[string][]need{}
	linkLocal := map[string]bool{}
	known := append([]knownAddr(nil), m.known...)
	for _, in := range m.insts {
		for _, v := range in.vips {
			n := need{net: hostNet(v.pf.Addr()), guessed: true, why: "virtual address " + v.pf.Addr().String()}
			if v.explicit && v.pf.Bits() < v.pf.Addr().BitLen() {
				n = need{net: v.pf.Masked(), why: n.why}
			}
			if in.owner {
				known = append(known, knownAddr{iface: v.iface, pf: v.pf, explicit: v.explicit && v.pf.Bits() < v.pf.Addr().BitLen(), why: "the address owner's virtual address"})
			}
			needs[v.iface] = append(needs[v.iface], n)
		}
		for _, a := range in.peers {
			needs[in.iface] = append(needs[in.iface], need{net: hostNet(a), guessed: true, why: "unicast peer " + a.String()})
		}
		if in.src.IsValid() {
			known = append(known, knownAddr{iface: in.iface, pf: netip.PrefixFrom(in.src, in.src.BitLen()), why: "the source of vrrp_instance " + in.name + "'s adverts"})
		}
		if in.multicast6 {
			linkLocal[in.iface] = true
		}
	}

	// The known addresses first, each with the prefix of a network it must be on if there is
	// one, else the guess.
	for _, k := range known {
		p := get(k.iface)
		a := k.pf.Addr()
		if p.owns(a) {
			continue
		}
		pf, guessed := k.pf, false
		if !k.explicit {
			pf, guessed = netip.PrefixFrom(a, hostNet(a).Bits()), true
			for _, n := range needs[k.iface] {
				if n.net.Contains(a) {
					pf, guessed = netip.PrefixFrom(a, n.net.Bits()), n.guessed
					break
				}
			}
		}
		if a.Is6() && a.IsLinkLocalUnicast() && !k.explicit {
			pf, guessed = netip.PrefixFrom(a, 64), false
		}
		comment := k.why
		if guessed {
			comment += "; FILL IN: the prefix length is a guess"
		}
		p.addrs = append(p.addrs, pf)
		p.comments = append(p.comments, comment)
		m.use(a)
	}

	place := func(p *ifPlan, n need) {
		a := m.free(n.net)
		if !a.IsValid() {
			return
		}
		c := fmt.Sprintf("FILL IN: this router's own address on %s, for %s", n.net, n.why)
		if n.guessed {
			c += " (prefix length guessed)"
		}
		p.addrs = append(p.addrs, netip.PrefixFrom(a, n.net.Bits()))
		p.comments = append(p.comments, c)
		m.use(a)
	}
	for _, p := range plans {
		for _, n := range needs[p.name] {
			if !p.covers(n.net.Addr()) {
				place(p, n)
			}
		}
	}

	// Real servers and virtual addresses no interface reaches: on the interface of the
	// service's VIP (a one-armed director), else the first one.
	covered := func(a netip.Addr) *ifPlan {
		for _, p := range plans {
			if p.covers(a) {
				return p
			}
		}
		return nil
	}
	first := func() *ifPlan {
		if len(plans) == 0 {
			m.ifaceWhy["eth0"] = "no interface is named by the source: FILL IN its name"
			return get("eth0")
		}
		return plans[0]
	}
	vrrpOwned := map[netip.Addr]bool{}
	for _, in := range m.insts {
		for _, v := range in.vips {
			vrrpOwned[v.pf.Addr()] = true
		}
	}
	for _, s := range m.services {
		if s.vip.IsValid() && !vrrpOwned[s.vip] && covered(s.vip) == nil {
			place(first(), need{net: hostNet(s.vip), guessed: true, why: "virtual server " + s.vip.String()})
		}
		for _, a := range s.servers {
			if covered(a) != nil {
				continue
			}
			p := first()
			if s.vip.IsValid() {
				if q := covered(s.vip); q != nil {
					p = q
				}
			}
			place(p, need{net: hostNet(a), guessed: true, why: "real server " + a.String()})
		}
	}
	for _, p := range plans {
		if !linkLocal[p.name] {
			continue
		}
		has := false
		for _, pf := range p.addrs {
			has = has || pf.Addr().Is6() && pf.Addr().IsLinkLocalUnicast()
		}
		if !has {
			place(p, need{net: netip.MustParsePrefix("fe80::/64"), why: "IPv6 multicast adverts, which come from a link-local address"})
		}
	}
	if len(plans) == 0 {
		first() // uvs needs an interface, whatever the source holds
	}
	if m.syncIf != "" {
		p := get(m.syncIf)
		has := false
		for _, pf := range p.addrs {
			has = has || pf.Addr().Is4()
		}
		if !has {
			// Nothing in the source says which network the sync daemon's interface is on:
			// a documentation address (TEST-NET-1) keeps the file valid and is obviously
			// not the answer.
			place(p, need{net: netip.MustParsePrefix("192.0.2.0/24"), why: "the sync daemon's multicast (placeholder network: nothing says which)"})
		}
	}
	return plans
}

// free returns the highest host address of net that the source does not use.
func (m *model) free(net netip.Prefix) netip.Addr {
	net = net.Masked()
	base := net.Addr()
	if base.Is4() {
		if net.Bits() > 30 {
			return netip.Addr{}
		}
		b := base.As4()
		host := uint32(1)<<(32-net.Bits()) - 1
		n := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
		for h := host - 1; h >= 1; h-- {
			v := n | h
			a := netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
			if !m.used[a] {
				return a
			}
		}
		return netip.Addr{}
	}
	if net.Bits() > 120 {
		return netip.Addr{}
	}
	b := base.As16()
	for h := 0xfe; h >= 1; h-- {
		c := b
		c[15] = byte(h)
		a := netip.AddrFrom16(c)
		if !m.used[a] {
			return a
		}
	}
	return netip.Addr{}
}

// render writes the model as TOML, the notes at its top.
func (m *model) render(ns *notes) *Result {
	plans := m.plan()
	var body strings.Builder
	sep := func() {
		if body.Len() > 0 {
			body.WriteByte('\n')
		}
	}
	for i, p := range plans {
		t := newTable("interface", true)
		if why := m.ifaceWhy[p.name]; why != "" {
			t.note(why)
		}
		t.set("name", vStr(p.name))
		t.set("kind", vStr("afpacket"))
		t.set("device", vStr(p.name))
		vals := make([]value, len(p.addrs))
		commented := false
		for j, pf := range p.addrs {
			vals[j] = vStr(pf.String())
			commented = commented || p.comments[j] != ""
		}
		switch {
		case len(vals) == 0:
			t.note("FILL IN: nothing in the source gives an address on this interface")
		case commented:
			t.set("addresses", vArrLines(vals, p.comments))
		default:
			t.set("addresses", vArr(vals...))
		}
		if i == 0 {
			t.note(`FILL IN: gateway = "..." if clients or real servers are beyond these networks`)
		}
		sep()
		t.write(&body)
	}
	var tables []*table
	if m.alerts != nil {
		tables = append(tables, m.alerts)
	}
	if m.vrrp != nil {
		tables = append(tables, m.vrrp)
	}
	tables = append(tables, m.scripts...)
	tables = append(tables, m.files...)
	for _, in := range m.insts {
		tables = append(tables, in.t)
	}
	tables = append(tables, m.groups...)
	tables = append(tables, m.marks...)
	for _, s := range m.services {
		tables = append(tables, s.t)
	}
	if m.ipvs != nil {
		tables = append(tables, m.ipvs)
	}
	if m.sync != nil {
		tables = append(tables, m.sync)
	}
	for _, t := range tables {
		sep()
		t.write(&body)
	}
	if len(m.trailer) > 0 {
		sep()
		for _, c := range m.trailer {
			body.WriteString(commentLine(c))
		}
	}

	var out strings.Builder
	fmt.Fprintf(&out, "# uvs configuration converted from %s by `uvs conf import`.\n", commentText(m.source))
	if strings.Contains(body.String(), "FILL IN") {
		out.WriteString("#\n# FILL IN marks what the source does not say (this router's own addresses, prefix\n")
		out.WriteString("# lengths, firewall-mark rules): the values there keep the file valid; check each.\n")
	}
	list := ns.sorted()
	if len(list) > 0 {
		fmt.Fprintf(&out, "#\n# Not converted (%d):\n", len(list))
		for _, n := range list {
			out.WriteString("#   " + commentText(n.String()) + "\n")
		}
	}
	out.WriteByte('\n')
	out.WriteString(body.String())
	return &Result{TOML: []byte(out.String()), Unsupported: list}
}
