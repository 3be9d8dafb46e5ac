package conf

import (
	"bytes"
	"cmp"
	"encoding/hex"
	"net/netip"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/uvs-lb/uvs/internal/tomlstr"
	"github.com/uvs-lb/uvs/lb"
	"github.com/uvs-lb/uvs/lb/sched"
	"github.com/uvs-lb/uvs/packet"
)

// Export writes c as TOML in uvs's own keys (docs/config.md), so that Parse(name, Export(c))
// gives back c: `uvs conf export` writes the running configuration out this way, and nothing
// changed at runtime is lost on a restart.
//
// A key is written when its value differs from what Parse would give without it, its
// default in context: a check's timing is compared with what it would inherit, an instance's
// GARP settings with [vrrp]'s, a real server's port with its service's. A timing key that all
// the checks of a virtual or real server share is written once, on it. The tables come in a
// fixed order (interfaces, virtual servers with their real servers and checks, marks, [ipvs],
// [log], VRRP, [sync], [control], [metrics], [alerts]) and every array keeps its order, so the
// key paths of the text are those of the file c was read from: Parse(name, Export(c)) equals
// c field for field, the paths it keeps for its messages included, and a Config read from any
// file exports to one text.
//
// Export does not judge c: a value the file format cannot hold (a negative weight, a
// persistence of 1.5 s, a protocol other than TCP and UDP) is written as it is, and Parse
// refuses it, naming the key; Recheck relies on that. What Parse derives rather than reads is
// not written: tunnel sources, the family of a VRRP instance, an instance's sync group (from
// the groups). A persistence granularity is written only with a persistence timeout, since
// alone it would turn persistence on (keepalived's rule), and the engine ignores it without.
func Export(c *Config) []byte {
	w := &writer{}
	w.b.WriteString("# Written by uvs conf export: the running configuration, in the keys of docs/config.md.\n" +
		"# Keys at their default value are left out.\n")
	for i := range c.Interfaces {
		w.iface(&c.Interfaces[i])
	}
	for i := range c.Services {
		w.service(c, &c.Services[i])
	}
	for i := range c.Marks {
		w.mark(&c.Marks[i])
	}
	w.ipvs(&c.IPVS)
	w.log(&c.Log)
	w.vrrp(c)
	w.sync(&c.Sync)
	w.control(&c.Control)
	w.metrics(&c.Metrics)
	w.alerts(&c.Alerts)
	w.management(&c.Management)
	w.run(&c.Run)
	return w.b.Bytes()
}

// management writes [management], the VM image's kernel-owned NIC (absent: no device).
func (w *writer) management(m *Management) {
	if m.Device == "" {
		return
	}
	w.table("management")
	w.str("device", m.Device)
	if len(m.Addresses) > 0 {
		w.strList("addresses", addrStrings(m.Addresses))
	}
	w.addrIf("gateway", m.Gateway, netip.Addr{})
	w.addrIf("gateway6", m.Gateway6, netip.Addr{})
	for _, r := range m.Routes {
		w.element("management.route")
		w.str("prefix", r.Prefix.String())
		w.addrIf("via", r.Via, netip.Addr{})
	}
}

// writer builds the TOML text. A [table] header is held back until its first key, so that a
// table left at its defaults is left out; an [[array]] element is written at once, since an
// element with no key (a tcp_check with every default) still counts.
type writer struct {
	b       bytes.Buffer
	pending string
}

func (w *writer) table(path string) { w.pending = "[" + path + "]" }

func (w *writer) element(path string) {
	w.pending = "[[" + path + "]]"
	w.flush()
}

func (w *writer) flush() {
	if w.pending != "" {
		w.b.WriteString("\n" + w.pending + "\n")
		w.pending = ""
	}
}

// raw writes k = v, v being TOML already.
func (w *writer) raw(k, v string) {
	w.flush()
	w.b.WriteString(k + " = " + v + "\n")
}

func (w *writer) str(k, v string) { w.raw(k, quote(v)) }

// The ...If writers write k when v differs from def, its default in context.

func (w *writer) strIf(k, v, def string) {
	if v != def {
		w.str(k, v)
	}
}

func (w *writer) intIf(k string, v, def int64) {
	if v != def {
		w.raw(k, strconv.FormatInt(v, 10))
	}
}

func (w *writer) boolIf(k string, v, def bool) {
	if v != def {
		w.raw(k, strconv.FormatBool(v))
	}
}

func (w *writer) secondsIf(k string, v, def time.Duration) {
	if v != def {
		w.raw(k, seconds(v))
	}
}

func (w *writer) addrIf(k string, v, def netip.Addr) {
	if v != def && v.IsValid() {
		w.str(k, v.String())
	}
}

// strList writes an array of strings.
func (w *writer) strList(k string, vs []string) {
	q := make([]string, len(vs))
	for i, v := range vs {
		q[i] = quote(v)
	}
	w.raw(k, "["+strings.Join(q, ", ")+"]")
}

func addrStrings[T interface{ String() string }](vs []T) []string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = v.String()
	}
	return s
}

