package appliance

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// Full-NAT, IPv4: the real servers know only their own network, 192.168.1.0/24, and have no
// route to the client's 10.0.0.0/24 at all, so nothing could come back to the client unless
// the appliance sends it from its local address on their network. TCP and UDP through the VIP
// work, round robin, and each server sees the appliance's local address, never the client.
const fullNATConfig = `
[[interface]]
name = "eth0"
kind = "memory"
addresses = ["10.0.0.254/24"]

[[interface]]
name = "eth1"
kind = "memory"
addresses = ["192.168.1.254/24", "192.168.1.100/24"]

[[virtual_server]]
address = "10.0.0.1:80"
protocol = "tcp"
lb_algo = "rr"
lb_kind = "FNAT"
local_addresses = ["192.168.1.100"]
local_ports = "20000-29999"
  [[virtual_server.real_server]]
  address = "192.168.1.20:8080"
  [[virtual_server.real_server]]
  address = "192.168.1.21:8080"

[[virtual_server]]
address = "10.0.0.1:53"
protocol = "udp"
lb_algo = "rr"
lb_kind = "FNAT"
local_addresses = ["192.168.1.100"]
local_ports = "20000-29999"
  [[virtual_server.real_server]]
  address = "192.168.1.20:5353"
  [[virtual_server.real_server]]
  address = "192.168.1.21:5353"

# The control: plain NAT to the same servers, which cannot answer a client they have no
# route to.
[[virtual_server]]
address = "10.0.0.1:55"
protocol = "udp"
lb_kind = "NAT"
  [[virtual_server.real_server]]
  address = "192.168.1.20:5353"

# Nothing listens on the servers' port 5300: they answer with ICMP port unreachable.
[[virtual_server]]
address = "10.0.0.1:54"
protocol = "udp"
lb_algo = "rr"
lb_kind = "FNAT"
local_addresses = ["192.168.1.100"]
local_ports = "20000-29999"
  [[virtual_server.real_server]]
  address = "192.168.1.20:5300"
  [[virtual_server.real_server]]
  address = "192.168.1.21:5300"
`

func fullNATLab(t *testing.T, config string) *lab {
	return newLab(t, labSpec{
		config:       config,
		clientAddrs:  []string{"10.0.0.2/24"},
		clientRoutes: nil, // the client is on the VIP's own network
		servers: []labServer{ // no routes: only the connected 192.168.1.0/24
			{name: "rs1", addrs: []string{"192.168.1.20/24"}},
			{name: "rs2", addrs: []string{"192.168.1.21/24"}},
		},
	})
}

// checkLocalPeer checks that a server saw the full-NAT local address, from the pool's ports.
func checkLocalPeer(t *testing.T, what, peer string) {
	t.Helper()
	ap, err := netip.ParseAddrPort(peer)
	if err != nil {
		t.Fatalf("%s: the server reported peer %q: %v", what, peer, err)
	}
	if ap.Addr() != netip.MustParseAddr("192.168.1.100") || ap.Port() < 20000 || ap.Port() > 29999 {
		t.Errorf("%s: the server saw peer %s, want the local address 192.168.1.100 with a port of 20000-29999", what, ap)
	}
}

func TestFullNATServersWithoutARouteBack(t *testing.T) {
	// The local address as the full-NAT example of docs/config.md has it, an address of the
	// interface; and written only in local_addresses, which the appliance must then own
	// itself (answer ARP for it) for the servers to reach it.
	for _, c := range []struct{ name, config string }{
		{"interface address", fullNATConfig},
		{"local address only", strings.Replace(fullNATConfig, `"192.168.1.254/24", "192.168.1.100/24"`, `"192.168.1.254/24"`, 1)},
	} {
		t.Run(c.name, func(t *testing.T) { testFullNAT(t, fullNATLab(t, c.config)) })
	}
}

func testFullNAT(t *testing.T, l *lab) {

	t.Run("tcp", func(t *testing.T) {
		var got []string
		for i := 0; i < 4; i++ {
			c, br, server, peer := l.tcp(t, "10.0.0.1:80")
			checkLocalPeer(t, fmt.Sprintf("connection %d", i), peer)
			// Data both ways on the translated connection, then an orderly close.
			fmt.Fprintf(c, "hello %d\n", i)
			line, err := br.ReadString('\n')
			if want := fmt.Sprintf("%s hello %d\n", server, i); err != nil || line != want {
				t.Fatalf("echo through full-NAT: %q, %v; want %q", line, err, want)
			}
			if got := c.RemoteAddr().String(); got != "10.0.0.1:80" {
				t.Errorf("the client's peer is %s, want the VIP", got)
			}
			c.Close()
			got = append(got, server)
			t.Logf("connection %d: %s saw %s", i, server, peer)
		}
		if strings.Join(got, ",") != "rs1,rs2,rs1,rs2" {
			t.Fatalf("rr through the full-NAT VIP gave %v", got)
		}
	})

	t.Run("udp", func(t *testing.T) {
		var got []string
		for i := 0; i < 2; i++ {
			c := l.udpConn(t, "10.0.0.1:53")
			server, peer := ask(t, c, fmt.Sprintf("ping %d", i))
			checkLocalPeer(t, fmt.Sprintf("flow %d", i), peer)
			// The same flow keeps its server and its local endpoint.
			if again, peer2 := ask(t, c, "again"); again != server || peer2 != peer {
				t.Errorf("flow %d: answered by %s (peer %s), then %s (peer %s)", i, server, peer, again, peer2)
			}
			got = append(got, server)
			t.Logf("udp flow %d: %s saw %s", i, server, peer)
		}
		if got[0] == got[1] {
			t.Errorf("two UDP flows both went to %s, want rr", got[0])
		}
	})

	// The control: through plain NAT the server gets the client's own address, has no route
	// to it, and the client never hears back. So the answers above came by full-NAT alone.
	t.Run("NAT control", func(t *testing.T) {
		c := l.udpConn(t, "10.0.0.1:55")
		buf := make([]byte, 1500)
		for i := 0; i < 4; i++ {
			if _, err := c.Write([]byte("anyone?")); err != nil {
				t.Fatalf("udp write: %v", err)
			}
			c.SetReadDeadline(time.Now().Add(250 * time.Millisecond))
			if n, err := c.Read(buf); err == nil {
				t.Fatalf("a server without a route back answered through plain NAT: %q", buf[:n])
			}
		}
		if n := l.rsSniff["rs1"].udpReceived(netip.MustParseAddr("10.0.0.2"), labUDPPort); n == 0 {
			t.Fatal("rs1 never got the client's datagrams: the control proves nothing")
		} else {
			t.Logf("rs1 got %d datagrams from the client's own address and could answer none", n)
		}
	})

	st := l.a.Stats()
	if st.Ports[0].Forwarded == 0 || st.Ports[1].Forwarded == 0 {
		t.Errorf("nothing forwarded one way: %+v", st.Ports)
	}
}
