package conf

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/uvs-lb/uvs/lb"
	"github.com/uvs-lb/uvs/lb/sched"
	"github.com/uvs-lb/uvs/packet"
)

// editBase is the configuration the edit tests start from: two services with checked
// servers, a fwmark service and its rule, a TUN-capable route.
const editBase = `
[[interface]]
name = "eth0"
addresses = ["10.0.0.2/24", "2001:db8::2/64"]
gateway = "10.0.0.254"

[[interface]]
name = "eth1"
addresses = ["192.168.1.2/24"]

[[virtual_server]]
address = "10.0.0.1:80"
lb_algo = "rr"
quorum = 1

[[virtual_server.real_server]]
address = "192.168.1.20"
[[virtual_server.real_server.tcp_check]]
connect_timeout = 2

[[virtual_server.real_server]]
address = "192.168.1.21:8080"
weight = 5
[[virtual_server.real_server.http_get]]
[[virtual_server.real_server.http_get.url]]
path = "/health"

[virtual_server.sorry_server]
address = "192.168.1.99"

[[virtual_server]]
address = "10.0.0.1:53"
protocol = "udp"

[[virtual_server.real_server]]
address = "192.168.1.30"

[[virtual_server]]
fwmark = 7

[[virtual_server.real_server]]
address = "192.168.1.40"

[[mark]]
mark = 7
destination = "10.0.0.7"
`

var (
	web   = lb.ServiceConfig{Proto: packet.ProtoTCP, VIP: netip.MustParseAddr("10.0.0.1"), Port: 80}
	dns   = lb.ServiceConfig{Proto: packet.ProtoUDP, VIP: netip.MustParseAddr("10.0.0.1"), Port: 53}
	fwm7  = lb.ServiceConfig{Mark: 7} // family 0: IPv4, as ipvsadm -f 7
	rs20  = netip.MustParseAddr("192.168.1.20")
	rs21  = netip.MustParseAddr("192.168.1.21")
	rs22  = netip.MustParseAddr("192.168.1.22")
	rsOut = netip.MustParseAddr("172.16.0.5") // reached through the gateway
)

func editConfig(t *testing.T) *Config {
	t.Helper()
	return mustParse(t, editBase)
}

// recheck runs Recheck and fails the test on an error.
func recheck(t *testing.T, c *Config) *Config {
	t.Helper()
	r, err := Recheck("edit.toml", c)
	if err != nil {
		t.Fatalf("Recheck:\n%v\n%s", err, numbered(Export(c)))
	}
	return r
}

// checkParallel fails when a service's ServerHealth is not one entry per server.
func checkParallel(t *testing.T, c *Config) {
	t.Helper()
	for i := range c.Services {
		if s := &c.Services[i]; len(s.ServerHealth) != len(s.Servers) {
			t.Fatalf("%s: %d servers, %d ServerHealth", serviceName(&s.ServiceConfig), len(s.Servers), len(s.ServerHealth))
		}
	}
}

func wantErr(t *testing.T, err, target error, text string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("error %v, want %v", err, target)
	}
	if err.Error() != text {
		t.Errorf("error %q, want %q", err, text)
	}
}