// quote writes s as a TOML basic string. Bytes that are not UTF-8 are written as they are:
// TOML has no escape for them, and Parse then refuses the text rather than reading another
// string.
func quote(s string) string { return tomlstr.Quote(s, false) }

// seconds writes d as a number of seconds: an integer when it is whole, else the exact
// decimal (keepalived's timers are read to the microsecond; a key of whole seconds refuses
// the decimal, which is right: the value does not fit it).
func seconds(d time.Duration) string {
	u := uint64(d)
	sign := ""
	if d < 0 {
		u, sign = -u, "-"
	}
	sec, frac := u/uint64(time.Second), u%uint64(time.Second)
	if frac == 0 {
		return sign + strconv.FormatUint(sec, 10)
	}
	f := strings.TrimRight(strconv.FormatUint(frac+uint64(time.Second), 10)[1:], "0")
	return sign + strconv.FormatUint(sec, 10) + "." + f
}

// bytesValue writes bytes as udp_check's payload and require_reply read them: the string
// itself when it is printable text that does not start with "0x", else "0x" and hex digits.
func bytesValue(b []byte) string {
	s := string(b)
	binary := !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool {
		return r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r == 0x7f
	})
	if binary || strings.HasPrefix(s, "0x") {
		return "0x" + hex.EncodeToString(b)
	}
	return s // "" too: Parse refuses an empty payload, as it should
}

func (w *writer) iface(ifc *Interface) {
	w.element("interface")
	w.str("name", ifc.Name)
	w.strIf("kind", string(ifc.Kind), string(KindAFPacket))
	dev := ifc.Name // a host port's device is its name unless written
	if ifc.Kind == KindMemory {
		dev = ""
	}
	w.strIf("device", ifc.Device, dev)
	if len(ifc.Addresses) > 0 {
		w.strList("addresses", addrStrings(ifc.Addresses))
	}
	w.intIf("mtu", int64(ifc.MTU), 1500)
	w.addrIf("gateway", ifc.Gateway, netip.Addr{})
	w.addrIf("gateway6", ifc.Gateway6, netip.Addr{})
	w.boolIf("promiscuous", ifc.Promiscuous, false)
	w.boolIf("vnet_hdr", ifc.VnetHdr, ifc.Kind != KindMemory)
	w.boolIf("syn_ring", ifc.SYNRing, ifc.Kind == KindAFPacket)
	for _, r := range ifc.Routes {
		w.element("interface.route")
		w.str("prefix", r.Prefix.String())
		w.addrIf("via", r.Via, netip.Addr{})
	}
}

func (w *writer) service(c *Config, s *Service) {
	sc := &s.ServiceConfig
	w.element("virtual_server")
	if sc.VIP.IsValid() || sc.Mark == 0 {
		w.str("address", netip.AddrPortFrom(sc.VIP, sc.Port).String())
	}
	if sc.Mark != 0 {
		w.raw("fwmark", strconv.FormatUint(uint64(sc.Mark), 10))
		w.strIf("protocol", protoKey(sc.Proto), protoKey(0))
		if sc.Family != 0 && sc.Family != inferredFamily(sc) {
			w.str("family", familyKey(sc.Family))
		}
	} else {
		w.strIf("protocol", protoKey(sc.Proto), "tcp")
	}
	if sc.Scheduler != "" {
		w.strIf("lb_algo", sc.Scheduler, lb.DefaultScheduler)
	}
	if sc.SchedFlags != 0 {
		w.strList("sched_flags", flagNames(sc.SchedFlags))
	}
	w.intIf("mh_table_size", int64(sc.MHTableSize), 0)
	if sc.Method != 0 {
		w.strIf("lb_kind", methodKey(sc.Method), "NAT")
	}
	if sc.Persistence != 0 {
		w.raw("persistence_timeout", seconds(sc.Persistence))
		w.intIf("persistence_granularity", int64(sc.PersistMask), 0)
	}
	w.boolIf("ops", sc.OnePacket, false)
	if len(sc.LocalAddrs) > 0 {
		w.strList("local_addresses", addrStrings(sc.LocalAddrs))
	}
	if lp := sc.LocalPorts; lp != [2]uint16{} && (len(sc.LocalAddrs) == 0 || lp != [2]uint16{1024, 65535}) {
		w.str("local_ports", strconv.Itoa(int(lp[0]))+"-"+strconv.Itoa(int(lp[1])))
	}

	h := &s.Health
	w.secondsIf("delay_loop", h.DelayLoop, defaultDelayLoop)
	w.boolIf("alpha", h.Alpha, false)
	w.intIf("quorum", h.Quorum, 1)
	w.intIf("hysteresis", h.Hysteresis, 0)
	w.strIf("quorum_up", h.QuorumUp, "")
	w.strIf("quorum_down", h.QuorumDown, "")
	w.boolIf("omega", h.Omega, false)
	w.boolIf("sorry_server_inhibit", h.SorryInhibit, false)
	w.boolIf("smtp_alert", s.SMTPAlert, c.Alerts.SMTPAlertChecker)

	ctx := w.serviceTiming(s)
	for i := range sc.Servers {
		w.element("virtual_server.real_server")
		w.server(sc, &sc.Servers[i])
		if i < len(s.ServerHealth) { // a hand-built Config may lack them: nothing to write
			w.serverHealth(sc, &sc.Servers[i], &s.ServerHealth[i], ctx)
		}
	}
	if sc.Sorry != nil {
		w.table("virtual_server.sorry_server")
		w.flush() // its address is required: the table is never empty
		w.server(sc, sc.Sorry)
	}
}

