package convert

import (
	"encoding/hex"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
)

// vsIdent is what a virtual server is: an address and port, or a firewall mark.
type vsIdent struct {
	addr   netip.Addr
	port   int
	mark   int64
	family int // a fwmark service's, when given (virtual_server_group "fwmark N inet6")
}

// kaServer is a real or sorry server as read: its port is settled per virtual server, since a
// virtual_server_group gives one body several ports.
type kaServer struct {
	t      *table
	addr   netip.Addr
	port   int // 0: none written
	method string
	n      *kaNode
}

// vsBody is a virtual_server block as read, before it is written once per identity.
type vsBody struct {
	keys    *table // the service's own keys
	servers []*kaServer
	sorry   *kaServer
	method  string
	proto   string
	sched   string
	flags   []*kaNode
	family  int // ip_family
}

// The schedulers uvs has; keepalived takes the same names (lvs_schedulers).
var schedulers = strings.Fields("rr wrr lc wlc lblc lblcr dh sh sed nq mh fo ovf twos")

// virtualServer converts a virtual_server block: IP PORT, fwmark N, or group NAME, which is
// written once per entry of its virtual_server_group, as keepalived sets up one IPVS service
// per entry.
func (c *kaConv) virtualServer(n *kaNode) {
	var ids []vsIdent
	switch n.arg(0) {
	case "group":
		g := c.vsgs[n.arg(1)]
		if g == nil {
			c.note(n, "no virtual_server_group "+n.arg(1)+": keepalived ignores the virtual server")
			return
		}
		ids = c.groupEntries(g)
	case "fwmark":
		v, err := strconv.ParseInt(n.arg(1), 10, 64)
		if err != nil || v < 1 || v > math.MaxUint32 {
			c.note(n, "the mark must be 1 to 4294967295: keepalived ignores the virtual server")
			return
		}
		ids = []vsIdent{{mark: v}}
	default:
		a, err := netip.ParseAddr(n.arg(0))
		if err != nil {
			c.note(n, "not an IP address: keepalived ignores the virtual server")
			return
		}
		port := 0
		if p := n.arg(1); p != "" {
			v, err := strconv.Atoi(p)
			if err != nil || v < 0 || v > 65535 {
				c.note(n, "the port must be 0 to 65535: keepalived ignores the virtual server")
				return
			}
			port = v
		}
		ids = []vsIdent{{addr: a.Unmap(), port: port}}
	}
	body := c.vsBody(n)
	if body == nil {
		return
	}
	for _, id := range ids {
		c.writeVS(n, id, body)
	}
}

// groupEntries reads a virtual_server_group: "IP [PORT]", an address range "IP-LAST [PORT]"
// or "IP/LEN [PORT]", or "fwmark N [inet|inet6]", a line each.
func (c *kaConv) groupEntries(g *kaNode) []vsIdent {
	const maxExpand = 1024
	var ids []vsIdent
	for _, e := range g.kids {
		if e.key() == "fwmark" {
			v, err := strconv.ParseInt(e.arg(0), 10, 64)
			if err != nil || v < 1 || v > math.MaxUint32 {
				c.note(e, "the mark must be 1 to 4294967295: keepalived ignores it")
				continue
			}
			id := vsIdent{mark: v}
			switch e.arg(1) {
			case "inet":
				id.family = 4
			case "inet6":
				id.family = 6
			}
			ids = append(ids, id)
			continue
		}
		addrs, ok := expandRange(e.key())
		if !ok {
			c.note(e, "not an address or address range: keepalived ignores it")
			continue
		}
		if len(addrs) > maxExpand {
			c.note(e, fmt.Sprintf("the range has %d addresses: only the first %d are written", len(addrs), maxExpand))
			addrs = addrs[:maxExpand]
		}
		port := 0
		if p := e.arg(0); p != "" {
			v, err := strconv.Atoi(p)
			if err != nil || v < 0 || v > 65535 {
				c.note(e, "the port must be 0 to 65535: keepalived ignores the entry")
				continue
			}
			port = v
		}
		for _, a := range addrs {
			ids = append(ids, vsIdent{addr: a, port: port})
		}
	}
	return ids
}

