package conf

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// public drops what only messages use, so that instances compare on what they mean.
func public(v VRRPInstance) VRRPInstance {
	v.key, v.refKeys = "", [3][]string{}
	return v
}

// TestVRRPDefaults checks what a minimal instance means: keepalived's defaults.
func TestVRRPDefaults(t *testing.T) {
	c := mustParse(t, `
[[interface]]
name = "eth0"
addresses = ["10.0.0.2/24"]

[[vrrp_instance]]
name = "VI_1"
interface = "eth0"
virtual_router_id = 51
virtual_ipaddress = ["10.0.0.1"]
`)
	want := VRRPInstance{
		Name: "VI_1", Interface: "eth0", State: "BACKUP", VRID: 51, Priority: 100, Version: 2,
		Interval: time.Second, Preempt: true,
		VIPs:      []VIP{{netip.MustParsePrefix("10.0.0.1/32"), "eth0"}},
		SrcIP:     netip.MustParseAddr("10.0.0.2"),
		Group:     netip.MustParseAddr("224.0.0.18"),
		GARPDelay: 5 * time.Second, GARPRepeat: 5, GARPRefreshRepeat: 1,
	}
	if len(c.VRRPInstances) != 1 {
		t.Fatalf("%d instances", len(c.VRRPInstances))
	}
	equalJSON(t, public(c.VRRPInstances[0]), want)
	equalJSON(t, c.VRRP, VRRPGlobals{Version: 2, Group4: netip.MustParseAddr("224.0.0.18"),
		Group6: netip.MustParseAddr("ff02::12"), GARPDelay: 5 * time.Second, GARPRepeat: 5, GARPRefreshRepeat: 1})
	if c.VRRPScripts != nil || c.VRRPTrackFiles != nil || c.VRRPSyncGroups != nil {
		t.Errorf("scripts %v, files %v, groups %v", c.VRRPScripts, c.VRRPTrackFiles, c.VRRPSyncGroups)
	}
}