// inferredFamily is the family Parse gives a fwmark service that writes none: that of its
// first real server that is not TUN, else IPv4 (keepalived's rule).
func inferredFamily(sc *lb.ServiceConfig) packet.Family {
	for _, rs := range sc.Servers {
		if m := cmp.Or(rs.Method, sc.Method, lb.MethodNAT); m != lb.MethodTUN {
			return familyOf(rs.Addr)
		}
	}
	return packet.FamilyIPv4
}

// protoKey spells a service's or rule's protocol as the file does; one Parse does not take
// is written as a number, which it refuses.
func protoKey(p uint8) string {
	switch p {
	case 0:
		return ""
	case packet.ProtoTCP:
		return "tcp"
	case packet.ProtoUDP:
		return "udp"
	case packet.ProtoSCTP:
		return "sctp"
	}
	return strconv.Itoa(int(p))
}

func familyKey(f packet.Family) string {
	switch f {
	case packet.FamilyIPv4:
		return "ipv4"
	case packet.FamilyIPv6:
		return "ipv6"
	}
	return strconv.Itoa(int(f))
}

// methodKey is kindName, but an unknown method is written as a number, which Parse refuses.
func methodKey(m lb.Method) string {
	switch m {
	case lb.MethodNAT, lb.MethodDR, lb.MethodTUN, lb.MethodFullNAT:
		return kindName(m)
	}
	return strconv.Itoa(int(m))
}

// flagNames spells scheduler flags as sched_flags lists them.
func flagNames(f sched.Flags) []string {
	var names []string
	for _, n := range []string{"sh-fallback", "sh-port", "mh-fallback", "mh-port"} {
		bit, _ := schedFlag(n)
		if f&bit != 0 {
			names = append(names, n)
			f &^= bit
		}
	}
	if f != 0 {
		names = append(names, "0x"+strconv.FormatUint(uint64(f), 16))
	}
	return names
}

// server writes the keys of a real or sorry server but its health.
func (w *writer) server(sc *lb.ServiceConfig, rs *lb.ServerConfig) {
	// Without a port, a server of a VIP:port service takes the service's (placeServer).
	if rs.Port == 0 || sc.Mark == 0 && rs.Port == sc.Port {
		w.str("address", rs.Addr.String())
	} else {
		w.str("address", netip.AddrPortFrom(rs.Addr, rs.Port).String())
	}
	w.intIf("weight", int64(rs.Weight), 1)
	if rs.Method != 0 {
		w.str("lb_kind", methodKey(rs.Method))
	}
	w.intIf("uthreshold", int64(rs.Upper), 0)
	w.intIf("lthreshold", int64(rs.Lower), 0)
	// The tunnel as the server's own keys; its source is derived from the interfaces.
	switch rs.Tunnel.Type {
	case lb.TunnelIPIP:
	case lb.TunnelGUE:
		w.str("tun_type", "gue")
	default:
		w.str("tun_type", strconv.Itoa(int(rs.Tunnel.Type)))
	}
	w.intIf("tun_port", int64(rs.Tunnel.Port), 0)
	if rs.Tunnel.Csum {
		w.str("tun_flags", "csum")
	}
}

