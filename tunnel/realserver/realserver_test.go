package realserver

import (
	"net/netip"
	"strings"
	"testing"
)

func TestNewChecksConfig(t *testing.T) {
	for _, c := range []struct {
		name string
		cfg  Config
		err  string
	}{
		{"no VIP", Config{}, "at least one VIP"},
		{"invalid VIP", Config{VIPs: []netip.Addr{{}}}, "not a usable VIP"},
		{"unspecified VIP", Config{VIPs: []netip.Addr{netip.IPv4Unspecified()}}, "not a usable VIP"},
		{"multicast VIP", Config{VIPs: []netip.Addr{netip.MustParseAddr("ff02::1")}}, "not a usable VIP"},
		{"gue without port", Config{VIPs: []netip.Addr{vip4}, Types: GUE}, "GUE needs its UDP port"},
		{"both without port", Config{VIPs: []netip.Addr{vip4}, Types: IPIP | GUE}, "GUE needs its UDP port"},
		{"unknown type", Config{VIPs: []netip.Addr{vip4}, Types: 4}, "unknown tunnel types"},
		{"long device", Config{VIPs: []netip.Addr{vip4}, Device: "a23456789012345X"}, "not a usable interface name"},
		{"slash in device", Config{VIPs: []netip.Addr{vip4}, Device: "a/b"}, "not a usable interface name"},
		{"small MaxPacket", Config{VIPs: []netip.Addr{vip4}, MaxPacket: 100}, "MaxPacket"},
		{"bad batch", Config{VIPs: []netip.Addr{vip4}, Batch: -1}, "Batch"},
	} {
		_, err := New(c.cfg)
		if err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("%s: %v, want an error with %q", c.name, err, c.err)
		}
	}
	s, err := New(Config{VIPs: []netip.Addr{netip.MustParseAddr("::ffff:10.1.2.3"), vip6}})
	if err != nil {
		t.Fatal(err)
	}
	cfg := s.Config()
	if cfg.Types != IPIP || cfg.Device != DefaultDevice || cfg.MaxPacket != DefaultMaxPacket || cfg.Batch != DefaultBatch {
		t.Errorf("defaults: %+v", cfg)
	}
	if cfg.VIPs[0] != netip.MustParseAddr("10.1.2.3") {
		t.Errorf("a v4-mapped VIP is not unmapped: %v", cfg.VIPs[0])
	}
	if v4, v6 := s.families(); !v4 || !v6 {
		t.Errorf("families: %v %v", v4, v6)
	}
	// Close without Start is fine, twice; Start after Close is refused.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(t.Context()); err == nil {
		t.Fatal("Start after Close succeeded")
	}
}

func TestParseTypes(t *testing.T) {
	for in, want := range map[string]Types{"ipip": IPIP, "gue": GUE, "both": IPIP | GUE, "IPIP,gue": IPIP | GUE} {
		got, err := ParseTypes(in)
		if err != nil || got != want {
			t.Errorf("ParseTypes(%q) = %v, %v; want %v", in, got, err, want)
		}
		if want != IPIP|GUE && got.String() != strings.ToLower(in) {
			t.Errorf("%v.String() = %q", got, got.String())
		}
	}
	for _, in := range []string{"", "gre", "ipip,"} {
		if _, err := ParseTypes(in); err == nil {
			t.Errorf("ParseTypes(%q) succeeded", in)
		}
	}
}

func TestSetupCommands(t *testing.T) {
	got := strings.Join(SetupCommands([]netip.Addr{vip4, vip6}), "\n")
	want := "ip addr add 10.88.100.1/32 dev lo\nip addr add fd00:100::1/128 dev lo\n" +
		"sysctl -w net.ipv4.conf.all.arp_ignore=1\nsysctl -w net.ipv4.conf.all.arp_announce=2"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if got := SetupCommands([]netip.Addr{vip6}); len(got) != 1 {
		t.Errorf("IPv6 only: %q, want no ARP settings", got)
	}
}

// fakeHost is a host with the given sysctls and lo addresses.
func fakeHost(sysctls map[string]string, lo ...netip.Addr) host {
	return host{
		sysctl: func(k string) (string, error) {
			v, ok := sysctls[k]
			if !ok {
				return "", errNotFound
			}
			return v, nil
		},
		ifaces:  func() ([]string, error) { return []string{"all", "default", "lo", "eth0", "eth1", "uvsrs0"}, nil },
		loAddrs: func() ([]netip.Addr, error) { return lo, nil },
	}
}

type notFound struct{}

func (notFound) Error() string { return "no such sysctl" }

var errNotFound = notFound{}

func TestCheckHost(t *testing.T) {
	good := map[string]string{
		"net/ipv4/conf/all/arp_ignore": "1", "net/ipv4/conf/all/arp_announce": "2",
		"net/ipv4/conf/eth0/arp_ignore": "0", "net/ipv4/conf/eth0/arp_announce": "0",
		"net/ipv4/conf/eth1/arp_ignore": "0", "net/ipv4/conf/eth1/arp_announce": "0",
		"net/ipv4/conf/uvsrs0/arp_ignore": "0", "net/ipv4/conf/uvsrs0/arp_announce": "0",
	}
	if w := fakeHost(good, vip4, vip6).check([]netip.Addr{vip4, vip6}, "uvsrs0"); len(w) != 0 {
		t.Errorf("a good host: %q", w)
	}
	// Per interface is enough too (the kernel takes max(all, interface)).
	perIf := map[string]string{
		"net/ipv4/conf/all/arp_ignore": "0", "net/ipv4/conf/all/arp_announce": "0",
		"net/ipv4/conf/eth0/arp_ignore": "1", "net/ipv4/conf/eth0/arp_announce": "2",
		"net/ipv4/conf/eth1/arp_ignore": "2", "net/ipv4/conf/eth1/arp_announce": "2",
		"net/ipv4/conf/uvsrs0/arp_ignore": "0", "net/ipv4/conf/uvsrs0/arp_announce": "0",
	}
	if w := fakeHost(perIf, vip4).check([]netip.Addr{vip4}, "uvsrs0"); len(w) != 0 {
		t.Errorf("per-interface settings: %q", w)
	}
	bad := map[string]string{
		"net/ipv4/conf/all/arp_ignore": "0", "net/ipv4/conf/all/arp_announce": "1",
		"net/ipv4/conf/eth0/arp_ignore": "0", "net/ipv4/conf/eth0/arp_announce": "2",
		"net/ipv4/conf/eth1/arp_ignore": "1", "net/ipv4/conf/eth1/arp_announce": "0",
	}
	w := strings.Join(fakeHost(bad, vip6).check([]netip.Addr{vip4, vip6}, "uvsrs0"), "\n")
	for _, want := range []string{
		"VIP 10.88.100.1 is not on lo", "ip addr add 10.88.100.1/32 dev lo",
		"net.ipv4.conf.all.arp_ignore is 0 (eth0=0)", "sysctl -w net.ipv4.conf.all.arp_ignore=1",
		"net.ipv4.conf.all.arp_announce is 1 (eth1=0)", "sysctl -w net.ipv4.conf.all.arp_announce=2",
	} {
		if !strings.Contains(w, want) {
			t.Errorf("warnings lack %q:\n%s", want, w)
		}
	}
	if strings.Contains(w, "fd00:100::1") {
		t.Errorf("warned about a VIP that is on lo:\n%s", w)
	}
	// IPv6 VIPs alone: no ARP checks.
	if w := fakeHost(bad, vip6).check([]netip.Addr{vip6}, "uvsrs0"); len(w) != 0 {
		t.Errorf("IPv6 only: %q", w)
	}
}
