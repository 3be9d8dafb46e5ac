package conf

import (
	"net/netip"
	"testing"
	"time"

	"github.com/uvs-lb/uvs/lb"
	"github.com/uvs-lb/uvs/lb/conntab"
	"github.com/uvs-lb/uvs/packet"
)

func mustParse(t *testing.T, src string) *Config {
	t.Helper()
	c, err := Parse("test.toml", []byte(src))
	if err != nil {
		t.Fatalf("Parse:\n%v", err)
	}
	return c
}

// TestDefaults checks what a minimal file means: keepalived's and IPVS's defaults.
func TestDefaults(t *testing.T) {
	c := mustParse(t, `
[[interface]]
name = "eth0"
addresses = ["10.0.0.2/24"]

[[virtual_server]]
address = "10.0.0.1:80"

[[virtual_server.real_server]]
address = "10.0.0.20"
`)
	ifc := c.Interfaces[0]
	if ifc.Kind != KindAFPacket || ifc.Device != "eth0" || ifc.MTU != 1500 || !ifc.VnetHdr || ifc.Promiscuous {
		t.Errorf("interface defaults: %+v", ifc)
	}
	s := c.Services[0]
	if s.Proto != packet.ProtoTCP || s.Scheduler != "wlc" || s.Method != lb.MethodNAT ||
		s.Persistence != 0 || s.PersistMask != 0 || s.OnePacket || s.Sorry != nil || s.LocalAddrs != nil {
		t.Errorf("service defaults: %+v", s.ServiceConfig)
	}
	want := lb.ServerConfig{Addr: netip.MustParseAddr("10.0.0.20"), Port: 80, Weight: 1}
	if s.Servers[0] != want {
		t.Errorf("server: %+v, want %+v", s.Servers[0], want)
	}
	if c.IPVS != (IPVS{ConnReuseMode: 1}) {
		t.Errorf("ipvs defaults: %+v", c.IPVS)
	}
	if c.Log != (Log{Level: "info", Format: "console"}) {
		t.Errorf("log defaults: %+v", c.Log)
	}
	if c.Timeouts() != conntab.DefaultTimeouts() || c.Capacity() != conntab.DefaultCapacity {
		t.Errorf("timeouts %+v, capacity %d", c.Timeouts(), c.Capacity())
	}
}

func TestDefaultsDerived(t *testing.T) {
	c := mustParse(t, `
[[interface]]
name = "lab0"
kind = "memory"
addresses = ["10.0.0.2/24", "2001:db8::2/64"]

[[interface]]
name = "tap0"
kind = "tap"
vnet_hdr = false

[[mark]]
mark = 7

[[virtual_server]]
fwmark = 7
persistence_granularity = 64       # implies persistence, 360 s (keepalived)

[virtual_server.sorry_server]
address = "[2001:db8::99]"

# The first non-TUN server gives a fwmark service its family, as in keepalived.
[[virtual_server.real_server]]
address = "10.0.0.30"
lb_kind = "TUN"

[[virtual_server.real_server]]
address = "2001:db8::20"

[[virtual_server]]
address = "10.0.0.1:0"
protocol = "UDP"
ops = true
persistence_granularity = "255.255.255.0"
persistence_timeout = 60

[[virtual_server.real_server]]
address = "10.0.0.20"

[ipvs]
size = 1000
[ipvs.timeouts]
tcpfin = 30
`)
	if mem, tap := c.Interfaces[0], c.Interfaces[1]; mem.Device != "" || mem.VnetHdr || tap.Device != "tap0" || tap.VnetHdr {
		t.Errorf("interfaces: %+v %+v", mem, tap)
	}
	fw := c.Services[0]
	if fw.Family != packet.FamilyIPv6 || fw.Persistence != 360*time.Second || fw.PersistMask != 64 || fw.Proto != 0 {
		t.Errorf("fwmark service: %+v", fw.ServiceConfig)
	}
	if fw.Servers[1].Port != 0 || fw.Sorry == nil || fw.Sorry.Weight != 1 || fw.Sorry.Port != 0 {
		t.Errorf("fwmark servers: %+v sorry %+v", fw.Servers, fw.Sorry)
	}
	udp := c.Services[1]
	if udp.Proto != packet.ProtoUDP || !udp.OnePacket || udp.PersistMask != 24 || udp.Persistence != time.Minute || udp.Servers[0].Port != 0 {
		t.Errorf("udp service: %+v", udp.ServiceConfig)
	}
	want := conntab.DefaultTimeouts()
	want.TCP[conntab.StateFinWait] = 30 * time.Second
	if c.Timeouts() != want || c.Capacity() != 1000 {
		t.Errorf("timeouts %+v, capacity %d", c.Timeouts(), c.Capacity())
	}
	if err := lb.New(lb.Options{}).Apply(c.Engine()); err != nil {
		t.Error(err)
	}
}

// TestEngineFwmark checks the compiled form of the Piranha example against the engine's own
// description of that deployment (docs/engine.md).
func TestEngineFwmark(t *testing.T) {
	c, err := Load("testdata/fwmark-http-https.toml")
	if err != nil {
		t.Fatal(err)
	}
	got := c.Engine()
	want := &lb.Config{
		Marks: []lb.MarkRule{{Proto: packet.ProtoTCP, Dst: netip.MustParsePrefix("10.10.1.30/32"),
			Ports: []lb.PortRange{{Lo: 80, Hi: 80}, {Lo: 443, Hi: 443}}, Mark: 80}},
		Services: []lb.ServiceConfig{{Mark: 80, Family: packet.FamilyIPv4, Scheduler: "wlc",
			Method: lb.MethodNAT, Persistence: 30 * time.Second, Servers: []lb.ServerConfig{
				{Addr: netip.MustParseAddr("10.8.8.33"), Weight: 1},
				{Addr: netip.MustParseAddr("10.8.8.34"), Weight: 1},
			}}},
		ConnReuseMode: 1,
		Defense:       lb.Defense{Size: c.Capacity()},
	}
	if !equalJSON(t, got, want) {
		return
	}
	// The compiled config is a copy: changing it leaves c alone.
	got.Services[0].Servers[0].Weight = 0
	if c.Services[0].Servers[0].Weight != 1 {
		t.Error("Engine shares its servers with the Config")
	}
}
