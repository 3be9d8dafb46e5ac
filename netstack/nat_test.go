package netstack

import (
	"context"
	"net/netip"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/uvs-lb/uvs/lb"
)

// End to end through the appliance with the real NAT forwarder: gVisor TCP and UDP clients
// and servers on both sides.

func TestNATRoundRobinTCP(t *testing.T) {
	l := newLab(t)
	for _, a := range rsAddrs {
		resolve(t, l.dp.Host(), 1, a.Addr())
	}
	var got []string
	for i := range 4 {
		s := l.connect(t)
		s.echo(t, "hello")
		got = append(got, s.server)
		s.c.Close()
		t.Logf("connection %d: %s", i, s.server)
	}
	if got[0] == got[1] || got[0] != got[2] || got[1] != got[3] {
		t.Errorf("servers %v, want both in turn (rr)", got)
	}
	s := l.dp.Stats()
	if s.Ports[0].Forwarded == 0 || s.Ports[1].Forwarded == 0 {
		t.Errorf("nothing forwarded one way: %+v", s.Ports)
	}
	if s.Drops[lb.DropNoNeighbor] != 0 {
		t.Errorf("%d frames dropped for want of a neighbor after resolving", s.Drops[lb.DropNoNeighbor])
	}
}

// The same over IPv6: neighbor discovery instead of ARP, 16-byte addresses in the rewrite.
func TestNATRoundRobinTCPOverIPv6(t *testing.T) {
	l := newLab(t)
	for _, a := range rsAddrs6 {
		resolve(t, l.dp.Host(), 1, a.Addr())
	}
	svc := netip.AddrPortFrom(vip6, tcpServicePort)
	var got []string
	for range 2 {
		s := l.connectTo(t, svc)
		s.echo(t, "hello over IPv6")
		got = append(got, s.server)
		s.c.Close()
	}
	if got[0] == got[1] {
		t.Errorf("servers %v, want both in turn (rr)", got)
	}
}

func TestNATUDPEcho(t *testing.T) {
	l := newLab(t)
	for _, a := range rsAddrs {
		resolve(t, l.dp.Host(), 1, a.Addr())
	}
	ask := func(c interface {
		Write([]byte) (int, error)
		Read([]byte) (int, error)
		SetReadDeadline(time.Time) error
	}, msg string) string {
		t.Helper()
		if _, err := c.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(waitFor))
		buf := make([]byte, 1500)
		n, err := c.Read(buf)
		if err != nil {
			t.Fatalf("no answer to %q: %v", msg, err)
		}
		server, echoed, ok := strings.Cut(string(buf[:n]), ": ")
		if !ok || echoed != msg {
			t.Fatalf("answer %q to %q", buf[:n], msg)
		}
		return server
	}
	addr := netip.AddrPortFrom(vip, udpServicePort).String()
	var servers []string
	for range 2 {
		c, err := l.client.DialContext(context.Background(), "udp", addr)
		must(t, err)
		first := ask(c, "ping")
		if again := ask(c, "ping again"); again != first {
			t.Errorf("one UDP flow answered by %s then %s", first, again)
		}
		servers = append(servers, first)
		c.Close()
	}
	if servers[0] == servers[1] {
		t.Errorf("two UDP flows both went to %s, want rr", servers[0])
	}
}

// A reload that even removes the connection's real server leaves the connection alone, as
// IPVS does without expire_nodest_conn; new connections follow the new configuration.
func TestReloadKeepsLongLivedConnection(t *testing.T) {
	l := newLab(t)
	for _, a := range rsAddrs {
		resolve(t, l.dp.Host(), 1, a.Addr())
	}
	s := l.connect(t)
	defer s.c.Close()
	s.echo(t, "before reload")

	var keep []netip.Prefix
	for i, name := range rsNames {
		if name != s.server {
			keep = append(keep, rsAddrs[i])
		}
	}
	must(t, l.engine.Apply(natConfig(keep)))
	s.echo(t, "after reload")
	for range 2 {
		n := l.connect(t)
		if n.server == s.server {
			t.Errorf("a new connection went to %s, which the reload removed", n.server)
		}
		n.c.Close()
	}
	must(t, l.engine.Apply(natConfig(rsAddrs, 3, 1)))
	s.echo(t, "after second reload")
}

// The appliance has never talked to the real servers: the first SYN finds no neighbor, is
// dropped and starts resolution, and the client's retransmission gets through.
func TestUnresolvedNeighborIsResolved(t *testing.T) {
	l := newLab(t)
	s := l.connect(t)
	defer s.c.Close()
	s.echo(t, "hello")
	if n := l.dp.Stats().Drops[lb.DropNoNeighbor]; n == 0 {
		t.Error("no frame was dropped for want of a neighbor; the test proves nothing")
	}
}

func TestConnectToVIPOnNoServiceIsRefused(t *testing.T) {
	l := newLab(t)
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	c, err := l.client.DialContext(ctx, "tcp", netip.AddrPortFrom(vip, 81).String())
	if err == nil {
		c.Close()
		t.Fatal("connected to VIP:81, which has no service")
	}
	if !strings.Contains(err.Error(), "refused") {
		t.Errorf("dial VIP:81: %v, want connection refused", err)
	}
}

// Closing everything leaves no goroutine behind (TestMain checks the whole package too).
func TestCloseStopsEveryGoroutine(t *testing.T) {
	before := runtime.NumGoroutine()
	t.Run("lab", func(t *testing.T) {
		l := newLab(t)
		resolve(t, l.dp.Host(), 1, rsAddrs[0].Addr())
		s := l.connect(t)
		s.echo(t, "hello")
	})
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines, %d before:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}
