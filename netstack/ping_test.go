package netstack

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/uvs-lb/uvs/netstack/port"
)

// probeRig is two standalone hosts on one link, as the appliance and a real server it
// checks: the prober holds two addresses of each family, so that a probe's source matters.
type probeRig struct {
	prober, server *Host
}

var (
	proberAddrs = []netip.Prefix{
		netip.MustParsePrefix("10.9.0.2/24"), netip.MustParsePrefix("10.9.0.3/24"),
		netip.MustParsePrefix("fd00:9::2/64"), netip.MustParsePrefix("fd00:9::3/64"),
	}
	serverAddrs = []netip.Prefix{netip.MustParsePrefix("10.9.0.1/24"), netip.MustParsePrefix("fd00:9::1/64")}
	server4     = serverAddrs[0].Addr()
	server6     = serverAddrs[1].Addr()
	second4     = proberAddrs[1].Addr() // not the prober's primary address of its family
	second6     = proberAddrs[3].Addr()
)

func newProbeRig(t *testing.T) probeRig {
	t.Helper()
	a, b := port.Pipe(port.MemConfig{Name: "prober", MAC: net.HardwareAddr{2, 0, 0, 0, 9, 2}}, port.MemConfig{Name: "server", MAC: net.HardwareAddr{2, 0, 0, 0, 9, 1}})
	mk := func(p port.Port, addrs []netip.Prefix) *Host {
		h := mustHost(t, HostConfig{Standalone: true, NICs: []NICConfig{{Port: p, Addrs: addrs}}})
		must(t, h.Start(context.Background()))
		t.Cleanup(func() { h.Close() })
		return h
	}
	return probeRig{prober: mk(a, proberAddrs), server: mk(b, serverAddrs)}
}

// A probe leaves from the source address and port it is given (keepalived's bindto and
// bind_port), over TCP and UDP, IPv4 and IPv6.
func TestDialFromBindsTheSource(t *testing.T) {
	r := newProbeRig(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, c := range []struct {
		server netip.Addr
		from   netip.AddrPort
	}{
		{server4, netip.AddrPortFrom(second4, 40001)},
		{server6, netip.AddrPortFrom(second6, 40002)},
		{server4, netip.AddrPortFrom(second4, 0)},          // the host picks the port
		{server4, netip.AddrPortFrom(netip.Addr{}, 40003)}, // and the address
		{server6, netip.AddrPortFrom(netip.IPv6Unspecified(), 40004)},
	} {
		at := netip.AddrPortFrom(c.server, 7000)
		ln, err := r.server.ListenTCP(at)
		must(t, err)
		accepted := make(chan net.Addr, 1)
		go func() {
			if s, err := ln.Accept(); err == nil {
				accepted <- s.RemoteAddr()
				s.Close()
			}
			close(accepted)
		}()
		conn, err := r.prober.DialFrom(ctx, "tcp", c.from, at)
		if err != nil {
			t.Fatalf("tcp from %v to %v: %v", c.from, at, err)
		}
		checkSource(t, "tcp", c.from, conn.LocalAddr(), <-accepted)
		conn.Close()
		ln.Close()

		pc, err := r.server.ListenUDP(at)
		must(t, err)
		conn, err = r.prober.DialFrom(ctx, "udp", c.from, at)
		if err != nil {
			t.Fatalf("udp from %v to %v: %v", c.from, at, err)
		}
		conn.Write([]byte("probe"))
		pc.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, got, err := pc.ReadFrom(make([]byte, 16))
		must(t, err)
		checkSource(t, "udp", c.from, conn.LocalAddr(), got)
		conn.Close()
		pc.Close()
	}
}

func checkSource(t *testing.T, network string, from netip.AddrPort, local, seen net.Addr) {
	t.Helper()
	if seen == nil {
		t.Fatalf("%s from %v: the server saw nothing", network, from)
	}
	got := netip.MustParseAddrPort(seen.String())
	if local.String() != seen.String() {
		t.Errorf("%s from %v: local address %v, the server saw %v", network, from, local, seen)
	}
	if a := from.Addr(); a.IsValid() && !a.IsUnspecified() && got.Addr() != a {
		t.Errorf("%s from %v: the server saw %v", network, from, got)
	}
	if from.Port() != 0 && got.Port() != from.Port() {
		t.Errorf("%s from %v: the server saw %v", network, from, got)
	}
}

// Dial errors read as a kernel socket's: errnos, not gVisor's words.
func TestDialFromErrors(t *testing.T) {
	r := newProbeRig(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	closed := netip.AddrPortFrom(server4, 7001)
	if _, err := r.prober.DialFrom(ctx, "tcp", netip.AddrPort{}, closed); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("dial a closed port: %v, want ECONNREFUSED", err)
	}
	notMine := netip.MustParseAddrPort("10.9.0.77:0")
	if _, err := r.prober.DialFrom(ctx, "tcp", notMine, closed); !errors.Is(err, syscall.EADDRNOTAVAIL) {
		t.Errorf("dial from an address not the host's: %v, want EADDRNOTAVAIL", err)
	}
	if _, err := r.prober.DialFrom(ctx, "udp", netip.AddrPortFrom(second6, 0), closed); err == nil || !strings.Contains(err.Error(), "different families") {
		t.Errorf("dial from IPv6 to IPv4: %v", err)
	}
	if _, err := r.prober.DialFrom(ctx, "udp", netip.AddrPort{}, netip.MustParseAddrPort("192.0.2.1:53")); !errors.Is(err, syscall.ENETUNREACH) && !errors.Is(err, syscall.EHOSTUNREACH) {
		t.Errorf("dial without a route: %v, want unreachable", err)
	}
	if _, err := r.prober.DialFrom(ctx, "tcp", netip.AddrPort{}, netip.AddrPort{}); err == nil {
		t.Error("dial nowhere succeeded")
	}
	// A dial waits for the handshake no longer than its context: nobody answers 10.9.0.50.
	short, cancel2 := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel2()
	if _, err := r.prober.DialFrom(short, "tcp", netip.AddrPort{}, netip.MustParseAddrPort("10.9.0.50:80")); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("dial a silent address: %v, want the context's deadline", err)
	}
}