// timingKey is one of the keys a virtual server, a real server and a checker may all set,
// the nearest winning (healthKeys). Values are int64s: durations, counts, and 0 or 1.
type timingKey struct {
	name string
	// set are the kinds of checker that take the key; from, those whose value a virtual or
	// real server's key gives (a file_check takes no timing key, yet gets its delay_loop,
	// connect_timeout and alpha from its servers).
	set, from []CheckKind
	get       func(*Check) int64
	// def is the value Parse gives ck when no level writes the key; for a kind not in from,
	// the value it always has (a file_check never retries; a misc_check's connect timeout
	// is its misc_timeout).
	def    func(ck *Check) int64
	format func(int64) string
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

var (
	secondsFormat = func(n int64) string { return seconds(time.Duration(n)) }
	intFormat     = func(n int64) string { return strconv.FormatInt(n, 10) }
	boolFormat    = func(n int64) string { return strconv.FormatBool(n != 0) }

	timedAndFile   = append(slices.Clone(timedKinds), CheckFile)
	connectAndFile = append(slices.Clone(connectKinds), CheckFile)
)

// timingKeys in the order they are written. A check's retry, delay_before_retry and warmup
// defaults follow its own delay_loop, which is written (or inherited) whatever they are.
var timingKeys = []timingKey{
	{"delay_loop", timedKinds, timedAndFile,
		func(ck *Check) int64 { return int64(ck.Timing.DelayLoop) },
		func(*Check) int64 { return int64(defaultDelayLoop) }, secondsFormat},
	{"connect_timeout", connectKinds, connectAndFile,
		func(ck *Check) int64 { return int64(ck.Timing.ConnectTimeout) },
		func(ck *Check) int64 {
			if ck.Kind == CheckMisc {
				return int64(ck.Timeout)
			}
			return int64(defaultConnectTimeout)
		}, secondsFormat},
	{"retry", timedKinds, timedKinds,
		func(ck *Check) int64 { return int64(ck.Timing.Retry) },
		func(ck *Check) int64 {
			if ck.Kind == CheckFile {
				return 0
			}
			return int64(defaultRetry(ck.Kind))
		}, intFormat},
	{"delay_before_retry", timedKinds, timedKinds,
		func(ck *Check) int64 { return int64(ck.Timing.DelayBeforeRetry) },
		func(ck *Check) int64 {
			if ck.Kind == CheckFile {
				return 0
			}
			return int64(defaultDelayBeforeRetry(ck.Kind, ck.Timing.DelayLoop))
		}, secondsFormat},
	{"warmup", timedKinds, timedKinds,
		func(ck *Check) int64 { return int64(ck.Timing.Warmup) },
		func(ck *Check) int64 {
			if ck.Kind == CheckFile {
				return 0
			}
			return int64(ck.Timing.DelayLoop)
		}, secondsFormat},
	{"rise", timedKinds, timedKinds,
		func(ck *Check) int64 { return int64(ck.Timing.Rise) },
		func(*Check) int64 { return 1 }, intFormat},
	{"fall", timedKinds, timedKinds,
		func(ck *Check) int64 { return int64(ck.Timing.Fall) },
		func(*Check) int64 { return 1 }, intFormat},
	{"alpha", timedKinds, timedAndFile,
		func(ck *Check) int64 { return b2i(ck.Timing.Alpha) },
		func(*Check) int64 { return 0 }, boolFormat},
}

// healthCtx is what a check inherits: the timing keys written on its virtual server and real
// server (by name), and the virtualhost.
type healthCtx struct {
	timing      map[string]int64
	virtualhost string
}

func (ctx healthCtx) with() healthCtx {
	t := make(map[string]int64, len(ctx.timing))
	for k, v := range ctx.timing {
		t[k] = v
	}
	return healthCtx{t, ctx.virtualhost}
}

// expect is the value Parse gives ck for key k, written on no checker.
func (ctx healthCtx) expect(k *timingKey, ck *Check) int64 {
	if v, ok := ctx.timing[k.name]; ok && slices.Contains(k.from, ck.Kind) {
		return v
	}
	return k.def(ck)
}

// hoist writes key k on the virtual or real server whose checks are cks when they all
// inherit it and share its value, and at least two would otherwise write it: keepalived
// files set delay_loop or connect_timeout once for a service, and so does the export.
func (w *writer) hoist(k *timingKey, cks []*Check, ctx healthCtx) {
	var v int64
	n, differ := 0, 0
	for _, ck := range cks {
		if !slices.Contains(k.from, ck.Kind) {
			continue
		}
		if n > 0 && k.get(ck) != v {
			return
		}
		v = k.get(ck)
		n++
		if ctx.expect(k, ck) != v {
			differ++
		}
	}
	if differ >= 2 {
		w.raw(k.name, k.format(v))
		ctx.timing[k.name] = v
	}
}

// serviceTiming writes the timing keys that every check of service s shares, and returns
// what its real servers' checks inherit. delay_loop and alpha are the service's own
// (ServiceHealth), written already.
func (w *writer) serviceTiming(s *Service) healthCtx {
	ctx := healthCtx{timing: map[string]int64{
		"delay_loop": int64(s.Health.DelayLoop),
		"alpha":      b2i(s.Health.Alpha),
	}}
	var cks []*Check
	for i := range s.ServerHealth {
		for j := range s.ServerHealth[i].Checks {
			cks = append(cks, &s.ServerHealth[i].Checks[j])
		}
	}
	for i := range timingKeys {
		if k := &timingKeys[i]; k.name != "delay_loop" && k.name != "alpha" {
			w.hoist(k, cks, ctx)
		}
	}
	return ctx
}

// serverHealth writes a real server's health keys and checkers. A file_check takes no timing
// keys and a check other than http_get and ssl_get no virtualhost, yet Parse gives them the
// values of their real server (else virtual server): those are written on the real server,
// from its first such check, and the other checks write theirs where they differ.
func (w *writer) serverHealth(sc *lb.ServiceConfig, rs *lb.ServerConfig, sh *ServerHealth, ctx healthCtx) {
	w.boolIf("inhibit_on_failure", sh.InhibitOnFailure, false)
	w.strIf("notify_up", sh.NotifyUp, "")
	w.strIf("notify_down", sh.NotifyDown, "")
	ctx = ctx.with()
	cks := make([]*Check, len(sh.Checks))
	for i := range sh.Checks {
		cks[i] = &sh.Checks[i]
	}
	file := slices.IndexFunc(sh.Checks, func(ck Check) bool { return ck.Kind == CheckFile })
	for i := range timingKeys {
		k := &timingKeys[i]
		if file < 0 || !slices.Contains(k.from, CheckFile) {
			w.hoist(k, cks, ctx)
			continue
		}
		if v := k.get(cks[file]); v != ctx.expect(k, cks[file]) {
			w.raw(k.name, k.format(v))
			ctx.timing[k.name] = v
		}
	}
	if i := slices.IndexFunc(sh.Checks, func(ck Check) bool { return !slices.Contains(webKinds, ck.Kind) }); i >= 0 {
		w.strIf("virtualhost", sh.Checks[i].VirtualHost, ctx.virtualhost)
		ctx.virtualhost = sh.Checks[i].VirtualHost
	}
	// Parse lists a server's checks by kind, in CheckKinds order; unknown kinds go last.
	rank := func(k CheckKind) int {
		if i := slices.Index(CheckKinds, k); i >= 0 {
			return i
		}
		return len(CheckKinds)
	}
	order := make([]int, len(sh.Checks))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return rank(sh.Checks[a].Kind) - rank(sh.Checks[b].Kind) })
	for _, i := range order {
		w.check(sc, rs, &sh.Checks[i], ctx)
	}
}

