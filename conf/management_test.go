package conf

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

func TestManagement(t *testing.T) {
	base := "[[interface]]\nname = \"eth0\"\naddresses = [\"10.0.0.2/24\"]\n"
	c, err := Parse("t.toml", []byte(base+`[management]
device = "eth2"
addresses = ["192.168.122.10/24", "fd00::10/64"]
gateway = "192.168.122.1"
[[management.route]]
prefix = "172.16.0.0/12"
via = "192.168.122.254"
`))
	if err != nil {
		t.Fatal(err)
	}
	want := Management{
		Device:    "eth2",
		Addresses: []netip.Prefix{netip.MustParsePrefix("192.168.122.10/24"), netip.MustParsePrefix("fd00::10/64")},
		Gateway:   netip.MustParseAddr("192.168.122.1"),
		Routes:    []Route{{Prefix: netip.MustParsePrefix("172.16.0.0/12"), Via: netip.MustParseAddr("192.168.122.254")}},
	}
	if !reflect.DeepEqual(c.Management, want) {
		t.Errorf("management = %+v, want %+v", c.Management, want)
	}
	for in, msg := range map[string]string{
		"[management]\naddresses = [\"192.168.1.2/24\"]\n":                                                      "t.toml:4:1: management.device: missing",
		"[management]\ndevice = \"eth0\"\n":                                                                     "management.device: device eth0 is interface eth0's port (line 1)",
		"[management]\ndevice = \"eth1\"\naddresses = [\"10.0.0.2/24\"]\n":                                      "management.addresses[0]: 10.0.0.2 is already an address of interface eth0",
		"[management]\ndevice = \"eth1\"\naddresses = [\"10.1.0.2/24\"]\ngateway = \"10.2.0.1\"\n":              "management.gateway: 10.2.0.1 is on none of the interface's networks (10.1.0.2/24)",
		"[management]\ndevice = \"eth1\"\n[[management.route]]\nprefix = \"10.9.0.0/16\"\nvia = \"10.1.0.1\"\n": "management.route[0].via: 10.1.0.1 is on none of the management networks",
		"[management]\ndevice = \"eth1\"\nmtu = 9000\n":                                                         "management.mtu",
	} {
		_, err := Parse("t.toml", []byte(base+in))
		if err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("%q: got %v, want %q", in, err, msg)
		}
	}
}