// TestEditErrorsUnchanged: an edit that fails leaves the configuration as it was, with
// ipvsadm's message.
func TestEditErrorsUnchanged(t *testing.T) {
	c := editConfig(t)
	before := c.Clone()
	none := lb.ServiceConfig{Proto: packet.ProtoTCP, VIP: netip.MustParseAddr("10.0.0.9"), Port: 80}
	for _, tc := range []struct {
		err    error
		target error
		text   string
	}{
		{c.AddService(web), ErrServiceExists, "TCP 10.0.0.1:80: Service already exists"},
		{c.AddService(lb.ServiceConfig{Mark: 7, Family: packet.FamilyIPv4}), ErrServiceExists, "FWM 7 (ipv4): Service already exists"},
		{c.EditService(none), ErrNoService, "TCP 10.0.0.9:80: No such service"},
		{c.EditService(lb.ServiceConfig{Mark: 7, Family: packet.FamilyIPv6}), ErrNoService, "FWM 7 (ipv6): No such service"},
		{c.DeleteService(none), ErrNoService, "TCP 10.0.0.9:80: No such service"},
		{c.DeleteService(lb.ServiceConfig{Proto: packet.ProtoUDP, VIP: web.VIP, Port: 80}), ErrNoService, "UDP 10.0.0.1:80: No such service"},
		{c.AddServer(none, lb.ServerConfig{Addr: rs22}), ErrServiceNotDefined, "TCP 10.0.0.9:80: Service not defined"},
		{c.AddServer(web, lb.ServerConfig{Addr: rs20, Weight: 1}), ErrDestExists, "TCP 10.0.0.1:80: 192.168.1.20:80: Destination already exists"},
		{c.AddServer(web, lb.ServerConfig{Addr: rs21, Port: 8080}), ErrDestExists, "TCP 10.0.0.1:80: 192.168.1.21:8080: Destination already exists"},
		{c.AddServer(web, lb.ServerConfig{Addr: netip.MustParseAddr("192.168.1.99")}), ErrDestExists, "TCP 10.0.0.1:80: 192.168.1.99:80: Destination already exists"},
		{c.EditServer(none, lb.ServerConfig{Addr: rs20}), ErrServiceNotDefined, "TCP 10.0.0.9:80: Service not defined"},
		{c.EditServer(web, lb.ServerConfig{Addr: rs21}), ErrNoDest, "TCP 10.0.0.1:80: 192.168.1.21:80: No such destination"},
		{c.EditServer(web, lb.ServerConfig{Addr: netip.MustParseAddr("192.168.1.99")}), ErrNoDest, "TCP 10.0.0.1:80: 192.168.1.99:80: No such destination"},
		{c.DeleteServer(none, rs20, 80), ErrServiceNotDefined, "TCP 10.0.0.9:80: Service not defined"},
		{c.DeleteServer(web, rs22, 0), ErrNoDest, "TCP 10.0.0.1:80: 192.168.1.22:80: No such destination"},
		{c.DeleteServer(fwm7, netip.MustParseAddr("192.168.1.40"), 80), ErrNoDest, "FWM 7 (ipv4): 192.168.1.40:80: No such destination"},
	} {
		wantErr(t, tc.err, tc.target, tc.text)
	}
	equalJSON(t, c, before)
	if !reflect.DeepEqual(c, before) {
		t.Error("a failed edit changed the configuration")
	}
}

func TestAddService(t *testing.T) {
	c := editConfig(t)
	s := lb.ServiceConfig{Proto: packet.ProtoTCP, VIP: netip.MustParseAddr("10.0.0.3"), Port: 443,
		Servers: []lb.ServerConfig{{Addr: rs20, Weight: 2}, {Addr: rsOut, Port: 8443, Weight: 1}}}
	if err := c.AddService(s); err != nil {
		t.Fatal(err)
	}
	s.Servers[0].Weight = 99 // the caller's slice is not the configuration's
	checkParallel(t, c)
	got := c.Services[len(c.Services)-1]
	if got.Scheduler != "wlc" || got.Method != lb.MethodNAT || got.Health.Quorum != 1 || got.Health.DelayLoop != time.Minute {
		t.Errorf("defaults: %+v %+v", got.ServiceConfig, got.Health)
	}
	want := []lb.ServerConfig{{Addr: rs20, Port: 443, Weight: 2}, {Addr: rsOut, Port: 8443, Weight: 1}}
	if !reflect.DeepEqual(got.Servers, want) || len(got.ServerHealth[0].Checks)+len(got.ServerHealth[1].Checks) != 0 {
		t.Errorf("servers %+v, health %+v", got.Servers, got.ServerHealth)
	}

	// A fwmark service of the other family is another service; without a family it is IPv4.
	if err := c.AddService(lb.ServiceConfig{Mark: 7, Family: packet.FamilyIPv6}); err != nil {
		t.Fatal(err)
	}
	if err := c.AddService(lb.ServiceConfig{Mark: 8, Servers: []lb.ServerConfig{{Addr: rs22, Weight: 1}}}); err != nil {
		t.Fatal(err)
	}
	if f := c.Services[len(c.Services)-1].Family; f != packet.FamilyIPv4 {
		t.Errorf("fwmark family %v, want IPv4", f)
	}
	// IPv6 FWM 7 and FWM 8 need [[mark]] rules: the file's rules, which ipvsadm does not set.
	c.Marks = append(c.Marks, Mark{MarkRule: lb.MarkRule{Mark: 7, Dst: netip.MustParsePrefix("2001:db8::7/128")}},
		Mark{MarkRule: lb.MarkRule{Mark: 8}})
	r := recheck(t, c)
	if n := len(r.Services); n != 6 || r.Services[3].Servers[1].Addr != rsOut {
		t.Errorf("rechecked: %d services", n)
	}
}

