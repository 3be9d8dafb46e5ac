package convert

import (
	"fmt"
	"io/fs"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Keepalived reads a keepalived.conf (following include directives, with globs, relative to
// the including file, as keepalived does) from the file system.
func Keepalived(path string) (*Result, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	// The root file system lets absolute includes (/etc/keepalived/conf.d/*.conf) resolve.
	return keepalived(os.DirFS("/"), strings.TrimPrefix(filepath.ToSlash(abs), "/"), path)
}

// KeepalivedFS is the same from an fs.FS (tests). An absolute include path is taken from
// the root of fsys.
func KeepalivedFS(fsys fs.FS, path string) (*Result, error) {
	p := strings.TrimPrefix(filepath.ToSlash(filepath.Clean("/"+path)), "/")
	return keepalived(fsys, p, path)
}

func keepalived(fsys fs.FS, fsPath, display string) (*Result, error) {
	ns := &notes{}
	r := &kaReader{fsys: fsys, notes: ns}
	if err := r.read(fsPath, display); err != nil {
		return nil, err
	}
	c := &kaConv{
		m:       newModel(display),
		ns:      ns,
		version: 2,
		scripts: map[string]kaScriptDef{},
		files:   map[string]*kaFile{},
		vsgs:    map[string]*kaNode{},
		byName:  map[string]*kaInst{},
	}
	c.run(buildTree(r.lines, ns))
	return c.m.render(ns), nil
}

// kaConv converts the statements of a keepalived.conf.
type kaConv struct {
	m  *model
	ns *notes

	strict  bool // global vrrp_strict
	version int  // vrrp_version: IPv4 instances' default
	scripts map[string]kaScriptDef
	files   map[string]*kaFile
	vsgs    map[string]*kaNode
	insts   []*kaInst
	byName  map[string]*kaInst
	groups  []*kaGroup
	syncIn  *kaNode // the statement [sync] came from
	// smtpAlerts are the smtp_alert keys of instances, groups and virtual servers, set
	// once global_defs is known to configure mail (finishAlerts).
	smtpAlerts []pendingAlert
	alertNodes []*kaNode // the global_defs statements [alerts] came from
}

// pendingAlert is an smtp_alert statement and the table it goes in.
type pendingAlert struct {
	k *kaNode
	t *table
}

// smtpAlert records table t's smtp_alert statement k for finishAlerts.
func (c *kaConv) smtpAlert(k *kaNode, t *table) {
	c.smtpAlerts = append(c.smtpAlerts, pendingAlert{k, t})
}

// finishAlerts writes the smtp_alert keys, or notes them when global_defs configures no
// mail: uvs refuses smtp_alert = true without an [alerts] table (recipients and server).
func (c *kaConv) finishAlerts() {
	a := c.m.alerts
	if a != nil {
		_, to := a.get("notification_email")
		_, srv := a.get("smtp_server")
		if !to || !srv {
			for _, k := range c.alertNodes {
				c.note(k, "it configures e-mail alerts, and global_defs has no notification_email or no smtp_server: no mail can be sent")
			}
			c.m.alerts, a = nil, nil
		}
	}
	for _, p := range c.smtpAlerts {
		b, ok := c.boolArg(p.k)
		if !ok {
			continue
		}
		if a == nil && b {
			c.note(p.k, "global_defs configures no mail (notification_email and smtp_server)")
			continue
		}
		p.t.set("smtp_alert", vBool(b))
	}
}

type kaScriptDef struct {
	weight  int
	reverse bool
}

// kaFile is a track_file block: what a FILE_CHECK or a VRRP track_file names.
type kaFile struct {
	path    string
	weight  int64
	reverse bool
	vrrp    bool // written as a [[vrrp_track_file]] (its weight fits VRRP's range)
}

func (c *kaConv) note(n *kaNode, reason string) {
	c.ns.add(n.file, n.line, directive(n.words), reason)
}

// run converts the top-level statements. The definitions that others refer to (global_defs,
// scripts, tracked files, virtual server groups) are read first, since keepalived resolves
// references after reading the whole file.
func (c *kaConv) run(top []*kaNode) {
	var insts, groups, vss []*kaNode
	for _, n := range top {
		switch n.key() {
		case "global_defs":
			c.globalDefs(n)
		case "vrrp_script":
			c.vrrpScript(n)
		case "track_file", "vrrp_track_file":
			c.trackFile(n)
		case "virtual_server_group":
			if n.arg(0) == "" {
				c.note(n, "no name")
			} else {
				c.vsgs[n.arg(0)] = n
			}
		case "vrrp_instance":
			insts = append(insts, n)
		case "vrrp_sync_group":
			groups = append(groups, n)
		case "virtual_server":
			vss = append(vss, n)
		default:
			c.unknownTop(n)
		}
	}
	for _, n := range insts {
		c.vrrpInstance(n)
	}
	for _, n := range groups {
		c.syncGroup(n)
	}
	c.finishVRRP()
	for _, n := range vss {
		c.virtualServer(n)
	}
	c.finishSync()
	c.finishAlerts()
}

// topReasons say why the top-level blocks uvs has no equivalent of are left out.
var topReasons = map[string]string{
	"vrrp_track_process":       "uvs does not track processes: a vrrp_script running pidof or killall -0 does",
	"garp_group":               "gratuitous ARP pacing per interface group: [vrrp] garp_interval and gna_interval apply to every interface",
	"linkbeat_interfaces":      "uvs reads its ports' link state itself",
	"static_ipaddress":         "uvs does not configure the host's addresses: its own are the [[interface]] addresses",
	"static_routes":            "uvs does not configure the host's routes: its own are [[interface.route]]",
	"static_rules":             "uvs does not configure policy routing rules",
	"track_group":              "uvs has no static track groups",
	"interface_up_down_delays": "uvs has no interface state debouncing",
	"SSL":                      "uvs has no client certificates for ssl_get, and keepalived's SSL_GET verifies no server certificate (uvs's ssl_get can: verify and ca)",
	"bfd_instance":             "uvs has no BFD",
	"net_namespace":            "uvs owns its interfaces whole: it needs no network namespace",
	"net_namespace_ipvs":       "uvs's connection table is its own",
	"namespace_with_ipsets":    "uvs uses no ipsets",
	"use_pid_dir":              "a process setting of keepalived's",
	"instance":                 "a process setting of keepalived's",
	"child_wait_time":          "a process setting of keepalived's",
	"linkbeat_use_polling":     "uvs reads its ports' link state itself",
}

// misspelt top-level keywords seen in the field, with what they were meant to be.
var topTypos = map[string]string{
	"vrp_instance": "vrrp_instance", "vrp_script": "vrrp_script", "vrrp_instace": "vrrp_instance",
	"virtual_sever": "virtual_server", "vrrp_sync_groups": "vrrp_sync_group", "virtualserver": "virtual_server",
}

func (c *kaConv) unknownTop(n *kaNode) {
	if why, ok := topReasons[n.key()]; ok {
		c.note(n, why)
		return
	}
	why := "unknown keyword: keepalived ignores it"
	if n.block {
		why += " and its block"
	}
	if want, ok := topTypos[n.key()]; ok {
		why += fmt.Sprintf("; did you mean %s? keepalived does not take %s either", want, n.key())
	}
	c.note(n, why)
}

// The keywords of keepalived 2's global_defs (keepalived/core/global_parser.c) that have no
// uvs equivalent. A keyword not here, and not converted, is unknown to keepalived too.
var globalKnown = strings.Fields(`process_names process_name vrrp_process_name checker_process_name
	lvs_process_name bfd_process_name use_symlink_paths set_supplementary_groups startup_script
	startup_script_timeout shutdown_script shutdown_script_timeout max_auto_priority
	min_auto_priority_delay checker_log_all_failures dynamic_interfaces default_interface
	disable_local_igmp v3_checksum_as_v2 vrrp_garp_lower_prio_delay vrrp_garp_lower_prio_repeat
	vrrp_down_timer_adverts vrrp_min_garp vrrp_garp_extra_if vrrp_vmac_garp_intvl
	vrrp_lower_prio_no_advert vrrp_higher_prio_send_advert vrrp_iptables vrrp_ipsets nftables
	nftables_priority nftables_ifindex vrrp_check_unicast_src vrrp_skip_check_adv_addr vrrp_priority
	vrrp_no_swap vrrp_rt_priority vrrp_cpu_affinity vrrp_rlimit_rttime vrrp_rlimit_rtime
	nftables_ipvs nftables_ipvs_priority nftables_ipvs_start_fwmark nftables_counters
	fifo_write_vrrp_states_on_reload lvs_notify_fifo lvs_notify_fifo_script checker_priority
	checker_no_swap checker_rt_priority checker_cpu_affinity checker_rlimit_rttime
	checker_rlimit_rtime bfd_priority bfd_no_swap bfd_rt_priority bfd_cpu_affinity
	bfd_rlimit_rttime bfd_rlimit_rtime snmp_socket enable_traps enable_snmp_vrrp
	enable_snmp_keepalived enable_snmp_rfc enable_snmp_rfcv2 enable_snmp_rfcv3 enable_snmp_checker
	snmp_vs_stats_update_interval snmp_rs_stats_update_interval enable_dbus dbus_service_name
	dbus_no_interface_name vrrp_netlink_cmd_rcv_bufs vrrp_netlink_cmd_rcv_bufs_force
	vrrp_netlink_monitor_rcv_bufs vrrp_netlink_monitor_rcv_bufs_force process_monitor_rcv_bufs
	process_monitor_rcv_bufs_force lvs_netlink_cmd_rcv_bufs lvs_netlink_cmd_rcv_bufs_force
	lvs_netlink_monitor_rcv_bufs lvs_netlink_monitor_rcv_bufs_force rs_init_notifies
	no_checker_emails vrrp_rx_bufs_policy vrrp_rx_bufs_multiplier vrrp_startup_delay
	vrrp_delay_after_boot log_unknown_vrids vrrp_owner_ignore_adverts linkbeat_use_polling
	net_namespace net_namespace_ipvs namespace_with_ipsets use_pid_dir instance child_wait_time`)

var globalReasons = map[string]string{
	"vrrp_skip_check_adv_addr":     "uvs always checks the addresses of the adverts it receives",
	"vrrp_check_unicast_src":       "uvs does not check the source of unicast adverts",
	"vrrp_iptables":                "uvs uses no iptables",
	"vrrp_ipsets":                  "uvs uses no ipsets",
	"nftables":                     "uvs uses no nftables",
	"vrrp_garp_lower_prio_delay":   "uvs sends no gratuitous ARP on a lower-priority advert",
	"vrrp_garp_lower_prio_repeat":  "uvs sends no gratuitous ARP on a lower-priority advert",
	"vrrp_lower_prio_no_advert":    "uvs answers a lower-priority advert as RFC 3768 says",
	"vrrp_higher_prio_send_advert": "uvs does not send an advert before giving way to a higher priority",
	"dynamic_interfaces":           "uvs's interfaces are the [[interface]] tables, present at start",
	"checker_log_all_failures":     "uvs logs a failed check each time it fails",
}

func (c *kaConv) vrrpTable() *table {
	if c.m.vrrp == nil {
		c.m.vrrp = newTable("vrrp", false)
	}
	return c.m.vrrp
}

// alertsTable is [alerts]; k is the statement that adds to it.
func (c *kaConv) alertsTable(k *kaNode) *table {
	c.alertNodes = append(c.alertNodes, k)
	if c.m.alerts == nil {
		c.m.alerts = newTable("alerts", false)
	}
	return c.m.alerts
}

// globalDefs converts global_defs: its mail settings ([alerts]), its VRRP defaults
// ([vrrp]), the IPVS timeouts and the sync daemon. The rest (process tuning) has no uvs
// equivalent.
func (c *kaConv) globalDefs(n *kaNode) {
	for _, k := range n.kids {
		switch k.key() {
		case "router_id", "notification_email_from", "smtp_helo_name":
			if k.arg(0) == "" {
				c.note(k, "no value")
				continue
			}
			c.alertsTable(k).set(k.key(), vStr(strings.Join(k.args(), " ")))
		case "lvs_id":
			c.note(k, "the name keepalived 1.1.7 and older gave router_id; keepalived 2 does not know it")
		case "notification_email":
			var to []value
			for _, e := range k.kids {
				for _, w := range e.words {
					to = append(to, vStr(w))
				}
			}
			if len(to) == 0 {
				c.note(k, "no address")
				continue
			}
			c.alertsTable(k).set("notification_email", vArr(to...))
		case "smtp_server":
			host := k.arg(0)
			a, err := netip.ParseAddr(host)
			if err == nil && a.Is6() {
				host = "[" + a.String() + "]"
			}
			if port := k.arg(1); port != "" {
				host += ":" + port
			}
			if host == "" {
				c.note(k, "no server")
				continue
			}
			c.alertsTable(k).set("smtp_server", vStr(host))
		case "smtp_connect_timeout":
			if v, ok := c.intArg(k, 1, 3600); ok {
				c.alertsTable(k).set("smtp_connect_timeout", vInt(v))
			}
		case "smtp_alert", "smtp_alert_vrrp", "smtp_alert_checker", "no_email_faults":
			if b, ok := c.boolArg(k); ok {
				c.alertsTable(k).set(k.key(), vBool(b))
			}
		case "vrrp_version":
			if v, ok := c.intArg(k, 2, 3); ok {
				c.version = int(v)
				c.vrrpTable().set("version", vInt(v))
			}
		case "vrrp_mcast_group4", "vrrp_mcast_group6":
			a, err := netip.ParseAddr(k.arg(0))
			if err != nil || !a.IsMulticast() || (k.key() == "vrrp_mcast_group4") != a.Is4() {
				c.note(k, "not a multicast address of the family: keepalived keeps its default")
				continue
			}
			c.vrrpTable().set(strings.TrimPrefix(k.key(), "vrrp_"), vStr(a.String()))
		case "vrrp_garp_master_delay", "vrrp_garp_master_refresh":
			if v, ok := c.intArg(k, 0, 31*86400); ok {
				c.vrrpTable().set(strings.TrimPrefix(k.key(), "vrrp_"), vInt(v))
			}
		case "vrrp_garp_master_repeat", "vrrp_garp_master_refresh_repeat":
			if v, ok := c.intArg(k, 1, 1000); ok {
				c.vrrpTable().set(strings.TrimPrefix(k.key(), "vrrp_"), vInt(v))
			}
		case "vrrp_garp_interval", "vrrp_gna_interval":
			if us, ok := c.timerArg(k, 0, 1e6); ok {
				c.vrrpTable().set(strings.TrimPrefix(k.key(), "vrrp_"), vMicros(us))
			}
		case "notify_fifo", "vrrp_notify_fifo":
			p := k.arg(0)
			if !strings.HasPrefix(p, "/") {
				c.note(k, "not an absolute path")
				continue
			}
			c.vrrpTable().set("notify_fifo", vStr(p))
			if len(k.args()) > 1 {
				c.ns.add(k.file, k.line, directive(k.words[2:]), "the FIFO is created by the user uvs runs as")
			}
		case "notify_fifo_script", "vrrp_notify_fifo_script":
			if s, ok := c.script(k); ok {
				c.vrrpTable().set("notify_fifo_script", vStr(s))
			}
		case "vrrp_notify_priority_changes":
			if b, ok := c.boolArg(k); ok {
				c.vrrpTable().set("notify_priority_changes", vBool(b))
			}
		case "lvs_timeouts":
			c.lvsTimeouts(k)
		case "lvs_sync_daemon":
			c.syncDaemon(k, k.arg(0), k.words[2:])
		case "lvs_flush", "lvs_flush_onstop", "lvs_flush_on_stop":
			c.note(k, "uvs's connection table is its own: there is no kernel table to flush")
		case "vrrp_strict":
			c.strict = true
			c.note(k, "uvs has no strict mode: it accepts packets to its virtual addresses and takes unicast peers as configured; keepalived's strict mode drops authentication, so it is left out")
		case "script_user", "enable_script_security":
			c.note(k, "scripts run as the user uvs runs as, or as a vrrp_script's or misc_check's own user")
		default:
			switch {
			case globalReasons[k.key()] != "":
				c.note(k, globalReasons[k.key()])
			case contains(globalKnown, k.key()):
				c.note(k, "no uvs equivalent")
			default:
				c.note(k, "unknown keyword in global_defs: keepalived ignores it")
			}
		}
	}
}

// lvsTimeouts converts "lvs_timeouts [tcp N] [tcpfin N] [udp N]" (ipvsadm --set).
func (c *kaConv) lvsTimeouts(k *kaNode) {
	args := k.args()
	for i := 0; i < len(args); i++ {
		key := args[i]
		if key != "tcp" && key != "tcpfin" && key != "udp" || i+1 == len(args) {
			c.ns.add(k.file, k.line, directive(args[i:]), "lvs_timeouts takes tcp, tcpfin and udp, each with a number of seconds")
			return
		}
		v, err := strconv.ParseInt(args[i+1], 10, 64)
		i++
		if err != nil || v < 1 || v > 31*86400 {
			c.ns.add(k.file, k.line, key+" "+args[i], "must be 1 to 2678400 seconds")
			continue
		}
		if c.m.ipvs == nil {
			c.m.ipvs = newTable("ipvs.timeouts", false)
		}
		c.m.ipvs.set(key, vInt(v))
	}
}

// syncDaemon converts lvs_sync_daemon (and an instance's old lvs_sync_daemon_interface):
// "INTERFACE [[inst] VRRP_INSTANCE] [id N] [maxlen N] [port N] [ttl N] [group ADDR]".
func (c *kaConv) syncDaemon(k *kaNode, iface string, opts []string) {
	if c.m.sync != nil {
		c.note(k, "the sync daemon is set already: keepalived keeps the first")
		return
	}
	if iface == "" {
		c.note(k, "no interface")
		return
	}
	t := newTable("sync", false)
	c.m.syncIf = c.m.iface(iface, "the interface of the connection sync daemon")
	t.set("interface", vStr(c.m.syncIf))
	ranges := map[string][2]int64{"id": {0, 255}, "maxlen": {64, 65507}, "port": {1, 65535}, "ttl": {1, 255}}
	for i := 0; i < len(opts); i++ {
		o := opts[i]
		switch {
		case o == "inst" && i+1 < len(opts):
			t.set("vrrp_instance", vStr(opts[i+1]))
			i++
		case ranges[o] != [2]int64{} && i+1 < len(opts):
			r := ranges[o]
			v, err := strconv.ParseInt(opts[i+1], 10, 64)
			if err != nil || v < r[0] || v > r[1] {
				c.ns.add(k.file, k.line, o+" "+opts[i+1], fmt.Sprintf("must be %d to %d", r[0], r[1]))
			} else {
				t.set(o, vInt(v))
			}
			i++
		case o == "group" && i+1 < len(opts):
			if a, err := netip.ParseAddr(opts[i+1]); err == nil && a.IsMulticast() {
				t.set("group", vStr(a.String()))
			} else {
				c.ns.add(k.file, k.line, o+" "+opts[i+1], "not a multicast address")
			}
			i++
		case i == 0 && !t.has("vrrp_instance"):
			t.set("vrrp_instance", vStr(o))
		default:
			c.ns.add(k.file, k.line, directive(opts[i:]), "unknown lvs_sync_daemon option")
			i = len(opts)
		}
	}
	c.m.sync = t
	c.syncIn = k
}

// finishSync drops a [sync] that follows an instance left out.
func (c *kaConv) finishSync() {
	if c.m.sync == nil {
		return
	}
	if v, ok := c.m.sync.get("vrrp_instance"); ok {
		name, _ := strconv.Unquote(string(v))
		if in := c.byName[name]; in == nil || in.dropped {
			c.note(c.syncIn, fmt.Sprintf("vrrp_instance %s is not converted: the sync daemon sends and receives in both roles", name))
			c.m.sync.del("vrrp_instance")
		}
	}
}

// vrrpScript converts a vrrp_script block.
func (c *kaConv) vrrpScript(n *kaNode) {
	name := n.arg(0)
	if name == "" {
		c.note(n, "no name")
		return
	}
	t := newTable("vrrp_script", true)
	t.set("name", vStr(name))
	var def kaScriptDef
	for _, k := range n.kids {
		switch k.key() {
		case "script":
			args, rest, err := kaScript(k)
			if err != nil {
				c.note(k, err.Error())
				continue
			}
			t.set("script", vStr(quoteArgs(args)))
			if len(rest) > 0 {
				c.ns.add(k.file, k.line, directive(rest), "words after the script are ignored: quote the script with its arguments")
			}
		case "interval", "timeout":
			if us, ok := c.timerArg(k, 1, 0); ok {
				t.set(k.key(), vMicros(us))
			}
		case "weight":
			w, rev, ok := c.weight(k, k.args(), 253)
			if ok {
				def = kaScriptDef{int(w), rev}
				t.set("weight", vInt(w))
				if rev {
					t.set("reverse", vBool(true))
				}
			}
		case "rise", "fall":
			if v, ok := c.intArg(k, 1, 1000); ok {
				t.set(k.key(), vInt(v))
			}
		case "user":
			c.user(k, t)
		case "init_fail":
			t.set("init_fail", vBool(true))
		default:
			c.note(k, "unknown keyword in vrrp_script")
		}
	}
	if !t.has("script") {
		c.note(n, "no script: keepalived ignores the block")
		return
	}
	c.scripts[name] = def
	c.m.scripts = append(c.m.scripts, t)
}

// trackFile converts a track_file (vrrp_track_file) block. A FILE_CHECK names it; VRRP
// instances track it as a [[vrrp_track_file]], written when its weight fits VRRP's range.
func (c *kaConv) trackFile(n *kaNode) {
	name := n.arg(0)
	if name == "" {
		c.note(n, "no name")
		return
	}
	f := &kaFile{weight: 1}
	t := newTable("vrrp_track_file", true)
	t.set("name", vStr(name))
	for _, k := range n.kids {
		switch k.key() {
		case "file":
			if !strings.HasPrefix(k.arg(0), "/") {
				c.note(k, "not an absolute path")
				continue
			}
			f.path = k.arg(0)
			t.set("file", vStr(f.path))
		case "weight":
			w, rev, ok := c.weight(k, k.args(), math.MaxInt32)
			if ok {
				f.weight, f.reverse = w, rev
				t.set("weight", vInt(w))
				if rev {
					t.set("reverse", vBool(true))
				}
			}
		case "init_file":
			init, overwrite := vBool(true), false
			for _, a := range k.args() {
				if a == "overwrite" {
					overwrite = true
				} else if v, err := strconv.ParseInt(a, 10, 64); err == nil && v >= -254 && v <= 254 {
					init = vInt(v)
				} else {
					c.ns.add(k.file, k.line, a, "init_file takes a value (-254 to 254) and overwrite")
				}
			}
			t.set("init_file", init)
			if overwrite {
				t.set("init_overwrite", vBool(true))
			}
		default:
			c.note(k, "unknown keyword in track_file")
		}
	}
	if f.path == "" {
		c.note(n, "no file: keepalived ignores the block")
		return
	}
	c.files[name] = f
	if f.weight >= -254 && f.weight <= 254 {
		f.vrrp = true
		c.m.files = append(c.m.files, t)
	}
}

// The argument readers. Each notes what it refuses and reports whether the value is usable.

func (c *kaConv) intArg(k *kaNode, lo, hi int64) (int64, bool) {
	v, err := strconv.ParseInt(k.arg(0), 10, 64)
	if err != nil || v < lo || v > hi {
		c.note(k, fmt.Sprintf("must be an integer from %d to %d: keepalived ignores it", lo, hi))
		return 0, false
	}
	return v, true
}

// timerArg reads a <TIMER> in microseconds; hi 0 is keepalived's limit, 31 days here.
func (c *kaConv) timerArg(k *kaNode, lo, hi int64) (int64, bool) {
	if hi == 0 {
		hi = 31 * 86400 * 1e6
	}
	us, ok := kaTimer(k.arg(0))
	if !ok || us < lo || us > hi {
		c.note(k, "not a valid time in seconds: keepalived ignores it")
		return 0, false
	}
	return us, true
}

// kaTimer parses keepalived's <TIMER>: decimal seconds, to the microsecond.
func kaTimer(s string) (int64, bool) {
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" && frac == "" || !digits(whole) && whole != "" || !digits(frac) && frac != "" || len(whole) > 9 {
		return 0, false
	}
	w, _ := strconv.ParseInt("0"+whole, 10, 64)
	frac = (frac + "0000000")[:7]
	f, _ := strconv.ParseInt(frac, 10, 64)
	return w*1e6 + (f+5)/10, true
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// boolArg reads an optional <BOOL>: a bare keyword is true.
func (c *kaConv) boolArg(k *kaNode) (bool, bool) {
	switch k.arg(0) {
	case "", "on", "true", "yes":
		return true, true
	case "off", "false", "no":
		return false, true
	}
	c.note(k, "not a boolean (on, off, true, false, yes, no): keepalived ignores it")
	return false, false
}

// weight reads "weight N [reverse|noreverse]" from args (after the keyword), within ±hi;
// keepalived turns a tracker's ±254 into ±253.
func (c *kaConv) weight(k *kaNode, args []string, hi int64) (w int64, reverse, ok bool) {
	v, err := strconv.ParseInt(firstOf(args), 10, 64)
	if hi == 253 && (v == 254 || v == -254) {
		v = v / 254 * 253
	}
	if err != nil || v < -hi || v > hi {
		c.note(k, fmt.Sprintf("the weight must be from %d to %d: keepalived ignores it", -hi, hi))
		return 0, false, false
	}
	for _, a := range args[1:] {
		switch a {
		case "reverse":
			reverse = true
		case "noreverse":
			reverse = false
		default:
			c.note(k, "unknown weight option "+a)
		}
	}
	return v, reverse, true
}

func firstOf(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// script reads a notify or quorum script: the command line uvs runs, without a shell as
// keepalived runs it. A user and group after it are not taken (scripts run as uvs's user).
func (c *kaConv) script(k *kaNode) (string, bool) {
	args, rest, err := kaScript(k)
	if err != nil {
		c.note(k, err.Error())
		return "", false
	}
	if len(rest) > 0 {
		why := "notify and quorum scripts run as the user uvs runs as"
		if len(args) == 1 && !strings.ContainsAny(k.arg(0), " \t") {
			why += "; if these words were meant as the script's arguments, keepalived took them for a user too: quote the script with its arguments"
		}
		c.ns.add(k.file, k.line, directive(rest), why)
	}
	return quoteArgs(args), true
}

// user reads "user USER [[:]GROUP]" into a table's user and group.
func (c *kaConv) user(k *kaNode, t *table) {
	switch len(k.args()) {
	case 0:
		c.note(k, "no user")
		return
	case 1, 2:
	default:
		c.note(k, "user takes a user and a group")
	}
	t.set("user", vStr(k.arg(0)))
	if g := k.arg(1); g != "" {
		if strings.HasPrefix(g, ":") {
			c.ns.add(k.file, k.line, g, "supplementary groups are not set: the script runs with its user's primary group, or the group named")
			g = strings.TrimPrefix(g, ":")
		}
		if g != "" {
			t.set("group", vStr(g))
		}
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
