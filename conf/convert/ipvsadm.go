package convert

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"path"
	"strconv"
	"strings"
)

// IPVSadm reads ipvsadm -S / -R rules. Lines may also be ipvsadm commands as a script runs
// them ("ipvsadm -A -t ...", "/sbin/ipvsadm --add-server ..."), with long options and
// "#" comments; they are applied in order, as ipvsadm -R applies them, so that -C, -D and
// -E do what they did.
func IPVSadm(name string, data []byte) (*Result, error) {
	ns := &notes{}
	ns.file(name)
	c := &ipvsConv{m: newModel(name), ns: ns, file: name, svcs: map[string]*ipvsSvc{}}
	commands := 0
	for i, line := range strings.Split(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n") {
		if c.line(i+1, line) {
			commands++
		}
	}
	if commands == 0 && c.lines > 0 {
		return nil, fmt.Errorf("%s: no ipvsadm rule in it", name)
	}
	c.finish()
	return c.m.render(ns), nil
}

type ipvsConv struct {
	m     *model
	ns    *notes
	file  string
	order []string // service keys in the order they were added
	svcs  map[string]*ipvsSvc
	lines int // lines with something on them

	roles    []string // --start-daemon roles
	syncOpts map[string]string
	syncLine int
	timeouts [3]int64
}

// ipvsSvc is a virtual service, as ipvsadm -A made it.
type ipvsSvc struct {
	proto   string // tcp, udp; "" for a fwmark service
	addr    netip.Addr
	port    int
	mark    int64
	fam     int
	sched   string
	flags   []string
	persist int64 // seconds; 0: not persistent
	netmask string
	ops     bool
	line    int
	dests   []*ipvsDest
}

// ipvsDest is a real server, as ipvsadm -a made it.
type ipvsDest struct {
	addr     netip.Addr
	port     int
	method   string
	weight   int64
	upper    int64
	lower    int64
	tunType  string
	tunPort  int64
	tunFlags string
	line     int
}

// ipvsOpt is a parsed command line.
type ipvsOpt struct {
	cmd  string
	args []string // --set's and --start-daemon's positional arguments
	vals map[string]string
	has  map[string]bool
}

// The options of ipvsadm, by long name; short ones map to them.
var (
	ipvsShort = map[string]string{
		"-A": "--add-service", "-E": "--edit-service", "-D": "--delete-service", "-C": "--clear",
		"-R": "--restore", "-S": "--save", "-a": "--add-server", "-e": "--edit-server",
		"-d": "--delete-server", "-L": "--list", "-l": "--list", "-Z": "--zero", "-h": "--help",
		"-t": "--tcp-service", "-u": "--udp-service", "-f": "--fwmark-service", "-s": "--scheduler",
		"-p": "--persistent", "-M": "--netmask", "-r": "--real-server", "-g": "--gatewaying",
		"-i": "--ipip", "-m": "--masquerading", "-w": "--weight", "-x": "--u-threshold",
		"-y": "--l-threshold", "-6": "--ipv6", "-o": "--ops", "-b": "--sched-flags", "-n": "--numeric",
		"-c": "--connection", "-v": "--version",
	}
	ipvsCommands = map[string]bool{
		"--add-service": true, "--edit-service": true, "--delete-service": true, "--clear": true,
		"--restore": true, "--save": true, "--add-server": true, "--edit-server": true,
		"--delete-server": true, "--list": true, "--zero": true, "--help": true, "--set": true,
		"--start-daemon": true, "--stop-daemon": true, "--version": true,
	}
	ipvsWithArg = map[string]bool{
		"--tcp-service": true, "--udp-service": true, "--sctp-service": true, "--fwmark-service": true,
		"--scheduler": true, "--netmask": true, "--real-server": true, "--weight": true,
		"--u-threshold": true, "--l-threshold": true, "--sched-flags": true, "--pe": true,
		"--tun-type": true, "--tun-port": true, "--mcast-interface": true, "--syncid": true,
		"--sync-maxlen": true, "--mcast-group": true, "--mcast-port": true, "--mcast-ttl": true,
	}
	ipvsFlags = map[string]bool{
		"--gatewaying": true, "--ipip": true, "--masquerading": true, "--ipv6": true, "--ops": true,
		"--numeric": true, "--tun-nocsum": true, "--tun-csum": true, "--tun-remcsum": true,
		"--connection": true, "--stats": true, "--rate": true, "--thresholds": true,
		"--persistent-conn": true, "--sort": true, "--nosort": true, "--exact": true,
	}
)

