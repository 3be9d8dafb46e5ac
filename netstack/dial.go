package netstack

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
	"gvisor.dev/gvisor/pkg/waiter"
)

// The host's sockets, as the standard library's interfaces, for health checks, management
// and tests. Addresses are literal IPs: the host has no resolver. Dial errors carry the errno
// a kernel socket would report (errors.Is(err, syscall.ECONNREFUSED)), so that callers read
// both alike; reads and writes on the connections report gVisor's errors as gonet does (a UDP
// read returns "connection was refused" as soon as an ICMP port unreachable comes back, as a
// kernel socket's read does).

// DialContext connects to address ("10.0.0.1:80", "[2001:db8::1]:53") over network ("tcp",
// "tcp4", "tcp6", "udp", "udp4", "udp6") from the host, with the source address the host's
// routes choose.
func (h *Host) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	ap, err := parseAddrPort(network, address)
	if err != nil {
		return nil, err
	}
	return h.DialFrom(ctx, network, netip.AddrPort{}, ap)
}

// DialFrom connects to raddr over network ("tcp", "tcp4", "tcp6", "udp", "udp4", "udp6")
// from laddr: a zero or unspecified address lets the host's routes choose the source address,
// a zero port lets the host choose the source port (keepalived's bindto and bind_port). The
// source address must be one of the host's (an address, a hidden address or a VIP), of
// raddr's family. A TCP dial returns when the connection is established or refused, or when
// ctx ends; a UDP dial only binds and connects the socket, as the kernel's does.
func (h *Host) DialFrom(ctx context.Context, network string, laddr, raddr netip.AddrPort) (net.Conn, error) {
	raddr, laddr = unmapAddrPort(raddr), unmapAddrPort(laddr)
	if err := checkDial(network, laddr, raddr); err != nil {
		return nil, err
	}
	s, err := h.liveStack()
	if err != nil {
		return nil, &net.OpError{Op: "dial", Net: network, Err: err}
	}
	if network[:3] == "tcp" {
		return dialTCP(ctx, s, network, laddr, raddr)
	}
	return dialUDP(s, network, laddr, raddr)
}

// checkDial rejects a network the host has no sockets for and addresses of the wrong family.
func checkDial(network string, laddr, raddr netip.AddrPort) error {
	fail := func(err error) error { return &net.OpError{Op: "dial", Net: network, Err: err} }
	switch network {
	case "tcp", "udp", "tcp4", "udp4", "tcp6", "udp6":
	default:
		return fail(net.UnknownNetworkError(network))
	}
	if !raddr.Addr().IsValid() {
		return fail(errors.New("netstack: no destination address"))
	}
	switch suffix := network[3:]; {
	case suffix == "4" && !raddr.Addr().Is4():
		return fail(fmt.Errorf("netstack: %s is not an IPv4 address", raddr.Addr()))
	case suffix == "6" && !raddr.Addr().Is6():
		return fail(fmt.Errorf("netstack: %s is not an IPv6 address", raddr.Addr()))
	}
	if la := laddr.Addr(); la.IsValid() && !la.IsUnspecified() && la.Is4() != raddr.Addr().Is4() {
		return fail(fmt.Errorf("netstack: source %s and destination %s are of different families", la, raddr.Addr()))
	}
	return nil
}

// bindsTo reports whether a dial from laddr binds its socket first.
func bindsTo(laddr netip.AddrPort) bool {
	return (laddr.Addr().IsValid() && !laddr.Addr().IsUnspecified()) || laddr.Port() != 0
}

func dialTCP(ctx context.Context, s *stack.Stack, network string, laddr, raddr netip.AddrPort) (net.Conn, error) {
	fail := func(err error) (net.Conn, error) {
		return nil, &net.OpError{Op: "dial", Net: network, Source: tcpAddr(laddr), Addr: net.TCPAddrFromAddrPort(raddr), Err: err}
	}
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	var wq waiter.Queue
	ep, terr := s.NewEndpoint(tcp.ProtocolNumber, protocolOf(raddr.Addr()), &wq)
	if terr != nil {
		return fail(errnoOf(terr))
	}
	if bindsTo(laddr) {
		if terr := ep.Bind(bindAddress(laddr)); terr != nil {
			ep.Close()
			return fail(errnoOf(terr))
		}
	}
	entry, writable := waiter.NewChannelEntry(waiter.WritableEvents)
	wq.EventRegister(&entry)
	defer wq.EventUnregister(&entry)
	terr = ep.Connect(toFullAddress(raddr))
	if _, started := terr.(*tcpip.ErrConnectStarted); started {
		select {
		case <-ctx.Done():
			// Abort, not Close: a closed connecting endpoint keeps retransmitting its SYN,
			// and would complete (and then close) a connection nobody waits for.
			ep.Abort()
			return fail(ctx.Err())
		case <-writable:
		}
		terr = ep.LastError()
	}
	if terr != nil {
		ep.Close()
		return fail(errnoOf(terr))
	}
	return &tcpConn{TCPConn: gonet.NewTCPConn(&wq, ep), ep: ep}, nil
}

