package control_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/uvs-lb/uvs/appliance"
	"github.com/uvs-lb/uvs/conf"
	"github.com/uvs-lb/uvs/control"
	"github.com/uvs-lb/uvs/netstack/port"
)

const testConfig = `
[[interface]]
name = "eth0"
kind = "memory"
addresses = ["10.0.0.254/24"]

[[interface]]
name = "eth1"
kind = "memory"
addresses = ["192.168.1.254/24", "fd00:1::254/64"]

[[virtual_server]]
address = "10.0.0.1:80"
protocol = "tcp"
lb_algo = "wrr"
lb_kind = "NAT"
persistence_timeout = 300
  [[virtual_server.real_server]]
  address = "192.168.1.20:8080"
  weight = 3
  [[virtual_server.real_server]]
  address = "192.168.1.21:8080"
  weight = 1

[[virtual_server]]
address = "[fd00::1]:53"
protocol = "udp"
lb_algo = "rr"
  [[virtual_server.real_server]]
  address = "[fd00:1::20]:53"
`

// newAppliance starts an appliance of text on in-memory links (nobody at their far ends:
// the API's tests need its state, not traffic).
func newAppliance(t testing.TB, text string) *appliance.Appliance {
	t.Helper()
	cfg, err := conf.Parse("test.toml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	ports := map[string]port.Port{}
	for i, ifc := range cfg.Interfaces {
		p, _ := port.Pipe(port.MemConfig{Name: ifc.Name, MAC: net.HardwareAddr{2, 0, 0, 0, 1, byte(i)}}, port.MemConfig{Name: "far", MAC: net.HardwareAddr{2, 0, 0, 0, 2, byte(i)}})
		ports[ifc.Name] = p
	}
	a, err := appliance.New(appliance.Options{Config: cfg, Log: zerolog.Nop(), Ports: ports})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := a.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		a.Close()
	})
	return a
}

// serve starts the API on a fresh socket and returns a client of it.
func serve(t *testing.T, api *control.API) (*control.Client, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "run", "uvs.sock")
	ln, err := api.ListenUnix(path)
	if err != nil {
		t.Fatal(err)
	}
	api.Start(context.Background(), ln, false)
	t.Cleanup(func() { api.Close() })
	c := control.Dial(path, "")
	t.Cleanup(c.Close)
	return c, path
}

func TestStatusOverTheSocket(t *testing.T) {
	a := newAppliance(t, testConfig)
	api := control.NewAPI(control.APIOptions{Appliance: a, Log: zerolog.Nop()})
	c, path := serve(t, api)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 || fi.Mode()&os.ModeSocket == 0 {
		t.Errorf("socket mode %v, want a socket with 0600", fi.Mode())
	}
	ctx := context.Background()
	s, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Services) != 2 {
		t.Fatalf("%d services, want 2: %+v", len(s.Services), s.Services)
	}
	web := s.Services[0]
	if web.Proto != "TCP" || web.Addr != netip.MustParseAddr("10.0.0.1") || web.Port != 80 || web.Scheduler != "wrr" ||
		web.Persistence != 300 || web.Name != "[10.0.0.1]:tcp:80" || !web.QuorumUp {
		t.Errorf("service = %+v", web.ServiceSpec)
	}
	if len(web.Servers) != 2 {
		t.Fatalf("servers = %+v", web.Servers)
	}
	rs := web.Servers[0]
	if rs.Addr != netip.MustParseAddr("192.168.1.20") || rs.Port != 8080 || rs.Method != "Masq" || rs.Weight != 3 ||
		rs.CurrentWeight != 3 || !rs.InTable || !rs.Alive {
		t.Errorf("server = %+v", rs)
	}
	dns := s.Services[1]
	if dns.Proto != "UDP" || dns.Family != "inet6" || dns.Servers[0].Addr != netip.MustParseAddr("fd00:1::20") {
		t.Errorf("IPv6 service = %+v", dns)
	}
	if s.Timeouts != (control.Timeouts{TCP: 900, TCPFin: 120, UDP: 300}) {
		t.Errorf("timeouts = %+v, want IPVS's defaults", s.Timeouts)
	}
	if s.Table.Capacity == 0 || len(s.Ports) != 2 || s.Build.GoVersion == "" {
		t.Errorf("table %+v, ports %+v, build %+v", s.Table, s.Ports, s.Build)
	}
	if _, ok := s.Drops["no_route"]; !ok {
		t.Errorf("drops = %v, want every reason listed", s.Drops)
	}
	conns, err := c.Conns(ctx)
	if err != nil || len(conns) != 0 {
		t.Errorf("conns = %v, %v; want none", conns, err)
	}

	// A second appliance must not take over a live socket.
	other := control.NewAPI(control.APIOptions{Appliance: a, Log: zerolog.Nop()})
	if _, err := other.ListenUnix(path); err == nil || !strings.Contains(err.Error(), "another uvs is listening") {
		t.Errorf("second ListenUnix = %v", err)
	}
	api.Close()
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket left behind after Close: %v", err)
	}
}