// check writes one checker: the keys whose values differ from what Parse would give the
// check with none written.
func (w *writer) check(sc *lb.ServiceConfig, rs *lb.ServerConfig, ck *Check, ctx healthCtx) {
	kind := ck.Kind
	path := "virtual_server.real_server." + string(kind)
	w.element(path)

	// The target: the server's address and port; ping has no port, misc and file no target.
	var connect netip.AddrPort
	switch {
	case kind == CheckPing:
		connect = netip.AddrPortFrom(rs.Addr, 0)
	case slices.Contains(connectKinds, kind):
		connect = netip.AddrPortFrom(rs.Addr, rs.Port)
	}
	w.addrIf("connect_ip", ck.Connect.Addr(), connect.Addr())
	w.intIf("connect_port", int64(ck.Connect.Port()), int64(connect.Port()))
	w.addrIf("bindto", ck.Bind.Addr(), netip.Addr{})
	w.intIf("bind_port", int64(ck.Bind.Port()), 0)

	// The timing. A value the checker cannot hold (a file_check that retries) is written
	// all the same, and Parse refuses it.
	for i := range timingKeys {
		k := &timingKeys[i]
		if v := k.get(ck); v != ctx.expect(k, ck) {
			w.raw(k.name, k.format(v))
		}
	}
	defTimeout := time.Duration(0)
	if kind == CheckMisc {
		defTimeout = ck.Timing.DelayLoop
	}

	// http_get and ssl_get.
	w.strIf("virtualhost", ck.VirtualHost, ctx.virtualhost)
	anySNI := ck.SNI != "" || slices.ContainsFunc(ck.URLs, func(u URL) bool { return u.SNI != "" })
	fromHost := ck.SNI == hostOf(ck.VirtualHost) && !slices.ContainsFunc(ck.URLs, func(u URL) bool { return u.SNI != hostOf(u.VirtualHost) })
	switch {
	case anySNI && fromHost:
		w.raw("enable_sni", "true") // the server name follows each URL's virtualhost
	case ck.SNI != "":
		w.str("sni_name", ck.SNI)
	}
	w.boolIf("verify", ck.Verify, false)
	w.strIf("ca", ck.CA, "")

	// udp_check.
	if ck.Payload != nil {
		w.str("payload", bytesValue(ck.Payload))
	}
	switch {
	case ck.Reply != nil:
		w.str("require_reply", bytesValue(ck.Reply))
	case ck.RequireReply:
		w.raw("require_reply", "true")
	}

	// dns_check.
	defType, defName := "", ""
	if kind == CheckDNS {
		defType, defName = defaultDNSType, defaultDNSName
	}
	w.strIf("type", ck.DNSType, defType)
	w.strIf("name", ck.DNSName, defName)

	// misc_check.
	w.strIf("misc_path", ck.Command, "")
	w.secondsIf("misc_timeout", ck.Timeout, defTimeout)
	w.boolIf("misc_dynamic", ck.Dynamic, false)
	w.strIf("user", ck.User, "")
	w.strIf("group", ck.Group, "")

	// file_check.
	w.strIf("file", ck.File, "")
	defWeight := int64(0)
	if kind == CheckFile {
		defWeight = 1
	}
	w.intIf("weight", int64(ck.Weight), defWeight)
	w.boolIf("reverse", ck.Reverse, false)

	for _, u := range ck.URLs {
		w.element(path + ".url")
		w.str("path", u.Path)
		w.strIf("digest", u.Digest, "")
		if !slices.Equal(u.Status, []StatusRange{{200, 299}}) {
			w.statusCodes(u.Status)
		}
		w.strIf("virtualhost", u.VirtualHost, ck.VirtualHost)
	}
}