func TestEditService(t *testing.T) {
	c := editConfig(t)
	before := c.Clone()
	e := web
	e.Scheduler, e.Persistence, e.PersistMask = "sh", 300*time.Second, 24
	e.SchedFlags = sched.FlagSHPort
	e.Method = lb.MethodDR                                      // not ipvsadm -E's
	e.Servers = []lb.ServerConfig{{Addr: rs22}}                 // nor this
	e.LocalAddrs = []netip.Addr{netip.MustParseAddr("1.2.3.4")} // nor this
	if err := c.EditService(e); err != nil {
		t.Fatal(err)
	}
	got := c.Services[0]
	if got.Scheduler != "sh" || got.SchedFlags != sched.FlagSHPort || got.Persistence != 300*time.Second || got.PersistMask != 24 {
		t.Errorf("edited: %+v", got.ServiceConfig)
	}
	// Everything else is as it was.
	got.Scheduler, got.SchedFlags, got.Persistence, got.PersistMask = "rr", 0, 0, 0
	if !reflect.DeepEqual(got, before.Services[0]) || !reflect.DeepEqual(c.Services[1:], before.Services[1:]) {
		t.Error("EditService changed more than ipvsadm -E does")
	}
	r := recheck(t, c)
	if r.Services[0].Scheduler != "sh" || len(r.Services[0].ServerHealth[1].Checks) != 1 {
		t.Errorf("rechecked: %+v", r.Services[0])
	}

	// ipvsadm -E without -s: wlc, and persistence off.
	if err := c.EditService(web); err != nil {
		t.Fatal(err)
	}
	if s := c.Services[0]; s.Scheduler != "wlc" || s.Persistence != 0 || s.PersistMask != 0 {
		t.Errorf("reset: %+v", s.ServiceConfig)
	}
	// A UDP service may have one-packet scheduling; a fwmark one is found by mark.
	if err := c.EditService(lb.ServiceConfig{Proto: packet.ProtoUDP, VIP: dns.VIP, Port: 53, OnePacket: true}); err != nil {
		t.Fatal(err)
	}
	if err := c.EditService(lb.ServiceConfig{Mark: 7, Family: packet.FamilyIPv4, Scheduler: "lc"}); err != nil {
		t.Fatal(err)
	}
	r = recheck(t, c)
	if !r.Services[1].OnePacket || r.Services[2].Scheduler != "lc" {
		t.Errorf("rechecked: %+v", r.Services)
	}
}

func TestDeleteService(t *testing.T) {
	c := editConfig(t)
	if err := c.DeleteService(dns); err != nil {
		t.Fatal(err)
	}
	if len(c.Services) != 2 || c.Services[0].Port != 80 || c.Services[1].Mark != 7 {
		t.Fatalf("services: %+v", c.Services)
	}
	checkParallel(t, c)
	recheck(t, c)

	// The fwmark service's rule stays, as iptables rules stay: Recheck says it is orphaned.
	if err := c.DeleteService(lb.ServiceConfig{Mark: 7, Family: packet.FamilyIPv4}); err != nil {
		t.Fatal(err)
	}
	_, err := Recheck("edit.toml", c)
	var errs Errors
	if !errors.As(err, &errs) || len(errs) != 1 || errs[0].Key != "mark[0].mark" || !strings.Contains(errs[0].Msg, "no virtual_server has fwmark 7") {
		t.Errorf("Recheck: %v", err)
	}
}