// expandRange expands keepalived's address ranges: 192.168.200.1-10 (the last part),
// 192.168.200.250-192.168.201.10, 192.168.202.8/29, and their IPv6 equivalents. A range
// of more than 65536 addresses is refused.
func expandRange(s string) ([]netip.Addr, bool) {
	var first, last netip.Addr
	if pf, err := netip.ParsePrefix(s); err == nil {
		if pf.Addr().BitLen()-pf.Bits() > 16 {
			return nil, false
		}
		pf = pf.Masked()
		first = pf.Addr()
		for a := first; pf.Contains(a); a = a.Next() {
			last = a
		}
	} else if lo, hi, isRange := strings.Cut(s, "-"); isRange {
		a, err := netip.ParseAddr(lo)
		if err != nil {
			return nil, false
		}
		first = a
		if b, err := netip.ParseAddr(hi); err == nil {
			last = b
		} else {
			// Only the last part of the address: decimal for IPv4, hexadecimal for IPv6.
			sep, base := ".", 10
			if a.Is6() {
				sep, base = ":", 16
			}
			i := strings.LastIndex(lo, sep)
			v, err := strconv.ParseUint(hi, base, 16)
			if err != nil || i < 0 {
				return nil, false
			}
			b, err := netip.ParseAddr(lo[:i+1] + strconv.FormatUint(v, base))
			if err != nil {
				return nil, false
			}
			last = b
		}
	} else {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, false
		}
		return []netip.Addr{a.Unmap()}, true
	}
	if first.Is4() != last.Is4() || last.Less(first) {
		return nil, false
	}
	var out []netip.Addr
	for a := first; ; a = a.Next() {
		out = append(out, a.Unmap())
		if a == last || len(out) > 65536 {
			break
		}
	}
	return out, len(out) <= 65536
}

// vsReasons say why the virtual_server keywords uvs does not take are left out.
var vsReasons = map[string]string{
	"persistence_engine": "uvs has no persistence engines (SIP Call-ID)",
	"ha_suspend":         "uvs checks real servers whether or not the virtual address is held",
	"snmp_name":          "uvs has no SNMP agent",
	"weight":             "a virtual server's weight only matters to keepalived's nftables sets",
	"hashed":             "an old ipvsadm flag with no effect",
	"flag-3":             "no scheduler uses flag-3",
}

