package netstack

import (
	"context"
	"fmt"
	"net"
	"net/netip"

	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
	"gvisor.dev/gvisor/pkg/waiter"
)

// The host's sockets, as the standard library's interfaces, for health checks, management
// and tests. Addresses are literal IPs: the host has no resolver.

// DialContext connects to address ("10.0.0.1:80", "[2001:db8::1]:53") over network ("tcp",
// "tcp4", "tcp6", "udp", "udp4", "udp6") from the host, with the source address the host's
// routes choose.
func (h *Host) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	ap, err := parseAddrPort(network, address)
	if err != nil {
		return nil, err
	}
	s, err := h.liveStack()
	if err != nil {
		return nil, &net.OpError{Op: "dial", Net: network, Err: err}
	}
	fa := toFullAddress(ap)
	switch network {
	case "tcp", "tcp4", "tcp6":
		c, err := gonet.DialContextTCP(ctx, s, fa, protocolOf(ap.Addr()))
		if err != nil {
			return nil, err
		}
		return c, nil
	default:
		c, err := gonet.DialUDP(s, nil, &fa, protocolOf(ap.Addr()))
		if err != nil {
			return nil, err
		}
		return c, nil
	}
}

// ListenTCP listens for TCP connections on addr; an unspecified address (0.0.0.0, ::) listens
// on every address of its family. IPv6 sockets are IPv6 only (IPV6_V6ONLY), so a dual-stack
// server listens on 0.0.0.0 and :: with one port.
func (h *Host) ListenTCP(addr netip.AddrPort) (net.Listener, error) {
	s, err := h.liveStack()
	if err != nil {
		return nil, &net.OpError{Op: "listen", Net: "tcp", Err: err}
	}
	addr = unmapAddrPort(addr)
	// SO_REUSEADDR, as servers set it: a service restarted on its port must not wait for
	// the previous instance's connections to leave TIME_WAIT.
	var wq waiter.Queue
	ep, terr := s.NewEndpoint(tcp.ProtocolNumber, protocolOf(addr.Addr()), &wq)
	if terr != nil {
		return nil, &net.OpError{Op: "listen", Net: "tcp", Err: stackError("endpoint", terr)}
	}
	ep.SocketOptions().SetReuseAddress(true)
	ep.SocketOptions().SetV6Only(addr.Addr().Is6())
	if terr := ep.Bind(toFullAddress(addr)); terr != nil {
		ep.Close()
		return nil, &net.OpError{Op: "listen", Net: "tcp", Addr: net.TCPAddrFromAddrPort(addr), Err: stackError("bind", terr)}
	}
	if terr := ep.Listen(listenBacklog); terr != nil {
		ep.Close()
		return nil, &net.OpError{Op: "listen", Net: "tcp", Addr: net.TCPAddrFromAddrPort(addr), Err: stackError("listen", terr)}
	}
	return gonet.NewTCPListener(s, &wq, ep), nil
}

// listenBacklog is the accept queue of listeners, as net.Listen's default on Linux.
const listenBacklog = 4096

// ListenUDP opens a UDP socket on addr; an unspecified address (0.0.0.0, ::) receives on
// every address of its family. IPv6 sockets are IPv6 only, as ListenTCP's.
func (h *Host) ListenUDP(addr netip.AddrPort) (net.PacketConn, error) {
	s, err := h.liveStack()
	if err != nil {
		return nil, &net.OpError{Op: "listen", Net: "udp", Err: err}
	}
	addr = unmapAddrPort(addr)
	var wq waiter.Queue
	ep, terr := s.NewEndpoint(udp.ProtocolNumber, protocolOf(addr.Addr()), &wq)
	if terr != nil {
		return nil, &net.OpError{Op: "listen", Net: "udp", Err: stackError("endpoint", terr)}
	}
	ep.SocketOptions().SetV6Only(addr.Addr().Is6())
	if terr := ep.Bind(toFullAddress(addr)); terr != nil {
		ep.Close()
		return nil, &net.OpError{Op: "listen", Net: "udp", Addr: net.UDPAddrFromAddrPort(addr), Err: stackError("bind", terr)}
	}
	return gonet.NewUDPConn(&wq, ep), nil
}

func parseAddrPort(network, address string) (netip.AddrPort, error) {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return ap, &net.OpError{Op: "dial", Net: network, Err: fmt.Errorf("netstack: address %q is not IP:port (the host has no resolver): %w", address, err)}
	}
	ap = unmapAddrPort(ap)
	want4 := ap.Addr().Is4()
	switch network {
	case "tcp", "udp":
	case "tcp4", "udp4":
		if !want4 {
			return ap, &net.OpError{Op: "dial", Net: network, Err: fmt.Errorf("netstack: %s is not an IPv4 address", ap.Addr())}
		}
	case "tcp6", "udp6":
		if want4 {
			return ap, &net.OpError{Op: "dial", Net: network, Err: fmt.Errorf("netstack: %s is not an IPv6 address", ap.Addr())}
		}
	default:
		return ap, &net.OpError{Op: "dial", Net: network, Err: net.UnknownNetworkError(network)}
	}
	return ap, nil
}

func unmapAddrPort(ap netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}
