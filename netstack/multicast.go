package netstack

import (
	"net"
	"net/netip"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
	"gvisor.dev/gvisor/pkg/waiter"
)

// Multicast UDP, for the IPVS connection-sync channel (224.0.0.81:8848 by default): a socket
// that joins a group on one NIC and receives what is sent to it, and one that sends to a
// group out of one NIC with a given TTL.

// ListenMulticastUDP joins group (an IPv4 or IPv6 multicast address) on NIC nic and returns
// a socket bound to group's address and port that receives the datagrams sent to it.
func (h *Host) ListenMulticastUDP(nic int, group netip.AddrPort) (net.PacketConn, error) {
	fail := func(err error) (net.PacketConn, error) {
		return nil, &net.OpError{Op: "listen", Net: "udp", Addr: net.UDPAddrFromAddrPort(group), Err: err}
	}
	group = unmapAddrPort(group)
	if !group.Addr().IsMulticast() {
		return fail(errNotMulticast)
	}
	s, err := h.liveStack()
	if err != nil {
		return fail(err)
	}
	var wq waiter.Queue
	ep, terr := s.NewEndpoint(udp.ProtocolNumber, protocolOf(group.Addr()), &wq)
	if terr != nil {
		return fail(stackError("endpoint", terr))
	}
	ep.SocketOptions().SetReuseAddress(true)
	ep.SocketOptions().SetV6Only(group.Addr().Is6())
	if terr := ep.Bind(toFullAddress(group)); terr != nil {
		ep.Close()
		return fail(stackError("bind", terr))
	}
	join := tcpip.AddMembershipOption{NIC: nicID(nic), MulticastAddr: toTCPIP(group.Addr())}
	if terr := ep.SetSockOpt(&join); terr != nil {
		ep.Close()
		return fail(stackError("join", terr))
	}
	return gonet.NewUDPConn(&wq, ep), nil
}

// DialMulticastUDP returns a socket that sends to group out of NIC nic from src (an address
// of the host on that NIC, of group's family; its port 0 lets the host choose), with the
// given multicast TTL / hop limit (IPVS's sync uses 1), and does not hear its own datagrams.
func (h *Host) DialMulticastUDP(nic int, src, group netip.AddrPort, ttl uint8) (net.Conn, error) {
	fail := func(err error) (net.Conn, error) {
		return nil, &net.OpError{Op: "dial", Net: "udp", Source: udpAddr(src), Addr: net.UDPAddrFromAddrPort(group), Err: err}
	}
	src, group = unmapAddrPort(src), unmapAddrPort(group)
	if !group.Addr().IsMulticast() {
		return fail(errNotMulticast)
	}
	s, err := h.liveStack()
	if err != nil {
		return fail(err)
	}
	var wq waiter.Queue
	ep, terr := s.NewEndpoint(udp.ProtocolNumber, protocolOf(group.Addr()), &wq)
	if terr != nil {
		return fail(stackError("endpoint", terr))
	}
	opts := []func() tcpip.Error{
		func() tcpip.Error { return ep.SetSockOptInt(tcpip.MulticastTTLOption, int(ttl)) },
		func() tcpip.Error {
			if group.Addr().Is6() {
				return ep.SetSockOptInt(tcpip.IPv6MulticastInterfaceOption, int(nicID(nic)))
			}
			return ep.SetSockOpt(&tcpip.MulticastInterfaceOption{NIC: nicID(nic), InterfaceAddr: toTCPIP(src.Addr())})
		},
		func() tcpip.Error { ep.SocketOptions().SetMulticastLoop(false); return nil },
		func() tcpip.Error { return ep.Bind(toFullAddress(src)) },
		func() tcpip.Error { return ep.Connect(toFullAddress(group)) },
	}
	for _, o := range opts {
		if terr := o(); terr != nil {
			ep.Close()
			return fail(errnoOf(terr))
		}
	}
	return gonet.NewUDPConn(&wq, ep), nil
}

var errNotMulticast = errorString("netstack: not a multicast address")

type errorString string

func (e errorString) Error() string { return string(e) }