func TestTCPNeedsTheToken(t *testing.T) {
	a := newAppliance(t, testConfig)
	api := control.NewAPI(control.APIOptions{Appliance: a, Log: zerolog.Nop()})
	api.SetToken("0123456789abcdef-secret")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	api.Start(context.Background(), ln, true)
	t.Cleanup(func() { api.Close() })
	url := "http://" + ln.Addr().String()
	ctx := context.Background()
	for _, tok := range []string{"", "wrong"} {
		c := control.Dial(url, tok)
		if _, err := c.Status(ctx); err == nil || !strings.Contains(err.Error(), "bearer token") {
			t.Errorf("token %q: %v, want refused", tok, err)
		}
		c.Close()
	}
	resp, err := http.Get(url + "/v1/status")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("no token: %s", resp.Status)
	}
	c := control.Dial(url, "0123456789abcdef-secret")
	defer c.Close()
	if s, err := c.Status(ctx); err != nil || len(s.Services) != 2 {
		t.Errorf("with the token: %v", err)
	}
}

func TestReloadAndSyncRequests(t *testing.T) {
	a := newAppliance(t, testConfig)
	calls := 0
	api := control.NewAPI(control.APIOptions{Appliance: a, Log: zerolog.Nop(), Reload: func() error {
		calls++
		if calls == 2 {
			return errors.New("test.toml:3:1: virtual_server[0].lb_algo: unknown scheduler")
		}
		return nil
	}})
	c, _ := serve(t, api)
	ctx := context.Background()
	if err := c.Reload(ctx); err != nil {
		t.Errorf("reload: %v", err)
	}
	if err := c.Reload(ctx); err == nil || !strings.Contains(err.Error(), "running configuration stays") || !strings.Contains(err.Error(), "lb_algo") {
		t.Errorf("bad reload: %v", err)
	}
	if err := c.StartSync(ctx, control.SyncDaemon{State: "master"}); err == nil || !strings.Contains(err.Error(), "[sync]") {
		t.Errorf("start-daemon without [sync]: %v", err)
	}
	if err := c.Zero(ctx, &control.ServiceKey{Proto: "TCP", Addr: netip.MustParseAddr("10.9.9.9"), Port: 80}); err == nil || err.Error() != "No such service" {
		t.Errorf("zero of an unknown service: %v", err)
	}
	if err := c.Zero(ctx, nil); err != nil {
		t.Errorf("zero: %v", err)
	}
}