// line applies one line; it reports whether the line was an ipvsadm command.
func (c *ipvsConv) line(no int, s string) bool {
	if i := strings.IndexByte(s, '#'); i >= 0 {
		s = s[:i]
	}
	words := strings.Fields(s)
	if len(words) == 0 {
		return false
	}
	c.lines++
	if path.Base(words[0]) == "ipvsadm" {
		words = words[1:]
	}
	if len(words) == 0 || !strings.HasPrefix(words[0], "-") {
		c.ns.add(c.file, no, directive(words), "not an ipvsadm command")
		return false
	}
	o, err := parseIPVSOpts(words)
	if err != nil {
		c.ns.add(c.file, no, directive(words), err.Error())
		return true
	}
	c.apply(no, words, o)
	return true
}

func parseIPVSOpts(words []string) (*ipvsOpt, error) {
	o := &ipvsOpt{vals: map[string]string{}, has: map[string]bool{}}
	for i := 0; i < len(words); i++ {
		w := words[i]
		name, val, inline := strings.Cut(w, "=")
		if long, ok := ipvsShort[name]; ok {
			name = long
		} else if len(name) > 2 && name[0] == '-' && name[1] != '-' {
			// A short option with its value attached: -s rr may be written -srr.
			if long, ok := ipvsShort[name[:2]]; ok && ipvsWithArg[long] {
				name, val, inline = long, name[2:], true
			}
		}
		switch {
		case ipvsCommands[name]:
			if o.cmd != "" {
				return nil, fmt.Errorf("two commands: %s and %s", o.cmd, name)
			}
			o.cmd = name
			switch name {
			case "--set":
				if i+3 >= len(words) {
					return nil, errors.New("--set takes three timeouts: tcp, tcpfin and udp")
				}
				o.args = words[i+1 : i+4]
				i += 3
			case "--start-daemon", "--stop-daemon":
				if inline {
					o.args = []string{val}
				} else if i+1 < len(words) {
					o.args = []string{words[i+1]}
					i++
				}
			}
		case name == "--persistent":
			// The timeout is optional: a number after -p is it.
			o.has[name] = true
			if inline {
				o.vals[name] = val
			} else if i+1 < len(words) && digits(words[i+1]) {
				o.vals[name] = words[i+1]
				i++
			}
		case ipvsWithArg[name]:
			if !inline {
				if i+1 == len(words) {
					return nil, fmt.Errorf("%s needs a value", name)
				}
				val = words[i+1]
				i++
			}
			o.has[name] = true
			o.vals[name] = val
		case ipvsFlags[name]:
			o.has[name] = true
		default:
			return nil, fmt.Errorf("unknown option %s", w)
		}
	}
	if o.cmd == "" {
		return nil, errors.New("no command (-A, -a, ...)")
	}
	return o, nil
}

func (c *ipvsConv) apply(no int, words []string, o *ipvsOpt) {
	note := func(why string) { c.ns.add(c.file, no, directive(words), why) }
	switch o.cmd {
	case "--clear":
		c.order, c.svcs = nil, map[string]*ipvsSvc{}
		return
	case "--set":
		for i, a := range o.args {
			v, err := strconv.ParseInt(a, 10, 64)
			if err != nil || v < 0 || v > 31*86400 {
				note("timeouts are 0 (unchanged) to 2678400 seconds")
				return
			}
			if v > 0 {
				c.timeouts[i] = v
			}
		}
		return
	case "--start-daemon":
		role := firstOf(o.args)
		if role != "master" && role != "backup" {
			note("the daemon's state is master or backup")
			return
		}
		if !contains(c.roles, role) {
			c.roles = append(c.roles, role)
		}
		if c.syncOpts == nil {
			c.syncOpts = map[string]string{}
			c.syncLine = no
		}
		for _, k := range []string{"--mcast-interface", "--syncid", "--sync-maxlen", "--mcast-group", "--mcast-port", "--mcast-ttl"} {
			if v, ok := o.vals[k]; ok {
				c.syncOpts[k] = v
			}
		}
		return
	case "--stop-daemon":
		role := firstOf(o.args)
		for i, r := range c.roles {
			if r == role {
				c.roles = append(c.roles[:i], c.roles[i+1:]...)
				break
			}
		}
		return
	case "--zero", "--list", "--save", "--restore", "--help", "--version":
		note("not a configuration command")
		return
	}

	key, svc, err := c.service(o)
	if err != nil {
		note(err.Error())
		return
	}
	cur := c.svcs[key]
	switch o.cmd {
	case "--add-service", "--edit-service":
		if o.cmd == "--add-service" && cur != nil {
			note("the service exists already (ipvsadm refuses to add it again)")
			return
		}
		if o.cmd == "--edit-service" && cur == nil {
			note("no such service to edit")
			return
		}
		if cur == nil {
			cur = svc
			cur.sched = "wlc" // ipvsadm's default scheduler
			cur.line = no
			c.svcs[key] = cur
			c.order = append(c.order, key)
		}
		if err := c.serviceOpts(cur, o); err != nil {
			note(err.Error())
		}
	case "--delete-service":
		if cur == nil {
			note("no such service to delete")
			return
		}
		delete(c.svcs, key)
		for i, k := range c.order {
			if k == key {
				c.order = append(c.order[:i], c.order[i+1:]...)
				break
			}
		}
	case "--add-server", "--edit-server", "--delete-server":
		if cur == nil {
			note("no such service: ipvsadm refuses the server")
			return
		}
		c.server(no, cur, o, note)
	}
}

