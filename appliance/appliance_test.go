package appliance

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/uvs-lb/uvs/conf"
	"github.com/uvs-lb/uvs/netstack"
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

// configText is baseConfig with extra TOML after the first service's header and after it.
func configText(extra ...string) string {
	for len(extra) < 2 {
		extra = append(extra, "")
	}
	return fmt.Sprintf(baseConfig, extra[0], extra[1])
}

func config(t *testing.T, extra ...string) *conf.Config {
	t.Helper()
	c, err := conf.Parse("test.toml", []byte(configText(extra...)))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return c
}

func mac(last byte) net.HardwareAddr { return net.HardwareAddr{2, 0, 0, 0, 0, last} }

// twoServers is the appliance of baseConfig between a client and two real servers (rs1
// 192.168.1.20, rs2 192.168.1.21), all real gVisor stacks on in-memory links.
func twoServers(t *testing.T) *lab {
	return newLab(t, labSpec{
		config:       configText(),
		clientAddrs:  []string{"10.0.0.2/24"},
		clientRoutes: []netstack.Route{defaultVia("10.0.0.254")},
		servers: []labServer{
			{name: "rs1", addrs: []string{"192.168.1.20/24"}, routes: []netstack.Route{defaultVia("192.168.1.254")}},
			{name: "rs2", addrs: []string{"192.168.1.21/24"}, routes: []netstack.Route{defaultVia("192.168.1.254")}},
		},
	})
}

func TestApplianceBalancesThroughTheVIP(t *testing.T) {
	l := twoServers(t)
	var got []string
	for i := 0; i < 4; i++ {
		c, _, name, _ := l.tcp(t, "10.0.0.1:80")
		c.Close()
		got = append(got, name)
	}
	if strings.Join(got, ",") != "rs1,rs2,rs1,rs2" {
		t.Fatalf("rr through the VIP gave %v", got)
	}
	st := l.a.Stats()
	if st.Ports[0].Forwarded == 0 || st.Ports[1].Forwarded == 0 {
		t.Errorf("no forwarded frames counted: %+v", st.Ports)
	}
}

func TestReloadKeepsLiveConnectionsAndAddsVIPs(t *testing.T) {
	l := twoServers(t)
	live, br, first, _ := l.tcp(t, "10.0.0.1:80")

	// A second service on a new VIP, and the first service's servers reweighted.
	next := config(t, "", `
[[virtual_server]]
address = "10.0.0.3:80"
protocol = "tcp"
lb_algo = "rr"
  [[virtual_server.real_server]]
  address = "192.168.1.21:8080"
`)
	if err := l.a.Reload(next); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	fmt.Fprintf(live, "still there?\n")
	line, err := br.ReadString('\n')
	if err != nil || strings.TrimSpace(line) != first+" still there?" {
		t.Fatalf("live connection after reload: %q, %v", line, err)
	}
	c, _, name, _ := l.tcp(t, "10.0.0.3:80")
	c.Close()
	if name != "rs2" {
		t.Errorf("new VIP answered by %s, want rs2", name)
	}

	// A reload that changes the interfaces is refused, and everything keeps running.
	bad := config(t)
	bad.Interfaces[1].Addresses = []netip.Prefix{netip.MustParsePrefix("192.168.2.254/24")}
	if err := l.a.Reload(bad); err == nil || !strings.Contains(err.Error(), "restart") {
		t.Fatalf("interface change: %v, want a refusal", err)
	}
	if c, _, _, _ := l.tcp(t, "10.0.0.3:80"); c != nil {
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