func TestEventsAreKept(t *testing.T) {
	a := newAppliance(t, testConfig)
	cfg, err := conf.Parse("test.toml", []byte(strings.Replace(testConfig, `lb_algo = "wrr"`, `lb_algo = "rr"`, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Reload(cfg); err != nil {
		t.Fatal(err)
	}
	api := control.NewAPI(control.APIOptions{Appliance: a, Log: zerolog.Nop()})
	c, _ := serve(t, api)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Events) != 1 || s.Events[0].Kind != "config" || s.Events[0].State != "RELOADED" {
		t.Errorf("events = %+v", s.Events)
	}
	if s.Services[0].Scheduler != "rr" {
		t.Errorf("scheduler after reload = %q", s.Services[0].Scheduler)
	}
}

func TestEditsApplyLiveAndAtomically(t *testing.T) {
	a := newAppliance(t, testConfig)
	api := control.NewAPI(control.APIOptions{Appliance: a, Log: zerolog.Nop()})
	c, _ := serve(t, api)
	ctx := context.Background()
	web := control.ServiceKey{Proto: "TCP", Addr: netip.MustParseAddr("10.0.0.1"), Port: 80}
	dns := control.ServiceKey{Proto: "UDP", Addr: netip.MustParseAddr("fd00::1"), Port: 53}
	newSvc := control.ServiceKey{Proto: "TCP", Addr: netip.MustParseAddr("10.0.0.2"), Port: 443}

	// ipvsadm -A, -a, -e and --set in one batch.
	err := c.Edit(ctx,
		control.Edit{Op: control.OpAddService, Service: &control.ServiceSpec{ServiceKey: newSvc, Scheduler: "sh", SchedFlags: []string{"sh-port"}}},
		control.Edit{Op: control.OpAddServer, Server: &control.ServerSpec{Service: newSvc, Addr: netip.MustParseAddr("192.168.1.30"), Port: 443, Method: "Masq", Weight: 2}},
		control.Edit{Op: control.OpEditServer, Server: &control.ServerSpec{Service: web, Addr: netip.MustParseAddr("192.168.1.21"), Port: 8080, Method: "Masq", Weight: 0}},
		control.Edit{Op: control.OpSetTimeouts, Timeouts: &control.Timeouts{TCP: 600}},
	)
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Services) != 3 || s.Services[2].Addr != newSvc.Addr || s.Services[2].Scheduler != "sh" ||
		len(s.Services[2].SchedFlags) != 1 || s.Services[2].Servers[0].Weight != 2 {
		t.Errorf("after -A/-a: %+v", s.Services)
	}
	if w := s.Services[0].Servers[1]; w.Weight != 0 || w.CurrentWeight != 0 || !w.InTable {
		t.Errorf("after -e -w 0: %+v", w)
	}
	if s.Timeouts != (control.Timeouts{TCP: 600, TCPFin: 120, UDP: 300}) {
		t.Errorf("after --set: %+v", s.Timeouts)
	}
	// The engine took the new table: the new service is live.
	live := 0
	for _, ls := range a.Engine().Table().Services() {
		if ls.Config().VIP == newSvc.Addr {
			live++
		}
	}
	if live != 1 {
		t.Errorf("the engine has %d services on 10.0.0.2", live)
	}

	// A batch with a bad edit changes nothing, and says which edit and why.
	err = c.Edit(ctx,
		control.Edit{Op: control.OpDeleteService, Service: &control.ServiceSpec{ServiceKey: dns}},
		control.Edit{Op: control.OpAddServer, Server: &control.ServerSpec{Service: web, Addr: netip.MustParseAddr("192.168.1.20"), Port: 8080, Method: "Masq", Weight: 1}},
	)
	if err == nil || !strings.Contains(err.Error(), "edit 2") || !strings.Contains(err.Error(), "Destination already exists") {
		t.Errorf("bad batch: %v", err)
	}
	if s, _ := c.Status(ctx); len(s.Services) != 3 {
		t.Errorf("a refused batch removed a service: %d left", len(s.Services))
	}
	for _, e := range []struct {
		edit control.Edit
		want string
	}{
		{control.Edit{Op: control.OpAddService, Service: &control.ServiceSpec{ServiceKey: web}}, "Service already exists"},
		{control.Edit{Op: control.OpDeleteServer, Server: &control.ServerSpec{Service: web, Addr: netip.MustParseAddr("192.168.1.99"), Port: 8080}}, "No such destination"},
		{control.Edit{Op: control.OpAddService, Service: &control.ServiceSpec{ServiceKey: control.ServiceKey{Proto: "TCP", Addr: netip.MustParseAddr("10.0.0.3"), Port: 80}, Scheduler: "nope"}}, "nope"},
		{control.Edit{Op: "frobnicate"}, "unknown edit"},
	} {
		if err := c.Edit(ctx, e.edit); err == nil || !strings.Contains(err.Error(), e.want) {
			t.Errorf("%s: %v, want %q", e.edit.Op, err, e.want)
		}
	}

	// The running configuration exports as TOML that reads back to it.
	text, err := c.Config(ctx)
	if err != nil {
		t.Fatal(err)
	}
	back, err := conf.Parse("exported.toml", text)
	if err != nil {
		t.Fatalf("export does not parse: %v\n%s", err, text)
	}
	if len(back.Services) != 3 || back.IPVS.TCP != 600*time.Second || back.Services[0].Servers[1].Weight != 0 {
		t.Errorf("export lost the edits:\n%s", text)
	}

	// ipvsadm -C.
	if err := c.Edit(ctx, control.Edit{Op: control.OpClear}); err != nil {
		t.Fatal(err)
	}
	if s, _ := c.Status(ctx); len(s.Services) != 0 {
		t.Errorf("after -C: %d services", len(s.Services))
	}
}