// service reads the virtual service an option line names, and its key.
func (c *ipvsConv) service(o *ipvsOpt) (string, *ipvsSvc, error) {
	s := &ipvsSvc{fam: 4}
	if o.has["--ipv6"] {
		s.fam = 6
	}
	for _, k := range []string{"--tcp-service", "--udp-service", "--sctp-service", "--fwmark-service"} {
		v, ok := o.vals[k]
		if !ok {
			continue
		}
		switch k {
		case "--sctp-service":
			return "", nil, errors.New("uvs has no SCTP services yet")
		case "--fwmark-service":
			m, err := strconv.ParseInt(v, 0, 64)
			if err != nil || m < 1 || m > math.MaxUint32 {
				return "", nil, errors.New("the mark must be 1 to 4294967295")
			}
			s.mark = m
			return fmt.Sprintf("fwm %d %d", m, s.fam), s, nil
		}
		s.proto = strings.TrimSuffix(strings.TrimPrefix(k, "--"), "-service")
		a, port, err := hostPort(v, 0)
		if err != nil {
			return "", nil, err
		}
		s.addr, s.port, s.fam = a, port, famOf(a)
		c.m.use(a)
		return s.proto + " " + netip.AddrPortFrom(a, uint16(port)).String(), s, nil
	}
	return "", nil, errors.New("no service (-t, -u or -f)")
}

// hostPort reads ipvsadm's host[:port], an IPv6 host in brackets. Ports may be service
// names, which ipvsadm -S prints without -n; host names are not resolved here.
func hostPort(s string, def int) (netip.Addr, int, error) {
	host, port := s, ""
	if strings.HasPrefix(s, "[") {
		i := strings.Index(s, "]")
		if i < 0 {
			return netip.Addr{}, 0, fmt.Errorf("%q: no closing ]", s)
		}
		host, port = s[1:i], strings.TrimPrefix(s[i+1:], ":")
	} else if strings.Count(s, ":") == 1 {
		host, port, _ = strings.Cut(s, ":")
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, 0, fmt.Errorf("%q is not an IP address (a host name must be resolved first: ipvsadm -S -n prints addresses)", host)
	}
	p := def
	if port != "" {
		if v, err := strconv.Atoi(port); err == nil && v >= 0 && v <= 65535 {
			p = v
		} else if v, ok := servicePorts[port]; ok {
			p = v
		} else {
			return netip.Addr{}, 0, fmt.Errorf("unknown port %q (ipvsadm -S -n prints numbers)", port)
		}
	}
	return a.Unmap(), p, nil
}

// servicePorts are the /etc/services names ipvsadm -S prints for the usual ports.
var servicePorts = map[string]int{
	"ftp": 21, "ssh": 22, "telnet": 23, "smtp": 25, "domain": 53, "tftp": 69, "http": 80,
	"www": 80, "pop3": 110, "ntp": 123, "imap": 143, "imap2": 143, "snmp": 161, "ldap": 389,
	"https": 443, "microsoft-ds": 445, "smtps": 465, "submission": 587, "ldaps": 636,
	"imaps": 993, "pop3s": 995, "ms-sql-s": 1433, "openvpn": 1194, "mysql": 3306,
	"ms-wbt-server": 3389, "sip": 5060, "sip-tls": 5061, "postgresql": 5432, "http-alt": 8080,
	"webcache": 8080,
}