// TestVRRPResolved checks the defaults that depend on other keys, as keepalived derives them:
// the state from the priority, the version and source from the family, the [vrrp] defaults,
// and the weights of tracked scripts and files.
func TestVRRPResolved(t *testing.T) {
	src := `
[[interface]]
name = "eth0"
addresses = ["10.0.0.2/24", "2001:db8::2/64", "fe80::2/64"]
promiscuous = true

[[interface]]
name = "eth1"
kind = "memory"
addresses = ["192.168.1.2/24", "2001:db8:1::2/64"]

[vrrp]
version = 3
mcast_group4 = "224.0.0.19"
mcast_group6 = "ff02::13"
garp_master_delay = 0
garp_master_repeat = 2
garp_master_refresh = 60
garp_master_refresh_repeat = 3
garp_interval = 0.001
gna_interval = 0.0005
notify_fifo = "/run/uvs/vrrp.fifo"
notify_fifo_script = "/usr/local/bin/fifo-reader"
notify_priority_changes = true

[[vrrp_script]]
name = "chk"
script = ["/usr/local/bin/check", "a b"]
weight = -20
reverse = true
interval = 0.5
user = "nobody"
group = "nogroup"
init_fail = true
rise = 2
fall = 3

[[vrrp_script]]
name = "chk2"
script = "/bin/true"
timeout = 3

[[vrrp_track_file]]
name = "maint"
file = "/run/maint"
init_file = true

[[vrrp_track_file]]
name = "prio"
file = "/run/prio"
weight = -254
init_file = -5
init_overwrite = true

# The address owner: its own address, state MASTER implied.
[[vrrp_instance]]
name = "owner"
interface = "eth0"
virtual_router_id = 1
priority = 255
virtual_ipaddress = ["10.0.0.2"]

# IPv4 under [vrrp] version = 3: hundredths; the [vrrp] defaults.
[[vrrp_instance]]
name = "v3"
interface = "eth0"
virtual_router_id = 2
advert_int = 0.01
virtual_ipaddress = ["10.0.0.3/24", { address = "192.168.1.3", dev = "eth1" }]
virtual_ipaddress_excluded = ["2001:db8::3"]
track_script = ["chk", { name = "chk2", weight = 10, reverse = true }]
track_file = ["maint", { name = "prio", weight = 7 }]
track_interface = ["eth1", { name = "eth0", weight = -30, reverse = true }]
garp_master_delay = 7
notify_priority_changes = false
dont_track_primary = true
use_vmac = true
nopreempt = true
notify = ["/usr/local/bin/notify", "v3"]
notify_master = "/usr/local/bin/up"

# IPv6: version 3 always, the link-local source, [vrrp] mcast_group6.
[[vrrp_instance]]
name = "six"
interface = "eth0"
virtual_router_id = 2
advert_int = 40.95
priority = 200
virtual_ipaddress = ["fe80::10", "2001:db8::10/64"]
preempt_delay = 2.5

# IPv6 unicast: the global address serves when no link-local one is listed.
[[vrrp_instance]]
name = "six-unicast"
interface = "eth1"
virtual_router_id = 3
virtual_ipaddress = ["2001:db8:1::10"]
unicast_peer = ["2001:db8:1::3"]

# IPv4, version 2 explicitly, unicast with its source, and a password.
[[vrrp_instance]]
name = "v2"
interface = "eth1"
virtual_router_id = 4
version = 2
advert_int = 255
state = "MASTER"
priority = 150
authentication = { auth_type = "PASS", auth_pass = "12345678" }
virtual_ipaddress = ["192.168.1.4"]
unicast_src_ip = "192.168.1.2"
unicast_peer = ["192.168.1.3", "192.168.1.5"]

[[vrrp_instance]]
name = "mcast"
interface = "eth1"
virtual_router_id = 5
virtual_ipaddress = ["192.168.1.5"]
mcast_dst_ip = "239.0.0.18"
mcast_src_ip = "192.168.1.2"

[[vrrp_sync_group]]
name = "G"
group = ["mcast", "v2"]
sync_group_tracking_weight = true
track_script = ["chk"]
notify_fault = "/usr/local/bin/fault G"
notify_priority_changes = false
`
	c := mustParse(t, src)
	byName := map[string]VRRPInstance{}
	for _, v := range c.VRRPInstances {
		byName[v.Name] = public(v)
	}
	if len(byName) != 6 {
		t.Fatalf("%d instances", len(byName))
	}
	g := c.VRRP
	wantG := VRRPGlobals{Version: 3, Group4: netip.MustParseAddr("224.0.0.19"), Group6: netip.MustParseAddr("ff02::13"),
		GARPRepeat: 2, GARPRefresh: time.Minute, GARPRefreshRepeat: 3, GARPInterval: time.Millisecond,
		GNAInterval: 500 * time.Microsecond, NotifyFIFO: "/run/uvs/vrrp.fifo",
		NotifyFIFOScript: "/usr/local/bin/fifo-reader", NotifyPriorityChanges: true}
	equalJSON(t, g, wantG)
	equalJSON(t, c.VRRPScripts, []VRRPScript{
		{Name: "chk", Script: "/usr/local/bin/check 'a b'", Interval: 500 * time.Millisecond,
			Timeout: 500 * time.Millisecond, Weight: -20, Reverse: true, Rise: 2, Fall: 3, InitFail: true,
			User: "nobody", Group: "nogroup"},
		{Name: "chk2", Script: "/bin/true", Interval: time.Second, Timeout: 3 * time.Second, Rise: 1, Fall: 1},
	})
	equalJSON(t, c.VRRPTrackFiles, []VRRPTrackFile{
		{Name: "maint", File: "/run/maint", Weight: 1, Init: true},
		{Name: "prio", File: "/run/prio", Weight: -254, Init: true, InitValue: -5, InitOverwrite: true},
	})
	garp := func(v *VRRPInstance) {
		v.GARPRepeat, v.GARPRefresh, v.GARPRefreshRepeat = 2, time.Minute, 3
	}
	owner := VRRPInstance{Name: "owner", Interface: "eth0", State: "MASTER", VRID: 1, Priority: 255, Version: 3,
		Interval: time.Second, Preempt: true, VIPs: []VIP{{netip.MustParsePrefix("10.0.0.2/32"), "eth0"}},
		SrcIP: netip.MustParseAddr("10.0.0.2"), Group: netip.MustParseAddr("224.0.0.19"), NotifyPriorityChanges: true}
	garp(&owner)
	equalJSON(t, byName["owner"], owner)
	v3 := VRRPInstance{Name: "v3", Interface: "eth0", State: "BACKUP", VRID: 2, Priority: 100, Version: 3,
		Interval:     10 * time.Millisecond,
		VIPs:         []VIP{{netip.MustParsePrefix("10.0.0.3/24"), "eth0"}, {netip.MustParsePrefix("192.168.1.3/32"), "eth1"}},
		VIPsExcluded: []VIP{{netip.MustParsePrefix("2001:db8::3/128"), "eth0"}},
		SrcIP:        netip.MustParseAddr("10.0.0.2"), Group: netip.MustParseAddr("224.0.0.19"),
		GARPDelay: 7 * time.Second, UseVMAC: true, DontTrackPrimary: true,
		TrackInterfaces: []TrackRef{{Name: "eth1"}, {Name: "eth0", Weight: -30, Reverse: true}},
		TrackScripts:    []TrackRef{{Name: "chk", Weight: -20, Reverse: true}, {Name: "chk2", Weight: 10, Reverse: true}},
		TrackFiles:      []TrackRef{{Name: "maint", Weight: 1}, {Name: "prio", Weight: 7}},
		Notify:          "/usr/local/bin/notify v3", NotifyMaster: "/usr/local/bin/up"}
	garp(&v3)
	equalJSON(t, byName["v3"], v3)
	six := VRRPInstance{Name: "six", Interface: "eth0", State: "BACKUP", VRID: 2, Priority: 200, Version: 3,
		Interval: 40950 * time.Millisecond, Preempt: true, PreemptDelay: 2500 * time.Millisecond,
		VIPs:  []VIP{{netip.MustParsePrefix("fe80::10/128"), "eth0"}, {netip.MustParsePrefix("2001:db8::10/64"), "eth0"}},
		SrcIP: netip.MustParseAddr("fe80::2"), Group: netip.MustParseAddr("ff02::13"), NotifyPriorityChanges: true}
	garp(&six)
	equalJSON(t, byName["six"], six)
	if v := byName["six-unicast"]; v.SrcIP != netip.MustParseAddr("2001:db8:1::2") || v.Group.IsValid() ||
		len(v.UnicastPeers) != 1 || v.Version != 3 {
		t.Errorf("six-unicast: %+v", v)
	}
	if v := byName["v2"]; v.Version != 2 || v.Interval != 255*time.Second || v.AuthPass != "12345678" ||
		v.State != "MASTER" || v.SrcIP != netip.MustParseAddr("192.168.1.2") || v.Group.IsValid() ||
		len(v.UnicastPeers) != 2 || v.SyncGroup != "G" {
		t.Errorf("v2: %+v", v)
	}
	if v := byName["mcast"]; v.Group != netip.MustParseAddr("239.0.0.18") || v.SrcIP != netip.MustParseAddr("192.168.1.2") || v.SyncGroup != "G" {
		t.Errorf("mcast: %+v", v)
	}
	sg := c.VRRPSyncGroups[0]
	sg.key, sg.refKeys = "", [3][]string{}
	equalJSON(t, sg, VRRPSyncGroup{Name: "G", Instances: []string{"mcast", "v2"}, TrackingWeight: true,
		TrackScripts: []TrackRef{{Name: "chk", Weight: -20, Reverse: true}}, NotifyFault: "/usr/local/bin/fault G"})

	if v := c.VRRPInstanceOf(netip.MustParseAddr("2001:db8::3")); v == nil || v.Name != "v3" {
		t.Errorf("VRRPInstanceOf(2001:db8::3) = %v, want v3 (an excluded address)", v)
	}
	for _, a := range []string{"10.0.0.9", "10.0.0.2"} { // no instance's; the owner's, an interface address
		if v := c.VRRPInstanceOf(netip.MustParseAddr(a)); v != nil {
			t.Errorf("VRRPInstanceOf(%s) = %v, want none: owned always", a, v.Name)
		}
	}
}