func TestPingIsAnswered(t *testing.T) {
	r := newProbeRig(t)
	for _, c := range []struct{ from, to netip.Addr }{
		{netip.Addr{}, server4},
		{second4, server4},
		{netip.Addr{}, server6},
		{second6, server6},
		{netip.IPv4Unspecified(), server4},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		start := time.Now()
		if err := r.prober.Ping(ctx, c.from, c.to); err != nil {
			t.Errorf("ping %v from %v: %v", c.to, c.from, err)
		} else if d := time.Since(start); d > PingEvery/2 {
			t.Errorf("ping %v from %v took %v: the first request went unanswered", c.to, c.from, d)
		}
		cancel()
	}
}

// A host that does not answer: the requests go on, one a second, until the context ends.
func TestPingUnansweredTimesOut(t *testing.T) {
	r := newProbeRig(t)
	for _, silent := range []netip.Addr{netip.MustParseAddr("10.9.0.50"), netip.MustParseAddr("fd00:9::50")} {
		ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
		start := time.Now()
		err := r.prober.Ping(ctx, netip.Addr{}, silent)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "no echo reply to 2 requests") {
			t.Errorf("ping %v: %v, want no reply to 2 requests and the context's deadline", silent, err)
		}
		if d := time.Since(start); d < 1400*time.Millisecond || d > 3*time.Second {
			t.Errorf("ping %v returned after %v, want when its context ended (1.5 s)", silent, d)
		}
	}
}

func TestPingRejectsWhatItCannotSend(t *testing.T) {
	r := newProbeRig(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, c := range []struct {
		from, to netip.Addr
		want     string
	}{
		{netip.Addr{}, netip.Addr{}, "no destination"},
		{second6, server4, "different families"},
		{netip.MustParseAddr("10.9.0.77"), server4, "cannot assign requested address"},
		{netip.Addr{}, netip.MustParseAddr("192.0.2.1"), "unreachable"},
	} {
		if err := r.prober.Ping(ctx, c.from, c.to); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ping %v from %v: %v, want %q", c.to, c.from, err, c.want)
		}
	}
	h := mustHost(t, HostConfig{NICs: []NICConfig{{Port: &sinkPort{name: "a", mac: macLB0}, Addrs: []netip.Prefix{lbInside}}}})
	if err := h.Ping(ctx, netip.Addr{}, server4); err == nil || !strings.Contains(err.Error(), "not running") {
		t.Errorf("ping before Start: %v", err)
	}
}

// An ICMP port unreachable ends a read blocked on a connected UDP socket at once, with the
// error, as on a kernel socket (gonet alone would only wake it at its deadline).
func TestDialFromUDPReadSeesPortUnreachable(t *testing.T) {
	r := newProbeRig(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := r.prober.DialFrom(ctx, "udp", netip.AddrPort{}, netip.AddrPortFrom(server4, 7002))
	must(t, err)
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	start := time.Now()
	if _, err := c.Write([]byte("anyone?")); err != nil {
		t.Fatal(err)
	}
	_, err = c.Read(make([]byte, 16))
	if err == nil || !strings.Contains(err.Error(), "connection was refused") {
		t.Fatalf("read: %v, want connection was refused", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("the read returned after %v, want at once", d)
	}
}