// tcpConn is a TCP connection the host dialled: a net.Conn that can also be closed with a
// reset.
type tcpConn struct {
	*gonet.TCPConn
	ep tcpip.Endpoint
}

// Abort closes the connection with a reset instead of a FIN (SO_LINGER 0), so that nothing
// stays in TIME_WAIT: a health check that opens a connection a second to each of 1,000
// servers would otherwise hold some 60,000 of them, about 5 KiB each in gVisor. HAProxy's
// checks close the same way.
func (c *tcpConn) Abort() error {
	c.ep.SocketOptions().SetLinger(tcpip.LingerOption{Enabled: true, Timeout: 0})
	return c.TCPConn.Close()
}

func dialUDP(s *stack.Stack, network string, laddr, raddr netip.AddrPort) (net.Conn, error) {
	fail := func(err error) (net.Conn, error) {
		return nil, &net.OpError{Op: "dial", Net: network, Source: udpAddr(laddr), Addr: net.UDPAddrFromAddrPort(raddr), Err: err}
	}
	var wq waiter.Queue
	ep, terr := s.NewEndpoint(udp.ProtocolNumber, protocolOf(raddr.Addr()), &wq)
	if terr != nil {
		return fail(errnoOf(terr))
	}
	if bindsTo(laddr) {
		if terr := ep.Bind(bindAddress(laddr)); terr != nil {
			ep.Close()
			return fail(errnoOf(terr))
		}
	}
	if terr := ep.Connect(toFullAddress(raddr)); terr != nil {
		ep.Close()
		return fail(errnoOf(terr))
	}
	// An ICMP unreachable for a connected socket leaves an error on the endpoint that the
	// next read returns ("connection was refused"), but gonet wakes a blocked read on
	// readable events only, not on errors: relay the error as readable, so that a pending
	// read returns it at once, as a kernel socket's does. (Not from inside Notify, which
	// holds the queue's lock.)
	relay := waiter.NewFunctionEntry(waiter.EventErr, func(waiter.EventMask) { go wq.Notify(waiter.EventIn) })
	wq.EventRegister(&relay)
	return gonet.NewUDPConn(&wq, ep), nil
}

// bindAddress is laddr as a socket binds it: no address when it has none, or the unspecified.
func bindAddress(laddr netip.AddrPort) tcpip.FullAddress {
	if !laddr.Addr().IsValid() {
		return tcpip.FullAddress{Port: laddr.Port()}
	}
	return toFullAddress(laddr)
}

func tcpAddr(ap netip.AddrPort) net.Addr {
	if !bindsTo(ap) {
		return nil
	}
	return net.TCPAddrFromAddrPort(ap)
}

func udpAddr(ap netip.AddrPort) net.Addr {
	if !bindsTo(ap) {
		return nil
	}
	return net.UDPAddrFromAddrPort(ap)
}

// errnoOf returns the errno a kernel socket reports where gVisor reports err, or err's text.
func errnoOf(err tcpip.Error) error {
	switch err.(type) {
	case *tcpip.ErrConnectionRefused:
		return syscall.ECONNREFUSED
	case *tcpip.ErrConnectionReset:
		return syscall.ECONNRESET
	case *tcpip.ErrConnectionAborted, *tcpip.ErrAborted:
		return syscall.ECONNABORTED
	case *tcpip.ErrTimeout:
		return syscall.ETIMEDOUT
	case *tcpip.ErrHostUnreachable:
		return syscall.EHOSTUNREACH
	case *tcpip.ErrHostDown:
		return syscall.EHOSTDOWN
	case *tcpip.ErrNetworkUnreachable, *tcpip.ErrNoNet:
		return syscall.ENETUNREACH
	case *tcpip.ErrPortInUse, *tcpip.ErrNoPortAvailable:
		return syscall.EADDRINUSE
	case *tcpip.ErrBadLocalAddress:
		return syscall.EADDRNOTAVAIL
	}
	return errors.New(err.String())
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
