package conf

import (
	"math"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// vrrpNames records the names of the scripts, tracked files, instances and sync groups
// defined, each with the key of its table, whether or not the rest of the table was good: a
// reference to one that has errors is not reported again.
type vrrpNames map[string]string // kind + " " + name → key

func (n vrrpNames) define(p *parser, t *table, kind, name string) bool {
	if o, dup := n[kind+" "+name]; dup {
		t.Errorf("name", "%s %s is already defined at line %d", kind, name, p.Line(o))
		return false
	}
	n[kind+" "+name] = t.Path()
	return true
}

func (n vrrpNames) defined(kind, name string) bool {
	_, ok := n[kind+" "+name]
	return ok
}

// vrrp reads the VRRP part of the document: [vrrp] first (the defaults), then the scripts and
// files the instances track, the instances, and the sync groups that gather them.
func (p *parser) vrrp(c *Config, t *table) {
	c.VRRP = defaultVRRPGlobals()
	if vt, ok := t.Sub("vrrp"); ok {
		p.vrrpGlobals(&c.VRRP, vt)
	}
	names := vrrpNames{}
	for _, st := range t.Subs("vrrp_script") {
		if s, ok := p.vrrpScript(st, names); ok {
			c.VRRPScripts = append(c.VRRPScripts, s)
		}
	}
	for _, ft := range t.Subs("vrrp_track_file") {
		if f, ok := p.vrrpTrackFile(ft, names); ok {
			c.VRRPTrackFiles = append(c.VRRPTrackFiles, f)
		}
	}
	for _, it := range t.Subs("vrrp_instance") {
		if v, ok := p.vrrpInstance(c, it, names); ok {
			c.VRRPInstances = append(c.VRRPInstances, v)
		}
	}
	for _, gt := range t.Subs("vrrp_sync_group") {
		if g, ok := p.syncGroup(c, gt, names); ok {
			c.VRRPSyncGroups = append(c.VRRPSyncGroups, g)
		}
	}
}

// vrrpGlobals reads the [vrrp] table.
func (p *parser) vrrpGlobals(g *VRRPGlobals, t *table) {
	if n, ok := t.Integer("version", 2, 3); ok {
		g.Version = uint8(n)
	}
	if s, ok := t.Str("mcast_group4"); ok {
		if a, ok := p.mcastGroup(t.Key("mcast_group4"), s); ok {
			if a.Is4() {
				g.Group4 = a
			} else {
				t.Errorf("mcast_group4", "%s is IPv6; the IPv6 group is mcast_group6", a)
			}
		}
	}
	if s, ok := t.Str("mcast_group6"); ok {
		if a, ok := p.mcastGroup(t.Key("mcast_group6"), s); ok {
			if a.Is6() {
				g.Group6 = a
			} else {
				t.Errorf("mcast_group6", "%s is IPv4; the IPv4 group is mcast_group4", a)
			}
		}
	}
	p.garp(t, &g.GARPDelay, &g.GARPRepeat, &g.GARPRefresh, &g.GARPRefreshRepeat)
	g.GARPInterval, _ = p.shortInterval(t, "garp_interval")
	g.GNAInterval, _ = p.shortInterval(t, "gna_interval")
	if s, ok := t.Str("notify_fifo"); ok {
		if isAbsPath(s) {
			g.NotifyFIFO = s
		} else {
			t.Errorf("notify_fifo", "%q is not an absolute path", s)
		}
	}
	g.NotifyFIFOScript, _ = p.command(t, "notify_fifo_script")
	if t.Has("notify_fifo_script") && !t.Has("notify_fifo") {
		t.Errorf("notify_fifo_script", "reads the notify FIFO, and no notify_fifo is set")
	}
	g.NotifyPriorityChanges, _ = t.Bool("notify_priority_changes")
	t.Done()
}

// garp reads the gratuitous ARP keys of [vrrp] or of an instance, over the defaults given.
func (p *parser) garp(t *table, delay *time.Duration, repeat *int, refresh *time.Duration, refreshRepeat *int) {
	if n, ok := t.Integer("garp_master_delay", 0, maxTimeout); ok {
		*delay = time.Duration(n) * time.Second
	}
	if n, ok := t.Integer("garp_master_repeat", 1, maxGARPRepeat); ok {
		*repeat = int(n)
	}
	if n, ok := t.Integer("garp_master_refresh", 0, maxTimeout); ok {
		*refresh = time.Duration(n) * time.Second
	}
	if n, ok := t.Integer("garp_master_refresh_repeat", 1, maxGARPRepeat); ok {
		*refreshRepeat = int(n)
	}
}

// shortInterval reads garp_interval or gna_interval: seconds, 0 to 1, to the microsecond.
func (p *parser) shortInterval(t *table, k string) (time.Duration, bool) {
	f, ok := p.seconds(t, k)
	if !ok {
		return 0, false
	}
	if math.IsNaN(f) || f < 0 || f > 1 {
		t.Errorf(k, "must be between 0 and 1 second, not %v", f)
		return 0, false
	}
	return time.Duration(math.Round(f*1e6)) * time.Microsecond, true
}

// mcastGroup parses a VRRP multicast group: IPv4 multicast, or IPv6 link-local multicast
// (ff02::/16), as keepalived requires.
func (p *parser) mcastGroup(key, s string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(s)
	switch {
	case err != nil:
		p.Errorf(key, "%q is not an IP address", s)
	case a.Is4() && !a.IsMulticast():
		p.Errorf(key, "%s is not a multicast address (224.0.0.0/4)", a)
	case a.Is6() && !a.IsLinkLocalMulticast():
		p.Errorf(key, "%s is not a link-local multicast address (ff02::/16)", a)
	case a.Zone() != "" || a.Is4In6():
		p.Errorf(key, "%s: write the group without a zone, in its own family", a)
	default:
		return a, true
	}
	return netip.Addr{}, false
}

// vrrpName checks the name of an instance, script, tracked file or sync group: keepalived
// takes a word, and uvs writes it in quotes on the notify FIFO.
func (p *parser) vrrpName(t *table, what string) (string, bool) {
	s, ok := t.Str("name")
	if !t.Has("name") {
		t.Errorf("name", "missing: every %s needs a name", what)
		return "", false
	}
	if !ok {
		return "", false
	}
	if s == "" || len(s) > 64 || strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f || r == '"' || r == '\\' }) {
		t.Errorf("name", "%q is not a name: 1 to 64 characters, no blanks, quotes or backslashes", s)
		return "", false
	}
	return s, true
}

