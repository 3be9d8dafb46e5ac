package convert

import (
	"fmt"
	"net/netip"
	"strings"
)

// kaInst is a vrrp_instance being converted: its table, and what keepalived decides only
// once the whole file is read (its priority and state, what it ignores, its tracking).
type kaInst struct {
	*inst
	n       *kaNode
	dropped bool

	state                     string
	priority, version         int64 // 0: not written
	vrid                      bool
	advert                    int64 // microseconds; 0: not written
	advertNode                *kaNode
	nopreempt, preemptDelay   *kaNode
	authType, authPass        string
	authNode                  *kaNode
	strict                    bool
	fam                       int
	unicastSrc                bool
	tracks                    [3][]*kaTrack
	group                     *kaGroup
	hasVIPs, hasPeers, hasSrc bool
}

// kaTrack is one entry of a track_interface, track_script or track_file block.
type kaTrack struct {
	name      string
	weight    int64
	hasWeight bool
	reverse   bool
	n         *kaNode
}

// kaGroup is a vrrp_sync_group being converted.
type kaGroup struct {
	t        *table
	n        *kaNode
	name     string
	members  []*kaInst
	tracks   [3][]*kaTrack
	weighted bool // sync_group_tracking_weight
}

var trackNames = [3]string{"track_interface", "track_script", "track_file"}

// vrrpReasons say why the vrrp_instance keywords uvs does not take are left out.
var vrrpReasons = map[string]string{
	"accept":                     "uvs always accepts packets to the addresses it owns",
	"no_accept":                  "uvs always accepts packets to the addresses it owns: it is a load balancer",
	"skip_check_adv_addr":        "uvs always checks the addresses of the adverts it receives",
	"check_unicast_src":          "uvs does not check the source of unicast adverts",
	"unicast_ttl":                "uvs sends adverts with TTL 255, as RFC 3768 requires",
	"track_src_ip":               "the adverts' source is one of the interface's [[interface]] addresses, which do not go away",
	"garp_lower_prio_delay":      "uvs sends no gratuitous ARP on a lower-priority advert",
	"garp_lower_prio_repeat":     "uvs sends no gratuitous ARP on a lower-priority advert",
	"lower_prio_no_advert":       "uvs answers a lower-priority advert as RFC 3768 says",
	"higher_prio_send_advert":    "uvs does not send an advert before giving way to a higher priority",
	"down_timer_adverts":         "the master down timer is 3 advert intervals and the skew time, as the RFCs say",
	"promote_secondaries":        "uvs does not put its virtual addresses on the host's interfaces",
	"kernel_rx_buf_size":         "a socket setting of keepalived's",
	"vmac_xmit_base":             "uvs creates no macvlan: with use_vmac, adverts leave from the interface itself",
	"use_vmac_addr":              "uvs creates no macvlan",
	"use_ipvlan":                 "uvs creates no ipvlan",
	"vrf":                        "uvs does not run in a VRF",
	"linkbeat_use_polling":       "uvs reads its ports' link state itself",
	"notify_deleted":             "uvs has no deleted state to notify",
	"notify_master_rx_lower_pri": "uvs has no such notification",
	"unicast_fault_no_peer":      "uvs refuses unicast adverts without peers",
	"owner_ignore_adverts":       "the address owner reads the adverts it receives",
	"v3_checksum_as_v2":          "uvs computes VRRPv3 checksums as RFC 5798 says",
	"old_unicast_checksum":       "uvs computes VRRPv3 checksums as RFC 5798 says",
	"garp_extra_if":              "uvs repeats gratuitous ARP on the instance's interfaces only, with garp_master_refresh",
	"vmac_garp_intvl":            "uvs repeats gratuitous ARP on the instance's interfaces only, with garp_master_refresh",
	"timer_expired_backup":       "uvs has no such state change",
	"thread_timer_expired":       "uvs has no such state change",
	"no_virtual_ipaddress":       "uvs needs virtual addresses: they are what it moves",
	"virtual_routes":             "uvs installs no routes on state changes",
	"virtual_rules":              "uvs installs no routing rules on state changes",
	"track_process":              "uvs does not track processes: track a vrrp_script running pidof or killall -0",
	"track_bfd":                  "uvs has no BFD",
	"auth_hmac":                  "uvs has no HMAC authentication of adverts",
	"debug":                      "a debug setting of keepalived's",
}

