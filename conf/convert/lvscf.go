package convert

import (
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
)

// Piranha's lvs.cf (lvs.cf(5); Piranha's lvsconfig.c reads it): "key = value" lines, "#"
// comment lines, and blocks "virtual NAME {", "failover NAME {" and, in a virtual one,
// "server NAME {", each closed by a "}" line. A value may be quoted with " or '.
//
// Piranha's pulse daemon ran the primary and the backup router, exchanging UDP heartbeats;
// the active one ran lvs, which set IPVS up, and a nanny per real server checking it. Here
// VRRP takes pulse's place: one instance on the public interface, with unicast adverts to
// the peer (as the heartbeats went) and every floating address (the virtual servers' and
// the NAT router's) as its virtual addresses, so that they move together, as pulse moved
// them. The file is the primary's; the backup's differs in the router's own addresses,
// state and priority, which a comment at the end says.

// LVSCF reads Piranha's lvs.cf.
func LVSCF(name string, data []byte) (*Result, error) {
	ns := &notes{}
	ns.file(name)
	nodes, err := parseLVSCF(name, data, ns)
	if err != nil {
		return nil, err
	}
	c := &lvsConv{m: newModel(name), ns: ns, file: name}
	c.run(nodes)
	return c.m.render(ns), nil
}

// lvsNode is a line of lvs.cf, with its block.
type lvsNode struct {
	key   string
	vals  []string
	line  int
	kids  []*lvsNode
	block bool
}

func (n *lvsNode) val(i int) string {
	if i < len(n.vals) {
		return n.vals[i]
	}
	return ""
}

func (n *lvsNode) words() []string {
	if n.block {
		return append([]string{n.key}, n.vals...)
	}
	return append([]string{n.key, "="}, n.vals...)
}