// TestVRRPStateMasterNeedsPriority: keepalived makes a MASTER without a priority the address
// owner; uvs asks for the priority instead of guessing.
func TestVRRPStateMasterNeedsPriority(t *testing.T) {
	_, err := Parse("t.toml", []byte(`
[[interface]]
name = "eth0"
addresses = ["10.0.0.2/24"]

[[vrrp_instance]]
name = "VI_1"
interface = "eth0"
state = "MASTER"
virtual_router_id = 51
virtual_ipaddress = ["10.0.0.1"]
`))
	if err == nil || !strings.Contains(err.Error(), "vrrp_instance[0].priority: missing: with state MASTER") {
		t.Errorf("got %v", err)
	}
}

// TestVRRPAdvertsFit: an advert must carry every virtual address in one packet.
func TestVRRPAdvertsFit(t *testing.T) {
	vips := func(n int, v6 bool) string {
		var s []string
		for i := range n {
			if v6 {
				s = append(s, fmt.Sprintf("%q", fmt.Sprintf("2001:db8::%x", 0x100+i)))
			} else {
				s = append(s, fmt.Sprintf("%q", fmt.Sprintf("10.%d.%d.1", i/250, i%250)))
			}
		}
		return strings.Join(s, ", ")
	}
	for _, tc := range []struct {
		n    int
		v6   bool
		fits bool
	}{{255, false, true}, {256, false, false}, {90, true, true}, {91, true, false}} {
		src := fmt.Sprintf(`
[[interface]]
name = "eth0"
addresses = ["10.255.0.2/24", "fe80::2/64"]

[[vrrp_instance]]
name = "VI_1"
interface = "eth0"
virtual_router_id = 51
virtual_ipaddress = [%s]
`, vips(tc.n, tc.v6))
		_, err := Parse("t.toml", []byte(src))
		if fits := err == nil; fits != tc.fits {
			t.Errorf("%d addresses (IPv6 %v): fits %v, want %v: %v", tc.n, tc.v6, fits, tc.fits, err)
		}
	}
}