// serviceOpts applies -s, -p, -M, -b, -o and --pe.
func (c *ipvsConv) serviceOpts(s *ipvsSvc, o *ipvsOpt) error {
	var errs []string
	if v, ok := o.vals["--scheduler"]; ok {
		if contains(schedulers, v) {
			s.sched = v
		} else {
			errs = append(errs, "unknown scheduler "+v)
		}
	}
	if o.has["--persistent"] {
		s.persist = 300 // ipvsadm's default persistence timeout
		if v, ok := o.vals["--persistent"]; ok {
			p, err := strconv.ParseInt(v, 10, 64)
			if err != nil || p < 1 || p > 2678400 {
				errs = append(errs, "the persistence timeout must be 1 to 2678400 seconds")
			} else {
				s.persist = p
			}
		}
	}
	if v, ok := o.vals["--netmask"]; ok {
		s.netmask = v
	}
	if v, ok := o.vals["--sched-flags"]; ok {
		s.flags = nil
		for _, f := range strings.Split(v, ",") {
			switch f {
			case "flag-1":
				f = s.sched + "-fallback"
			case "flag-2":
				f = s.sched + "-port"
			}
			switch f {
			case "sh-fallback", "sh-port", "mh-fallback", "mh-port":
				if strings.HasPrefix(f, s.sched+"-") {
					s.flags = append(s.flags, f)
					continue
				}
			}
			errs = append(errs, "scheduler flag "+f+" does not apply to "+s.sched)
		}
	}
	if o.has["--ops"] {
		if s.proto == "tcp" {
			errs = append(errs, "-o (one-packet scheduling) is for UDP and fwmark services")
		} else {
			s.ops = true
		}
	}
	if o.has["--pe"] {
		errs = append(errs, "uvs has no persistence engines (--pe sip)")
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}

// server applies -a, -e or -d.
func (c *ipvsConv) server(no int, s *ipvsSvc, o *ipvsOpt, note func(string)) {
	v, ok := o.vals["--real-server"]
	if !ok {
		note("no real server (-r)")
		return
	}
	a, port, err := hostPort(v, s.port)
	if err != nil {
		note(err.Error())
		return
	}
	c.m.use(a)
	idx := -1
	for i, d := range s.dests {
		if d.addr == a && d.port == port {
			idx = i
		}
	}
	switch {
	case o.cmd == "--delete-server":
		if idx < 0 {
			note("no such server to delete")
			return
		}
		s.dests = append(s.dests[:idx], s.dests[idx+1:]...)
		return
	case o.cmd == "--add-server" && idx >= 0:
		note("the server exists already (ipvsadm refuses to add it again)")
		return
	case o.cmd == "--edit-server" && idx < 0:
		note("no such server to edit")
		return
	}
	var d *ipvsDest
	if idx >= 0 {
		d = s.dests[idx]
	} else {
		d = &ipvsDest{addr: a, port: port, method: "DR", weight: 1, line: no} // -g and -w 1 are ipvsadm's defaults
		s.dests = append(s.dests, d)
	}
	switch {
	case o.has["--masquerading"]:
		d.method = "NAT"
	case o.has["--ipip"]:
		d.method = "TUN"
	case o.has["--gatewaying"]:
		d.method = "DR"
	}
	num := func(k string, lo, hi int64, into *int64) {
		if v, ok := o.vals[k]; ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < lo || n > hi {
				note(fmt.Sprintf("%s must be %d to %d", k, lo, hi))
				return
			}
			*into = n
		}
	}
	num("--weight", 0, 65535, &d.weight)
	num("--u-threshold", 0, math.MaxUint32, &d.upper)
	num("--l-threshold", 0, math.MaxUint32, &d.lower)
	num("--tun-port", 1, 65535, &d.tunPort)
	if v, ok := o.vals["--tun-type"]; ok {
		if v == "ipip" || v == "gue" {
			d.tunType = v
		} else {
			note("uvs tunnels with ipip or gue, not " + v + ", yet")
		}
	}
	switch {
	case o.has["--tun-csum"]:
		d.tunFlags = "csum"
	case o.has["--tun-nocsum"]:
		d.tunFlags = "nocsum"
	case o.has["--tun-remcsum"]:
		note("uvs has no remote checksum offload: nocsum is used")
	}
}

