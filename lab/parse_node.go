package lab

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/uvs-lb/uvs/conf"
)

// kindKeys are the keys only one kind of node takes, so that a key on the wrong kind gets a
// message naming the right one rather than "unknown key".
var kindKeys = map[string]NodeKind{
	"config": KindAppliance, "config_file": KindAppliance,
	"service": KindHost, "vips": KindHost, "tun_type": KindHost, "tun_port": KindHost,
	"load":     KindClient,
	"external": KindSwitch,
}

// node reads [nodes.NAME].
func (r *reader) node(nodes *table, name string) *Node {
	key := nodes.Key(name)
	if !validName(name) {
		r.Errorf(key, "%q cannot name a node: %s", name, nameRule)
		nodes.Get(name)
		return nil
	}
	t, ok := nodes.Sub(name)
	if !ok {
		return nil
	}
	n := &Node{Name: name, key: key}
	kind, ok := t.Str("kind")
	switch {
	case !ok && !t.Has("kind"):
		t.Errorf("kind", "every node needs a kind (appliance, host, client or switch)")
		return nil
	case !ok:
		return nil
	}
	n.Kind = NodeKind(kind)
	switch n.Kind {
	case KindAppliance:
		r.applianceConfig(t, n)
	case KindHost:
		r.interfaces(t, n)
		r.services(t, n)
		r.realServer(t, n)
	case KindClient:
		r.interfaces(t, n)
		r.loads(t, n)
	case KindSwitch:
		r.externals(t, n)
	default:
		t.Errorf("kind", "unknown kind %q (appliance, host, client or switch)", kind)
		return nil
	}
	if n.Kind != KindHost && n.Kind != KindClient && t.Has("interface") {
		t.Allow("interface")
		if n.Kind == KindAppliance {
			t.Errorf("interface", "an appliance's interfaces are those of its configuration")
		} else {
			t.Errorf("interface", "a switch's ports are named by the links that reach it")
		}
	}
	for k, owner := range kindKeys {
		if owner != n.Kind && t.Has(k) {
			t.Allow(k)
			t.Errorf(k, "only %s nodes take %s", owner, k)
		}
	}
	t.Done()
	return n
}

// realServer reads what makes a host a direct-routing or tunnelling real server: the VIPs it
// holds hidden, and the tunnels it terminates.
func (r *reader) realServer(t *table, n *Node) {
	vals, keys, _ := strs(t, "vips")
	for i, s := range vals {
		a, err := netip.ParseAddr(s)
		switch {
		case err != nil || !hostAddr(a):
			r.Errorf(keys[i], "%q is not a unicast IP address", s)
		case slices.Contains(n.VIPs, a):
			r.Errorf(keys[i], "%s is listed twice", a)
		case !hasFamily(n.Interfaces, a.Is4()):
			r.Errorf(keys[i], "%s has no %s address: holding %s hidden needs one beside it, to resolve neighbors from",
				n.Name, familyName(a.Is4()), a)
		default:
			n.VIPs = append(n.VIPs, a)
		}
	}
	typ, hasType := t.Str("tun_type")
	switch TunType(typ) {
	case TunIPIP, TunGUE, TunBoth:
		n.TunType = TunType(typ)
		if len(vals) == 0 && !t.Has("vips") {
			t.Errorf("tun_type", "a tunnel real server needs the VIPs it answers for (vips = [...])")
		}
	default:
		if hasType {
			t.Errorf("tun_type", "unknown tunnel type %q (ipip, gue or both)", typ)
		}
	}
	port, hasPort := t.Integer("tun_port", 1, 65535)
	switch {
	case hasPort && (n.TunType == TunIPIP || !hasType && !t.Has("tun_type")):
		t.Errorf("tun_port", "applies to tun_type gue or both: the UDP port GUE arrives on")
	case hasPort:
		n.TunPort = uint16(port)
	case n.TunType.GUE() && !t.Has("tun_port"):
		t.Errorf("tun_type", "GUE needs tun_port, the UDP port it arrives on (the appliance's tun_port)")
	}
}

func hasFamily(ifcs []Interface, v4 bool) bool {
	for _, ifc := range ifcs {
		for _, p := range ifc.Addrs {
			if p.Addr().Is4() == v4 {
				return true
			}
		}
	}
	return false
}