// vrrpInstance reads a vrrp_instance block. Some keys are written as read; those keepalived
// judges against the whole instance (priority, nopreempt, authentication, advert_int,
// tracking) are settled by finishVRRP.
func (c *kaConv) vrrpInstance(n *kaNode) {
	name := n.arg(0)
	if name == "" {
		c.note(n, "no name")
		return
	}
	if c.byName[name] != nil {
		c.note(n, "vrrp_instance "+name+" is defined twice: the first is kept")
		return
	}
	t := newTable("vrrp_instance", true)
	t.set("name", vStr(name))
	in := &kaInst{inst: &inst{t: t, name: name}, n: n}
	c.byName[name] = in
	c.insts = append(c.insts, in)
	var vips, excl []*kaNode
	for _, k := range n.kids {
		switch key := k.key(); key {
		case "state":
			switch k.arg(0) {
			case "MASTER", "BACKUP":
				if in.state == "MASTER" && k.arg(0) == "BACKUP" {
					c.note(k, "state was MASTER already: keepalived keeps MASTER")
					continue
				}
				in.state = k.arg(0)
			default:
				c.note(k, "unknown state: keepalived takes BACKUP")
				in.state = "BACKUP"
			}
			t.set("state", vStr(in.state))
		case "interface":
			if k.arg(0) == "" {
				c.note(k, "no interface")
				continue
			}
			in.iface = c.m.iface(k.arg(0), "the interface of vrrp_instance "+name)
			t.set("interface", vStr(in.iface))
		case "virtual_router_id":
			if v, ok := c.intArg(k, 1, 255); ok {
				in.vrid = true
				t.set("virtual_router_id", vInt(v))
			}
		case "priority":
			if v, ok := c.intArg(k, 1, 255); ok {
				in.priority = v
				t.set("priority", vInt(v))
			}
		case "version":
			if v, ok := c.intArg(k, 2, 3); ok {
				in.version = v
				t.set("version", vInt(v))
			}
		case "advert_int":
			if us, ok := c.timerArg(k, 10000, 255e6); ok {
				in.advert, in.advertNode = us, k
				t.set("advert_int", vMicros(us))
			}
		case "nopreempt":
			in.nopreempt = k
			t.set("nopreempt", vBool(true))
		case "preempt":
			in.nopreempt = nil // keepalived's backward-compatible opposite of nopreempt
			t.del("nopreempt")
		case "preempt_delay":
			if us, ok := c.timerArg(k, 0, 1000e6); ok {
				in.preemptDelay = k
				t.set("preempt_delay", vMicros(us))
			}
		case "authentication":
			for _, a := range k.kids {
				switch a.key() {
				case "auth_type":
					in.authType = a.arg(0)
				case "auth_pass":
					in.authPass = a.arg(0)
				default:
					c.note(a, "unknown keyword in authentication")
				}
			}
			in.authNode = k
			t.set("authentication", "") // settled by finishVRRP
		case "virtual_ipaddress":
			vips = append(vips, k.kids...)
			t.set(key, "") // written by vipList, in this place
		case "virtual_ipaddress_excluded":
			excl = append(excl, k.kids...)
			t.set(key, "")
		case "mcast_src_ip", "unicast_src_ip", "mcast_dst_ip":
			a, err := netip.ParseAddr(k.arg(0))
			if err != nil {
				c.note(k, "not an IP address: keepalived ignores it")
				continue
			}
			c.m.use(a)
			if key != "mcast_dst_ip" {
				in.src, in.hasSrc, in.unicastSrc = a, true, key == "unicast_src_ip"
			}
			t.set(key, vStr(a.String()))
		case "unicast_peer":
			c.unicastPeers(in, k)
		case "garp_master_delay", "garp_master_refresh":
			if v, ok := c.intArg(k, 0, 31*86400); ok {
				t.set(key, vInt(v))
			}
		case "garp_master_repeat", "garp_master_refresh_repeat":
			if v, ok := c.intArg(k, 1, 1000); ok {
				t.set(key, vInt(v))
			}
		case "use_vmac":
			t.set("use_vmac", vBool(true))
			if len(k.args()) > 0 {
				c.ns.add(k.file, k.line, directive(k.words), "uvs creates no macvlan, so the interface name, MAC address and group of use_vmac are not taken; the virtual router's own MAC is used")
			}
		case "dont_track_primary":
			t.set("dont_track_primary", vBool(true))
		case "track_interface", "track_script", "track_file":
			c.tracks(k, &in.tracks)
			t.set(key, "") // settled by finishVRRP
		case "notify_master", "notify_backup", "notify_fault", "notify_stop", "notify":
			if s, ok := c.script(k); ok {
				t.set(key, vStr(s))
			}
		case "notify_priority_changes":
			if b, ok := c.boolArg(k); ok {
				t.set(key, vBool(b))
			}
		case "lvs_sync_daemon_interface":
			c.syncDaemon(k, k.arg(0), []string{"inst", name})
		case "strict_mode":
			if b, ok := c.boolArg(k); ok && b {
				in.strict = true
				c.note(k, "uvs has no strict mode; keepalived's drops authentication, so it is left out")
			}
		case "smtp_alert":
			c.smtpAlert(k, in.t)
		case "native_ipv6":
			// keepalived's old way to say the instance is IPv6; the addresses say it now.
		default:
			if why, ok := vrrpReasons[key]; ok {
				c.note(k, why)
			} else {
				c.note(k, "unknown keyword in vrrp_instance: keepalived ignores it")
			}
		}
	}
	c.vipList(in, vips, "virtual_ipaddress")
	c.vipList(in, excl, "virtual_ipaddress_excluded")
}