func TestAddServer(t *testing.T) {
	c := editConfig(t)
	if err := c.AddServer(web, lb.ServerConfig{Addr: rs22, Weight: 3}); err != nil {
		t.Fatal(err)
	}
	// Port 0 on a port-80 service is port 80; 8080 is another destination than 80.
	if err := c.AddServer(web, lb.ServerConfig{Addr: rs20, Port: 8080, Weight: 1}); err != nil {
		t.Fatal(err)
	}
	// A TUN server through the gateway: Recheck gives it its tunnel's source.
	if err := c.AddServer(web, lb.ServerConfig{Addr: rsOut, Weight: 1, Method: lb.MethodTUN, Tunnel: lb.Tunnel{Type: lb.TunnelGUE, Port: 6080}}); err != nil {
		t.Fatal(err)
	}
	// On a fwmark service, port 0 is the client's port, another destination than port 80.
	fwmServer := netip.MustParseAddr("192.168.1.40")
	if err := c.AddServer(fwm7, lb.ServerConfig{Addr: fwmServer, Port: 80, Weight: 1}); err != nil {
		t.Fatal(err)
	}
	checkParallel(t, c)
	s := c.Services[0]
	if len(s.Servers) != 5 || s.Servers[2] != (lb.ServerConfig{Addr: rs22, Port: 80, Weight: 3}) || len(s.ServerHealth[2].Checks) != 0 {
		t.Fatalf("servers %+v", s.Servers)
	}
	if len(s.ServerHealth[0].Checks) != 1 || s.ServerHealth[0].Checks[0].Kind != CheckTCP || s.ServerHealth[1].Checks[0].Kind != CheckHTTP {
		t.Error("the servers' checks moved")
	}
	r := recheck(t, c)
	if src := r.Services[0].Servers[4].Tunnel.Source; src != netip.MustParseAddr("10.0.0.2") {
		t.Errorf("tunnel source %v", src)
	}
	if r.Services[2].Servers[1].Port != 80 {
		t.Errorf("fwmark servers %+v", r.Services[2].Servers)
	}
	if err := c.AddServer(fwm7, lb.ServerConfig{Addr: fwmServer}); !errors.Is(err, ErrDestExists) {
		t.Errorf("fwmark duplicate: %v", err)
	}
}

func TestEditServer(t *testing.T) {
	c := editConfig(t)
	before := c.Clone()
	if err := c.EditServer(web, lb.ServerConfig{Addr: rs21, Port: 8080, Weight: 0, Upper: 100, Lower: 10}); err != nil {
		t.Fatal(err)
	}
	got := c.Services[0].Servers[1]
	if got != (lb.ServerConfig{Addr: rs21, Port: 8080, Weight: 0, Upper: 100, Lower: 10}) {
		t.Errorf("edited: %+v", got)
	}
	if !reflect.DeepEqual(c.Services[0].ServerHealth, before.Services[0].ServerHealth) {
		t.Error("EditServer changed the checks")
	}
	r := recheck(t, c)
	if r.Services[0].Servers[1] != got {
		t.Errorf("rechecked: %+v", r.Services[0].Servers[1])
	}

	// Port 0 is the service's port: the server at 192.168.1.20:80.
	if err := c.EditServer(web, lb.ServerConfig{Addr: rs20, Weight: 7}); err != nil {
		t.Fatal(err)
	}
	if w := c.Services[0].Servers[0].Weight; w != 7 {
		t.Errorf("weight %d", w)
	}
	// A tunnel's source, derived by Parse, stays unless given.
	c.Services[0].Servers[0].Tunnel.Source = netip.MustParseAddr("192.168.1.2")
	if err := c.EditServer(web, lb.ServerConfig{Addr: rs20, Weight: 1, Method: lb.MethodTUN}); err != nil {
		t.Fatal(err)
	}
	if src := c.Services[0].Servers[0].Tunnel.Source; src != netip.MustParseAddr("192.168.1.2") {
		t.Errorf("tunnel source %v", src)
	}
	checkParallel(t, c)

	// An edit the file refuses: Recheck names the key, at the exported text's position.
	if err := c.EditServer(web, lb.ServerConfig{Addr: rs21, Port: 8080, Weight: 1, Method: lb.MethodDR}); err != nil {
		t.Fatal(err)
	}
	_, err := Recheck("edit.toml", c)
	var errs Errors
	if !errors.As(err, &errs) || len(errs) != 1 || errs[0].Key != "virtual_server[0].real_server[1].address" || errs[0].Line == 0 {
		t.Fatalf("Recheck: %v", err)
	}
	line := strings.Split(string(Export(c)), "\n")[errs[0].Line-1]
	if line != `address = "192.168.1.21:8080"` {
		t.Errorf("the error is at %q", line)
	}
}

func TestDeleteServer(t *testing.T) {
	c := editConfig(t)
	if err := c.DeleteServer(web, rs20, 0); err != nil {
		t.Fatal(err)
	}
	checkParallel(t, c)
	s := c.Services[0]
	// The checks that stay are the remaining server's: an http_get, not the tcp_check.
	if len(s.Servers) != 1 || s.Servers[0].Addr != rs21 || s.ServerHealth[0].Checks[0].Kind != CheckHTTP {
		t.Fatalf("servers %+v, health %+v", s.Servers, s.ServerHealth)
	}
	if err := c.DeleteServer(web, rs21, 8080); err != nil {
		t.Fatal(err)
	}
	checkParallel(t, c)
	r := recheck(t, c)
	if len(r.Services[0].Servers) != 0 || r.Services[0].Sorry == nil {
		t.Errorf("rechecked: %+v", r.Services[0])
	}
}

