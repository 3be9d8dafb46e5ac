package adm_test

import (
	"bytes"
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/uvs-lb/uvs/adm"
	"github.com/uvs-lb/uvs/control"
)

// fakeAPI is an in-memory appliance: it serves a fixed snapshot and connection table and
// records every change it is asked for.
type fakeAPI struct {
	snap   *control.Snapshot
	conns  []control.Conn
	config []byte
	// fail, when set, is the error of every call that changes something.
	fail error

	edits   [][]control.Edit // one entry per Edit call
	zeros   []*control.ServiceKey
	started []control.SyncDaemon
	stopped []string
	reloads int
}

func (f *fakeAPI) Status(context.Context) (*control.Snapshot, error) {
	if f.snap == nil {
		return nil, errors.New("control API: dial unix /run/uvs/uvs.sock: connect: no such file or directory")
	}
	return f.snap, nil
}

func (f *fakeAPI) Conns(context.Context) ([]control.Conn, error) { return f.conns, nil }

func (f *fakeAPI) Edit(_ context.Context, edits ...control.Edit) error {
	if f.fail != nil {
		return f.fail
	}
	f.edits = append(f.edits, edits)
	return nil
}

func (f *fakeAPI) Zero(_ context.Context, key *control.ServiceKey) error {
	if f.fail != nil {
		return f.fail
	}
	f.zeros = append(f.zeros, key)
	return nil
}

func (f *fakeAPI) Config(context.Context) ([]byte, error) { return f.config, nil }

func (f *fakeAPI) Reload(context.Context) error {
	if f.fail != nil {
		return f.fail
	}
	f.reloads++
	return nil
}

func (f *fakeAPI) StartSync(_ context.Context, d control.SyncDaemon) error {
	if f.fail != nil {
		return f.fail
	}
	f.started = append(f.started, d)
	return nil
}

func (f *fakeAPI) StopSync(_ context.Context, state string) error {
	if f.fail != nil {
		return f.fail
	}
	f.stopped = append(f.stopped, state)
	return nil
}

var _ adm.API = (*fakeAPI)(nil)

// result is what one run of `uvs adm` gave.
type result struct {
	status         int
	stdout, stderr string
}

// run runs `uvs adm args...` against api with stdin.
func run(t *testing.T, api adm.API, stdin string, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	st := adm.Main(context.Background(), args, strings.NewReader(stdin), &out, &errOut, api)
	return result{st, out.String(), errOut.String()}
}

func ip(s string) netip.Addr      { return netip.MustParseAddr(s) }
func ipp(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }
func tcp(a string, port uint16) control.ServiceKey {
	return control.ServiceKey{Proto: "TCP", Addr: ip(a), Port: port}
}

// now is the fixture's snapshot time.
var now = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// server builds a live real server of key, in the table with its configured weight.
func server(key control.ServiceKey, addr string, port uint16, method string, weight int32) control.Server {
	return control.Server{
		ServerSpec:    control.ServerSpec{Service: key, Addr: ip(addr), Port: port, Method: method, Weight: weight},
		CurrentWeight: weight,
		InTable:       true,
		Alive:         true,
	}
}