// parseLVSCF reads the lines into blocks.
func parseLVSCF(name string, data []byte, ns *notes) ([]*lvsNode, error) {
	root := &lvsNode{block: true}
	stack := []*lvsNode{root}
	lines := strings.Split(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n")
	meaningful := 0
	for i, l := range lines {
		no := i + 1
		l = strings.TrimSpace(l)
		if l == "" || l[0] == '#' {
			continue
		}
		meaningful++
		words, quoted, err := lvsWords(l)
		if err != nil {
			ns.add(name, no, directive(strings.Fields(l)), err.Error())
			continue
		}
		cur := stack[len(stack)-1]
		switch {
		case words[0] == "}" && len(words) == 1:
			if len(stack) == 1 {
				ns.add(name, no, "}", "extra '}'")
				continue
			}
			stack = stack[:len(stack)-1]
		case len(words) == 3 && words[2] == "{" && !quoted[2]:
			n := &lvsNode{key: words[0], vals: words[1:2], line: no, block: true}
			cur.kids = append(cur.kids, n)
			stack = append(stack, n)
		case len(words) >= 2 && words[1] == "=":
			n := &lvsNode{key: words[0], vals: words[2:], line: no}
			if want := lvsArity(cur.key, n.key); want > 0 && len(n.vals) != want {
				ns.add(name, no, directive(words), fmt.Sprintf("%s takes %d value(s): Piranha refuses the line (quote a value with blanks)", n.key, want))
				continue
			}
			cur.kids = append(cur.kids, n)
		default:
			ns.add(name, no, directive(words), "not a \"key = value\" line or a block: Piranha refuses the file")
		}
	}
	if meaningful > 0 && len(root.kids) == 0 {
		return nil, fmt.Errorf("%s: no lvs.cf setting in it", name)
	}
	for len(stack) > 1 {
		n := stack[len(stack)-1]
		ns.add(name, n.line, directive(n.words()), "its block has no closing '}'")
		stack = stack[:len(stack)-1]
	}
	return root.kids, nil
}

// lvsArity is how many values a key of a block takes (lvsconfig.c's CHECK_ARGS); 0: a
// list.
func lvsArity(block, key string) int {
	switch {
	case key == "nat_router" && block == "", key == "address" && (block == "virtual" || block == "failover"):
		return 2
	case key == "dirs":
		return 0
	}
	return 1
}

// lvsWords splits a line as Piranha's tokenizeString: blanks separate words, and a word
// beginning with a quote runs to the same quote.
func lvsWords(s string) (words []string, quoted []bool, err error) {
	for i := 0; i < len(s); {
		if s[i] == ' ' || s[i] == '\t' {
			i++
			continue
		}
		if q := s[i]; q == '"' || q == '\'' {
			j := strings.IndexByte(s[i+1:], q)
			if j < 0 {
				return nil, nil, fmt.Errorf("unterminated %c quote", q)
			}
			words = append(words, s[i+1:i+1+j])
			quoted = append(quoted, true)
			i += j + 2
			continue
		}
		j := i
		for j < len(s) && s[j] != ' ' && s[j] != '\t' {
			j++
		}
		words = append(words, s[i:j])
		quoted = append(quoted, false)
		i = j
	}
	return words, quoted, nil
}

type lvsConv struct {
	m    *model
	ns   *notes
	file string
	g    map[string]*lvsNode // the global settings, last one of a key kept
}

func (c *lvsConv) note(n *lvsNode, why string) {
	c.ns.add(c.file, n.line, directive(n.words()), why)
}

// lvsGlobalReasons say why the global settings with no uvs equivalent are left out.
var lvsGlobalReasons = map[string]string{
	"serial_no":                   "the configuration tool's revision counter",
	"debug_level":                 "uvs's logging is [log]",
	"debug":                       "uvs's logging is [log]",
	"rsh_command":                 "uvs does not copy files between the routers",
	"sync":                        "uvs does not copy files between the routers",
	"ipvsadm":                     "uvs does not run ipvsadm",
	"hard_shutdown":               "uvs does not power off a failed peer",
	"reservation_conflict_action": "shared SCSI disks are a failover service's",
	"primary_shared":              "shared SCSI disks are a failover service's",
	"backup_shared":               "shared SCSI disks are a failover service's",
	"heartbeat_port":              "VRRP is IP protocol 112, with no port",
	"primary_private":             "VRRP adverts take one path: the instance's interface",
	"backup_private":              "VRRP adverts take one path: the instance's interface",
}

var lvsVirtualReasons = map[string]string{
	"load_monitor":   "uvs does not adjust weights by the real servers' load (rup, ruptime)",
	"client_monitor": "uvs checks the servers itself",
	"master":         "uvs does not copy files between the routers",
	"dirs":           "uvs does not copy files between the routers",
	"start_cmd":      "a failover service's",
	"stop_cmd":       "a failover service's",
}

func (c *lvsConv) run(nodes []*lvsNode) {
	c.g = map[string]*lvsNode{}
	var virtuals []*lvsNode
	for _, n := range nodes {
		switch {
		case n.block && n.key == "virtual":
			virtuals = append(virtuals, n)
		case n.block && n.key == "failover":
			c.note(n, "uvs has no failover services (fos): it moves addresses and balances, it does not start services")
		case n.block:
			c.note(n, "unknown block")
		default:
			c.g[n.key] = n
		}
	}
	if s := c.g["service"]; s != nil && s.val(0) == "fos" {
		c.note(s, "uvs has no failover services (fos): the virtual servers are converted, though pulse would not run them")
	}
	method := "DR"
	if n := c.g["network"]; n != nil {
		switch n.val(0) {
		case "nat":
			method = "NAT"
		case "direct":
		case "tunnel":
			method = "TUN"
		default:
			c.note(n, "unknown network type: Piranha refuses the file; direct routing is written")
		}
	} else {
		c.ns.add(c.file, 0, "network", "missing: Piranha's tools write direct, taken here")
	}
	for key, n := range c.g {
		switch key {
		case "service", "network", "primary", "backup", "backup_active", "heartbeat", "keepalive",
			"deadtime", "nat_router", "nat_nmask", "monitor_links", "syncdaemon", "syncd_iface",
			"syncd_id", "tcp_timeout", "tcpfin_timeout", "udp_timeout", "active_cmd", "inactive_cmd":
		default:
			if why, ok := lvsGlobalReasons[key]; ok {
				c.note(n, why)
			} else {
				c.note(n, "unknown setting: Piranha refuses the file")
			}
		}
	}

	vrrp := c.g["backup_active"] != nil && c.g["backup_active"].val(0) == "1"
	var in *inst
	var publicIf string
	var vips []vipRef
	for _, v := range virtuals {
		vip, iface := c.virtual(v, method)
		if vip.pf.IsValid() {
			if publicIf == "" {
				publicIf = iface
			}
			dup := false
			for _, o := range vips {
				dup = dup || o.pf.Addr() == vip.pf.Addr()
			}
			if !dup {
				vips = append(vips, vip)
			}
		}
	}
	primary := c.addr("primary")
	if publicIf == "" {
		publicIf = c.m.iface("eth0", "FILL IN: the public interface (no virtual server names one)")
	}
	// The NAT router: the real servers' gateway, which moves with the virtual addresses.
	var natRouter vipRef
	if n := c.g["nat_router"]; n != nil && method == "NAT" {
		a, err := netip.ParseAddr(n.val(0))
		switch {
		case err != nil:
			c.note(n, "not an IP address")
		case n.val(1) == "":
			c.note(n, "no device")
		default:
			bits := 24
			if m := c.g["nat_nmask"]; m != nil {
				if b, ok := maskBits(m.val(0)); ok {
					bits = b
				} else {
					c.note(m, "not a netmask")
				}
			}
			iface := c.m.iface(n.val(1), "the NAT router's interface (nat_router "+n.val(1)+"): the real servers' network")
			natRouter = vipRef{pf: netip.PrefixFrom(a.Unmap(), bits), explicit: true, iface: iface}
			c.m.use(a)
		}
	} else if n != nil {
		c.note(n, "the NAT router applies to network = nat only")
	}

	if vrrp {
		t := newTable("vrrp_instance", true)
		t.note("pulse's heartbeat between the primary and the backup, as VRRP")
		in = &inst{t: t, name: "lvs", iface: publicIf}
		t.set("name", vStr("lvs"))
		t.set("interface", vStr(publicIf))
		t.set("state", vStr("MASTER"), "the primary's; the backup's is BACKUP")
		t.set("virtual_router_id", vInt(51), "FILL IN: any VRID no other router uses on this network")
		t.set("priority", vInt(101), "the primary's; the backup's is 100")
		if k := c.g["keepalive"]; k != nil {
			if v, err := strconv.Atoi(k.val(0)); err == nil && v >= 1 && v <= 255 {
				t.set("advert_int", vInt(int64(v)), "keepalive: the seconds between heartbeats")
				if d := c.g["deadtime"]; d != nil {
					if dv, err := strconv.Atoi(d.val(0)); err == nil && dv != 3*v {
						c.note(d, fmt.Sprintf("VRRP declares a master dead after 3 advert intervals and a skew time (%d s and less than 1 s), not after deadtime", 3*v))
					}
				}
			} else {
				c.note(k, "VRRP version 2 adverts are 1 to 255 seconds apart")
			}
		}
		if all := append(append([]vipRef(nil), vips...), natRouter); len(all) > 0 {
			var vals []value
			for _, v := range all {
				if !v.pf.IsValid() {
					continue
				}
				s := v.pf.Addr().String()
				if v.explicit && v.pf.Bits() < v.pf.Addr().BitLen() {
					s = v.pf.String()
				}
				if v.iface != publicIf {
					vals = append(vals, vInline(kv{key: "address", val: vStr(s)}, kv{key: "dev", val: vStr(v.iface)}))
				} else {
					vals = append(vals, vStr(s))
				}
				in.vips = append(in.vips, v)
			}
			t.set("virtual_ipaddress", vArr(vals...))
		}
		if b := c.addr("backup"); b.IsValid() {
			in.peers = []netip.Addr{b}
			t.set("unicast_peer", vArr(vStr(b.String())), "the backup; the backup's file has the primary")
		}
		if primary.IsValid() && len(in.peers) > 0 {
			in.src = primary
			t.set("unicast_src_ip", vStr(primary.String()), "the primary; the backup's file has the backup")
		}
		if h := c.g["heartbeat"]; h != nil && h.val(0) == "0" {
			c.note(h, "pulse without heartbeats never fails over; VRRP always advertises")
		}
		if n := c.g["monitor_links"]; n != nil {
			if n.val(0) == "1" {
				var tracked []value
				for _, name := range c.m.ifaces {
					if name != publicIf {
						tracked = append(tracked, vStr(name))
					}
				}
				if len(tracked) > 0 {
					t.set("track_interface", vArr(tracked...), "monitor_links: a link down fails over")
				}
			} else {
				t.set("dont_track_primary", vBool(true), "monitor_links = 0: a link down does not fail over")
			}
		}
		for _, k := range []struct{ key, to string }{{"active_cmd", "notify_master"}, {"inactive_cmd", "notify_backup"}} {
			if n := c.g[k.key]; n != nil && n.val(0) != "" {
				t.set(k.to, vStr(quoteArgs(strings.Fields(n.val(0)))), k.key)
			}
		}
		if len(in.vips) == 0 {
			c.ns.add(c.file, 0, "backup_active = 1", "no active virtual server nor NAT router: nothing for VRRP to move")
			in = nil
		} else {
			c.m.insts = append(c.m.insts, in)
			c.backupTrailer(primary, c.addr("backup"), publicIf)
		}
	} else {
		for _, k := range []string{"backup", "heartbeat", "keepalive", "deadtime", "monitor_links", "active_cmd", "inactive_cmd"} {
			if n := c.g[k]; n != nil && !(k == "heartbeat" && n.val(0) == "0") {
				c.note(n, "no backup router (backup_active is not 1): nothing fails over")
			}
		}
		if natRouter.pf.IsValid() {
			// Without a backup, the NAT router is the router's own address on that side.
			c.m.known = append(c.m.known, knownAddr{iface: natRouter.iface, pf: natRouter.pf, explicit: true, why: "lvs.cf's nat_router"})
		}
	}
	if primary.IsValid() {
		c.m.known = append(c.m.known, knownAddr{iface: publicIf, pf: netip.PrefixFrom(primary, primary.BitLen()), why: "lvs.cf's primary"})
	}
	c.syncd(in)
	c.timeouts()
}

// addr reads a global address setting (primary, backup).
func (c *lvsConv) addr(key string) netip.Addr {
	n := c.g[key]
	if n == nil {
		return netip.Addr{}
	}
	a, err := netip.ParseAddr(n.val(0))
	if err != nil {
		c.note(n, "a host name: write its address")
		return netip.Addr{}
	}
	a = a.Unmap()
	c.m.use(a)
	return a
}

func (c *lvsConv) backupTrailer(primary, backup netip.Addr, iface string) {
	if !primary.IsValid() || !backup.IsValid() {
		return
	}
	c.m.trailer = append(c.m.trailer,
		"This is the primary's file. The backup router's differs in:",
		fmt.Sprintf("  - its own addresses in [[interface]] (%s instead of %s on %s, and its own on the", backup, primary, iface),
		"    other networks);",
		fmt.Sprintf("  - vrrp_instance lvs: state = \"BACKUP\", priority = 100, unicast_src_ip = %q,", backup.String()),
		fmt.Sprintf("    unicast_peer = [%q].", primary.String()))
}

// maskBits reads a dotted netmask.
func maskBits(s string) (int, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is4() {
		return 0, false
	}
	b := a.As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	bits := 0
	for v&(1<<31) != 0 {
		bits++
		v <<= 1
	}
	return bits, v == 0
}

var httpRequest = regexp.MustCompile(`^(GET|HEAD) (/\S*) HTTP/1\.[01]\r?\n`)

// virtual converts a virtual block; it returns its address and the interface holding it.
func (c *lvsConv) virtual(v *lvsNode, method string) (vipRef, string) {
	name := v.val(0)
	set := map[string]*lvsNode{}
	var servers []*lvsNode
	for _, k := range v.kids {
		if k.block {
			if k.key == "server" {
				servers = append(servers, k)
			} else {
				c.note(k, "unknown block in virtual")
			}
			continue
		}
		set[k.key] = k
	}
	if a := set["active"]; a != nil && a.val(0) != "1" {
		c.note(v, "inactive (active = 0): lvs does not set it up")
		return vipRef{}, ""
	}
	an := set["address"]
	if an == nil {
		c.note(v, "no address")
		return vipRef{}, ""
	}
	vip, err := netip.ParseAddr(an.val(0))
	if err != nil {
		c.note(an, "a host name: write its address")
		return vipRef{}, ""
	}
	vip = vip.Unmap()
	c.m.use(vip)
	iface := an.val(1)
	if iface == "" {
		c.note(an, "no device: eth0 is taken")
		iface = "eth0"
	}
	iface = c.m.iface(iface, "the interface of virtual server "+name+"'s address ("+an.val(1)+")")
	ref := vipRef{pf: netip.PrefixFrom(vip, 32), iface: iface}
	if m := set["vip_nmask"]; m != nil {
		if b, ok := maskBits(m.val(0)); ok {
			ref.pf, ref.explicit = netip.PrefixFrom(vip, b), true
		} else {
			c.note(m, "not a netmask")
		}
	}
	port := 80 // lvs.cf's default
	if p := set["port"]; p != nil {
		if n, err := strconv.Atoi(p.val(0)); err == nil && n >= 0 && n <= 65535 {
			port = n
		} else if n, ok := servicePorts[p.val(0)]; ok {
			port = n
		} else {
			c.note(p, "not a port: 80 is taken")
		}
	}
	proto := "tcp"
	if p := set["protocol"]; p != nil {
		if p.val(0) == "udp" || p.val(0) == "tcp" {
			proto = p.val(0)
		} else {
			c.note(p, "unknown protocol: tcp is taken")
		}
	}
	t := newTable("virtual_server", true)
	t.note("virtual " + name)
	s := &service{t: t}
	var mark int64
	if f := set["fwmark"]; f != nil {
		if n, err := strconv.ParseInt(f.val(0), 10, 64); err == nil && n > 0 && n <= 1<<32-1 {
			mark = n
		} else {
			c.note(f, "not a firewall mark")
		}
	}
	if mark > 0 {
		t.set("fwmark", vInt(mark))
		c.m.markRule(mark, 4, proto, vip, []int{port}, fmt.Sprintf("virtual %s", name))
		c.note(set["fwmark"], fmt.Sprintf("the iptables rules marking the packets are not in lvs.cf: the [[mark]] rule written marks %s port %d only; add the other ports the service bundles", proto, port))
	} else {
		s.vip = vip
		t.set("address", vStr(netip.AddrPortFrom(vip, uint16(port)).String()))
		if proto == "udp" {
			t.set("protocol", vStr("udp"))
		}
	}
	sched := "wlc"
	if n := set["scheduler"]; n != nil {
		if contains(schedulers, n.val(0)) {
			sched = n.val(0)
		} else {
			c.note(n, "unknown scheduler: Piranha refuses it; wlc is taken")
		}
	}
	t.set("lb_algo", vStr(sched))
	t.set("lb_kind", vStr(method))
	if p := set["persistent"]; p != nil {
		if n, err := strconv.Atoi(p.val(0)); err == nil && n > 0 && n <= 2678400 {
			t.set("persistence_timeout", vInt(int64(n)))
			if m := set["pmask"]; m != nil && m.val(0) != "255.255.255.255" {
				if _, ok := maskBits(m.val(0)); ok {
					t.set("persistence_granularity", vStr(m.val(0)))
				} else {
					c.note(m, "not a netmask")
				}
			}
		} else if err != nil || n < 0 {
			c.note(p, "not a number of seconds")
		}
	}
	// nanny's checks: every timeout seconds, a connection (with send and expect) that must
	// answer within timeout; one failure takes the server out (or to weight 0 with
	// quiesce_server), and it comes back, as it starts, after reentry / timeout passes.
	timeout, reentry := 10, 180
	if n := set["timeout"]; n != nil {
		if v, err := strconv.Atoi(n.val(0)); err == nil && v > 0 {
			timeout = v
		} else {
			c.note(n, "not a number of seconds: 10 is taken")
		}
	}
	if n := set["reentry"]; n != nil {
		if v, err := strconv.Atoi(n.val(0)); err == nil && v >= 0 {
			reentry = v
		} else {
			c.note(n, "not a number of seconds: 180 is taken")
		}
	}
	rise := max(reentry/timeout, 1)
	t.set("delay_loop", vInt(int64(timeout)), "timeout: nanny's period")
	t.set("connect_timeout", vInt(int64(timeout)), "timeout: also nanny's time to connect and answer")
	t.set("retry", vInt(0), "nanny takes a server out at its first failure")
	t.set("rise", vInt(int64(min(rise, 1000))), fmt.Sprintf("reentry %d s / timeout %d s", reentry, timeout))
	t.set("alpha", vBool(true), "nanny adds a server after rise checks")
	if q := set["quiesce_server"]; q != nil && q.val(0) == "1" {
		t.set("inhibit_on_failure", vBool(true), "quiesce_server: weight 0 instead of out")
	}
	if ss := set["sorry_server"]; ss != nil {
		if a, err := netip.ParseAddr(ss.val(0)); err == nil {
			st := t.sub("sorry_server", false)
			st.set("address", vStr(a.Unmap().String()))
			c.m.use(a)
			s.servers = append(s.servers, a.Unmap())
		} else {
			c.note(ss, "not an IP address")
		}
	}
	check := c.checkKind(set, proto)
	for key, n := range set {
		switch key {
		case "active", "address", "vip_nmask", "fwmark", "port", "protocol", "scheduler",
			"persistent", "pmask", "timeout", "reentry", "quiesce_server", "sorry_server",
			"send", "expect", "use_regex", "send_program":
		case "load_monitor":
			if n.val(0) != "none" {
				c.note(n, lvsVirtualReasons[key])
			}
		case "client_monitor":
			if n.val(0) != "/usr/sbin/nanny" {
				c.note(n, lvsVirtualReasons[key])
			}
		default:
			if why, ok := lvsVirtualReasons[key]; ok {
				c.note(n, why)
			} else {
				c.note(n, "unknown setting in virtual: Piranha refuses the file")
			}
		}
	}
	for _, sv := range servers {
		c.server(sv, t, s, check, port, mark > 0, method)
	}
	c.m.services = append(c.m.services, s)
	return ref, iface
}

// checkKind writes the checker nanny's send and expect stand for: an HTTP GET when the send
// is an HTTP request and the expect the start of any HTTP answer; a UDP datagram and its
// answer for UDP; otherwise a TCP connection, which is all uvs's tcp_check does.
func (c *lvsConv) checkKind(kv map[string]*lvsNode, proto string) func(*table, int) {
	unescape := strings.NewReplacer(`\r`, "\r", `\n`, "\n", `\t`, "\t", `\\`, `\`, `\'`, "'", `\"`, `"`)
	send, expect := "", ""
	if n := kv["send"]; n != nil {
		send = unescape.Replace(n.val(0))
	}
	if n := kv["expect"]; n != nil {
		expect = unescape.Replace(n.val(0))
	}
	if n := kv["send_program"]; n != nil && n.val(0) != "" {
		c.note(n, "uvs matches no program's output (a misc_check takes a program's exit status): the servers are checked by connecting")
		send, expect = "", ""
	}
	if n := kv["use_regex"]; n != nil && n.val(0) == "1" && expect != "" {
		c.note(n, "uvs has no regular expressions: the servers are checked by connecting")
		send, expect = "", ""
	}
	if proto == "udp" {
		return func(rt *table, port int) {
			ck := rt.sub("udp_check", true)
			if port > 0 {
				ck.set("connect_port", vInt(int64(port)))
			}
			if send != "" {
				ck.set("payload", vStr(hexPayload([]byte(send))))
			}
			if expect != "" && expect != "*" {
				ck.set("require_reply", vStr(hexPayload([]byte(expect))), "nanny's expect: the answer begins with it")
			} else {
				ck.set("require_reply", vBool(true), "nanny waits for an answer")
			}
		}
	}
	if m := httpRequest.FindStringSubmatch(send); m != nil && expect != "" && strings.HasPrefix("HTTP/1.", expect) {
		return func(rt *table, port int) {
			ck := rt.sub("http_get", true)
			if port > 0 {
				ck.set("connect_port", vInt(int64(port)))
			}
			u := ck.sub("url", true)
			u.set("path", vStr(m[2]))
			u.set("status_code", vStr("100-599"), fmt.Sprintf("nanny's expect %q accepts any HTTP answer", expect))
		}
	}
	if expect != "" && expect != "*" {
		// Sending alone is no check nanny's connection does not make.
		c.note(kv["expect"], "uvs's tcp_check sends nothing and expects nothing: the servers are checked by connecting")
	}
	return func(rt *table, port int) {
		ck := rt.sub("tcp_check", true)
		if port > 0 {
			ck.set("connect_port", vInt(int64(port)))
		}
	}
}

// server converts a server block of a virtual.
func (c *lvsConv) server(sv *lvsNode, vt *table, s *service, check func(*table, int), vport int, fwmark bool, method string) {
	kv := map[string]*lvsNode{}
	for _, k := range sv.kids {
		kv[k.key] = k
		switch k.key {
		case "address", "active", "weight", "port":
		default:
			c.note(k, "unknown setting in server: Piranha refuses the file")
		}
	}
	if a := kv["active"]; a != nil && a.val(0) != "1" {
		c.note(sv, "inactive (active = 0): lvs does not add it")
		return
	}
	an := kv["address"]
	if an == nil {
		c.note(sv, "no address")
		return
	}
	a, err := netip.ParseAddr(an.val(0))
	if err != nil {
		c.note(an, "a host name: write its address")
		return
	}
	a = a.Unmap()
	c.m.use(a)
	rt := vt.sub("real_server", true)
	addr, checkPort := a.String(), 0
	if fwmark {
		checkPort = vport // nanny checks the virtual server's port
	}
	if p := kv["port"]; p != nil {
		if n, err := strconv.Atoi(p.val(0)); err == nil && n > 0 && n <= 65535 && n != vport {
			if method == "NAT" && !fwmark {
				addr = netip.AddrPortFrom(a, uint16(n)).String()
			} else {
				c.note(p, fmt.Sprintf("%s servers get the client's port: the port has no effect", method))
			}
			checkPort = n
		}
	}
	rt.set("address", vStr(addr))
	weight := int64(1)
	if w := kv["weight"]; w != nil {
		if n, err := strconv.ParseInt(w.val(0), 10, 64); err == nil && n >= 0 && n <= 65535 {
			weight = n
		} else {
			c.note(w, "not a weight (0 to 65535): 1 is taken")
		}
	}
	rt.set("weight", vInt(weight))
	check(rt, checkPort)
	s.servers = append(s.servers, a)
}

// syncd writes syncdaemon as [sync]; with VRRP its role follows the instance.
func (c *lvsConv) syncd(in *inst) {
	n := c.g["syncdaemon"]
	if n == nil || n.val(0) != "1" {
		return
	}
	iface := "eth0"
	t := newTable("sync", false)
	if i := c.g["syncd_iface"]; i != nil && i.val(0) != "" {
		iface = i.val(0)
	} else {
		t.note("FILL IN: lvs.cf names no syncd_iface; Piranha takes eth0")
	}
	c.m.syncIf = c.m.iface(iface, "the interface of the connection sync daemon")
	t.set("interface", vStr(c.m.syncIf))
	if in != nil {
		t.set("vrrp_instance", vStr(in.name))
	} else {
		t.set("role", vStr("master"), "no backup router: this one sends")
	}
	if i := c.g["syncd_id"]; i != nil {
		if v, err := strconv.Atoi(i.val(0)); err == nil && v >= 0 && v <= 255 {
			t.set("id", vInt(int64(v)))
		} else {
			c.note(i, "the sync ID is 0 to 255")
		}
	}
	c.m.sync = t
}

// timeouts writes tcp_timeout, tcpfin_timeout and udp_timeout (ipvsadm --set); 0 leaves
// IPVS's default, as lvs does.
func (c *lvsConv) timeouts() {
	for _, k := range []struct{ key, to string }{{"tcp_timeout", "tcp"}, {"tcpfin_timeout", "tcpfin"}, {"udp_timeout", "udp"}} {
		n := c.g[k.key]
		if n == nil {
			continue
		}
		v, err := strconv.ParseInt(n.val(0), 10, 64)
		switch {
		case err != nil || v < 0 || v > 2678400:
			c.note(n, "not a number of seconds (0 to 2678400)")
		case v > 0:
			if c.m.ipvs == nil {
				c.m.ipvs = newTable("ipvs.timeouts", false)
			}
			c.m.ipvs.set(k.to, vInt(v))
		}
	}
}
