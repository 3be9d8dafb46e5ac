package health

import (
	"context"
	"net"
	"net/netip"
)

// KernelNet is the host kernel's network as a Net, for tools that run where the kernel
// reaches the servers (genhash) and for tests against loopback servers. The appliance's
// checks leave from its own netstack instead (Stack).
type KernelNet struct{}

// DialContext implements Net with a net.Dialer bound to laddr.
func (KernelNet) DialContext(ctx context.Context, network string, laddr, raddr netip.AddrPort) (net.Conn, error) {
	var d net.Dialer
	if (laddr.Addr().IsValid() && !laddr.Addr().IsUnspecified()) || laddr.Port() != 0 {
		var ip net.IP
		if laddr.Addr().IsValid() && !laddr.Addr().IsUnspecified() {
			ip = laddr.Addr().AsSlice()
		}
		switch network {
		case "udp", "udp4", "udp6":
			d.LocalAddr = &net.UDPAddr{IP: ip, Port: int(laddr.Port()), Zone: laddr.Addr().Zone()}
		default:
			d.LocalAddr = &net.TCPAddr{IP: ip, Port: int(laddr.Port()), Zone: laddr.Addr().Zone()}
		}
	}
	return d.DialContext(ctx, network, raddr.String())
}

// Ping implements Net with an ICMP socket of the kernel's: an unprivileged ping socket
// where the sysctl net.ipv4.ping_group_range lets the process's group open one, else a raw
// socket, which needs CAP_NET_RAW. Without either it fails at once, saying so. Requests go
// out once a second until one is answered or ctx ends. (Linux only.)
func (KernelNet) Ping(ctx context.Context, laddr, raddr netip.Addr) error {
	return kernelPing(ctx, laddr, raddr)
}