// vrrpScript reads one [[vrrp_script]].
func (p *parser) vrrpScript(t *table, names vrrpNames) (VRRPScript, bool) {
	s := VRRPScript{Interval: defaultScriptInterval, Rise: 1, Fall: 1}
	name, nameOK := p.vrrpName(t, "vrrp_script")
	nameOK = nameOK && names.define(p, t, "vrrp_script", name)
	s.Name = name
	s.Script, _ = p.command(t, "script")
	if !t.Has("script") {
		t.Errorf("script", "missing: a vrrp_script needs the command to run")
	}
	if d, ok := p.timer(t, "interval", false); ok {
		s.Interval = d
	}
	s.Timeout = s.Interval // keepalived: no timeout is the interval
	if d, ok := p.timer(t, "timeout", false); ok {
		s.Timeout = d
	}
	if n, ok := t.Integer("weight", -maxTrackWeight, maxTrackWeight); ok {
		s.Weight = int(n)
	}
	s.Reverse, _ = t.Bool("reverse")
	if n, ok := t.Integer("rise", 1, maxRiseFall); ok {
		s.Rise = int(n)
	}
	if n, ok := t.Integer("fall", 1, maxRiseFall); ok {
		s.Fall = int(n)
	}
	s.InitFail, _ = t.Bool("init_fail")
	s.User = p.user(t)
	s.Group = p.group(t)
	t.Done()
	return s, nameOK && !p.failed(t.Path())
}

// vrrpTrackFile reads one [[vrrp_track_file]].
func (p *parser) vrrpTrackFile(t *table, names vrrpNames) (VRRPTrackFile, bool) {
	f := VRRPTrackFile{Weight: 1}
	name, nameOK := p.vrrpName(t, "vrrp_track_file")
	nameOK = nameOK && names.define(p, t, "vrrp_track_file", name)
	f.Name = name
	if s, ok := t.Str("file"); ok {
		if isAbsPath(s) {
			f.File = s
		} else {
			t.Errorf("file", "%q is not an absolute path", s)
		}
	}
	if !t.Has("file") {
		t.Errorf("file", "missing: a vrrp_track_file needs the file to read")
	}
	if n, ok := t.Integer("weight", -maxFileWeight, maxFileWeight); ok {
		f.Weight = int(n)
	}
	f.Reverse, _ = t.Bool("reverse")
	switch v, _ := t.Get("init_file"); v := v.(type) {
	case nil:
	case bool:
		f.Init = v
	case int64:
		if n, ok := p.Integer(t.Key("init_file"), v, -maxFileWeight, maxFileWeight); ok {
			f.Init, f.InitValue = true, int(n)
		}
	default:
		p.TypeError(t.Key("init_file"), "the number to create the file with, or true (0)", v)
	}
	f.InitOverwrite, _ = t.Bool("init_overwrite")
	if f.InitOverwrite && !t.Has("init_file") {
		t.Errorf("init_overwrite", "needs init_file, the value to write")
	}
	t.Done()
	return f, nameOK && !p.failed(t.Path())
}

