package appliance

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/uvs-lb/uvs/conf"
	"github.com/uvs-lb/uvs/netstack"
	"github.com/uvs-lb/uvs/netstack/nettest"
	"github.com/uvs-lb/uvs/netstack/port"
)

// An HA pair with connection sync, in process: lb1 and lb2 run VRRP (a sync group of the
// front VIP and the real server's gateway, version 3, 100 ms adverts) and [sync] following
// it. A client holds a TCP connection through lb1 to an echo server; lb1 stops; lb2 takes
// the VIPs over and, having received the connection from lb1's sync messages, carries it on:
// the client's next line is echoed on the same connection.

func syncPairConfig(t *testing.T, front, back string, prio int) *conf.Config {
	t.Helper()
	c, err := conf.Parse("sync.toml", []byte(fmt.Sprintf(`
[[interface]]
name = "eth0"
kind = "memory"
addresses = ["%s/24"]

[[interface]]
name = "eth1"
kind = "memory"
addresses = ["%s/24"]

[[virtual_server]]
address = "10.9.0.100:80"
lb_algo = "rr"
  [[virtual_server.real_server]]
  address = "192.168.9.10:8080"

[[vrrp_instance]]
name = "VI_EXT"
interface = "eth0"
virtual_router_id = 61
priority = %d
version = 3
advert_int = 0.1
virtual_ipaddress = ["10.9.0.100"]
garp_master_delay = 1

[[vrrp_instance]]
name = "VI_INT"
interface = "eth1"
virtual_router_id = 62
priority = %d
version = 3
advert_int = 0.1
virtual_ipaddress = ["192.168.9.254"]
garp_master_delay = 1

[[vrrp_sync_group]]
name = "VG1"
group = ["VI_EXT", "VI_INT"]

[sync]
interface = "eth0"
vrrp_instance = "VI_EXT"
id = 9
`, front, back, prio, prio)))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSyncCarriesConnectionsOverFailover(t *testing.T) {
	t.Run("synced as they start", func(t *testing.T) { testSyncFailover(t, false) })
	// A backup that starts after the connection was established asks the master for its
	// table (a resync request) and gets it whole.
	t.Run("backup started late", func(t *testing.T) { testSyncFailover(t, true) })
}

func testSyncFailover(t *testing.T, lateBackup bool) {
	mac := func(a, b byte) net.HardwareAddr { return net.HardwareAddr{2, 0, 0, 9, a, b} }
	pipe := func(name string, m net.HardwareAddr) (port.Port, port.Port) {
		return port.Pipe(port.MemConfig{Name: name, MAC: m}, port.MemConfig{Name: name + "-sw"})
	}
	l1f, s1f := pipe("lb1-eth0", mac(1, 0))
	l1b, s1b := pipe("lb1-eth1", mac(1, 1))
	l2f, s2f := pipe("lb2-eth0", mac(2, 0))
	l2b, s2b := pipe("lb2-eth1", mac(2, 1))
	cf, scf := pipe("client", mac(3, 0))
	rb, srb := pipe("rs", mac(4, 0))
	front, back := nettest.NewSwitch(s1f, s2f, scf), nettest.NewSwitch(s1b, s2b, srb)
	front.Start()
	back.Start()
	t.Cleanup(front.Close)
	t.Cleanup(back.Close)
	host := func(p port.Port, addr, gw string) *netstack.Host {
		h, err := netstack.NewHost(netstack.HostConfig{Standalone: true,
			NICs:   []netstack.NICConfig{{Port: p, Addrs: []netip.Prefix{netip.MustParsePrefix(addr)}}},
			Routes: []netstack.Route{{Dst: netip.MustParsePrefix("0.0.0.0/0"), Gateway: netip.MustParseAddr(gw)}}})
		if err != nil {
			t.Fatal(err)
		}
		if err := h.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { h.Close() })
		return h
	}
	client := host(cf, "10.9.0.50/24", "10.9.0.254")
	rs := host(rb, "192.168.9.10/24", "192.168.9.254")
	ln, err := rs.ListenTCP(netip.MustParseAddrPort("192.168.9.10:8080"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); io.Copy(c, c) }()
		}
	}()

	start := func(ports map[string]port.Port, cfg *conf.Config) *vrrpNode {
		a, err := New(Options{Config: cfg, Log: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.InfoLevel), Ports: ports})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		if err := a.Start(ctx); err != nil {
			t.Fatal(err)
		}
		n := &vrrpNode{a: a, stop: cancel}
		t.Cleanup(n.close)
		return n
	}
	lb1 := start(map[string]port.Port{"eth0": l1f, "eth1": l1b}, syncPairConfig(t, "10.9.0.1", "192.168.9.1", 150))
	var lb2 *vrrpNode
	startLB2 := func() {
		lb2 = start(map[string]port.Port{"eth0": l2f, "eth1": l2b}, syncPairConfig(t, "10.9.0.2", "192.168.9.2", 100))
	}
	if !lateBackup {
		startLB2()
	}
	allMaster := func(n *vrrpNode) func() bool {
		return func() bool {
			for _, s := range n.a.VRRP() {
				if s.State != "MASTER" {
					return false
				}
			}
			return true
		}
	}
	waitUntil(t, "lb1 MASTER on both instances", 5*time.Second, allMaster(lb1))

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var conn net.Conn
	waitUntil(t, "a connection through the VIP", 5*time.Second, func() bool {
		c, err := client.DialContext(ctx, "tcp", "10.9.0.100:80")
		if err == nil {
			conn = c
		}
		return err == nil
	})
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(15 * time.Second))
	r := bufio.NewReader(conn)
	say := func(line string) {
		t.Helper()
		if _, err := fmt.Fprintln(conn, line); err != nil {
			t.Fatalf("write %q: %v", line, err)
		}
		got, err := r.ReadString('\n')
		if err != nil || got != line+"\n" {
			t.Fatalf("echo of %q: %q, %v", line, got, err)
		}
	}
	for i := range 5 {
		say(fmt.Sprintf("before %d", i))
	}
	if lateBackup {
		startLB2()
		time.Sleep(500 * time.Millisecond) // lb2 is a backup: lb1 keeps the VIPs
		say("while lb2 starts")
	}
	waitUntil(t, "lb2 installed the connection", 3*time.Second, func() bool { return lb2.a.Sync().Installed > 0 })

	t0 := time.Now()
	lb1.close()
	waitUntil(t, "lb2 MASTER on both instances", 3*time.Second, allMaster(lb2))
	t.Logf("lb2 took over %v after lb1 stopped", time.Since(t0))
	for i := range 5 {
		say(fmt.Sprintf("after %d", i))
	}
	t.Logf("the connection carried on %v after lb1 stopped; lb2 sync %+v", time.Since(t0), lb2.a.Sync())
	if s := lb2.a.Sync(); s.Role != "master" || s.InstallFailed != 0 {
		t.Errorf("lb2 sync %+v", s)
	}
}