func TestClearServices(t *testing.T) {
	c := editConfig(t)
	c.ClearServices()
	if len(c.Services) != 0 || len(c.Marks) != 1 {
		t.Fatalf("%d services, %d marks", len(c.Services), len(c.Marks))
	}
	if _, err := Recheck("edit.toml", c); err == nil || !strings.Contains(err.Error(), "mark[0].mark: no virtual_server has fwmark 7") {
		t.Errorf("Recheck: %v", err)
	}
	c.Marks = nil
	r := recheck(t, c)
	if len(r.Services) != 0 || len(r.Interfaces) != 2 {
		t.Errorf("rechecked: %+v", r)
	}
}

func TestSetTimeouts(t *testing.T) {
	c := editConfig(t)
	c.SetTimeouts(600*time.Second, 0, 60*time.Second)
	c.SetTimeouts(0, 30*time.Second, 0)
	if c.IPVS.TCP != 600*time.Second || c.IPVS.TCPFin != 30*time.Second || c.IPVS.UDP != 60*time.Second {
		t.Fatalf("timeouts %+v", c.IPVS)
	}
	r := recheck(t, c)
	if r.IPVS != c.IPVS || r.Timeouts() != c.Timeouts() {
		t.Errorf("rechecked %+v", r.IPVS)
	}
	// The file holds whole seconds.
	c.SetTimeouts(1500*time.Millisecond, 0, 0)
	if _, err := Recheck("edit.toml", c); err == nil || !strings.Contains(err.Error(), "ipvs.timeouts.tcp: must be an integer") {
		t.Errorf("Recheck: %v", err)
	}
}

// TestClone: a clone equals its original and shares no memory with it that an edit could
// change, for every configuration of the corpus.
func TestClone(t *testing.T) {
	if (*Config)(nil).Clone() != nil {
		t.Error("nil.Clone() != nil")
	}
	for _, f := range exportCorpus(t) {
		d := f.c.Clone()
		if !reflect.DeepEqual(d, f.c) {
			t.Errorf("%s: the clone differs: %s", f.name, firstDiff(reflect.ValueOf(f.c), reflect.ValueOf(d), "Config"))
		}
		if p := shared(reflect.ValueOf(f.c).Elem(), reflect.ValueOf(d).Elem(), "Config"); p != "" {
			t.Errorf("%s: the clone shares %s", f.name, p)
		}
	}
}

// shared names the first slice or pointer of a that b shares, unexported fields included.
// The net/netip values are immutable (their pointers are interned): they are left out.
func shared(a, b reflect.Value, path string) string {
	switch a.Kind() {
	case reflect.Pointer:
		if a.IsNil() {
			return ""
		}
		if a.Pointer() == b.Pointer() {
			return path
		}
		return shared(a.Elem(), b.Elem(), path)
	case reflect.Slice:
		if a.Cap() > 0 && a.Pointer() == b.Pointer() {
			return path
		}
		for i := 0; i < a.Len(); i++ {
			if p := shared(a.Index(i), b.Index(i), fmt.Sprintf("%s[%d]", path, i)); p != "" {
				return p
			}
		}
	case reflect.Array:
		for i := 0; i < a.Len(); i++ {
			if p := shared(a.Index(i), b.Index(i), fmt.Sprintf("%s[%d]", path, i)); p != "" {
				return p
			}
		}
	case reflect.Struct:
		if a.Type().PkgPath() == "net/netip" {
			return ""
		}
		for i := 0; i < a.NumField(); i++ {
			if p := shared(a.Field(i), b.Field(i), path+"."+a.Type().Field(i).Name); p != "" {
				return p
			}
		}
	case reflect.Map, reflect.Chan, reflect.Func, reflect.Interface:
		return path + " (a " + a.Kind().String() + ": Clone does not copy those)"
	}
	return ""
}