// statusCodes writes a url's status_code: a code, a "lo-hi" range, or an array of them.
func (w *writer) statusCodes(rs []StatusRange) {
	vs := make([]string, len(rs))
	for i, r := range rs {
		if r.Lo == r.Hi {
			vs[i] = strconv.Itoa(r.Lo)
		} else {
			vs[i] = quote(strconv.Itoa(r.Lo) + "-" + strconv.Itoa(r.Hi))
		}
	}
	if len(vs) == 1 {
		w.raw("status_code", vs[0])
		return
	}
	w.raw("status_code", "["+strings.Join(vs, ", ")+"]")
}

func (w *writer) mark(m *Mark) {
	w.element("mark")
	w.raw("mark", strconv.FormatUint(uint64(m.Mark), 10))
	w.strIf("protocol", protoKey(m.Proto), "")
	if m.Src.IsValid() {
		w.str("source", m.Src.String())
	}
	if m.Dst.IsValid() {
		w.str("destination", m.Dst.String())
	}
	if len(m.Ports) > 0 {
		vs := make([]string, len(m.Ports))
		for i, r := range m.Ports {
			if r.Lo == r.Hi {
				vs[i] = strconv.Itoa(int(r.Lo))
			} else {
				vs[i] = quote(strconv.Itoa(int(r.Lo)) + "-" + strconv.Itoa(int(r.Hi)))
			}
		}
		w.raw("ports", "["+strings.Join(vs, ", ")+"]")
	}
}

func (w *writer) ipvs(v *IPVS) {
	def := defaultIPVS()
	w.table("ipvs")
	w.boolIf("expire_nodest_conn", v.ExpireNoDestConn, def.ExpireNoDestConn)
	w.boolIf("expire_quiescent_template", v.ExpireQuiescentTemplate, def.ExpireQuiescentTemplate)
	w.intIf("conn_reuse_mode", int64(v.ConnReuseMode), int64(def.ConnReuseMode))
	w.boolIf("sloppy_tcp", v.SloppyTCP, def.SloppyTCP)
	w.intIf("size", int64(v.Size), 0)
	w.intIf("amemthresh", int64(v.AMemThresh), 0)
	w.intIf("drop_entry", int64(v.DropEntry), 0)
	w.intIf("drop_packet", int64(v.DropPacket), 0)
	w.intIf("am_droprate", int64(v.AMDropRate), 0)
	w.intIf("secure_tcp", int64(v.SecureTCP), 0)
	w.table("ipvs.timeouts")
	w.secondsIf("tcp", v.TCP, 0)
	w.secondsIf("tcpfin", v.TCPFin, 0)
	w.secondsIf("udp", v.UDP, 0)
}

func (w *writer) log(l *Log) {
	w.table("log")
	w.strIf("level", l.Level, "info")
	w.strIf("format", l.Format, "console")
}

func (w *writer) vrrp(c *Config) {
	g := &c.VRRP
	def := defaultVRRPGlobals()
	w.table("vrrp")
	w.intIf("version", int64(g.Version), int64(def.Version))
	w.addrIf("mcast_group4", g.Group4, def.Group4)
	w.addrIf("mcast_group6", g.Group6, def.Group6)
	w.garp(g.GARPDelay, g.GARPRepeat, g.GARPRefresh, g.GARPRefreshRepeat, &def)
	w.secondsIf("garp_interval", g.GARPInterval, 0)
	w.secondsIf("gna_interval", g.GNAInterval, 0)
	w.strIf("notify_fifo", g.NotifyFIFO, "")
	w.strIf("notify_fifo_script", g.NotifyFIFOScript, "")
	w.boolIf("notify_priority_changes", g.NotifyPriorityChanges, false)

	for i := range c.VRRPScripts {
		s := &c.VRRPScripts[i]
		w.element("vrrp_script")
		w.str("name", s.Name)
		w.str("script", s.Script)
		w.secondsIf("interval", s.Interval, defaultScriptInterval)
		w.secondsIf("timeout", s.Timeout, s.Interval)
		w.intIf("weight", int64(s.Weight), 0)
		w.boolIf("reverse", s.Reverse, false)
		w.intIf("rise", int64(s.Rise), 1)
		w.intIf("fall", int64(s.Fall), 1)
		w.boolIf("init_fail", s.InitFail, false)
		w.strIf("user", s.User, "")
		w.strIf("group", s.Group, "")
	}
	for i := range c.VRRPTrackFiles {
		f := &c.VRRPTrackFiles[i]
		w.element("vrrp_track_file")
		w.str("name", f.Name)
		w.str("file", f.File)
		w.intIf("weight", int64(f.Weight), 1)
		w.boolIf("reverse", f.Reverse, false)
		switch {
		case f.Init && f.InitValue == 0:
			w.raw("init_file", "true") // keepalived's bare init_file
		case f.Init:
			w.raw("init_file", strconv.Itoa(f.InitValue))
		}
		w.boolIf("init_overwrite", f.InitOverwrite, false)
	}
	for i := range c.VRRPInstances {
		w.vrrpInstance(c, &c.VRRPInstances[i])
	}
	for i := range c.VRRPSyncGroups {
		sg := &c.VRRPSyncGroups[i]
		w.element("vrrp_sync_group")
		w.str("name", sg.Name)
		w.strList("group", sg.Instances)
		w.boolIf("sync_group_tracking_weight", sg.TrackingWeight, false)
		w.tracking(c, sg.TrackInterfaces, sg.TrackScripts, sg.TrackFiles)
		w.notify(sg.NotifyMaster, sg.NotifyBackup, sg.NotifyFault, sg.NotifyStop, sg.Notify)
		w.boolIf("notify_priority_changes", sg.NotifyPriorityChanges, g.NotifyPriorityChanges)
		w.boolIf("smtp_alert", sg.SMTPAlert, c.Alerts.SMTPAlertVRRP)
	}
}