// unicastPeers reads unicast_peer: one address a line, with keepalived's TTL bounds.
func (c *kaConv) unicastPeers(in *kaInst, k *kaNode) {
	var vals []value
	for _, p := range k.kids {
		a, err := netip.ParseAddr(p.key())
		if err != nil {
			c.note(p, "not an IP address: keepalived ignores it")
			continue
		}
		if len(p.args()) > 0 {
			c.note(p, "min_ttl and max_ttl are not checked: uvs sends and expects TTL 255")
		}
		c.m.use(a)
		in.peers = append(in.peers, a)
		vals = append(vals, vStr(a.String()))
	}
	if len(vals) > 0 {
		in.hasPeers = true
		in.t.set("unicast_peer", vArr(vals...))
	}
}

// vipOptions say why keepalived's options of a virtual address are not taken.
var vipOptions = map[string]string{
	"label":         "names an interface alias: uvs adds no alias",
	"brd":           "uvs puts no address on the host",
	"scope":         "uvs puts no address on the host",
	"peer":          "uvs has no point-to-point addresses",
	"home":          "an IPv6 address flag of the host's",
	"-nodad":        "an IPv6 address flag of the host's",
	"mngtmpaddr":    "an IPv6 address flag of the host's",
	"noprefixroute": "uvs puts no address on the host",
	"autojoin":      "uvs has no multicast virtual addresses",
	"no_track":      "uvs's virtual addresses are not the host's, which could delete them",
	"preferred_lft": "uvs puts no address on the host",
	"track_group":   "uvs has no static track groups",
	"use_vmac":      "uvs has no per-address macvlan: use_vmac applies to the instance",
}

var vipOptionArgs = map[string]bool{"label": true, "brd": true, "scope": true, "peer": true, "preferred_lft": true, "track_group": true, "dev": true}

