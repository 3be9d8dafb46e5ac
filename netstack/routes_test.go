package netstack

import (
	"net/netip"
	"strings"
	"testing"
)

func TestRouteLookupTakesTheLongestPrefix(t *testing.T) {
	cfg := HostConfig{
		NICs: []NICConfig{
			{Port: &sinkPort{name: "a", mac: macLB0}, Addrs: []netip.Prefix{lbInside, lbInside6}},
			{Port: &sinkPort{name: "b", mac: macLB1}, Addrs: []netip.Prefix{lbOutside}},
		},
		Routes: []Route{
			{Dst: netip.MustParsePrefix("0.0.0.0/0"), Gateway: netip.MustParseAddr("10.0.0.9")},
			{Dst: netip.MustParsePrefix("172.16.0.0/12"), Gateway: netip.MustParseAddr("192.168.1.254")},
			{Dst: netip.MustParsePrefix("2001:db8:5::/48"), Gateway: netip.MustParseAddr("2001:db8::9")},
		},
	}
	rt, err := cfg.validate()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		dst, hop string
		nic      int
	}{
		{"10.0.0.77", "10.0.0.77", 0},       // on-link
		{"192.168.1.10", "192.168.1.10", 1}, // on-link, other NIC
		{"172.20.1.1", "192.168.1.254", 1},  // static route
		{"8.8.8.8", "10.0.0.9", 0},          // default route
		{"2001:db8::2", "2001:db8::2", 0},   // on-link IPv6
		{"2001:db8:5::1", "2001:db8::9", 0}, // IPv6 route
	} {
		nic, hop, ok := rt.lookup(netip.MustParseAddr(c.dst))
		if !ok || nic != c.nic || hop != netip.MustParseAddr(c.hop) {
			t.Errorf("lookup(%s) = NIC %d via %s (%v), want NIC %d via %s", c.dst, nic, hop, ok, c.nic, c.hop)
		}
	}
	if _, _, ok := rt.lookup(netip.MustParseAddr("2001:db9::1")); ok {
		t.Error("an IPv6 destination without a default route was routed")
	}
	if allocs := testing.AllocsPerRun(100, func() { rt.lookup(netip.MustParseAddr("172.20.1.1")) }); allocs != 0 {
		t.Errorf("lookup allocates %v times", allocs)
	}
}

func TestHostConfigErrors(t *testing.T) {
	p := &sinkPort{name: "a", mac: macLB0}
	for _, c := range []struct {
		name string
		cfg  HostConfig
		want string
	}{
		{"no NIC", HostConfig{}, "at least one NIC"},
		{"no port", HostConfig{NICs: []NICConfig{{}}}, "no port"},
		{"mapped address", HostConfig{NICs: []NICConfig{{Port: p, Addrs: []netip.Prefix{netip.MustParsePrefix("::ffff:10.0.0.1/120")}}}}, "not a plain"},
		{"off-link gateway", HostConfig{NICs: []NICConfig{{Port: p, Addrs: []netip.Prefix{lbInside}}},
			Routes: []Route{{Dst: netip.MustParsePrefix("0.0.0.0/0"), Gateway: netip.MustParseAddr("10.9.9.9")}}}, "on no NIC's prefix"},
		{"mixed families", HostConfig{NICs: []NICConfig{{Port: p, Addrs: []netip.Prefix{lbInside}}},
			Routes: []Route{{Dst: netip.MustParsePrefix("::/0"), Gateway: netip.MustParseAddr("10.0.0.9")}}}, "one family"},
		{"two VIP homes", HostConfig{NICs: []NICConfig{{Port: p, VIPHome: true}, {Port: p, VIPHome: true}}}, "VIP home"},
	} {
		if _, err := NewHost(c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one saying %q", c.name, err, c.want)
		}
	}
}

func TestVIPGoesOnItsPrefixOrTheHome(t *testing.T) {
	h := mustHost(t, HostConfig{NICs: []NICConfig{
		{Port: &sinkPort{name: "a", mac: macLB0}, Addrs: []netip.Prefix{lbInside}},
		{Port: &sinkPort{name: "b", mac: macLB1}, Addrs: []netip.Prefix{lbOutside}, VIPHome: true},
	}})
	for vip, want := range map[string]int{"10.0.0.1": 0, "192.168.1.5": 1, "198.51.100.1": 1} {
		if nic, err := h.vipNIC(netip.MustParseAddr(vip)); err != nil || nic != want {
			t.Errorf("VIP %s on NIC %d (%v), want %d", vip, nic, err, want)
		}
	}
	noHome := mustHost(t, HostConfig{NICs: []NICConfig{{Port: &sinkPort{name: "a", mac: macLB0}, Addrs: []netip.Prefix{lbInside}}}})
	if err := noHome.AddVIP(netip.MustParseAddr("198.51.100.1")); err == nil {
		t.Error("a VIP on no prefix was accepted without a VIP home")
	}
}

func TestOnLinkPrefixRoutesDirectly(t *testing.T) {
	c := HostConfig{NICs: []NICConfig{{Port: &sinkPort{name: "a", mac: macLB0}, Addrs: []netip.Prefix{netip.MustParsePrefix("10.0.0.1/24")},
		OnLink: []netip.Prefix{netip.MustParsePrefix("172.16.0.0/16")}}}}
	rt, err := c.validate()
	if err != nil {
		t.Fatal(err)
	}
	dst := netip.MustParseAddr("172.16.3.4")
	if nic, hop, ok := rt.lookup(dst); !ok || nic != 0 || hop != dst {
		t.Errorf("lookup(%v) = %d %v %v, want NIC 0, on-link", dst, nic, hop, ok)
	}
}
