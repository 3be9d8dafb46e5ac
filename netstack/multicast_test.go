package netstack

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/uvs-lb/uvs/netstack/port"
)

// TestMulticastUDP: a datagram sent to a group out of one host's NIC reaches the socket that
// joined the group on another host, with the sender's address, for IPv4 and IPv6; the
// sender does not hear itself.
func TestMulticastUDP(t *testing.T) {
	a, b := port.Pipe(port.MemConfig{Name: "a", MAC: net.HardwareAddr{2, 0, 0, 0, 8, 1}}, port.MemConfig{Name: "b", MAC: net.HardwareAddr{2, 0, 0, 0, 8, 2}})
	mk := func(p port.Port, addrs ...string) *Host {
		var ps []netip.Prefix
		for _, s := range addrs {
			ps = append(ps, netip.MustParsePrefix(s))
		}
		h, err := NewHost(HostConfig{Standalone: true, NICs: []NICConfig{{Port: p, Addrs: ps}}})
		if err != nil {
			t.Fatal(err)
		}
		if err := h.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { h.Close() })
		return h
	}
	sender := mk(a, "10.8.0.1/24", "fd00:8::1/64")
	receiver := mk(b, "10.8.0.2/24", "fd00:8::2/64")
	for _, c := range []struct{ src, group string }{
		{"10.8.0.1:0", "224.0.0.81:8848"},
		{"[fd00:8::1]:0", "[ff02::81]:8848"},
	} {
		group := netip.MustParseAddrPort(c.group)
		ln, err := receiver.ListenMulticastUDP(0, group)
		if err != nil {
			t.Fatal(err)
		}
		echo, err := sender.ListenMulticastUDP(0, group)
		if err != nil {
			t.Fatal(err)
		}
		out, err := sender.DialMulticastUDP(0, netip.MustParseAddrPort(c.src), group, 1)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := out.Write([]byte("sync")); err != nil {
			t.Fatal(err)
		}
		ln.SetReadDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 64)
		n, from, err := ln.ReadFrom(buf)
		if err != nil || string(buf[:n]) != "sync" {
			t.Fatalf("%s: read %q from %v: %v", c.group, buf[:n], from, err)
		}
		if got := from.(*net.UDPAddr).AddrPort().Addr(); got != netip.MustParseAddrPort(c.src).Addr() {
			t.Errorf("%s: from %v, want %s", c.group, from, c.src)
		}
		echo.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		if n, _, err := echo.ReadFrom(buf); err == nil {
			t.Errorf("%s: the sender heard its own datagram %q", c.group, buf[:n])
		}
		out.Close()
		ln.Close()
		echo.Close()
	}
}