// vipList reads virtual_ipaddress or virtual_ipaddress_excluded: one address a line, with
// options. The advertised addresses are all of the first one's family, as keepalived keeps
// them.
func (c *kaConv) vipList(in *kaInst, lines []*kaNode, key string) {
	var vals []value
	for _, k := range lines {
		pf, explicit, ok := parseVIP(k.key())
		if !ok {
			c.note(k, "not an IP address: keepalived ignores it")
			continue
		}
		a := pf.Addr()
		fam := famOf(a)
		if key == "virtual_ipaddress" {
			if in.fam == 0 {
				in.fam = fam
			} else if fam != in.fam {
				c.note(k, "not of the family of the instance's first address: keepalived ignores it (list it in virtual_ipaddress_excluded to move it with the others)")
				continue
			}
		}
		dev := in.iface
		var dropped []string
		words := k.words
		for i := 1; i < len(words); i++ {
			w := words[i]
			arg := ""
			if vipOptionArgs[w] && i+1 < len(words) {
				arg = words[i+1]
				i++
			}
			if w == "dev" {
				dev = arg
				continue
			}
			why, known := vipOptions[w]
			if !known {
				why = "unknown option"
			}
			dropped = append(dropped, strings.TrimSpace(w+" "+arg)+": "+why)
		}
		if len(dropped) > 0 {
			c.note(k, strings.Join(dropped, "; "))
		}
		if dev == "" {
			c.note(k, "no interface: the instance has none")
			continue
		}
		s := a.String()
		if explicit {
			s = pf.String()
		}
		c.m.use(a)
		if dev != in.iface {
			dev = c.m.iface(dev, fmt.Sprintf("holds virtual addresses of vrrp_instance %s", in.name))
			vals = append(vals, vInline(kv{key: "address", val: vStr(s)}, kv{key: "dev", val: vStr(dev)}))
		} else {
			vals = append(vals, vStr(s))
		}
		in.vips = append(in.vips, vipRef{pf: pf, explicit: explicit, iface: dev})
		if key == "virtual_ipaddress" {
			in.hasVIPs = true
		}
	}
	if len(vals) > 0 {
		in.t.set(key, vArr(vals...))
	} else {
		in.t.del(key)
	}
}

// parseVIP reads an address with an optional prefix length.
func parseVIP(s string) (netip.Prefix, bool, bool) {
	if pf, err := netip.ParsePrefix(s); err == nil {
		return netip.PrefixFrom(pf.Addr().Unmap(), pf.Bits()), true, true
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, false, false
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), false, true
}

func famOf(a netip.Addr) int {
	if a.Is4() {
		return 4
	}
	return 6
}

// tracks reads a track_interface, track_script or track_file block: a name a line, with an
// optional "weight N [reverse|noreverse]".
func (c *kaConv) tracks(k *kaNode, into *[3][]*kaTrack) {
	kind := 0
	for i, n := range trackNames {
		if n == k.key() {
			kind = i
		}
	}
	hi := int64(253)
	if kind == 2 {
		hi = 254
	}
	for _, e := range k.kids {
		tr := &kaTrack{name: e.key(), n: e}
		switch {
		case len(e.args()) == 0:
		case e.arg(0) == "weight":
			w, rev, ok := c.weight(e, e.args()[1:], hi)
			if !ok {
				continue
			}
			tr.weight, tr.hasWeight, tr.reverse = w, true, rev
		default:
			c.note(e, "unknown option: keepalived takes weight N [reverse]")
			continue
		}
		into[kind] = append(into[kind], tr)
	}
}

// syncGroup reads a vrrp_sync_group.
func (c *kaConv) syncGroup(n *kaNode) {
	name := n.arg(0)
	if name == "" {
		c.note(n, "no name")
		return
	}
	g := &kaGroup{t: newTable("vrrp_sync_group", true), n: n, name: name}
	g.t.set("name", vStr(name))
	for _, k := range n.kids {
		switch key := k.key(); key {
		case "group":
			var names []string
			for _, e := range k.kids {
				names = append(names, e.words...)
			}
			for _, m := range names {
				in := c.byName[m]
				switch {
				case in == nil:
					c.note(k, "vrrp_instance "+m+" does not exist: keepalived ignores it")
				case in.group != nil:
					c.note(k, fmt.Sprintf("vrrp_instance %s is in vrrp_sync_group %s already: keepalived ignores this group's claim", m, in.group.name))
				default:
					in.group = g
					g.members = append(g.members, in)
				}
			}
			g.t.set("group", "") // settled by finishVRRP
		case "track_interface", "track_script", "track_file":
			c.tracks(k, &g.tracks)
			g.t.set(key, "")
		case "notify_master", "notify_backup", "notify_fault", "notify_stop", "notify":
			if s, ok := c.script(k); ok {
				g.t.set(key, vStr(s))
			}
		case "notify_priority_changes":
			if b, ok := c.boolArg(k); ok {
				g.t.set(key, vBool(b))
			}
		case "sync_group_tracking_weight":
			g.weighted = true
			g.t.set(key, vBool(true))
		case "smtp_alert":
			c.smtpAlert(k, g.t)
		case "global_tracking":
			c.note(k, "deprecated in keepalived: the group's own track_interface, track_script and track_file apply to its members")
		case "track_process":
			c.note(k, "uvs does not track processes: track a vrrp_script running pidof or killall -0")
		case "track_bfd":
			c.note(k, "uvs has no BFD")
		default:
			c.note(k, "unknown keyword in vrrp_sync_group: keepalived ignores it")
		}
	}
	c.groups = append(c.groups, g)
}