// fixture is an appliance with every kind of service ipvsadm shows, listed in an order
// that is not ipvsadm's sorted one.
func fixture() *control.Snapshot {
	https := tcp("10.0.0.1", 443)
	web := tcp("10.0.0.1", 80)
	dns := control.ServiceKey{Proto: "UDP", Addr: ip("10.0.0.2"), Port: 53}
	fwm1 := control.ServiceKey{FWMark: 1, Family: "inet"}
	fwm2 := control.ServiceKey{FWMark: 2, Family: "inet6"}
	web6 := tcp("2001:db8::1", 80)
	other := tcp("192.168.100.1", 8080)

	s1a := server(https, "192.168.1.12", 443, "Route", 3)
	s1a.ActiveConns, s1a.InactConns, s1a.PersistConns = 5, 1, 2
	s1a.Stats = control.Stats{Conns: 7, InPkts: 70, OutPkts: 0, InBytes: 7000, OutBytes: 0}
	s1b := server(https, "192.168.1.11", 443, "Route", 1)
	// Inhibited by its check: in the table with weight 0.
	s1b.CurrentWeight, s1b.Alive = 0, false
	s1b.Checks = []control.Check{{Kind: "TCP_CHECK", Up: false, LastCheck: now.Add(-1500 * time.Millisecond),
		LastReason: "connect: connection refused", Checks: 40, Failed: 3, Ups: 1, Downs: 1}}

	s2a := server(web, "192.168.1.2", 8080, "Masq", 2)
	s2a.ActiveConns, s2a.InactConns = 7, 3
	s2a.Upper, s2a.Lower = 100, 50
	s2a.Stats = control.Stats{Conns: 1000, InPkts: 250_000_000, OutPkts: 240_000_000, InBytes: 12_345_678_901, OutBytes: 98_765_432_109_876}
	s2a.Rates = control.Rates{CPS: 12, InPPS: 3400, OutPPS: 3300, InBPS: 150_000_000, OutBPS: 987_654_321}
	s2a.Checks = []control.Check{{Kind: "HTTP_GET", Up: true, LastCheck: now.Add(-2 * time.Second),
		LastReason: "status 200", Checks: 120, Ups: 1}}
	s2b := server(web, "192.168.1.1", 8080, "Masq", 1)
	s2b.ActiveConns, s2b.InactConns = 12, 30
	s2b.Stats = control.Stats{Conns: 99_999_999, InPkts: 100_000_000, OutPkts: 999_999_999, InBytes: 1_000_000_000, OutBytes: 100_000_000_000_000}
	s2b.Rates = control.Rates{CPS: 1, InPPS: 2, OutPPS: 3, InBPS: 4, OutBPS: 5}
	s2b.Checks = []control.Check{{Kind: "HTTP_GET", Up: true, LastCheck: now.Add(-2 * time.Second),
		LastReason: "status 200", Checks: 120, Ups: 1}}
	// Failed without inhibit_on_failure: out of the table (ipvsadm does not show it).
	s2c := server(web, "192.168.1.3", 8080, "Masq", 1)
	s2c.InTable, s2c.Alive, s2c.CurrentWeight = false, false, 0
	s2c.Checks = []control.Check{{Kind: "HTTP_GET", Up: false, LastCheck: now.Add(-3 * time.Second),
		LastReason: "status 503", Checks: 120, Failed: 5, Ups: 1, Downs: 1}}

	s3a := server(dns, "192.168.2.1", 53, "FullNat", 1)
	s3b := server(dns, "192.168.2.2", 53, "FullNat", 1)

	s4a := server(fwm1, "192.168.3.1", 0, "Tunnel", 1)
	s4a.TunType, s4a.TunPort, s4a.TunFlags = "gue", 6080, "csum"
	s4b := server(fwm1, "192.168.3.2", 0, "Tunnel", 1)
	s4c := server(fwm1, "192.168.3.3", 0, "Tunnel", 4)
	s4c.TunType, s4c.TunFlags = "gre", "nocsum"

	s5a := server(fwm2, "2001:db8::20", 0, "Route", 1)

	s6a := server(web6, "2001:db8::10", 80, "Masq", 5)
	s6a.ActiveConns = 1
	s6b := server(web6, "192.168.4.1", 80, "Tunnel", 1)

	return &control.Snapshot{
		Time:  now,
		Build: control.Build{Version: "v0.9.0", GoVersion: "go1.26"},
		Services: []control.Service{
			{ServiceSpec: control.ServiceSpec{ServiceKey: https, Scheduler: "sh",
				SchedFlags: []string{"sh-fallback", "sh-port"}, Persistence: 360, PersistMask: 24},
				Name:     "[10.0.0.1]:tcp:443",
				Stats:    control.Stats{Conns: 123_456_789, InPkts: 98_765_432_109, OutPkts: 5, InBytes: 123_456_789_012_345, OutBytes: 99_999_999},
				Rates:    control.Rates{CPS: 100_000_000, InPPS: 5, OutPPS: 0, InBPS: 1_000_000_000, OutBPS: 1},
				Servers:  []control.Server{s1a, s1b},
				QuorumUp: true},
			{ServiceSpec: control.ServiceSpec{ServiceKey: web, Scheduler: "wlc"},
				Name:     "[10.0.0.1]:tcp:80",
				Stats:    control.Stats{Conns: 100_999_999, InPkts: 350_000_000, OutPkts: 1_239_999_999, InBytes: 1_012_345_678_901, OutBytes: 198_765_432_109_876},
				Servers:  []control.Server{s2a, s2b, s2c},
				Sorry:    &control.ServerSpec{Service: web, Addr: ip("192.168.1.9"), Port: 8080, Method: "Masq", Weight: 1},
				QuorumUp: true},
			{ServiceSpec: control.ServiceSpec{ServiceKey: dns, Scheduler: "rr", OnePacket: true},
				Name: "[10.0.0.2]:udp:53", Servers: []control.Server{s3a, s3b}, QuorumUp: true},
			{ServiceSpec: control.ServiceSpec{ServiceKey: fwm1, Scheduler: "wlc", Persistence: 300},
				Name: "FWM 1 IPv4", Servers: []control.Server{s4a, s4b, s4c}, QuorumUp: true},
			{ServiceSpec: control.ServiceSpec{ServiceKey: fwm2, Scheduler: "lc", Persistence: 600, PersistMask: 64},
				Name: "FWM 2 IPv6", Servers: []control.Server{s5a}, QuorumUp: true},
			{ServiceSpec: control.ServiceSpec{ServiceKey: web6, Scheduler: "wrr"},
				Name: "[2001:db8::1]:tcp:80", Servers: []control.Server{s6a, s6b}, QuorumUp: true},
			{ServiceSpec: control.ServiceSpec{ServiceKey: other, Scheduler: "rr"},
				Name: "[192.168.100.1]:tcp:8080", QuorumUp: false},
		},
		VRRP: []control.VRRPInstance{
			{Name: "VI_1", Interface: "eth0", VRID: 51, State: "MASTER", Priority: 150, SyncGroup: "G1",
				Version: 2, Interval: time.Second, Master: ip("10.0.0.253"), MasterPriority: 150,
				MasterDown: 3609 * time.Millisecond, Preempt: true,
				VIPs:  []netip.Addr{ip("10.0.0.1"), ip("10.0.0.2")},
				Stats: map[string]uint64{"advert_rcvd": 3, "advert_sent": 1200, "become_master": 1, "release_master": 0, "chk_err": 2, "vrid_err": 0}},
			{Name: "VI_2", Interface: "eth0", VRID: 52, State: "BACKUP", Priority: 100, SyncGroup: "G1",
				Version: 3, Interval: 100 * time.Millisecond, Master: ip("10.0.0.254"), MasterPriority: 200,
				MasterDown: 360 * time.Millisecond, Preempt: false,
				Stats: map[string]uint64{"advert_rcvd": 4200, "auth_failure": 1}},
		},
		Sync: control.Sync{Enabled: true, Role: "master+backup", Interface: "eth1", SyncID: 7,
			Group: "224.0.0.81:8848", MessagesSent: 10},
		Timeouts: control.Timeouts{TCP: 900, TCPFin: 120, UDP: 300},
		Table:    control.TableCounts{Current: 7, Templates: 2, Capacity: 4096},
	}
}

