package conf

import (
	"strings"
	"testing"

	"github.com/uvs-lb/uvs/lb"
)

const defenseBase = `
[[interface]]
name = "eth0"
kind = "memory"
addresses = ["10.0.0.254/24"]

[[virtual_server]]
address = "10.0.0.1:80"
  [[virtual_server.real_server]]
  address = "10.0.0.20"
`

func TestIPVSDefenseKeys(t *testing.T) {
	c, err := Parse("d.toml", []byte(defenseBase+`
[ipvs]
size = 100000
amemthresh = 20000
drop_entry = 1
drop_packet = 2
am_droprate = 4
secure_tcp = 3
`))
	if err != nil {
		t.Fatal(err)
	}
	want := lb.Defense{Size: 100000, Threshold: 20000, DropEntry: lb.DefenseAuto, DropPacket: lb.DefenseAutoOn, DropRate: 4, SecureTCP: lb.DefenseAlways}
	if got := c.Engine().Defense; got != want {
		t.Errorf("Defense = %+v, want %+v", got, want)
	}
	// Export keeps them.
	back, err := Parse("d.toml", Export(c))
	if err != nil {
		t.Fatalf("%v\n%s", err, Export(c))
	}
	if back.Engine().Defense != want {
		t.Errorf("exported and read again: %+v", back.Engine().Defense)
	}
	// The defaults: off, and the table's default size.
	c, err = Parse("d.toml", []byte(defenseBase))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Engine().Defense; got != (lb.Defense{Size: c.Capacity()}) {
		t.Errorf("default Defense = %+v", got)
	}
	if strings.Contains(string(Export(c)), "drop_entry") {
		t.Errorf("export writes default defenses:\n%s", Export(c))
	}
}

func TestIPVSDefenseErrors(t *testing.T) {
	for _, tc := range []struct{ ipvs, want string }{
		{"drop_entry = 4", "d.toml:13:1: ipvs.drop_entry: must be between 0 and 3, not 4"},
		{"secure_tcp = -1", "ipvs.secure_tcp: must be between 0 and 3, not -1"},
		{"drop_packet = true", "ipvs.drop_packet:"},
		{"am_droprate = 0", "ipvs.am_droprate: must be between 1"},
		{"size = 1000\namemthresh = 1001", "d.toml:14:1: ipvs.amemthresh: 1001 free entries is more than the table's size 1000"},
		{"secure_tcps = 1", "ipvs.secure_tcps: unknown key"},
	} {
		_, err := Parse("d.toml", []byte(defenseBase+"\n[ipvs]\n"+tc.ipvs+"\n"))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.ipvs, err, tc.want)
		}
	}
}
