package appliance

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/uvs-lb/uvs/conf"
	"github.com/uvs-lb/uvs/netstack"
	"github.com/uvs-lb/uvs/netstack/nettest"
	"github.com/uvs-lb/uvs/netstack/port"
)

const baseConfig = `
[[interface]]
name = "eth0"
kind = "memory"
addresses = ["10.0.0.254/24"]

[[interface]]
name = "eth1"
kind = "memory"
addresses = ["192.168.1.254/24"]

[[virtual_server]]
address = "10.0.0.1:80"
protocol = "tcp"
lb_algo = "rr"
lb_kind = "NAT"
%s
  [[virtual_server.real_server]]
  address = "192.168.1.20:8080"
  [[virtual_server.real_server]]
  address = "192.168.1.21:8080"
%s
`

func config(t *testing.T, extra ...string) *conf.Config {
	t.Helper()
	for len(extra) < 2 {
		extra = append(extra, "")
	}
	c, err := conf.Parse("test.toml", []byte(fmt.Sprintf(baseConfig, extra[0], extra[1])))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return c
}

func mac(last byte) net.HardwareAddr { return net.HardwareAddr{2, 0, 0, 0, 0, last} }

// rig is an appliance between a client host and two real-server hosts on a switch, all real
// gVisor stacks on in-memory links.
type rig struct {
	a      *Appliance
	client *netstack.Host
}

func newRig(t *testing.T, cfg *conf.Config) *rig {
	t.Helper()
	ctx := context.Background()
	clientPort, eth0 := port.Pipe(port.MemConfig{Name: "client", MAC: mac(1)}, port.MemConfig{Name: "eth0", MAC: mac(2)})
	eth1, sw0 := port.Pipe(port.MemConfig{Name: "eth1", MAC: mac(3)}, port.MemConfig{Name: "sw0", MAC: mac(4)})
	a, err := New(Options{Config: cfg, Log: zerolog.New(zerolog.NewTestWriter(t)), Ports: map[string]port.Port{"eth0": eth0, "eth1": eth1}})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	host := func(p port.Port, addr, gw string) *netstack.Host {
		h, err := netstack.NewHost(netstack.HostConfig{Standalone: true,
			NICs:   []netstack.NICConfig{{Port: p, Addrs: []netip.Prefix{netip.MustParsePrefix(addr)}}},
			Routes: []netstack.Route{{Dst: netip.MustParsePrefix("0.0.0.0/0"), Gateway: netip.MustParseAddr(gw)}}})
		if err != nil {
			t.Fatal(err)
		}
		if err := h.Start(ctx); err != nil {
			t.Fatal(err)
		}
		return h
	}
	r := &rig{a: a, client: host(clientPort, "10.0.0.2/24", "10.0.0.254")}
	swPorts := []port.Port{sw0}
	var servers []*netstack.Host
	var wg sync.WaitGroup
	var listeners []net.Listener
	for i, addr := range []string{"192.168.1.20/24", "192.168.1.21/24"} {
		p, sw := port.Pipe(port.MemConfig{Name: fmt.Sprint("rs", i+1), MAC: mac(byte(10 + i))}, port.MemConfig{Name: fmt.Sprint("sw", i+1), MAC: mac(byte(20 + i))})
		swPorts = append(swPorts, sw)
		s := host(p, addr, "192.168.1.254")
		servers = append(servers, s)
		ln, err := s.ListenTCP(netip.MustParseAddrPort("0.0.0.0:8080"))
		if err != nil {
			t.Fatal(err)
		}
		listeners = append(listeners, ln)
		wg.Add(1)
		go serve(ln, fmt.Sprint("rs", i+1), &wg)
	}
	sw := nettest.NewSwitch(swPorts...)
	sw.Start()
	if err := a.Start(ctx); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		for _, ln := range listeners {
			ln.Close()
		}
		wg.Wait()
		r.client.Close()
		for _, s := range servers {
			s.Close()
		}
		sw.Close()
		a.Close()
	})
	return r
}

// serve greets each connection with the server's name, then echoes lines prefixed with it.
func serve(ln net.Listener, name string, wg *sync.WaitGroup) {
	defer wg.Done()
	var conns sync.WaitGroup
	defer conns.Wait()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		conns.Add(1)
		go func() {
			defer conns.Done()
			defer c.Close()
			fmt.Fprintf(c, "%s\n", name)
			sc := bufio.NewScanner(c)
			for sc.Scan() {
				fmt.Fprintf(c, "%s %s\n", name, sc.Text())
			}
		}()
	}
}

// dial connects to addr through the appliance and returns the connection and the greeting.
func (r *rig) dial(t *testing.T, addr string) (net.Conn, *bufio.Reader, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := r.client.DialContext(ctx, "tcp", addr)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	hello, err := br.ReadString('\n')
	if err != nil {
		t.Fatalf("greeting from %s: %v", addr, err)
	}
	return c, br, strings.TrimSpace(hello)
}

func TestApplianceBalancesThroughTheVIP(t *testing.T) {
	r := newRig(t, config(t))
	var got []string
	for i := 0; i < 4; i++ {
		c, _, name := r.dial(t, "10.0.0.1:80")
		c.Close()
		got = append(got, name)
	}
	if strings.Join(got, ",") != "rs1,rs2,rs1,rs2" {
		t.Fatalf("rr through the VIP gave %v", got)
	}
	st := r.a.Stats()
	if st.Ports[0].Forwarded == 0 || st.Ports[1].Forwarded == 0 {
		t.Errorf("no forwarded frames counted: %+v", st.Ports)
	}
}

func TestReloadKeepsLiveConnectionsAndAddsVIPs(t *testing.T) {
	r := newRig(t, config(t))
	live, br, first := r.dial(t, "10.0.0.1:80")
	defer live.Close()

	// A second service on a new VIP, and the first service's servers reweighted.
	next := config(t, "", `
[[virtual_server]]
address = "10.0.0.3:80"
protocol = "tcp"
lb_algo = "rr"
  [[virtual_server.real_server]]
  address = "192.168.1.21:8080"
`)
	if err := r.a.Reload(next); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	fmt.Fprintf(live, "still there?\n")
	line, err := br.ReadString('\n')
	if err != nil || strings.TrimSpace(line) != first+" still there?" {
		t.Fatalf("live connection after reload: %q, %v", line, err)
	}
	c, _, name := r.dial(t, "10.0.0.3:80")
	c.Close()
	if name != "rs2" {
		t.Errorf("new VIP answered by %s, want rs2", name)
	}

	// A reload that changes the interfaces is refused, and everything keeps running.
	bad := config(t)
	bad.Interfaces[1].Addresses = []netip.Prefix{netip.MustParsePrefix("192.168.2.254/24")}
	if err := r.a.Reload(bad); err == nil || !strings.Contains(err.Error(), "restart") {
		t.Fatalf("interface change: %v, want a refusal", err)
	}
	if c, _, _ := r.dial(t, "10.0.0.3:80"); c != nil {
		c.Close()
	}
	fmt.Fprintf(live, "and now?\n")
	if line, err := br.ReadString('\n'); err != nil || !strings.HasSuffix(strings.TrimSpace(line), "and now?") {
		t.Fatalf("live connection after a refused reload: %q, %v", line, err)
	}
}

func TestMemoryInterfaceNeedsAPort(t *testing.T) {
	if _, err := New(Options{Config: config(t)}); err == nil || !strings.Contains(err.Error(), "memory port") {
		t.Fatalf("New without ports: %v", err)
	}
}