// finish writes the services, the timeouts and the sync daemon.
func (c *ipvsConv) finish() {
	for _, key := range c.order {
		s := c.svcs[key]
		t := newTable("virtual_server", true)
		svc := &service{t: t}
		if s.mark > 0 {
			t.set("fwmark", vInt(s.mark))
			if s.fam == 6 {
				t.set("family", vStr("ipv6"))
			}
			c.m.markRule(s.mark, s.fam, "", netip.Addr{}, nil, fmt.Sprintf("%s:%d", c.file, s.line))
			c.ns.add(c.file, s.line, fmt.Sprintf("-A -f %d", s.mark), "the packets' firewall marks come from iptables rules, which ipvsadm's rules do not hold: a placeholder [[mark]] rule is written, to be completed")
		} else {
			svc.vip = s.addr
			t.set("address", vStr(netip.AddrPortFrom(s.addr, uint16(s.port)).String()))
			if s.proto == "udp" {
				t.set("protocol", vStr("udp"))
			}
		}
		t.set("lb_algo", vStr(s.sched))
		if len(s.flags) > 0 {
			vals := make([]value, len(s.flags))
			for i, f := range s.flags {
				vals[i] = vStr(f)
			}
			t.set("sched_flags", vArr(vals...))
		}
		if s.persist > 0 {
			t.set("persistence_timeout", vInt(s.persist))
			if s.netmask != "" {
				if strings.Contains(s.netmask, ".") {
					t.set("persistence_granularity", vStr(s.netmask))
				} else if n, err := strconv.Atoi(s.netmask); err == nil {
					t.set("persistence_granularity", vInt(int64(n)))
				}
			}
		}
		if s.ops {
			t.set("ops", vBool(true))
		}
		// The service's lb_kind is its servers' method when they share one.
		method := ""
		for i, d := range s.dests {
			if i == 0 {
				method = d.method
			} else if d.method != method {
				method = ""
				break
			}
		}
		if method != "" {
			t.set("lb_kind", vStr(method))
		}
		for _, d := range s.dests {
			rt := t.sub("real_server", true)
			addr, comment := d.addr.String(), ""
			switch {
			case d.method == "NAT" && d.port != 0:
				addr = netip.AddrPortFrom(d.addr, uint16(d.port)).String()
			case d.method != "NAT" && d.port != 0 && d.port != s.port:
				comment = fmt.Sprintf("IPVS gives %s servers the client's port: the port %d has no effect", d.method, d.port)
			}
			rt.set("address", vStr(addr), comment)
			rt.set("weight", vInt(d.weight))
			if method == "" {
				rt.set("lb_kind", vStr(d.method))
			}
			if d.upper > 0 {
				rt.set("uthreshold", vInt(d.upper))
				if d.lower > 0 && d.lower <= d.upper {
					rt.set("lthreshold", vInt(d.lower))
				}
			}
			if d.method == "TUN" {
				if d.tunType != "" {
					rt.set("tun_type", vStr(d.tunType))
				}
				if d.tunPort > 0 {
					rt.set("tun_port", vInt(d.tunPort))
				}
				if d.tunFlags != "" {
					rt.set("tun_flags", vStr(d.tunFlags))
				}
			}
			svc.servers = append(svc.servers, d.addr)
		}
		c.m.services = append(c.m.services, svc)
	}
	if c.timeouts != [3]int64{} {
		t := newTable("ipvs.timeouts", false)
		for i, k := range []string{"tcp", "tcpfin", "udp"} {
			if c.timeouts[i] > 0 {
				t.set(k, vInt(c.timeouts[i]))
			}
		}
		c.m.ipvs = t
	}
	if len(c.roles) > 0 {
		c.syncDaemon()
	}
}

// syncDaemon writes --start-daemon as [sync]: a director running both daemons is "both".
func (c *ipvsConv) syncDaemon() {
	t := newTable("sync", false)
	iface := c.syncOpts["--mcast-interface"]
	if iface == "" {
		iface = "eth0"
		t.note("FILL IN: --start-daemon names no --mcast-interface; ipvsadm takes eth0")
	}
	c.m.syncIf = c.m.iface(iface, "the interface of the connection sync daemon")
	t.set("interface", vStr(c.m.syncIf))
	role := c.roles[0]
	if len(c.roles) == 2 {
		role = "both"
	}
	t.set("role", vStr(role))
	for _, o := range []struct {
		opt, key string
		lo, hi   int64
	}{{"--syncid", "id", 0, 255}, {"--sync-maxlen", "maxlen", 64, 65507}, {"--mcast-port", "port", 1, 65535}, {"--mcast-ttl", "ttl", 1, 255}} {
		if v, ok := c.syncOpts[o.opt]; ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < o.lo || n > o.hi {
				c.ns.add(c.file, c.syncLine, o.opt+" "+v, fmt.Sprintf("must be %d to %d", o.lo, o.hi))
				continue
			}
			t.set(o.key, vInt(n))
		}
	}
	if v, ok := c.syncOpts["--mcast-group"]; ok {
		if a, err := netip.ParseAddr(v); err == nil && a.IsMulticast() {
			t.set("group", vStr(a.String()))
		} else {
			c.ns.add(c.file, c.syncLine, "--mcast-group "+v, "not a multicast address")
		}
	}
	c.m.sync = t
}