// fixtureConns is a connection table with every kind of entry -Lc shows.
func fixtureConns() []control.Conn {
	return []control.Conn{
		{Proto: "TCP", Expire: 90 * time.Second, State: "ESTABLISHED",
			Client: ipp("203.0.113.5:40000"), Virtual: ipp("10.0.0.1:80"), Dest: ipp("192.168.1.1:8080")},
		{Proto: "TCP", Expire: 119*time.Second + 900*time.Millisecond, State: "FIN_WAIT",
			Client: ipp("198.51.100.77:61234"), Virtual: ipp("10.0.0.1:80"), Dest: ipp("192.168.1.2:8080")},
		{Proto: "TCP", Expire: 0, State: "TIME_WAIT",
			Client: ipp("203.0.113.5:40001"), Virtual: ipp("10.0.0.1:80"), Dest: ipp("192.168.1.2:8080")},
		{Proto: "UDP", Expire: 4*time.Minute + 59*time.Second + 700*time.Millisecond, State: "UDP",
			Client: ipp("203.0.113.9:5353"), Virtual: ipp("10.0.0.2:53"), Dest: ipp("192.168.2.1:53"),
			Local: ipp("10.0.0.200:30001")},
		{Proto: "TCP", Expire: 6 * time.Minute, State: "NONE", Template: true,
			Client: ipp("203.0.113.5:0"), Virtual: ipp("10.0.0.1:443"), Dest: ipp("192.168.1.12:443")},
		{Proto: "", Expire: 299 * time.Second, State: "NONE", Template: true, FWMark: 1,
			Client: ipp("203.0.113.5:0"), Virtual: ipp("0.0.0.1:0"), Dest: ipp("192.168.3.1:0")},
		{Proto: "TCP", Expire: 125 * time.Minute, State: "ESTABLISHED",
			Client: ipp("[2001:db8:ffff::5]:51000"), Virtual: ipp("[2001:db8::1]:80"), Dest: ipp("[2001:db8::10]:80")},
	}
}