// garp writes the gratuitous ARP keys of [vrrp] or of an instance, against def's.
func (w *writer) garp(delay time.Duration, repeat int, refresh time.Duration, refreshRepeat int, def *VRRPGlobals) {
	w.secondsIf("garp_master_delay", delay, def.GARPDelay)
	w.intIf("garp_master_repeat", int64(repeat), int64(def.GARPRepeat))
	w.secondsIf("garp_master_refresh", refresh, def.GARPRefresh)
	w.intIf("garp_master_refresh_repeat", int64(refreshRepeat), int64(def.GARPRefreshRepeat))
}

func (w *writer) notify(master, backup, fault, stop, any string) {
	w.strIf("notify_master", master, "")
	w.strIf("notify_backup", backup, "")
	w.strIf("notify_fault", fault, "")
	w.strIf("notify_stop", stop, "")
	w.strIf("notify", any, "")
}

func (w *writer) vrrpInstance(c *Config, v *VRRPInstance) {
	g := &c.VRRP
	w.element("vrrp_instance")
	w.str("name", v.Name)
	w.str("interface", v.Interface)
	// state and priority are always written: they are what tells the routers of a pair
	// apart, and a MASTER without a written priority is refused.
	w.str("state", v.State)
	w.raw("virtual_router_id", strconv.Itoa(int(v.VRID)))
	w.raw("priority", strconv.Itoa(int(v.Priority)))

	// The family: that of the first advertised address, else of the adverts' addresses.
	fam := 0
	addrs := []netip.Addr{v.SrcIP, v.Group}
	if len(v.VIPs) > 0 {
		addrs = []netip.Addr{v.VIPs[0].Prefix.Addr()}
	} else if len(v.UnicastPeers) > 0 {
		addrs = append(addrs, v.UnicastPeers[0])
	}
	for _, a := range addrs {
		if fam == 0 && a.IsValid() {
			fam = famOf(a)
		}
	}
	version := g.Version
	if fam == 6 {
		version = 3
	}
	w.intIf("version", int64(v.Version), int64(version))
	w.secondsIf("advert_int", v.Interval, defaultAdvertInt)
	w.boolIf("nopreempt", !v.Preempt, false)
	w.secondsIf("preempt_delay", v.PreemptDelay, 0)
	if v.AuthPass != "" {
		w.raw("authentication", `{ auth_type = "PASS", auth_pass = `+quote(v.AuthPass)+" }")
	}
	w.raw("virtual_ipaddress", vipList(v, v.VIPs))
	if len(v.VIPsExcluded) > 0 {
		w.raw("virtual_ipaddress_excluded", vipList(v, v.VIPsExcluded))
	}
	unicast := len(v.UnicastPeers) > 0
	var src netip.Addr
	if ifc := c.iface(v.Interface); ifc != nil {
		src, _ = advertSource(ifc, fam, unicast)
	}
	if unicast {
		w.addrIf("unicast_src_ip", v.SrcIP, src)
		w.strList("unicast_peer", addrStrings(v.UnicastPeers))
	} else {
		w.addrIf("mcast_src_ip", v.SrcIP, src)
	}
	var group netip.Addr
	switch {
	case unicast:
	case fam == 4:
		group = g.Group4
	case fam == 6:
		group = g.Group6
	}
	w.addrIf("mcast_dst_ip", v.Group, group)
	w.garp(v.GARPDelay, v.GARPRepeat, v.GARPRefresh, v.GARPRefreshRepeat, g)
	w.boolIf("use_vmac", v.UseVMAC, false)
	w.boolIf("dont_track_primary", v.DontTrackPrimary, false)
	w.tracking(c, v.TrackInterfaces, v.TrackScripts, v.TrackFiles)
	w.notify(v.NotifyMaster, v.NotifyBackup, v.NotifyFault, v.NotifyStop, v.Notify)
	w.boolIf("notify_priority_changes", v.NotifyPriorityChanges, g.NotifyPriorityChanges)
	w.boolIf("smtp_alert", v.SMTPAlert, c.Alerts.SMTPAlertVRRP)
}

// vipList writes virtual addresses: a string each, or a table with dev for one owned on
// another interface than the instance's.
func vipList(v *VRRPInstance, vips []VIP) string {
	vs := make([]string, len(vips))
	for i, vip := range vips {
		a := vip.Prefix.String()
		if vip.Prefix.IsSingleIP() {
			a = vip.Prefix.Addr().String() // a bare address is a host prefix
		}
		if vip.Interface == v.Interface {
			vs[i] = quote(a)
		} else {
			vs[i] = "{ address = " + quote(a) + ", dev = " + quote(vip.Interface) + " }"
		}
	}
	return "[" + strings.Join(vs, ", ") + "]"
}

