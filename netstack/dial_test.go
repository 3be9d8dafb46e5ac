package netstack

import (
	"context"
	"net/netip"
	"strings"
	"testing"
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