// finishVRRP settles what keepalived decides once everything is read (vrrp.c's
// vrrp_complete_instance and vrrp_sync.c), then writes the instances and groups.
func (c *kaConv) finishVRRP() {
	for _, in := range c.insts {
		c.finishInstance(in)
	}
	for _, g := range c.groups {
		var members []*kaInst
		for _, m := range g.members {
			if !m.dropped {
				members = append(members, m)
			}
		}
		if len(members) < 2 {
			why := "a sync group of fewer than two instances synchronises nothing, and uvs refuses it"
			if len(members) == 1 {
				why = "a sync group of one instance synchronises nothing (keepalived warns), and uvs refuses it; its tracking and notify scripts are not carried over to " + members[0].name
			}
			c.note(g.n, why)
			for _, m := range members {
				m.group = nil
			}
			continue
		}
		vals := make([]value, len(members))
		for i, m := range members {
			vals[i] = vStr(m.name)
		}
		g.t.set("group", vArr(vals...))
		c.writeTracks(g.t, &g.tracks, g.weighted, false, "vrrp_sync_group "+g.name)
		c.m.groups = append(c.m.groups, g.t)
	}
	for _, in := range c.insts {
		if in.dropped {
			continue
		}
		inGroup := in.group != nil && !in.group.weighted
		c.writeTracks(in.t, &in.tracks, !inGroup, in.priority == 255, "vrrp_instance "+in.name)
		c.m.insts = append(c.m.insts, in.inst)
	}
}

func (c *kaConv) finishInstance(in *kaInst) {
	t := in.t
	switch {
	case in.iface == "":
		c.note(in.n, "no interface: uvs needs the interface the adverts use")
		in.dropped = true
	case !in.vrid:
		c.note(in.n, "no virtual_router_id: keepalived refuses the instance")
		in.dropped = true
	case !in.hasVIPs:
		c.note(in.n, "no virtual_ipaddress: uvs moves virtual addresses, and an instance without any has nothing to do")
		in.dropped = true
	}
	if in.dropped {
		return
	}
	version := in.version
	if version == 0 {
		version = int64(c.version)
		if in.fam == 6 {
			version = 3
		}
	}
	// keepalived derives a missing priority from the state: MASTER without a priority is
	// the address owner.
	if in.priority == 0 && in.state == "MASTER" {
		in.priority = 255
		t.set("priority", vInt(255), "keepalived's priority for state MASTER without one: the address owner")
	}
	owner := in.priority == 255
	in.owner = owner
	if in.nopreempt != nil && (in.state == "MASTER" || owner) {
		c.note(in.nopreempt, "keepalived ignores nopreempt with state MASTER or priority 255")
		t.del("nopreempt")
		in.nopreempt = nil
	}
	if in.preemptDelay != nil && (in.nopreempt != nil || in.state == "MASTER") {
		c.note(in.preemptDelay, "keepalived ignores preempt_delay with nopreempt or state MASTER")
		t.del("preempt_delay")
	}
	if in.authNode != nil {
		c.authentication(in, version)
	}
	if in.advert > 0 {
		c.advertInt(in, version)
	}
	if in.unicastSrc && !in.hasPeers {
		// keepalived sends multicast adverts when no peer is given, from that address.
		if v, ok := t.get("unicast_src_ip"); ok {
			t.del("unicast_src_ip")
			t.set("mcast_src_ip", v, "unicast_src_ip without unicast_peer: keepalived's adverts are multicast")
		}
	}
	if in.fam == 6 && !in.hasPeers && !in.hasSrc {
		in.multicast6 = true
	}
}