// tracking writes track_interface, track_script and track_file: a name when the entry has
// the weight and reverse of what it tracks (an interface: 0 and false), else a table.
func (w *writer) tracking(c *Config, ifaces, scripts, files []TrackRef) {
	refs := func(k string, rs []TrackRef, def func(name string) (int, bool)) {
		if len(rs) == 0 {
			return
		}
		vs := make([]string, len(rs))
		for i, r := range rs {
			weight, reverse := def(r.Name)
			if r.Weight == weight && r.Reverse == reverse {
				vs[i] = quote(r.Name)
				continue
			}
			s := "{ name = " + quote(r.Name)
			if r.Weight != weight {
				s += ", weight = " + strconv.Itoa(r.Weight)
			}
			if r.Reverse != reverse {
				s += ", reverse = " + strconv.FormatBool(r.Reverse)
			}
			vs[i] = s + " }"
		}
		w.raw(k, "["+strings.Join(vs, ", ")+"]")
	}
	refs("track_interface", ifaces, func(string) (int, bool) { return 0, false })
	refs("track_script", scripts, func(name string) (int, bool) {
		if i := slices.IndexFunc(c.VRRPScripts, func(s VRRPScript) bool { return s.Name == name }); i >= 0 {
			return c.VRRPScripts[i].Weight, c.VRRPScripts[i].Reverse
		}
		return 0, false
	})
	refs("track_file", files, func(name string) (int, bool) {
		if i := slices.IndexFunc(c.VRRPTrackFiles, func(f VRRPTrackFile) bool { return f.Name == name }); i >= 0 {
			return c.VRRPTrackFiles[i].Weight, c.VRRPTrackFiles[i].Reverse
		}
		return 1, false
	})
}

func (w *writer) sync(s *Sync) {
	if !s.Enabled {
		return
	}
	w.table("sync")
	w.flush() // present, even at its defaults: [sync] turns synchronisation on
	w.str("interface", s.Interface)
	w.strIf("vrrp_instance", s.VRRPInstance, "")
	role := "both"
	if s.VRRPInstance != "" {
		role = "" // the instance decides it
	}
	w.strIf("role", s.Role, role)
	w.intIf("id", int64(s.SyncID), 0)
	w.addrIf("group", s.Group.Addr(), defaultSyncGroup.Addr())
	w.intIf("port", int64(s.Group.Port()), int64(defaultSyncGroup.Port()))
	w.intIf("ttl", int64(s.TTL), 1)
	w.intIf("maxlen", int64(s.MaxLen), 0)
	w.intIf("sync_threshold", int64(s.Threshold), defaultSyncThreshold)
	w.intIf("sync_period", int64(s.Period), defaultSyncPeriod)
	w.secondsIf("sync_refresh_period", s.RefreshPeriod, 0)
	if s.AuthKey != nil {
		k := string(s.AuthKey)
		if !utf8.ValidString(k) || strings.HasPrefix(k, "hex:") || strings.ContainsFunc(k, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			k = "hex:" + hex.EncodeToString(s.AuthKey)
		}
		w.str("auth_key", k)
	}
}

func (w *writer) control(ct *Control) {
	w.table("control")
	w.strIf("socket", ct.Socket, DefaultControlSocket)
	if ct.Listen.IsValid() {
		w.str("listen", ct.Listen.String())
	}
	w.strIf("token_file", ct.TokenFile, "")
}

func (w *writer) metrics(m *Metrics) {
	if *m == (Metrics{}) { // no [metrics]: Parse leaves it zero
		return
	}
	w.table("metrics")
	w.flush()
	if m.Listen.IsValid() {
		w.str("listen", m.Listen.String())
	}
	w.boolIf("status_page", m.StatusPage, true)
	if m.Refresh != 5*time.Second {
		w.str("refresh", m.Refresh.String())
	}
}

func (w *writer) alerts(a *Alerts) {
	// Without [alerts], Parse leaves every field zero; with it, it resolves the defaults
	// below. (reflect: so that a field added to Alerts cannot make a table look absent.)
	if reflect.ValueOf(a).Elem().IsZero() {
		return
	}
	w.table("alerts")
	w.flush()
	w.strList("notification_email", a.Emails)
	w.strIf("notification_email_from", a.From, "")
	w.str("smtp_server", a.Server)
	w.strIf("smtp_helo_name", a.HeloName, "")
	w.secondsIf("smtp_connect_timeout", a.ConnectTimeout, defaultSMTPConnectTimeout)
	w.strIf("router_id", a.RouterID, "")
	// The resolved defaults of smtp_alert, written as the specific keys: smtp_alert alone
	// sets both.
	w.boolIf("smtp_alert_vrrp", a.SMTPAlertVRRP, false)
	w.boolIf("smtp_alert_checker", a.SMTPAlertChecker, true)
	w.boolIf("no_email_faults", a.NoEmailFaults, false)
}