// TestRandomEdits applies random edits to configurations of the corpus: whatever they do,
// every service keeps one ServerHealth per server, Recheck does not panic, and what it
// accepts round-trips and rechecks to itself.
func TestRandomEdits(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	var bases []*Config
	for _, f := range exportCorpus(t) {
		if len(f.c.Services) > 0 {
			bases = append(bases, f.c)
		}
	}
	bases = append(bases, editConfig(t))
	accepted, refused := 0, 0
	for round := 0; round < 300; round++ {
		c := bases[r.IntN(len(bases))].Clone()
		for n := r.IntN(6) + 1; n > 0; n-- {
			before := c.Clone()
			if err := randomEdit(r, c); err != nil {
				if !reflect.DeepEqual(c, before) {
					t.Fatalf("a failed edit (%v) changed the configuration", err)
				}
			}
			checkParallel(t, c)
		}
		got, err := Recheck("edit.toml", c)
		if err != nil {
			var errs Errors
			if !errors.As(err, &errs) || len(errs) == 0 {
				t.Fatalf("Recheck's error %v is not Errors", err)
			}
			refused++
			continue
		}
		accepted++
		checkParallel(t, got)
		if !roundTrip(t, "recheck", got) {
			t.FailNow()
		}
		if again, err := Recheck("edit.toml", got); err != nil || !reflect.DeepEqual(again, got) {
			t.Fatalf("Recheck is not idempotent: %v", err)
		}
	}
	t.Logf("%d accepted, %d refused", accepted, refused)
	if accepted < 30 || refused < 10 {
		t.Errorf("%d accepted, %d refused: the edits need rebalancing", accepted, refused)
	}
}

// randomEdit makes one edit, on services and servers that mostly exist.
func randomEdit(r *rand.Rand, c *Config) error {
	pick := func(n int) int { return r.IntN(max(n, 1)) }
	key := func() lb.ServiceConfig {
		if len(c.Services) > 0 && r.IntN(5) > 0 {
			s := c.Services[pick(len(c.Services))].ServiceConfig
			return lb.ServiceConfig{Proto: s.Proto, VIP: s.VIP, Port: s.Port, Mark: s.Mark, Family: s.Family}
		}
		return lb.ServiceConfig{Proto: packet.ProtoTCP, VIP: netip.AddrFrom4([4]byte{10, 0, 0, byte(200 + r.IntN(3))}), Port: 80}
	}
	server := func(svc lb.ServiceConfig) lb.ServerConfig {
		rs := lb.ServerConfig{Weight: int32(r.IntN(4))}
		var ifc *Interface
		if len(c.Interfaces) > 0 {
			ifc = &c.Interfaces[pick(len(c.Interfaces))]
		}
		if i := slices.IndexFunc(c.Services, func(s Service) bool { return sameService(&s.ServiceConfig, &svc) }); i >= 0 && len(c.Services[i].Servers) > 0 && r.IntN(3) > 0 {
			old := c.Services[i].Servers[pick(len(c.Services[i].Servers))]
			rs.Addr, rs.Port = old.Addr, old.Port
		} else if ifc != nil && len(ifc.Addresses) > 0 {
			rs.Addr = ifc.Addresses[pick(len(ifc.Addresses))].Addr().Next().Next() // on-link, mostly
		} else {
			rs.Addr = netip.AddrFrom4([4]byte{192, 168, 1, byte(50 + r.IntN(5))})
		}
		switch r.IntN(8) {
		case 0:
			rs.Weight = -1
		case 1:
			rs.Method = lb.MethodDR
		case 2:
			rs.Method, rs.Tunnel = lb.MethodTUN, lb.Tunnel{Type: lb.TunnelGUE, Port: 6080}
		case 3:
			rs.Upper, rs.Lower = 100, 50
		}
		return rs
	}
	switch r.IntN(8) {
	case 0:
		s := key()
		s.Scheduler = []string{"", "rr", "mh", "bogus"}[r.IntN(4)]
		for n := r.IntN(3); n > 0; n-- {
			s.Servers = append(s.Servers, server(s))
		}
		return c.AddService(s)
	case 1:
		s := key()
		s.Scheduler = []string{"", "rr", "sh", "mh"}[r.IntN(4)]
		if r.IntN(3) == 0 {
			s.Persistence, s.PersistMask = time.Duration(r.IntN(3))*time.Minute, r.IntN(3)*8
		}
		s.OnePacket = r.IntN(4) == 0
		return c.EditService(s)
	case 2:
		return c.DeleteService(key())
	case 3, 4:
		s := key()
		return c.AddServer(s, server(s))
	case 5:
		s := key()
		return c.EditServer(s, server(s))
	case 6:
		s := key()
		rs := server(s)
		return c.DeleteServer(s, rs.Addr, rs.Port)
	default:
		if r.IntN(10) == 0 {
			c.ClearServices()
		} else {
			c.SetTimeouts(time.Duration(r.IntN(3))*time.Minute, 0, time.Duration(r.IntN(2))*time.Second)
		}
	}
	return nil
}
