package conf

import (
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

// vipDraft is a virtual address as read, with its key.
type vipDraft struct {
	VIP
	key string
}

// vrrpInstance reads one [[vrrp_instance]] and checks it against the interfaces, the scripts
// and files it tracks, and the instances read before it.
func (p *parser) vrrpInstance(c *Config, t *table, names vrrpNames) (VRRPInstance, bool) {
	g := &c.VRRP
	v := VRRPInstance{
		key:                   t.Path(),
		State:                 "BACKUP",
		Priority:              defaultPriority,
		Interval:              defaultAdvertInt,
		Preempt:               true,
		GARPDelay:             g.GARPDelay,
		GARPRepeat:            g.GARPRepeat,
		GARPRefresh:           g.GARPRefresh,
		GARPRefreshRepeat:     g.GARPRefreshRepeat,
		NotifyPriorityChanges: g.NotifyPriorityChanges,
	}
	name, nameOK := p.vrrpName(t, "vrrp_instance")
	nameOK = nameOK && names.define(p, t, "vrrp_instance", name)
	v.Name = name

	var ifc *Interface
	if s, ok := t.Str("interface"); ok {
		if ifc = c.iface(s); ifc != nil {
			v.Interface = s
		} else if !p.failed("interface") {
			t.Errorf("interface", "unknown interface %s (%s)", s, c.ifaceNames())
		}
	} else if !t.Has("interface") {
		t.Errorf("interface", "missing: the interface the instance advertises on")
	}
	state, hasState := t.Str("state")
	if hasState {
		switch state {
		case "MASTER", "BACKUP":
			v.State = state
		default:
			t.Errorf("state", "unknown state %q (MASTER or BACKUP, in capitals as keepalived writes them)", state)
		}
	}
	if n, ok := t.Integer("virtual_router_id", 1, 255); ok {
		v.VRID = uint8(n)
	} else if !t.Has("virtual_router_id") {
		t.Errorf("virtual_router_id", "missing: the VRID (1-255), the same on every router of this virtual router")
	}
	prio, hasPrio := t.Integer("priority", 1, ownerPriority)
	switch {
	case hasPrio:
		v.Priority = uint8(prio)
	case !t.Has("priority") && hasState && state == "MASTER":
		// keepalived 2 then takes priority 255, which makes the instance the address owner:
		// rarely what a MASTER/BACKUP pair means.
		t.Errorf("priority", "missing: with state MASTER and no priority, keepalived takes priority 255, the address owner's; write it (1-254 for a router that hands over, above its backups')")
	}
	if !hasState && v.Priority == ownerPriority {
		v.State = "MASTER" // keepalived: the initial state follows the priority
	}
	version, hasVersion := t.Integer("version", 2, 3)
	advert, hasAdvert := p.seconds(t, "advert_int")
	nopreempt, _ := t.Bool("nopreempt")
	v.Preempt = !nopreempt
	if f, ok := p.seconds(t, "preempt_delay"); ok {
		if math.IsNaN(f) || f < 0 || f > maxPreemptDelay {
			t.Errorf("preempt_delay", "must be between 0 and %d seconds, not %v", maxPreemptDelay, f)
		} else {
			v.PreemptDelay = time.Duration(math.Round(f*1e6)) * time.Microsecond
		}
	}
	if at, ok := t.Sub("authentication"); ok {
		v.AuthPass = p.authentication(at)
	}
	vips := p.vipList(c, t, "virtual_ipaddress", v.Interface)
	excluded := p.vipList(c, t, "virtual_ipaddress_excluded", v.Interface)
	if !t.Has("virtual_ipaddress") {
		t.Errorf("virtual_ipaddress", "missing: the virtual addresses the instance moves")
	} else if a, ok := t.M["virtual_ipaddress"].([]any); ok && len(a) == 0 {
		t.Errorf("virtual_ipaddress", "must list at least one address")
	}
	mcastSrc, hasMcastSrc := t.Str("mcast_src_ip")
	ucastSrc, hasUcastSrc := t.Str("unicast_src_ip")
	peerItems, _ := t.StrList("unicast_peer")
	dst, hasDst := t.Str("mcast_dst_ip")
	p.garp(t, &v.GARPDelay, &v.GARPRepeat, &v.GARPRefresh, &v.GARPRefreshRepeat)
	v.UseVMAC, _ = t.Bool("use_vmac")
	v.DontTrackPrimary, _ = t.Bool("dont_track_primary")
	v.TrackInterfaces, v.refKeys[trackIface] = p.trackList(c, t, trackIface, names)
	v.TrackScripts, v.refKeys[trackScript] = p.trackList(c, t, trackScript, names)
	v.TrackFiles, v.refKeys[trackFile] = p.trackList(c, t, trackFile, names)
	v.NotifyMaster, _ = p.command(t, "notify_master")
	v.NotifyBackup, _ = p.command(t, "notify_backup")
	v.NotifyFault, _ = p.command(t, "notify_fault")
	v.NotifyStop, _ = p.command(t, "notify_stop")
	v.Notify, _ = p.command(t, "notify")
	if b, ok := t.Bool("notify_priority_changes"); ok {
		v.NotifyPriorityChanges = b
	}
	v.SMTPAlert = p.smtpAlert(c, t, c.Alerts.SMTPAlertVRRP)
	t.Done()

	// The family: the first virtual address's, else that of the addresses the adverts use.
	fam := 0
	if len(vips) > 0 {
		fam = famOf(vips[0].Prefix.Addr())
	}
	for _, s := range []string{mcastSrc, ucastSrc, dst} {
		if a, err := netip.ParseAddr(s); fam == 0 && err == nil {
			fam = famOf(a)
		}
	}
	for _, it := range peerItems {
		if a, err := netip.ParseAddr(it.V.(string)); fam == 0 && err == nil {
			fam = famOf(a)
		}
	}
	for _, d := range vips {
		if a := d.Prefix.Addr(); famOf(a) != fam {
			p.Errorf(d.key, "%s is %s, and this instance's first address is %s: an advert carries one family (give %s its own instance, or list it in virtual_ipaddress_excluded, which is not advertised)", a, ipName(a), famName(fam), ipName(a))
		} else {
			v.VIPs = append(v.VIPs, d.VIP)
		}
	}
	for _, d := range excluded {
		v.VIPsExcluded = append(v.VIPsExcluded, d.VIP)
	}

	// The version and the advertisement interval.
	switch {
	case hasVersion:
		v.Version = uint8(version)
	case fam == 6:
		v.Version = 3
	default:
		v.Version = g.Version
	}
	if fam == 6 && v.Version == 2 {
		t.Errorf("version", "VRRP version 2 is IPv4 only (RFC 3768): an IPv6 instance is version 3")
	}
	// With no family known (every address was bad), the version may be a guess.
	versionKnown := !p.failed(t.Key("version")) && (fam != 0 || hasVersion)
	if hasAdvert && versionKnown {
		if d, ok := p.advertInt(t, advert, v.Version); ok {
			v.Interval = d
		}
	}
	if v.AuthPass != "" && v.Version == 3 && versionKnown {
		why := ""
		if !hasVersion {
			why = " (an IPv6 instance is version 3)"
			if fam != 6 {
				why = " ([vrrp] version = 3)"
			}
		}
		t.Errorf("authentication", "VRRP version 3 has no authentication (RFC 5798)%s", why)
	}

	// Where the adverts go, and from where.
	srcKey := ""
	switch {
	case hasMcastSrc && hasUcastSrc:
		t.Errorf("unicast_src_ip", "mcast_src_ip is set too: the adverts have one source address")
	case hasUcastSrc && !t.Has("unicast_peer"):
		t.Errorf("unicast_src_ip", "applies to unicast adverts, and there is no unicast_peer; the source of multicast adverts is mcast_src_ip")
	case hasUcastSrc:
		srcKey = "unicast_src_ip"
	case hasMcastSrc:
		srcKey = "mcast_src_ip"
	}
	unicast := len(peerItems) > 0
	if srcKey != "" {
		s, _ := t.Str(srcKey)
		if a, ok := p.addr(t.Key(srcKey), s); ok {
			switch {
			case fam != 0 && famOf(a) != fam:
				t.Errorf(srcKey, "%s is %s; the instance is %s", a, ipName(a), famName(fam))
			case ifc == nil:
			case !ifc.owns(a):
				t.Errorf(srcKey, "%s is not an address of interface %s (%s)", a, ifc.Name, ifc.prefixes(a.Is4()))
			case a.Is6() && !unicast && !a.IsLinkLocalUnicast():
				t.Errorf(srcKey, "%s is not link-local: multicast IPv6 adverts come from the interface's link-local address (RFC 5798 5.1.2.1)", a)
			default:
				v.SrcIP = a
			}
		}
	} else if ifc != nil && fam != 0 && !p.failed(ifc.key+".addresses") {
		if a, ok := advertSource(ifc, fam, unicast); ok {
			v.SrcIP = a
		} else if fam == 6 {
			t.Errorf("interface", "interface %s has no IPv6 link-local address to advertise from (RFC 5798 5.1.2.1): add one to its addresses, like fe80::2/64", ifc.Name)
		} else {
			t.Errorf("interface", "interface %s has no %s address to advertise from", ifc.Name, famName(fam))
		}
	}
	if a, ok := t.M["unicast_peer"].([]any); ok && len(a) == 0 {
		t.Errorf("unicast_peer", "must list at least one peer; without unicast_peer, adverts are multicast")
	}
	for _, it := range peerItems {
		a, ok := p.addr(it.Key, it.V.(string))
		switch {
		case !ok:
		case fam != 0 && famOf(a) != fam:
			p.Errorf(it.Key, "%s is %s; the instance is %s", a, ipName(a), famName(fam))
		case slices.Contains(v.UnicastPeers, a):
			p.Errorf(it.Key, "%s is listed twice", a)
		default:
			if o, own := c.ownerOf(a); own {
				p.Errorf(it.Key, "%s is this appliance's own address (interface %s)", a, o.Name)
			} else if !p.failed("interface") && !c.routable(a) {
				p.Errorf(it.Key, "no route to %s (%s; no [[interface.route]] covers it and no %s gateway is set)", a, c.networks(a.Is4()), ipName(a))
			} else {
				v.UnicastPeers = append(v.UnicastPeers, a)
			}
		}
	}
	if hasDst {
		if a, ok := p.mcastGroup(t.Key("mcast_dst_ip"), dst); ok {
			switch {
			case unicast:
				t.Errorf("mcast_dst_ip", "adverts go to unicast_peer; mcast_dst_ip applies to multicast ones")
			case fam != 0 && famOf(a) != fam:
				t.Errorf("mcast_dst_ip", "%s is %s; the instance is %s", a, ipName(a), famName(fam))
			default:
				v.Group = a
			}
		}
	} else if !unicast && fam == 4 {
		v.Group = g.Group4
	} else if !unicast && fam == 6 {
		v.Group = g.Group6
	}

	p.checkOwnership(c, t, &v, vips, excluded)
	p.checkPreempt(t, &v, hasState, nopreempt)
	if v.Priority == ownerPriority {
		p.checkWeights(v.refKeys, [3][]TrackRef{v.TrackInterfaces, v.TrackScripts, v.TrackFiles},
			"the address owner (priority 255) keeps its priority: it tracks with weight 0 (FAULT on failure), as keepalived does")
	}
	if v.UseVMAC && ifc != nil && ifc.Kind == KindAFPacket && !ifc.Promiscuous {
		t.Errorf("use_vmac", "the port must receive frames sent to the virtual MAC address: set promiscuous = true on interface %s", ifc.Name)
	}
	if ifc != nil && fam != 0 {
		// The adverts must fit the interface's MTU (keepalived moves the rest to the
		// excluded addresses; uvs says so).
		hdr, per := 20+8, 4
		if v.Version == 2 {
			hdr += 8 // authentication data
		}
		if fam == 6 {
			hdr, per = 40+8, 16
		}
		if most := min(maxVRRPAddrs, (ifc.MTU-hdr)/per); len(v.VIPs) > most {
			t.Errorf("virtual_ipaddress", "%d addresses do not fit in one advert (at most %d on interface %s, MTU %d); list the rest in virtual_ipaddress_excluded", len(v.VIPs), most, ifc.Name, ifc.MTU)
		}
	}
	ok := nameOK && ifc != nil && !p.failed(t.Path())
	if ok {
		ok = p.checkVRRPConflicts(c, t, &v, fam, append(vips, excluded...))
	}
	return v, ok
}

// famOf is 4 or 6.
func famOf(a netip.Addr) int {
	if a.Is4() {
		return 4
	}
	return 6
}

func famName(fam int) string {
	if fam == 6 {
		return "IPv6"
	}
	return "IPv4"
}

// advertSource is the default source of an instance's adverts: the interface's first
// address of the family; for IPv6, its first link-local one, which multicast requires.
func advertSource(ifc *Interface, fam int, unicast bool) (netip.Addr, bool) {
	for _, pf := range ifc.Addresses {
		a := pf.Addr()
		if famOf(a) == fam && (fam == 4 || a.IsLinkLocalUnicast()) {
			return a, true
		}
	}
	if fam == 6 && unicast {
		for _, pf := range ifc.Addresses {
			if pf.Addr().Is6() {
				return pf.Addr(), true
			}
		}
	}
	return netip.Addr{}, false
}

// advertInt checks advert_int, f seconds, against what version's adverts can carry.
func (p *parser) advertInt(t *table, f float64, version uint8) (time.Duration, bool) {
	n := strconv.FormatFloat(f, 'f', -1, 64)
	if version == 2 {
		if math.IsNaN(f) || f != math.Trunc(f) || f < 1 || f > 255 {
			t.Errorf("advert_int", "VRRP version 2 advertises whole seconds, 1 to 255, not %s (version 3 takes hundredths)", n)
			return 0, false
		}
		return time.Duration(f) * time.Second, true
	}
	cs := math.Round(f * 100)
	if math.IsNaN(f) || math.Abs(f*100-cs) > 1e-6 || cs < 1 || cs > 4095 {
		t.Errorf("advert_int", "VRRP version 3 advertises hundredths of a second, 0.01 to 40.95, not %s", n)
		return 0, false
	}
	return time.Duration(cs) * 10 * time.Millisecond, true
}

// authentication reads keepalived's authentication block: auth_type PASS and auth_pass.
func (p *parser) authentication(t *table) string {
	typ, hasType := t.Str("auth_type")
	pass, hasPass := t.Str("auth_pass")
	t.Done()
	switch {
	case !t.Has("auth_type"):
		t.Errorf("auth_type", "missing: PASS, with auth_pass")
		return ""
	case !hasType:
		return ""
	case typ == "AH":
		t.Errorf("auth_type", "AH is not supported; VRRP version 2 adverts are authenticated with PASS only")
		return ""
	case typ != "PASS":
		t.Errorf("auth_type", "unknown auth_type %q (PASS)", typ)
		return ""
	case !t.Has("auth_pass"):
		t.Errorf("auth_pass", "missing: the password, 1 to 8 characters")
	case !hasPass:
	case pass == "":
		t.Errorf("auth_pass", "must not be empty")
	case len(pass) > 8:
		t.Errorf("auth_pass", "%q is %d bytes, and an advert carries 8: keepalived would send %q; write that", pass, len(pass), pass[:8])
	default:
		return pass
	}
	return ""
}

// vipList reads virtual_ipaddress or virtual_ipaddress_excluded: addresses, each a string
// "10.0.0.1" or "10.0.0.1/24", or a table { address = "...", dev = "eth1" } for one owned on
// another interface. iface is the instance's interface ("" when unknown).
func (p *parser) vipList(c *Config, t *table, k, iface string) []vipDraft {
	items, _ := t.List(k)
	var out []vipDraft
	for _, it := range items {
		d := vipDraft{key: it.Key}
		d.Interface = iface
		var s string
		switch v := it.V.(type) {
		case string:
			s = v
		case map[string]any:
			vt := p.Table(it.Key, v)
			addr, hasAddr := vt.Str("address")
			dev, hasDev := vt.Str("dev")
			vt.Done()
			if !vt.Has("address") {
				vt.Errorf("address", "missing: the virtual address")
			}
			if hasDev {
				if c.iface(dev) != nil {
					d.Interface = dev
				} else if !p.failed("interface") {
					vt.Errorf("dev", "unknown interface %s (%s)", dev, c.ifaceNames())
					continue
				}
			}
			if !hasAddr {
				continue
			}
			s, d.key = addr, vt.Key("address")
		default:
			p.TypeError(it.Key, `an address ("10.0.0.1/24"), or a table like { address = "10.0.0.1/24", dev = "eth1" }`, it.V)
			continue
		}
		pf, ok := p.vipPrefix(d.key, s)
		if !ok {
			continue
		}
		d.Prefix = pf
		out = append(out, d)
	}
	return out
}

// vipPrefix parses a virtual address as keepalived's virtual_ipaddress takes it: an address
// and an optional prefix length, a bare address being a host prefix.
func (p *parser) vipPrefix(key, s string) (netip.Prefix, bool) {
	if f := strings.Fields(s); len(f) > 1 {
		i := slices.Index(f, "dev")
		if i > 0 && i+1 < len(f) {
			p.Errorf(key, "%q: keepalived's options after the address are not taken; write %q, or { address = %q, dev = %q } for an address on another interface than the instance's", s, f[0], f[0], f[i+1])
		} else {
			p.Errorf(key, "%q: keepalived's options after the address are not taken; write %q", s, f[0])
		}
		return netip.Prefix{}, false
	}
	pf, err := netip.ParsePrefix(s)
	if err != nil {
		a, aerr := netip.ParseAddr(s)
		if aerr != nil {
			p.Errorf(key, "%q is not an address, with or without a prefix length (like 10.0.0.1 or 10.0.0.1/24)", s)
			return netip.Prefix{}, false
		}
		pf = netip.PrefixFrom(a, a.BitLen())
	}
	a := pf.Addr()
	if !p.unicast(key, a) {
		return netip.Prefix{}, false
	}
	if a.Is4() && pf.Bits() < 31 && a == pf.Masked().Addr() {
		p.Errorf(key, "%s is the network address of %s, not a host's", a, pf.Masked())
		return netip.Prefix{}, false
	}
	return pf, true
}

// checkOwnership refuses virtual addresses the appliance holds anyway (its interface
// addresses, full-NAT local addresses), except that the address owner lists its own, and
// only those.
func (p *parser) checkOwnership(c *Config, t *table, v *VRRPInstance, lists ...[]vipDraft) {
	var notOwned []netip.Addr
	seen := make(map[netip.Addr]bool)
	for _, l := range lists {
		for _, d := range l {
			a := d.Prefix.Addr()
			if seen[a] {
				p.Errorf(d.key, "%s is listed twice", a)
				continue
			}
			seen[a] = true
			if o, own := c.ownerOf(a); own {
				if v.Priority != ownerPriority && !p.failed(t.Key("priority")) {
					p.Errorf(d.key, "%s is an address of interface %s, which the appliance always holds; only the address owner (priority = 255) lists its own addresses", a, o.Name)
				}
				continue
			}
			// A full-NAT local address may be an instance's: in a syncing pair only the
			// master must own it (the appliance then owns it only while MASTER).
			notOwned = append(notOwned, a)
		}
	}
	if v.Priority == ownerPriority && len(notOwned) > 0 {
		t.Errorf("priority", "255 is the address owner's (RFC 3768 5.3.4), whose virtual addresses are its own interface addresses, and %s is not; a router that takes over has 1-254", notOwned[0])
	}
}

// checkPreempt refuses the preemption settings keepalived would ignore.
func (p *parser) checkPreempt(t *table, v *VRRPInstance, hasState, nopreempt bool) {
	switch {
	case nopreempt && v.Priority == ownerPriority:
		t.Errorf("nopreempt", "the address owner (priority 255) always takes over")
	case nopreempt && hasState && v.State == "MASTER":
		t.Errorf("nopreempt", "has no effect with state MASTER (keepalived ignores it): the routers of a non-preempting virtual router all start as BACKUP")
	}
	if v.PreemptDelay > 0 {
		switch {
		case nopreempt:
			t.Errorf("preempt_delay", "has no use with nopreempt")
		case v.State == "MASTER":
			t.Errorf("preempt_delay", "has no effect with state MASTER (keepalived ignores it): a delayed preemption is a BACKUP's")
		}
	}
}

// checkWeights refuses weighted tracking where keepalived ignores the weights: why says where.
func (p *parser) checkWeights(keys [3][]string, refs [3][]TrackRef, why string) {
	for kind := range refs {
		for i, r := range refs[kind] {
			if r.Weight == 0 {
				continue
			}
			own := ""
			if _, written := p.Pos.Keys[keys[kind][i]+".weight"]; !written && kind != trackIface {
				own = fmt.Sprintf(" (%s %s's own; write { name = %q, weight = 0 })", trackWhats[kind], r.Name, r.Name)
			}
			p.Errorf(keys[kind][i], "weight %d%s: %s", r.Weight, own, why)
		}
	}
}

// checkVRRPConflicts refuses what an instance shares with those read before it: a VRID on
// the same interface and family (their adverts and virtual MACs would mix), and virtual
// addresses (which instance would own them?).
func (p *parser) checkVRRPConflicts(c *Config, t *table, v *VRRPInstance, fam int, vips []vipDraft) bool {
	ok := true
	for _, o := range c.VRRPInstances {
		if o.Interface == v.Interface && o.VRID == v.VRID && len(o.VIPs) > 0 && famOf(o.VIPs[0].Prefix.Addr()) == fam {
			t.Errorf("virtual_router_id", "VRID %d on interface %s (%s) is already vrrp_instance %s's (line %d)", v.VRID, v.Interface, famName(fam), o.Name, p.Line(o.key))
			ok = false
		}
		for _, d := range vips {
			if slices.ContainsFunc(append(o.VIPs[:len(o.VIPs):len(o.VIPs)], o.VIPsExcluded...), func(x VIP) bool { return x.Prefix.Addr() == d.Prefix.Addr() }) {
				p.Errorf(d.key, "%s is already a virtual address of vrrp_instance %s (line %d)", d.Prefix.Addr(), o.Name, p.Line(o.key))
				ok = false
			}
		}
	}
	return ok
}

// syncGroup reads one [[vrrp_sync_group]] and marks its instances as its members.
func (p *parser) syncGroup(c *Config, t *table, names vrrpNames) (VRRPSyncGroup, bool) {
	g := VRRPSyncGroup{key: t.Path(), NotifyPriorityChanges: c.VRRP.NotifyPriorityChanges}
	name, nameOK := p.vrrpName(t, "vrrp_sync_group")
	nameOK = nameOK && names.define(p, t, "vrrp_sync_group", name)
	g.Name = name
	items, _ := t.StrList("group")
	g.TrackingWeight, _ = t.Bool("sync_group_tracking_weight")
	g.TrackInterfaces, g.refKeys[trackIface] = p.trackList(c, t, trackIface, names)
	g.TrackScripts, g.refKeys[trackScript] = p.trackList(c, t, trackScript, names)
	g.TrackFiles, g.refKeys[trackFile] = p.trackList(c, t, trackFile, names)
	g.NotifyMaster, _ = p.command(t, "notify_master")
	g.NotifyBackup, _ = p.command(t, "notify_backup")
	g.NotifyFault, _ = p.command(t, "notify_fault")
	g.NotifyStop, _ = p.command(t, "notify_stop")
	g.Notify, _ = p.command(t, "notify")
	if b, ok := t.Bool("notify_priority_changes"); ok {
		g.NotifyPriorityChanges = b
	}
	g.SMTPAlert = p.smtpAlert(c, t, c.Alerts.SMTPAlertVRRP)
	t.Done()

	if !t.Has("group") {
		t.Errorf("group", "missing: the vrrp_instance names of the group")
	}
	var members []*VRRPInstance
	listOK := !p.failed(t.Key("group"))
	for _, it := range items {
		n := it.V.(string)
		i := slices.IndexFunc(c.VRRPInstances, func(v VRRPInstance) bool { return v.Name == n })
		switch {
		case i < 0 && names.defined("vrrp_instance", n):
			listOK = false // reported there
		case i < 0:
			p.Errorf(it.Key, "unknown vrrp_instance %s", n)
			listOK = false
		case slices.Contains(g.Instances, n):
			p.Errorf(it.Key, "%s is listed twice", n)
			listOK = false
		case c.VRRPInstances[i].SyncGroup != "":
			o := c.VRRPInstances[i].SyncGroup
			p.Errorf(it.Key, "vrrp_instance %s is already in vrrp_sync_group %s (line %d): an instance has one group", n, o, p.Line(names["vrrp_sync_group "+o]))
			listOK = false
		default:
			g.Instances = append(g.Instances, n)
			members = append(members, &c.VRRPInstances[i])
		}
	}
	switch {
	case !listOK || !t.Has("group") || len(g.Instances) >= 2:
	case len(g.Instances) == 1:
		t.Errorf("group", "lists %s alone: a sync group synchronises two instances or more", g.Instances[0])
	default:
		t.Errorf("group", "must list two instances or more")
	}
	if nameOK {
		for _, m := range members {
			m.SyncGroup = name
		}
	}
	var owners, others []string
	for _, m := range members {
		if m.Priority == ownerPriority {
			owners = append(owners, m.Name)
		} else {
			others = append(others, m.Name)
		}
	}
	if len(owners) > 0 && len(others) > 0 {
		t.Errorf("group", "mixes address owners (priority 255: %s) with other routers (%s): the owners are always MASTER, and the others could not follow", strings.Join(owners, ", "), strings.Join(others, ", "))
	}
	if !g.TrackingWeight {
		why := "a sync group tracks with weight 0 (FAULT on failure) unless it sets sync_group_tracking_weight = true; keepalived ignores the weight"
		p.checkWeights(g.refKeys, [3][]TrackRef{g.TrackInterfaces, g.TrackScripts, g.TrackFiles}, why)
		why = fmt.Sprintf("a member of vrrp_sync_group %s (line %d) tracks with weight 0 (FAULT on failure) unless the group sets sync_group_tracking_weight = true; keepalived ignores the weight", name, p.Line(t.Path()))
		for _, m := range members {
			if m.Priority == ownerPriority {
				continue // refused as the owner's
			}
			p.checkWeights(m.refKeys, [3][]TrackRef{m.TrackInterfaces, m.TrackScripts, m.TrackFiles}, why)
		}
	}
	return g, nameOK && !p.failed(t.Path())
}