// TestVRRPAccepted generates VRRP configurations at random and checks that whatever conf
// accepts holds together as keepalived and the RFCs require: the property test of VRRP, as
// TestAcceptedMeansApplied is the engine's.
func TestVRRPAccepted(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	accepted := 0
	const n = 2000
	for range n {
		src := randomVRRP(r)
		c, err := Parse("gen.toml", []byte(src))
		if err != nil {
			continue
		}
		accepted++
		if msg := vrrpInvariants(c); msg != "" {
			t.Fatalf("%s\n%s", msg, src)
		}
	}
	if accepted < n/20 || accepted > n*19/20 {
		t.Errorf("%d of %d generated configs accepted: the generator needs rebalancing", accepted, n)
	}
	t.Logf("%d of %d accepted", accepted, n)
}

func randomVRRP(r *rand.Rand) string {
	pick := func(xs ...string) string { return xs[r.IntN(len(xs))] }
	maybe := func(p float64, s string) string {
		if r.Float64() < p {
			return s
		}
		return ""
	}
	var b strings.Builder
	b.WriteString("[[interface]]\nname = \"eth0\"\naddresses = [\"10.0.0.2/24\", \"2001:db8::2/64\"" + maybe(0.8, `, "fe80::2/64"`) + "]\n")
	b.WriteString(maybe(0.5, "promiscuous = true\n"))
	b.WriteString("[[interface]]\nname = \"eth1\"\naddresses = [\"192.168.1.2/24\"]\n")
	b.WriteString(maybe(0.2, fmt.Sprintf("[vrrp]\nversion = %s\n", pick("2", "3"))))
	b.WriteString("[[vrrp_script]]\nname = \"chk\"\nscript = \"/bin/true\"\n" + maybe(0.5, fmt.Sprintf("weight = %s\n", pick("0", "2", "-20"))))
	// Each instance has its own VRID and addresses but, now and then, one that breaks a rule.
	names := []string{"A", "B", "C", "D"}
	for i, name := range names[:r.IntN(4)+1] {
		v6 := r.IntN(4) == 0
		iface := "eth0"
		if !v6 && r.IntN(3) == 0 {
			iface = "eth1"
		}
		fmt.Fprintf(&b, "[[vrrp_instance]]\nname = %q\ninterface = %q\nvirtual_router_id = %d\n", name, iface, 10+i-r.IntN(2)*r.IntN(2))
		b.WriteString(maybe(0.3, fmt.Sprintf("state = %q\n", pick("MASTER", "BACKUP", "BACKUP"))))
		b.WriteString(maybe(0.9, fmt.Sprintf("priority = %s\n", pick("100", "101", "101", "101", "101", "101", "255"))))
		b.WriteString(maybe(0.2, fmt.Sprintf("version = %s\n", pick("2", "3", "3"))))
		b.WriteString(maybe(0.3, fmt.Sprintf("advert_int = %s\n", pick("1", "1", "3", "0.5", "0.01"))))
		b.WriteString(maybe(0.05, "nopreempt = true\n"))
		b.WriteString(maybe(0.05, "preempt_delay = 30\n"))
		b.WriteString(maybe(0.1, fmt.Sprintf("authentication = { auth_type = \"PASS\", auth_pass = %q }\n", pick("1111", "passw123", "passw123", "toolongpass"))))
		vip := fmt.Sprintf(`"10.0.0.%d"`, 100+i)
		switch {
		case v6:
			vip = fmt.Sprintf(`"fe80::%d", "2001:db8::%d"`, 100+i, 100+i)
		case iface == "eth1":
			vip = fmt.Sprintf(`"192.168.1.%d"`, 100+i)
		}
		vip = pick(vip, vip, vip, vip, vip, vip, vip, vip, vip, `"10.0.0.2"`, `"10.0.0.100"`, vip+`, "2001:db8::5"`)
		b.WriteString(fmt.Sprintf("virtual_ipaddress = [%s]\n", vip))
		b.WriteString(maybe(0.1, fmt.Sprintf("virtual_ipaddress_excluded = [\"2001:db8::%d\"]\n", 200+i)))
		b.WriteString(maybe(0.1, fmt.Sprintf("unicast_peer = [%s]\n", pick(`"10.0.0.3"`, `"192.168.1.3"`, `"2001:db8::3"`))))
		b.WriteString(maybe(0.03, fmt.Sprintf("mcast_src_ip = %q\n", pick("10.0.0.2", "fe80::2", "192.168.1.2"))))
		b.WriteString(maybe(0.2, fmt.Sprintf("track_script = [%s]\n", pick(`"chk"`, `{ name = "chk", weight = 0 }`, `{ name = "chk", weight = 5 }`))))
		b.WriteString(maybe(0.1, fmt.Sprintf("track_interface = [%s]\n", pick(`"eth1"`, `{ name = "eth1", weight = -10 }`))))
		b.WriteString(maybe(0.05, "use_vmac = true\n"))
	}
	if r.IntN(2) == 0 {
		fmt.Fprintf(&b, "[[vrrp_sync_group]]\nname = \"G\"\ngroup = [%s]\n%s", pick(`"A", "B"`, `"A", "B"`, `"A", "B", "C"`, `"A"`),
			maybe(0.3, "sync_group_tracking_weight = true\n"))
	}
	return b.String()
}