func familyName(v4 bool) string {
	if v4 {
		return "IPv4"
	}
	return "IPv6"
}

// applianceConfig reads an appliance's configuration: config, inline, or config_file.
func (r *reader) applianceConfig(t *table, n *Node) {
	inline, hasInline := t.Str("config")
	path, hasPath := t.Str("config_file")
	switch {
	case hasInline && hasPath:
		t.Errorf("config_file", "an appliance has config (inline) or config_file, not both")
	case hasInline:
		n.Config = r.inlineConfig(t.Key("config"), inline)
	case hasPath:
		n.Config, n.ConfigFile = r.configFile(t.Key("config_file"), path)
	case !t.Has("config") && !t.Has("config_file"):
		t.Errorf("config", "an appliance needs its configuration: config (inline TOML) or config_file (a path)")
	}
}

// inlineConfig parses an appliance configuration written in the topology file as a string,
// and places its errors in the topology file, under key.
func (r *reader) inlineConfig(key, src string) *conf.Config {
	c, err := conf.Parse(r.file, []byte(src))
	if err == nil {
		return c
	}
	var errs conf.Errors
	if !errors.As(err, &errs) {
		r.Errorf(key, "%v", err)
		return nil
	}
	for _, e := range errs {
		mapped := *e
		mapped.Key = key
		if e.Key != "" {
			mapped.Key += "." + e.Key
		}
		if e.Line > 0 {
			mapped.Line, mapped.Col = r.inStringValue(key, e.Line, e.Col)
		} else {
			pos := r.Lookup(key)
			mapped.Line, mapped.Col = pos.Line, pos.Col
		}
		r.errs = append(r.errs, &mapped)
	}
	return nil
}

// inStringValue maps a line and column inside the string value of key to the file's. The
// columns of a basic string with escapes are approximate.
func (r *reader) inStringValue(key string, line, col int) (int, int) {
	off, ok := r.Pos.Values[key]
	if !ok {
		pos := r.Lookup(key)
		return pos.Line, pos.Col
	}
	delim := 1
	if rest := r.src[off:]; strings.HasPrefix(string(rest[:min(3, len(rest))]), `"""`) || strings.HasPrefix(string(rest[:min(3, len(rest))]), `'''`) {
		delim = 3
	}
	start := off + delim
	// TOML drops a newline right after the opening delimiter of a multi-line string.
	if delim == 3 {
		if strings.HasPrefix(string(r.src[start:]), "\r\n") {
			start += 2
		} else if start < len(r.src) && r.src[start] == '\n' {
			start++
		}
	}
	vLine := 1 + strings.Count(string(r.src[:start]), "\n")
	vCol := start - strings.LastIndexByte(string(r.src[:start]), '\n')
	if line == 1 {
		return vLine, vCol + col - 1
	}
	return vLine + line - 1, col
}

// configFile loads an appliance configuration file, relative to the topology's directory.
// Its errors keep their own file's name and positions.
func (r *reader) configFile(key, path string) (*conf.Config, string) {
	if path == "" {
		r.Errorf(key, "is empty")
		return nil, ""
	}
	if !filepath.IsAbs(path) {
		path = filepath.Join(filepath.Dir(r.file), path)
	}
	c, err := conf.Load(path)
	if err == nil {
		return c, path
	}
	var errs conf.Errors
	if errors.As(err, &errs) {
		r.errs = append(r.errs, errs...)
		return nil, path
	}
	if errors.Is(err, os.ErrNotExist) {
		r.Errorf(key, "%s does not exist", path)
	} else {
		r.Errorf(key, "%v", err)
	}
	return nil, path
}

