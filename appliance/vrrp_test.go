package appliance

import (
	"context"
	"fmt"
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

// Two appliances share a VIP on one switch through VRRP (version 3, 100 ms adverts), with a
// gVisor host beside them that resolves the VIP: the higher priority becomes MASTER and owns
// the VIP, the other stays BACKUP without it; when the master stops, its priority-0 advert
// hands the VIP over within the skew time, and the host's ARP cache follows the
// announcement.

func vrrpConfig(t *testing.T, addr string, prio int) *conf.Config {
	t.Helper()
	c, err := conf.Parse("vrrp.toml", []byte(fmt.Sprintf(`
[[interface]]
name = "eth0"
kind = "memory"
addresses = ["%s/24"]

[[vrrp_instance]]
name = "VI_1"
interface = "eth0"
virtual_router_id = 51
priority = %d
version = 3
advert_int = 0.1
virtual_ipaddress = ["10.7.0.100"]
garp_master_delay = 1
`, addr, prio)))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type vrrpNode struct {
	a    *Appliance
	stop context.CancelFunc
}

func startVRRPNode(t *testing.T, p port.Port, cfg *conf.Config) *vrrpNode {
	t.Helper()
	a, err := New(Options{Config: cfg, Log: zerolog.New(zerolog.NewTestWriter(t)), Ports: map[string]port.Port{"eth0": p}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := a.Start(ctx); err != nil {
		t.Fatal(err)
	}
	n := &vrrpNode{a: a, stop: cancel}
	t.Cleanup(func() { n.close() })
	return n
}

func (n *vrrpNode) close() {
	if n.a != nil {
		n.a.Close()
		n.stop()
		n.a = nil
	}
}

func (n *vrrpNode) state() string {
	s := n.a.VRRP()
	if len(s) != 1 {
		return fmt.Sprint(s)
	}
	return s[0].State
}

func waitUntil(t *testing.T, what string, d time.Duration, ok func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !ok() {
		if time.Since(start) > d {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return time.Since(start)
}

func TestVRRPElectionAndHandover(t *testing.T) {
	mac := func(i byte) net.HardwareAddr { return net.HardwareAddr{2, 0, 0, 0, 7, i} }
	a1, s1 := port.Pipe(port.MemConfig{Name: "lb1", MAC: mac(1)}, port.MemConfig{Name: "sw1"})
	a2, s2 := port.Pipe(port.MemConfig{Name: "lb2", MAC: mac(2)}, port.MemConfig{Name: "sw2"})
	h3, s3 := port.Pipe(port.MemConfig{Name: "host", MAC: mac(3)}, port.MemConfig{Name: "sw3"})
	sw := nettest.NewSwitch(s1, s2, s3)
	sw.Start()
	t.Cleanup(sw.Close)
	host, err := netstack.NewHost(netstack.HostConfig{Standalone: true, NICs: []netstack.NICConfig{{Port: h3,
		Addrs: []netip.Prefix{netip.MustParsePrefix("10.7.0.3/24")}}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := host.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { host.Close() })

	lb1 := startVRRPNode(t, a1, vrrpConfig(t, "10.7.0.1", 150))
	lb2 := startVRRPNode(t, a2, vrrpConfig(t, "10.7.0.2", 100))
	vip := netip.MustParseAddr("10.7.0.100")
	owns := func(n *vrrpNode) bool {
		for _, a := range n.a.Host().VIPs() {
			if a == vip {
				return true
			}
		}
		return false
	}
	// Both start as BACKUP and wait a master-down interval (3 x 100 ms + skew); the higher
	// priority's timer runs out first.
	took := waitUntil(t, "lb1 MASTER", 3*time.Second, func() bool { return lb1.state() == "MASTER" && owns(lb1) })
	t.Logf("lb1 MASTER %v after start", took)
	time.Sleep(300 * time.Millisecond) // a master-down interval: lb2 must stay BACKUP
	if lb2.state() != "BACKUP" || owns(lb2) {
		t.Fatalf("lb2 %s, owns the VIP: %v", lb2.state(), owns(lb2))
	}
	resolved := func(want net.HardwareAddr) func() bool {
		return func() bool {
			m, ok := host.Neighbors().Lookup(0, vip)
			if !ok {
				host.Neighbors().Resolve(0, vip)
			}
			return ok && net.HardwareAddr(m[:]).String() == want.String()
		}
	}
	waitUntil(t, "the host resolves the VIP to lb1", 3*time.Second, resolved(mac(1)))

	// The master stops: its priority-0 advert lets lb2 take over after its skew time.
	start := time.Now()
	lb1.close()
	waitUntil(t, "lb2 MASTER", 2*time.Second, func() bool { return lb2.state() == "MASTER" && owns(lb2) })
	handover := time.Since(start)
	t.Logf("handover after the master stopped: %v", handover)
	waitUntil(t, "the host resolves the VIP to lb2", 3*time.Second, resolved(mac(2)))
	st := lb2.a.VRRP()[0]
	if st.Stats.PriZeroRcvd == 0 || st.Stats.BecomeMaster != 1 {
		t.Errorf("lb2 stats %+v", st.Stats)
	}
}