// vsBody reads the keys, real servers and sorry server of a virtual_server block.
func (c *kaConv) vsBody(n *kaNode) *vsBody {
	b := &vsBody{keys: newTable("virtual_server", true), method: "NAT"}
	t := b.keys
	for _, k := range n.kids {
		switch key := k.key(); key {
		case "lb_algo", "lvs_sched":
			if !contains(schedulers, k.arg(0)) {
				c.note(k, "unknown scheduler: keepalived ignores it")
				continue
			}
			b.sched = k.arg(0)
			t.set("lb_algo", vStr(b.sched))
		case "lb_kind", "lvs_method":
			if m, ok := c.method(k, t); ok {
				b.method = m
				t.set("lb_kind", vStr(m))
			}
		case "persistence_timeout":
			if k.arg(0) == "" {
				t.set("persistence_timeout", vInt(360), "keepalived's persistence_timeout without a value")
				continue
			}
			if v, ok := c.intArg(k, 1, 2678400); ok {
				t.set("persistence_timeout", vInt(v))
			}
		case "persistence_granularity":
			g := k.arg(0)
			if strings.Contains(g, ".") {
				if _, err := netip.ParseAddr(g); err != nil {
					c.note(k, "not a netmask: keepalived ignores it")
					continue
				}
				t.set(key, vStr(g))
			} else if v, ok := c.intArg(k, 1, 128); ok {
				t.set(key, vInt(v))
			}
		case "protocol":
			switch p := strings.ToLower(k.arg(0)); p {
			case "tcp", "udp":
				b.proto = p
			case "sctp":
				c.note(k, "uvs has no SCTP services yet: the virtual server is left out")
				return nil
			default:
				c.note(k, "unknown protocol: keepalived ignores it")
			}
		case "virtualhost":
			t.set(key, vStr(k.arg(0)))
		case "alpha", "omega", "inhibit_on_failure", "sorry_server_inhibit":
			if v, ok := c.boolArg(k); ok {
				t.set(key, vBool(v))
			}
		case "quorum":
			if v, ok := c.intArg(k, 1, math.MaxUint32); ok {
				t.set(key, vInt(v))
			}
		case "hysteresis":
			if v, ok := c.intArg(k, 0, math.MaxUint32); ok {
				t.set(key, vInt(v))
			}
		case "quorum_up", "quorum_down":
			if s, ok := c.script(k); ok {
				t.set(key, vStr(s))
			}
		case "ip_family":
			switch k.arg(0) {
			case "inet":
				b.family = 4
			case "inet6":
				b.family = 6
			default:
				c.note(k, "unknown family: keepalived ignores it")
			}
		case "ops":
			t.set("ops", vBool(true))
		case "sh-port", "sh-fallback", "mh-port", "mh-fallback", "flag-1", "flag-2":
			b.flags = append(b.flags, k)
		case "sorry_server":
			b.sorry = c.server(k, "virtual_server.sorry_server", false)
		case "sorry_server_lvs_method":
			if b.sorry == nil {
				c.note(k, "no sorry_server before it: keepalived ignores it")
				continue
			}
			if m, ok := c.method(k, b.sorry.t); ok {
				b.sorry.method = m
				b.sorry.t.set("lb_kind", vStr(m))
			}
		case "delay_loop", "connect_timeout", "delay_before_retry", "warmup", "retry":
			c.timing(k, key, t)
		case "smtp_alert":
			c.smtpAlert(k, t)
		case "real_server":
			if s := c.server(k, "virtual_server.real_server", true); s != nil {
				b.servers = append(b.servers, s)
			}
		default:
			if why, ok := vsReasons[key]; ok {
				c.note(k, why)
			} else {
				c.note(k, "unknown keyword in virtual_server: keepalived ignores it")
			}
		}
	}
	if len(b.servers) == 0 {
		c.note(n, "no real_server: keepalived ignores the virtual server")
		return nil
	}
	if t.has("sorry_server_inhibit") && b.sorry == nil {
		c.note(n, "sorry_server_inhibit without a sorry_server: keepalived ignores it")
		t.del("sorry_server_inhibit")
	}
	// Scheduler flags apply to their scheduler only.
	var flags []value
	for _, k := range b.flags {
		f := k.key()
		switch f {
		case "flag-1":
			f = b.sched + "-fallback" // IP_VS_SVC_F_SCHED1 is sh-fallback and mh-fallback
		case "flag-2":
			f = b.sched + "-port"
		}
		if !strings.HasPrefix(f, b.sched+"-") || b.sched != "sh" && b.sched != "mh" {
			c.note(k, "applies to the sh and mh schedulers only: keepalived ignores it with lb_algo "+orDefault(b.sched, "wlc"))
			continue
		}
		flags = append(flags, vStr(f))
	}
	if len(flags) > 0 {
		t.set("sched_flags", vArr(flags...))
	}
	if v, ok := t.get("ops"); ok && v == "true" && b.proto != "udp" && !strings.Contains(n.arg(0), "fwmark") && n.arg(0) != "group" {
		c.note(n, "ops (one-packet scheduling) is for UDP services: the kernel ignores it for TCP")
		t.del("ops")
	}
	return b
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// method reads an lvs_method (lb_kind): NAT, DR, or TUN with its tunnel options, which go in
// t (the service's defaults for its TUN servers, or a server's own).
func (c *kaConv) method(k *kaNode, t *table) (string, bool) {
	m := k.arg(0)
	switch m {
	case "NAT", "DR":
		if len(k.args()) > 1 {
			c.note(k, "tunnel options apply to TUN only")
		}
		return m, true
	case "TUN":
	case "FNAT", "FULLNAT":
		c.note(k, "full-NAT needs local_addresses, which keepalived.conf does not give here: write lb_kind = \"FNAT\" and local_addresses by hand")
		return "", false
	default:
		c.note(k, "unknown forwarding method: keepalived ignores it")
		return "", false
	}
	opts := k.args()[1:]
	for i := 0; i < len(opts); i++ {
		switch o := opts[i]; o {
		case "type":
			if i+1 == len(opts) {
				c.note(k, "type without a tunnel type")
				break
			}
			i++
			switch opts[i] {
			case "ipip", "gue":
				t.set("tun_type", vStr(opts[i]))
			default:
				c.note(k, "uvs tunnels with ipip or gue, not "+opts[i]+", yet: IPIP is used")
			}
		case "port":
			if i+1 == len(opts) {
				c.note(k, "port without a number")
				break
			}
			i++
			v, err := strconv.Atoi(opts[i])
			if err != nil || v < 1 || v > 65535 {
				c.note(k, "the GUE port must be 1 to 65535")
				continue
			}
			t.set("tun_port", vInt(int64(v)))
		case "nocsum", "csum":
			t.set("tun_flags", vStr(o))
		case "remcsum":
			c.note(k, "uvs has no remote checksum offload: nocsum is used")
		default:
			c.note(k, "unknown tunnel option "+o)
		}
	}
	return m, true
}

// timing converts a checker timing key that a virtual server, a real server and a checker
// share: delay_loop and connect_timeout (at least 1 µs), delay_before_retry and warmup, retry.
func (c *kaConv) timing(k *kaNode, key string, t *table) {
	switch key {
	case "delay_loop", "connect_timeout":
		if us, ok := c.timerArg(k, 1, 0); ok {
			t.set(key, vMicros(us))
		}
	case "delay_before_retry", "warmup":
		if us, ok := c.timerArg(k, 0, 0); ok {
			t.set(key, vMicros(us))
		}
	case "retry":
		c.retry(k, t)
	}
}

func (c *kaConv) retry(k *kaNode, t *table) {
	v, err := strconv.ParseInt(k.arg(0), 10, 64)
	switch {
	case err != nil || v < 0:
		c.note(k, "must be a number: keepalived ignores it")
	case v > 1000:
		c.note(k, "more than 1000 retries: 1000 is written")
		t.set("retry", vInt(1000))
	default:
		t.set("retry", vInt(v))
	}
}

// server reads a real_server block or a sorry_server line.
func (c *kaConv) server(n *kaNode, name string, real bool) *kaServer {
	a, err := netip.ParseAddr(n.arg(0))
	if err != nil {
		c.note(n, "not an IP address: keepalived ignores it")
		return nil
	}
	s := &kaServer{t: newTable(name, !strings.HasSuffix(name, "sorry_server")), addr: a.Unmap(), n: n}
	if p := n.arg(1); p != "" {
		v, err := strconv.Atoi(p)
		if err != nil || v < 0 || v > 65535 {
			c.note(n, "the port must be 0 to 65535: keepalived ignores the server")
			return nil
		}
		s.port = v
	}
	c.m.use(s.addr)
	s.t.set("address", "") // settled per virtual server
	if !real {
		return s
	}
	t := s.t
	for _, k := range n.kids {
		switch key := k.key(); key {
		case "weight":
			if v, ok := c.intArg(k, 0, 65535); ok {
				t.set(key, vInt(v))
			}
		case "lvs_method":
			if m, ok := c.method(k, t); ok {
				s.method = m
				t.set("lb_kind", vStr(m))
			}
		case "lb_kind":
			c.note(k, "unknown keyword in real_server: keepalived's is lvs_method, and it ignores lb_kind here")
		case "uthreshold", "lthreshold":
			if v, ok := c.intArg(k, 0, math.MaxUint32); ok {
				t.set(key, vInt(v))
			}
		case "inhibit_on_failure", "alpha":
			if v, ok := c.boolArg(k); ok {
				t.set(key, vBool(v))
			}
		case "notify_up", "notify_down":
			if s, ok := c.script(k); ok {
				t.set(key, vStr(s))
			}
		case "delay_loop", "connect_timeout", "delay_before_retry", "warmup", "retry":
			c.timing(k, key, t)
		case "virtualhost":
			t.set(key, vStr(k.arg(0)))
		case "smtp_alert":
			c.note(k, "a real server's mails follow its virtual server's smtp_alert in uvs")
		case "snmp_name":
			c.note(k, "uvs has no SNMP agent")
		case "TCP_CHECK", "HTTP_GET", "SSL_GET", "UDP_CHECK", "DNS_CHECK", "PING_CHECK", "MISC_CHECK", "FILE_CHECK":
			c.checker(s, k)
		case "SMTP_CHECK":
			c.note(k, "uvs has no SMTP check: a tcp_check on the SMTP port, or a misc_check, comes close")
		case "BFD_CHECK":
			c.note(k, "uvs has no BFD")
		default:
			c.note(k, "unknown keyword in real_server: keepalived ignores it")
		}
	}
	return s
}

// The checker keywords, by the kinds that take them (keepalived's install_checker_common_keywords
// and each checker's own).
var (
	connKinds  = []string{"tcp_check", "http_get", "ssl_get", "udp_check", "dns_check", "ping_check"}
	timedKinds = append(append([]string(nil), connKinds...), "misc_check")
)

var checkReasons = map[string]string{
	"bind_if":          "the source address is bindto, one of the appliance's addresses, on the interface it belongs to",
	"fwmark":           "the checks leave from uvs's own stack, which marks nothing",
	"log_all_failures": "uvs logs every failed check",
	"http_protocol":    "uvs sends HTTP/1.1 requests with Connection: close",
	"fast_recovery":    "a server comes back after its rise checks",
	"tls_compliant":    "uvs closes TLS connections with close_notify anyway",
	"min_reply_length": "uvs has no reply length bounds",
	"max_reply_length": "uvs has no reply length bounds",
}

// checker converts one checker block of a real server.
func (c *kaConv) checker(s *kaServer, n *kaNode) {
	kind := strings.ToLower(n.key())
	ct := newTable(s.t.name+"."+kind, true)
	ok := true
	for _, k := range n.kids {
		key := k.key()
		applies := func(kinds ...string) bool {
			if contains(kinds, kind) {
				return true
			}
			c.note(k, "unknown keyword in "+n.key()+": keepalived ignores it")
			return false
		}
		switch key {
		case "connect_ip", "bindto":
			if !applies(connKinds...) {
				continue
			}
			a, err := netip.ParseAddr(k.arg(0))
			if err != nil {
				c.note(k, "not an IP address: keepalived ignores it")
				continue
			}
			c.m.use(a)
			ct.set(key, vStr(a.Unmap().String()))
		case "connect_port", "bind_port":
			if !applies(connKinds...) {
				continue
			}
			if kind == "ping_check" {
				c.note(k, "an ICMP echo has no port")
				continue
			}
			if v, good := c.intArg(k, 1, 65535); good {
				ct.set(key, vInt(v))
			}
		case "connect_timeout":
			if !applies(connKinds...) {
				continue
			}
			if us, good := c.timerArg(k, 1, 0); good {
				ct.set(key, vMicros(us))
			}
		case "delay_loop":
			if !applies(timedKinds...) {
				continue
			}
			if us, good := c.timerArg(k, 1, 0); good {
				ct.set(key, vMicros(us))
			}
		case "delay_before_retry", "warmup":
			if !applies(timedKinds...) {
				continue
			}
			if us, good := c.timerArg(k, 0, 0); good {
				ct.set(key, vMicros(us))
			}
		case "retry", "nb_get_retry":
			if key == "nb_get_retry" && !applies("http_get", "ssl_get") || !applies(timedKinds...) {
				continue
			}
			c.retry(k, ct)
		case "alpha":
			if !applies(timedKinds...) {
				continue
			}
			if v, good := c.boolArg(k); good {
				ct.set(key, vBool(v))
			}
		case "url":
			if applies("http_get", "ssl_get") {
				c.url(ct, k)
			}
		case "virtualhost":
			if applies("http_get", "ssl_get") {
				ct.set(key, vStr(k.arg(0)))
			}
		case "enable_sni":
			if applies("ssl_get") {
				if v, good := c.boolArg(k); good {
					ct.set(key, vBool(v))
				}
			}
		case "sni_name":
			if applies("ssl_get") {
				ct.set(key, vStr(k.arg(0)))
			}
		case "payload":
			if applies("udp_check") {
				b, _, err := kaHex(strings.Join(k.args(), " "), false)
				if err != nil {
					c.note(k, err.Error()+": keepalived ignores it")
					continue
				}
				ct.set(key, vStr(hexPayload(b)))
			}
		case "require_reply":
			if !applies("udp_check") {
				continue
			}
			if len(k.args()) == 0 {
				ct.set(key, vBool(true))
				continue
			}
			b, wild, err := kaHex(strings.Join(k.args(), " "), true)
			if err != nil {
				c.note(k, err.Error()+": keepalived ignores it")
				continue
			}
			if wild >= 0 {
				c.note(k, fmt.Sprintf("uvs has no X wildcards: the reply is matched on the bytes before the first one (%d)", wild))
				b = b[:wild]
			}
			if len(b) == 0 {
				ct.set(key, vBool(true))
			} else {
				ct.set(key, vStr(hexPayload(b)))
			}
		case "type":
			if applies("dns_check") {
				ct.set(key, vStr(strings.ToUpper(k.arg(0))))
			}
		case "name":
			if applies("dns_check") {
				ct.set(key, vStr(k.arg(0)))
			}
		case "misc_path":
			if !applies("misc_check") {
				continue
			}
			args, rest, err := kaScript(k)
			if err != nil {
				c.note(k, err.Error())
				continue
			}
			ct.set(key, vStr(quoteArgs(args)))
			if len(rest) > 0 {
				c.ns.add(k.file, k.line, directive(rest), "keepalived ignores words after the script: quote the script with its arguments")
			}
		case "misc_timeout":
			if applies("misc_check") {
				if v, good := c.intArg(k, 0, 31*86400); good && v > 0 {
					ct.set(key, vInt(v))
				}
			}
		case "misc_dynamic":
			if applies("misc_check") {
				ct.set(key, vBool(true))
			}
		case "user":
			if applies("misc_check") {
				c.user(k, ct)
			}
		case "track_file":
			if !applies("file_check") {
				continue
			}
			f := c.files[k.arg(0)]
			if f == nil {
				c.note(k, "no track_file of that name: keepalived ignores the FILE_CHECK")
				ok = false
				continue
			}
			ct.set("file", vStr(f.path))
			if !ct.has("weight") && f.weight != 1 {
				ct.set("weight", vInt(f.weight))
			}
			if !ct.has("reverse") && f.reverse {
				ct.set("reverse", vBool(true))
			}
		case "weight":
			if !applies("file_check") {
				continue
			}
			if w, rev, good := c.weight(k, k.args(), math.MaxInt32); good {
				ct.set("weight", vInt(w))
				if rev {
					ct.set("reverse", vBool(true))
				} else {
					ct.del("reverse")
				}
			}
		default:
			if why, known := checkReasons[key]; known {
				c.note(k, why)
			} else if strings.HasPrefix(key, "regex") {
				c.note(k, "uvs has no regular expressions: url's digest or status_code check the answer")
			} else {
				c.note(k, "unknown keyword in "+n.key()+": keepalived ignores it")
			}
		}
	}
	switch {
	case !ok:
		return
	case (kind == "http_get" || kind == "ssl_get") && len(ct.subs) == 0:
		c.note(n, "no url: keepalived ignores the checker")
		return
	case kind == "misc_check" && !ct.has("misc_path"):
		c.note(n, "no misc_path: keepalived ignores the checker")
		return
	case kind == "file_check" && !ct.has("file"):
		c.note(n, "no track_file: keepalived ignores the checker")
		return
	}
	// The weight and reverse of a file_check are written after file, as a reader expects.
	if kind == "file_check" {
		for _, key := range []string{"weight", "reverse"} {
			if v, has := ct.get(key); has {
				ct.del(key)
				ct.set(key, v)
			}
		}
	}
	s.t.subs = append(s.t.subs, ct)
}

// url converts a url block of an HTTP_GET or SSL_GET.
func (c *kaConv) url(ct *table, n *kaNode) {
	u := newTable(ct.name+".url", true)
	for _, k := range n.kids {
		switch key := k.key(); key {
		case "path", "digest", "virtualhost":
			u.set(key, vStr(k.arg(0)))
		case "status_code":
			var vals []value
			for _, a := range k.args() {
				if v, err := strconv.Atoi(a); err == nil {
					vals = append(vals, vInt(int64(v)))
				} else {
					vals = append(vals, vStr(a))
				}
			}
			switch len(vals) {
			case 0:
				c.note(k, "no status code")
			case 1:
				u.set(key, vals[0])
			default:
				u.set(key, vArr(vals...))
			}
		case "tls_compliant":
			c.note(k, checkReasons[key])
		default:
			if strings.HasPrefix(key, "regex") {
				c.note(k, "uvs has no regular expressions: digest or status_code check the answer")
			} else {
				c.note(k, "unknown keyword in url: keepalived ignores it")
			}
		}
	}
	if !u.has("path") {
		c.note(n, "no path: keepalived ignores the url")
		return
	}
	ct.subs = append(ct.subs, u)
}

// kaHex reads keepalived's free-format hex strings (read_hex_str): blanks separate groups,
// each pair of digits is a byte and a lone digit at the end of a group a byte of its own
// ("Ab12f 3" is AB 12 0F 03). With wildcards, X stands for any nibble; wild is the index of
// the first byte holding one, or -1.
func kaHex(s string, wildcards bool) (b []byte, wild int, err error) {
	wild = -1
	nib := func(c byte) (byte, bool, bool) {
		switch {
		case c >= '0' && c <= '9':
			return c - '0', false, true
		case c >= 'a' && c <= 'f':
			return c - 'a' + 10, false, true
		case c >= 'A' && c <= 'F':
			return c - 'A' + 10, false, true
		case wildcards && (c == 'X' || c == 'x'):
			return 0, true, true
		}
		return 0, false, false
	}
	for i := 0; i < len(s); {
		if s[i] == ' ' || s[i] == '\t' {
			i++
			continue
		}
		v, w, ok := nib(s[i])
		if !ok {
			return nil, 0, fmt.Errorf("%q is not hexadecimal", s)
		}
		i++
		if i < len(s) && s[i] != ' ' && s[i] != '\t' {
			v2, w2, ok := nib(s[i])
			if !ok {
				return nil, 0, fmt.Errorf("%q is not hexadecimal", s)
			}
			v, w = v<<4|v2, w || w2
			i++
		}
		if w && wild < 0 {
			wild = len(b)
		}
		b = append(b, v)
	}
	if len(b) == 0 {
		return nil, 0, fmt.Errorf("no bytes")
	}
	return b, wild, nil
}

// hexPayload writes bytes as udp_check's "0x ..." form.
func hexPayload(b []byte) string {
	parts := make([]string, len(b))
	for i := range b {
		parts[i] = hex.EncodeToString(b[i : i+1])
	}
	return "0x " + strings.Join(parts, " ")
}

// writeVS writes a virtual server for one identity, with its real servers' ports settled.
func (c *kaConv) writeVS(n *kaNode, id vsIdent, b *vsBody) {
	t := newTable("virtual_server", true)
	s := &service{t: t}
	fam := 0
	if id.mark > 0 {
		fam = id.family
		if fam == 0 {
			fam = b.family
		}
		if fam == 0 {
			// keepalived's rule (and conf's): the first real server that is not tunnelled.
			fam = 4
			for _, r := range b.servers {
				if orDefault(r.method, b.method) != "TUN" {
					fam = famOf(r.addr)
					break
				}
			}
		}
	} else {
		fam = famOf(id.addr)
	}
	// keepalived skips the servers of the other family, but tunnelled ones (rs_end_handler).
	var servers []*kaServer
	for _, r := range b.servers {
		if famOf(r.addr) != fam && orDefault(r.method, b.method) != "TUN" {
			c.note(r.n, fmt.Sprintf("not of the virtual server's family (%s): keepalived skips it", vsName(id)))
			continue
		}
		servers = append(servers, r)
	}
	sorry := b.sorry
	if sorry != nil && famOf(sorry.addr) != fam && orDefault(sorry.method, b.method) != "TUN" {
		c.note(sorry.n, fmt.Sprintf("not of the virtual server's family (%s): keepalived skips it", vsName(id)))
		sorry = nil
	}
	if len(servers) == 0 {
		c.note(n, fmt.Sprintf("%s has no real server of its family: keepalived ignores it", vsName(id)))
		return
	}
	if id.mark > 0 {
		t.set("fwmark", vInt(id.mark))
		if fam == 6 {
			t.set("family", vStr("ipv6"))
		}
		c.m.markRule(id.mark, fam, b.proto, netip.Addr{}, nil, fmt.Sprintf("%s:%d", n.file, n.line))
		c.note(n, "the packets' firewall marks come from iptables rules, which keepalived.conf does not hold: a placeholder [[mark]] rule is written, to be completed")
	} else {
		s.vip = id.addr
		c.m.use(id.addr)
		t.set("address", vStr(netip.AddrPortFrom(id.addr, uint16(id.port)).String()))
		if b.proto != "" {
			t.set("protocol", vStr(b.proto))
		}
	}
	t.keys = append(t.keys, b.keys.clone().keys...)
	portless := id.mark > 0 || id.port == 0
	emit := func(r *kaServer) *table {
		rt := r.t.clone()
		m := orDefault(r.method, b.method)
		addr := r.addr.String()
		comment := ""
		switch {
		case r.port == 0:
		case (m == "DR" || m == "TUN") && (portless || r.port != id.port):
			// IPVS gives DR and TUN servers the port the client asked for.
			comment = fmt.Sprintf("%s servers get the client's port: keepalived's port %d has no effect", m, r.port)
		default:
			addr = netip.AddrPortFrom(r.addr, uint16(r.port)).String()
		}
		rt.set("address", vStr(addr), comment)
		s.servers = append(s.servers, r.addr)
		if portless && r.port == 0 {
			// A check of a server without a port needs one; keepalived would connect to port 0.
			var kept []*table
			for _, ck := range rt.subs {
				if strings.HasSuffix(ck.name, ".ping_check") || strings.HasSuffix(ck.name, ".misc_check") || strings.HasSuffix(ck.name, ".file_check") || ck.has("connect_port") {
					kept = append(kept, ck)
					continue
				}
				c.note(r.n, fmt.Sprintf("its %s has no connect_port and the server no port (a fwmark or port 0 service): keepalived's check connects to port 0 and fails; the checker is left out", ck.name[strings.LastIndexByte(ck.name, '.')+1:]))
			}
			rt.subs = kept
		}
		return rt
	}
	if sorry != nil {
		t.subs = append(t.subs, emit(sorry))
	}
	for _, r := range servers {
		t.subs = append(t.subs, emit(r))
	}
	c.m.services = append(c.m.services, s)
}

// vsName names a virtual server for notes.
func vsName(id vsIdent) string {
	if id.mark > 0 {
		return fmt.Sprintf("fwmark %d", id.mark)
	}
	return netip.AddrPortFrom(id.addr, uint16(id.port)).String()
}

// markRule writes a [[mark]] rule for a fwmark service: what an iptables rule setting the
// mark said. With no destination known it is a placeholder on a documentation network,
// which matches no real traffic until it is completed.
func (m *model) markRule(mark int64, fam int, proto string, dst netip.Addr, ports []int, from string) {
	for _, t := range m.marks {
		if v, _ := t.get("mark"); v == vInt(mark) {
			if f, _ := t.get("destination"); (fam == 6) == strings.Contains(string(f), ":") {
				return
			}
		}
	}
	t := newTable("mark", true)
	t.note(fmt.Sprintf("FILL IN: the iptables rule setting mark %d (for the fwmark service of %s)", mark, from))
	t.set("mark", vInt(mark))
	if proto != "" && (len(ports) > 0 || dst.IsValid()) {
		t.set("protocol", vStr(proto))
	}
	if dst.IsValid() {
		t.set("destination", vStr(dst.String()))
		if len(ports) > 0 {
			vals := make([]value, len(ports))
			for i, p := range ports {
				vals[i] = vInt(int64(p))
			}
			t.set("ports", vArr(vals...), "FILL IN: every port the rule marks")
		}
	} else {
		placeholder := "192.0.2.0/24"
		if fam == 6 {
			placeholder = "2001:db8::/32"
		}
		t.set("destination", vStr(placeholder), "FILL IN: a documentation network, which matches nothing")
	}
	m.marks = append(m.marks, t)
}