// interfaces reads the [[nodes.NAME.interface]] of a host or client, as conf reads an
// appliance's [[interface]]: a name, addresses with their prefixes, gateways and routes.
func (r *reader) interfaces(t *table, n *Node) {
	subs := t.Subs("interface")
	if len(subs) == 0 && !t.Has("interface") {
		t.Errorf("interface", "a %s needs at least one [[nodes.%s.interface]]", n.Kind, n.Name)
	}
	seen := map[string]string{}
	for _, it := range subs {
		ifc := Interface{}
		name, ok := it.Str("name")
		switch {
		case !ok && !it.Has("name"):
			it.Errorf("name", "an interface needs a name (the port links name: \"%s:eth0\")", n.Name)
		case ok && !validName(name):
			it.Errorf("name", "%q cannot name an interface: %s", name, nameRule)
		case ok && seen[name] != "":
			it.Errorf("name", "interface %s is already defined at line %d", name, r.Line(seen[name]))
		case ok:
			seen[name] = it.Key("name")
			ifc.Name = name
		}
		addrs, keys, _ := strs(it, "addresses")
		for i, s := range addrs {
			p, err := netip.ParsePrefix(s)
			switch {
			case err != nil:
				r.Errorf(keys[i], "%q is not an address with its prefix length (like \"192.168.1.20/24\")", s)
			case !hostAddr(p.Addr()):
				r.Errorf(keys[i], "%s is not a unicast address", p.Addr())
			case p.Addr().Is4() && p.Bits() < 31 && p.Addr() == p.Masked().Addr():
				r.Errorf(keys[i], "%s is the network address of %s, not a host's", p.Addr(), p.Masked())
			default:
				ifc.Addrs = append(ifc.Addrs, p)
			}
		}
		if mtu, ok := it.Integer("mtu", 68, 65535); ok {
			ifc.MTU = int(mtu)
		}
		for _, gw := range []struct {
			key  string
			dflt netip.Prefix
		}{{"gateway", netip.PrefixFrom(netip.IPv4Unspecified(), 0)}, {"gateway6", netip.PrefixFrom(netip.IPv6Unspecified(), 0)}} {
			s, ok := it.Str(gw.key)
			if !ok {
				continue
			}
			if a, ok := r.onLink(it.Key(gw.key), s, ifc.Addrs, gw.dflt.Addr().Is4()); ok {
				ifc.Routes = append(ifc.Routes, Route{Dst: gw.dflt, Via: a})
			}
		}
		for _, rt := range it.Subs("route") {
			r.route(rt, &ifc)
			rt.Done()
		}
		it.Done()
		n.Interfaces = append(n.Interfaces, ifc)
	}
}

// route reads one [[...interface.route]]: a prefix and the next hop on this interface.
func (r *reader) route(t *table, ifc *Interface) {
	s, ok := t.Str("prefix")
	if !ok {
		if !t.Has("prefix") {
			t.Errorf("prefix", "a route needs a prefix")
		}
		return
	}
	p, err := netip.ParsePrefix(s)
	if err != nil || p.Masked() != p {
		t.Errorf("prefix", "%q is not a network prefix with no host bits set (like \"10.9.0.0/16\")", s)
		return
	}
	via, ok := t.Str("via")
	if !ok {
		if !t.Has("via") {
			t.Errorf("via", "a host's route needs a next hop (via)")
		}
		return
	}
	if a, ok := r.onLink(t.Key("via"), via, ifc.Addrs, p.Addr().Is4()); ok {
		ifc.Routes = append(ifc.Routes, Route{Dst: p, Via: a})
	}
}

// onLink parses a next hop, which must be of the family wanted and on one of addrs' networks.
func (r *reader) onLink(key, s string, addrs []netip.Prefix, want4 bool) (netip.Addr, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil || !hostAddr(a) {
		r.Errorf(key, "%q is not a unicast IP address", s)
		return netip.Addr{}, false
	}
	if a.Is4() != want4 {
		r.Errorf(key, "%s is not an %s address", a, map[bool]string{true: "IPv4", false: "IPv6"}[want4])
		return netip.Addr{}, false
	}
	for _, p := range addrs {
		if p.Contains(a) {
			return a, true
		}
	}
	r.Errorf(key, "%s is on none of the interface's networks", a)
	return netip.Addr{}, false
}

// hostAddr reports whether a can be a host's address.
func hostAddr(a netip.Addr) bool {
	return a.IsValid() && a.Zone() == "" && !a.Is4In6() && !a.IsUnspecified() && !a.IsMulticast() &&
		!a.IsLoopback() && a != netip.AddrFrom4([4]byte{255, 255, 255, 255})
}
