package netstack

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/uvs-lb/uvs/netstack/port"
)

func TestHostSocketsNeedARunningHost(t *testing.T) {
	h := mustHost(t, HostConfig{NICs: []NICConfig{{Port: &sinkPort{name: "a", mac: macLB0}, Addrs: []netip.Prefix{lbInside}}}})
	h.Deliver(0, make([]byte, 60)) // before Start: dropped, not a crash
	if _, err := h.DialContext(context.Background(), "tcp", "10.0.0.1:80"); err == nil || !strings.Contains(err.Error(), "not running") {
		t.Errorf("dial before Start: %v", err)
	}
	if _, err := h.ListenTCP(netip.MustParseAddrPort("0.0.0.0:80")); err == nil {
		t.Error("listen before Start succeeded")
	}
	must(t, h.Start(context.Background()))
	must(t, h.Close())
	if _, err := h.ListenUDP(netip.MustParseAddrPort("0.0.0.0:53")); err == nil {
		t.Error("listen after Close succeeded")
	}
	h.Deliver(0, make([]byte, 60)) // after Close: dropped
	if err := h.Start(context.Background()); err == nil {
		t.Error("a closed host started again")
	}
}

func TestDialRejectsWhatItCannotReach(t *testing.T) {
	h := mustHost(t, HostConfig{NICs: []NICConfig{{Port: &sinkPort{name: "a", mac: macLB0}, Addrs: []netip.Prefix{lbInside}}}})
	must(t, h.Start(context.Background()))
	defer h.Close()
	for _, c := range []struct{ network, addr, want string }{
		{"tcp", "example.com:80", "no resolver"},
		{"tcp4", "[2001:db8::1]:80", "not an IPv4"},
		{"udp6", "10.0.0.1:53", "not an IPv6"},
		{"sctp", "10.0.0.1:80", "unknown network"},
	} {
		if _, err := h.DialContext(context.Background(), c.network, c.addr); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("dial %s %s: %v, want %q", c.network, c.addr, err, c.want)
		}
	}
}

// A service restarted on its port must not wait for its previous connections to leave
// TIME_WAIT: listeners set SO_REUSEADDR.
// hostPair returns two standalone hosts on one memory link: a server at 10.9.0.1 and a client
// at 10.9.0.2, closed when the test ends.
func hostPair(t *testing.T) (server, client *Host) {
	t.Helper()
	a, b := port.Pipe(port.MemConfig{Name: "a", MAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}}, port.MemConfig{Name: "b", MAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}})
	mk := func(p port.Port, addr string) *Host {
		h, err := NewHost(HostConfig{Standalone: true, NICs: []NICConfig{{Port: p, Addrs: []netip.Prefix{netip.MustParsePrefix(addr)}}}})
		if err != nil {
			t.Fatal(err)
		}
		if err := h.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { h.Close() })
		return h
	}
	return mk(a, "10.9.0.1/24"), mk(b, "10.9.0.2/24")
}

func TestListenTCPRebindsOverTimeWait(t *testing.T) {
	ctx := context.Background()
	server, client := hostPair(t)
	at := netip.MustParseAddrPort("10.9.0.1:8080")
	ln, err := server.ListenTCP(at)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err == nil {
			c.Close() // the server closes first: its side goes to TIME_WAIT
		}
	}()
	c, err := client.DialContext(ctx, "tcp", at.String())
	if err != nil {
		t.Fatal(err)
	}
	<-done
	c.Read(make([]byte, 1))
	c.Close()
	ln.Close()
	ln, err = server.ListenTCP(at)
	if err != nil {
		t.Fatalf("listen again on %v: %v", at, err)
	}
	ln.Close()
}

// A dual-stack server listens on 0.0.0.0 and :: with one port: IPv6 sockets are IPv6 only.
func TestListenBothFamiliesOnOnePort(t *testing.T) {
	h := mustHost(t, HostConfig{NICs: []NICConfig{{Port: &sinkPort{name: "a", mac: macLB0}, Addrs: []netip.Prefix{lbInside, lbInside6}}}})
	must(t, h.Start(context.Background()))
	defer h.Close()
	for _, a := range []string{"0.0.0.0:80", "[::]:80"} {
		ln, err := h.ListenTCP(netip.MustParseAddrPort(a))
		must(t, err)
		defer ln.Close()
	}
	for _, a := range []string{"[::]:53", "0.0.0.0:53"} {
		pc, err := h.ListenUDP(netip.MustParseAddrPort(a))
		must(t, err)
		defer pc.Close()
	}
	if _, err := h.ListenTCP(netip.MustParseAddrPort("[::]:80")); err == nil {
		t.Error("two listeners on [::]:80")
	}
}

// TestAbortResets: a dialled connection closed with Abort resets the peer's side (its read
// fails) instead of closing it with a FIN (its read returns EOF), so the dialler keeps nothing
// in TIME_WAIT.
func TestAbortResets(t *testing.T) {
	ctx := context.Background()
	server, client := hostPair(t)
	at := netip.MustParseAddrPort("10.9.0.1:8080")
	ln, err := server.ListenTCP(at)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for _, abort := range []bool{false, true} {
		got := make(chan error, 1)
		go func() {
			c, err := ln.Accept()
			if err != nil {
				got <- err
				return
			}
			defer c.Close()
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			_, err = c.Read(make([]byte, 1))
			got <- err
		}()
		c, err := client.DialFrom(ctx, "tcp", netip.AddrPort{}, at)
		if err != nil {
			t.Fatal(err)
		}
		if abort {
			c.(interface{ Abort() error }).Abort()
		} else {
			c.Close()
		}
		err = <-got
		if abort && (err == nil || errors.Is(err, io.EOF)) {
			t.Errorf("after Abort the server read %v, want a reset", err)
		}
		if !abort && !errors.Is(err, io.EOF) {
			t.Errorf("after Close the server read %v, want EOF", err)
		}
	}
}