func (c *kaConv) authentication(in *kaInst, version int64) {
	t, k := in.t, in.authNode
	drop := func(why string) {
		c.note(k, why)
		t.del("authentication")
	}
	switch {
	case in.strict || c.strict:
		drop("keepalived's strict mode ignores authentication")
	case version == 3:
		drop("VRRP version 3 has no authentication: keepalived ignores it")
	case in.authType == "AH":
		drop("uvs has no AH authentication: the adverts are sent without, which a keepalived peer using AH refuses")
	case in.authType != "PASS":
		drop("auth_type must be PASS")
	case in.authPass == "":
		drop("no auth_pass: keepalived ignores the authentication")
	default:
		pass, comment := in.authPass, ""
		if len(pass) > 8 {
			comment = fmt.Sprintf("keepalived sends the first 8 bytes of %q", pass)
			pass = pass[:8]
		}
		t.set("authentication", vInline(kv{key: "auth_type", val: vStr("PASS")}, kv{key: "auth_pass", val: vStr(pass)}), comment)
	}
}

// advertInt rounds advert_int as keepalived does: version 2 carries whole seconds (1-255),
// version 3 hundredths (0.01-40.95).
func (c *kaConv) advertInt(in *kaInst, version int64) {
	us := in.advert
	unit, lo, hi := int64(1e6), int64(1e6), int64(255e6)
	if version == 3 {
		unit, lo, hi = 1e4, 1e4, 4095e4
	}
	r := (us + unit/2) / unit * unit
	r = min(max(r, lo), hi)
	if r != us {
		in.t.set("advert_int", vMicros(r), fmt.Sprintf("keepalived rounds advert_int %s for VRRP version %d", in.advertNode.arg(0), version))
	}
}

// writeTracks writes an instance's or group's tracking. Where keepalived ignores weights (a
// member of a sync group without sync_group_tracking_weight, the address owner), it zeroes
// or drops the weighted trackers as keepalived does (vrrp.c), with a note, since uvs refuses
// what keepalived would ignore.
func (c *kaConv) writeTracks(t *table, tracks *[3][]*kaTrack, weighted, owner bool, who string) {
	for kind, list := range tracks {
		key := trackNames[kind]
		var vals []value
		for _, tr := range list {
			w, rev := tr.weight, tr.reverse
			switch kind {
			case 0:
				c.m.iface(tr.name, "tracked by "+who)
			case 1:
				def, ok := c.scripts[tr.name]
				if !ok {
					c.note(tr.n, "no vrrp_script of that name: keepalived ignores it")
					continue
				}
				if !tr.hasWeight {
					w, rev = int64(def.weight), def.reverse
				}
			case 2:
				f, ok := c.files[tr.name]
				if !ok {
					c.note(tr.n, "no track_file of that name: keepalived ignores it")
					continue
				}
				if !f.vrrp {
					c.note(tr.n, fmt.Sprintf("track_file %s's weight %d is beyond VRRP's -254 to 254", tr.name, f.weight))
					continue
				}
				if !tr.hasWeight {
					w, rev = f.weight, f.reverse
				}
			}
			if w != 0 && (!weighted || owner) {
				why := "in a sync group without sync_group_tracking_weight"
				if owner {
					why = "for the address owner (priority 255)"
				}
				switch {
				case kind == 0 && !owner, kind == 2 && w == 1:
					c.note(tr.n, "keepalived ignores the weight "+why+": it tracks with weight 0 (FAULT on failure)")
					w = 0
				default:
					c.note(tr.n, "keepalived stops tracking a weighted tracker "+why)
					continue
				}
			}
			if !tr.hasWeight && w == 0 && kind != 0 && (kind == 1 && c.scripts[tr.name].weight != 0 || kind == 2 && c.files[tr.name].weight != 0) {
				vals = append(vals, vInline(kv{key: "name", val: vStr(tr.name)}, kv{key: "weight", val: vInt(0)}))
				continue
			}
			if tr.hasWeight || rev != defaultReverse(c, kind, tr.name) {
				fields := []kv{{key: "name", val: vStr(tr.name)}, {key: "weight", val: vInt(w)}}
				if rev {
					fields = append(fields, kv{key: "reverse", val: vBool(true)})
				}
				vals = append(vals, vInline(fields...))
			} else {
				vals = append(vals, vStr(tr.name))
			}
		}
		if len(vals) > 0 {
			t.set(key, vArr(vals...))
		} else {
			t.del(key)
		}
	}
}

func defaultReverse(c *kaConv, kind int, name string) bool {
	switch kind {
	case 1:
		return c.scripts[name].reverse
	case 2:
		if f := c.files[name]; f != nil {
			return f.reverse
		}
	}
	return false
}
