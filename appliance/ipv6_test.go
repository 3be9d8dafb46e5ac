package appliance

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/uvs-lb/uvs/netstack"
)

// A dual-stack NAT appliance: the same services on an IPv4 and an IPv6 VIP, each TCP :80 →
// :8080, UDP :53 → :5353, and UDP :54 → :5300, where nothing listens. The real servers route
// back through the appliance, as NAT needs.
const dualStackConfig = `
[[interface]]
name = "eth0"
kind = "memory"
addresses = ["10.0.0.254/24", "2001:db8:1::fe/64"]

[[interface]]
name = "eth1"
kind = "memory"
addresses = ["192.168.1.254/24", "2001:db8:2::fe/64"]
` + natServices + `
` // the IPv6 services are natServices with the addresses replaced

const natServices = `
[[virtual_server]]
address = "10.0.0.1:80"
protocol = "tcp"
lb_algo = "rr"
  [[virtual_server.real_server]]
  address = "192.168.1.20:8080"
  [[virtual_server.real_server]]
  address = "192.168.1.21:8080"

[[virtual_server]]
address = "10.0.0.1:53"
protocol = "udp"
lb_algo = "rr"
  [[virtual_server.real_server]]
  address = "192.168.1.20:5353"
  [[virtual_server.real_server]]
  address = "192.168.1.21:5353"

[[virtual_server]]
address = "10.0.0.1:54"
protocol = "udp"
lb_algo = "rr"
  [[virtual_server.real_server]]
  address = "192.168.1.20:5300"
  [[virtual_server.real_server]]
  address = "192.168.1.21:5300"
`

func dualStackLab(t *testing.T) *lab {
	v6 := strings.NewReplacer(`"10.0.0.1:`, `"[2001:db8:1::1]:`, `"192.168.1.20:`, `"[2001:db8:2::20]:`, `"192.168.1.21:`, `"[2001:db8:2::21]:`).Replace(natServices)
	return newLab(t, labSpec{
		config:      dualStackConfig + v6,
		clientAddrs: []string{"10.0.0.2/24", "2001:db8:1::2/64"},
		servers: []labServer{
			{name: "rs1", addrs: []string{"192.168.1.20/24", "2001:db8:2::20/64"},
				routes: []netstack.Route{defaultVia("192.168.1.254"), defaultVia("2001:db8:2::fe")}},
			{name: "rs2", addrs: []string{"192.168.1.21/24", "2001:db8:2::21/64"},
				routes: []netstack.Route{defaultVia("192.168.1.254"), defaultVia("2001:db8:2::fe")}},
		},
	})
}

// checkClientPeer checks that a NAT server saw the client's own address.
func checkClientPeer(t *testing.T, what, peer, client string) {
	t.Helper()
	ap, err := netip.ParseAddrPort(peer)
	if err != nil {
		t.Fatalf("%s: the server reported peer %q: %v", what, peer, err)
	}
	if ap.Addr() != netip.MustParseAddr(client) {
		t.Errorf("%s: the server saw peer %s, want the client %s (NAT keeps it)", what, ap, client)
	}
}

// TCP and UDP through the appliance's IPv6 VIP: neighbor discovery on both sides, the NAT
// rewrite of 16-byte addresses (with the checksums gVisor verifies), rr order, and servers that
// see the client's own IPv6 address.
func TestNATOverIPv6(t *testing.T) {
	l := dualStackLab(t)
	const client = "2001:db8:1::2"

	t.Run("tcp", func(t *testing.T) {
		var got []string
		for i := 0; i < 4; i++ {
			c, br, server, peer := l.tcp(t, "[2001:db8:1::1]:80")
			checkClientPeer(t, fmt.Sprintf("connection %d", i), peer, client)
			fmt.Fprintf(c, "v6 %d\n", i)
			if line, err := br.ReadString('\n'); err != nil || line != fmt.Sprintf("%s v6 %d\n", server, i) {
				t.Fatalf("echo over IPv6: %q, %v", line, err)
			}
			c.Close()
			got = append(got, server)
			t.Logf("connection %d: %s saw %s", i, server, peer)
		}
		if strings.Join(got, ",") != "rs1,rs2,rs1,rs2" {
			t.Fatalf("rr through the IPv6 VIP gave %v", got)
		}
	})

	t.Run("udp", func(t *testing.T) {
		var got []string
		for i := 0; i < 2; i++ {
			c := l.udpConn(t, "[2001:db8:1::1]:53")
			server, peer := ask(t, c, fmt.Sprintf("v6 ping %d", i))
			checkClientPeer(t, fmt.Sprintf("flow %d", i), peer, client)
			if again, _ := ask(t, c, "again"); again != server {
				t.Errorf("flow %d: answered by %s, then %s", i, server, again)
			}
			got = append(got, server)
			t.Logf("udp flow %d: %s saw %s", i, server, peer)
		}
		if got[0] == got[1] {
			t.Errorf("two UDP flows both went to %s, want rr", got[0])
		}
	})

	// The IPv4 VIP of the same appliance still works beside it.
	_, _, server, peer := l.tcp(t, "10.0.0.1:80")
	checkClientPeer(t, "IPv4 beside IPv6 ("+server+")", peer, "10.0.0.2")
}