func isAbsPath(s string) bool { return strings.HasPrefix(s, "/") && !strings.ContainsRune(s, 0) }

// trackDraft is one entry of a track_* array as written.
type trackDraft struct {
	TrackRef
	key       string
	hasWeight bool
	hasRev    bool
}

// The three kinds of tracking, in refKeys order.
const (
	trackIface = iota
	trackScript
	trackFile
)

var (
	trackKeys  = [3]string{"track_interface", "track_script", "track_file"}
	trackWhats = [3]string{"interface", "vrrp_script", "vrrp_track_file"} // what each tracks
)

// trackList reads track_interface, track_script or track_file of an instance or sync group:
// an array of names, or of tables { name, weight, reverse }, and resolves each name.
func (p *parser) trackList(c *Config, t *table, kind int, names vrrpNames) (refs []TrackRef, keys []string) {
	k := trackKeys[kind]
	items, _ := t.List(k)
	maxW := int64(maxTrackWeight)
	if kind == trackFile {
		maxW = maxFileWeight
	}
	var seen []string
	for _, it := range items {
		d, ok := p.trackItem(it, maxW)
		if !ok {
			continue
		}
		switch kind {
		case trackIface:
			if ifc := c.iface(d.Name); ifc == nil {
				if !p.failed("interface") {
					p.Errorf(d.key, "unknown interface %s (%s)", d.Name, c.ifaceNames())
				}
				continue
			}
		case trackScript:
			i := slices.IndexFunc(c.VRRPScripts, func(s VRRPScript) bool { return s.Name == d.Name })
			if i < 0 {
				if !names.defined("vrrp_script", d.Name) {
					p.Errorf(d.key, "unknown vrrp_script %s", d.Name)
				}
				continue
			}
			if !d.hasWeight {
				d.Weight = c.VRRPScripts[i].Weight
			}
			if !d.hasRev {
				d.Reverse = c.VRRPScripts[i].Reverse
			}
		case trackFile:
			i := slices.IndexFunc(c.VRRPTrackFiles, func(f VRRPTrackFile) bool { return f.Name == d.Name })
			if i < 0 {
				if !names.defined("vrrp_track_file", d.Name) {
					p.Errorf(d.key, "unknown vrrp_track_file %s", d.Name)
				}
				continue
			}
			if !d.hasWeight {
				d.Weight = c.VRRPTrackFiles[i].Weight
			}
			if !d.hasRev {
				d.Reverse = c.VRRPTrackFiles[i].Reverse
			}
		}
		if slices.Contains(seen, d.Name) {
			p.Errorf(d.key, "%s %s is tracked twice", trackWhats[kind], d.Name)
			continue
		}
		seen = append(seen, d.Name)
		refs = append(refs, d.TrackRef)
		keys = append(keys, d.key)
	}
	return refs, keys
}

// trackItem reads one element of a track_* array.
func (p *parser) trackItem(it item, maxW int64) (trackDraft, bool) {
	d := trackDraft{key: it.Key}
	switch v := it.V.(type) {
	case string:
		if v == "" || strings.ContainsAny(v, " \t") {
			if f := strings.Fields(v); len(f) > 1 {
				p.Errorf(it.Key, "%q: keepalived's options after the name are written as a table here: { name = %q, weight = ... }", v, f[0])
			} else {
				p.Errorf(it.Key, "%q is not a name", v)
			}
			return d, false
		}
		d.Name = v
		return d, true
	case map[string]any:
		t := p.Table(it.Key, v)
		name, ok := t.Str("name")
		switch {
		case !t.Has("name"):
			t.Errorf("name", "missing: what is tracked")
		case ok && (name == "" || strings.ContainsAny(name, " \t")):
			t.Errorf("name", "%q is not a name", name)
			ok = false
		}
		d.Name = name
		if n, has := t.Integer("weight", -maxW, maxW); has {
			d.Weight, d.hasWeight = int(n), true
		} else if t.Has("weight") {
			ok = false
		}
		if b, has := t.Bool("reverse"); has {
			d.Reverse, d.hasRev = b, true
		}
		t.Done()
		return d, ok && !p.failed(it.Key)
	}
	p.TypeError(it.Key, "a name, or a table like { name = \"...\", weight = -20 }", it.V)
	return d, false
}

// iface returns the interface called name, or nil.
func (c *Config) iface(name string) *Interface {
	for i := range c.Interfaces {
		if c.Interfaces[i].Name == name {
			return &c.Interfaces[i]
		}
	}
	return nil
}

// ifaceNames lists the interfaces, for messages.
func (c *Config) ifaceNames() string {
	if len(c.Interfaces) == 0 {
		return "no [[interface]] is defined"
	}
	names := make([]string, len(c.Interfaces))
	for i, ifc := range c.Interfaces {
		names[i] = ifc.Name
	}
	return "interfaces: " + strings.Join(names, ", ")
}