// vrrpInvariants says what is wrong with an accepted configuration's VRRP part, or "".
func vrrpInvariants(c *Config) string {
	type ident struct {
		iface string
		vrid  uint8
		v4    bool
	}
	ids := map[ident]bool{}
	vipOwner := map[netip.Addr]string{}
	groups := map[string]*VRRPSyncGroup{}
	for i := range c.VRRPSyncGroups {
		g := &c.VRRPSyncGroups[i]
		if len(g.Instances) < 2 {
			return "a sync group of fewer than two instances"
		}
		for _, n := range g.Instances {
			if groups[n] != nil {
				return n + " is in two groups"
			}
			groups[n] = g
		}
	}
	for _, v := range c.VRRPInstances {
		ifc := c.iface(v.Interface)
		switch {
		case ifc == nil:
			return v.Name + ": unknown interface"
		case len(v.VIPs) == 0:
			return v.Name + ": no VIP"
		case v.VRID == 0 || v.Priority == 0:
			return v.Name + ": VRID or priority 0"
		case v.State != "MASTER" && v.State != "BACKUP":
			return v.Name + ": state " + v.State
		case !ifc.owns(v.SrcIP):
			return v.Name + ": the source is not the interface's"
		case v.SrcIP.Is4() != v.VIPs[0].Prefix.Addr().Is4():
			return v.Name + ": the source is of another family"
		case v.VIPs[0].Prefix.Addr().Is6() && v.Version != 3:
			return v.Name + ": IPv6 in version 2"
		case v.Version == 3 && v.AuthPass != "", len(v.AuthPass) > 8:
			return v.Name + ": bad authentication"
		case v.Version == 2 && (v.Interval%time.Second != 0 || v.Interval < time.Second || v.Interval > 255*time.Second):
			return v.Name + ": version 2 interval " + v.Interval.String()
		case v.Version == 3 && (v.Interval%(10*time.Millisecond) != 0 || v.Interval < 10*time.Millisecond || v.Interval > 40950*time.Millisecond):
			return v.Name + ": version 3 interval " + v.Interval.String()
		case len(v.UnicastPeers) > 0 == v.Group.IsValid():
			return v.Name + ": unicast peers and a multicast group"
		case !v.Preempt && (v.Priority == 255 || v.State == "MASTER"):
			return v.Name + ": nopreempt where keepalived ignores it"
		}
		if (groups[v.Name] != nil) != (v.SyncGroup != "") {
			return v.Name + ": SyncGroup does not match the groups"
		}
		id := ident{v.Interface, v.VRID, v.VIPs[0].Prefix.Addr().Is4()}
		if ids[id] {
			return v.Name + ": VRID used twice"
		}
		ids[id] = true
		for _, vip := range append(v.VIPs, v.VIPsExcluded...) {
			a := vip.Prefix.Addr()
			if o, dup := vipOwner[a]; dup {
				return v.Name + ": VIP " + a.String() + " also in " + o
			}
			vipOwner[a] = v.Name
			if _, own := c.ownerOf(a); own != (v.Priority == 255) {
				return v.Name + ": VIP " + a.String() + " owned by an interface, priority " + fmt.Sprint(v.Priority)
			}
		}
		for _, p := range v.UnicastPeers {
			if p.Is4() != v.SrcIP.Is4() || ifc.owns(p) {
				return v.Name + ": bad peer " + p.String()
			}
		}
		weighted := false
		for _, l := range [][]TrackRef{v.TrackInterfaces, v.TrackScripts, v.TrackFiles} {
			for _, r := range l {
				weighted = weighted || r.Weight != 0
			}
		}
		if weighted && (v.Priority == 255 || groups[v.Name] != nil && !groups[v.Name].TrackingWeight) {
			return v.Name + ": weights where keepalived ignores them"
		}
	}
	return ""
}
