// Package netstack moves frames between the appliance's ports, the load-balancing engine and
// the appliance's own host.
//
// # The data path
//
// A Dataplane runs one loop per port, each in its own goroutine with its own lb.Worker and
// buffers allocated once. A loop blocks in Port.Read until a batch of raw Ethernet frames
// arrives (it never polls), reads the engine's time once (lb.Engine.Now), and offers the
// whole batch to the engine (Worker.Process), which returns a verdict per frame:
//
//   - forward: the Forwarder of the verdict's method (nat, dr, tunnel) rewrites the frame in
//     place; the loop routes it (on-link destination, or the gateway of the longest matching
//     route; the real server for DR), takes the next hop's MAC from the neighbor snapshot,
//     writes the Ethernet header (next hop's MAC, egress port's MAC, any VLAN tag removed:
//     a port is one untagged segment) and queues it for the egress port. An unresolved next
//     hop starts resolution and the frame is dropped (lb.DropNoNeighbor); the sender
//     retransmits, and in service health checks have resolved the real servers long before.
//   - pass: the frame goes to the Host (Host.Deliver), untouched: ARP, neighbor discovery,
//     ICMP echo, the host's own connections, and what reaches a VIP on no virtual service,
//     which the host answers as any host would (TCP RST, ICMP port unreachable).
//   - reject: the loop answers with an ICMP port unreachable from the VIP, built over the
//     frame, back out of the port it came in by; ICMP errors are rate-limited per loop.
//   - drop: counted by reason, never logged.
//
// After the batch, each egress port gets one Write with everything queued for it. No frame
// is copied on the way through, nothing is allocated per frame, and a frame costs no system
// call beyond its share of the batched Read and Write (see TestForwardBatchDoesNotAllocate
// and BenchmarkDataplaneForward). Frames whose destination MAC is neither the port's,
// broadcast nor multicast are dropped before the engine sees them, as a NIC filters them.
//
// # Why forwarded traffic never enters gVisor
//
// gVisor's stack could forward, but measured on this project a packet through its forwarding
// path costs about 13 µs, against about 1 µs through a batched loop that rewrites in place.
// So the stack is the appliance's host only, beside the data path: it owns the addresses
// and VIPs, resolves neighbors, carries health checks, VRRP, sync and management, and sees
// only what the engine passes. The forwarding loops use what the host learns without calling
// it: Neighbors publishes the stack's neighbor cache as an immutable per-NIC table behind an
// atomic pointer, replaced on every change the stack reports (its NUD dispatcher), so a
// lookup takes no lock and does not allocate.
//
// # The host
//
// Host is a gVisor stack (IPv4, IPv6, ARP, NDP, ICMP, TCP, UDP) with one NIC per port,
// addresses and routes from HostConfig, and a link endpoint of its own: frames come in by
// Deliver and go out by Port.Write, with no queue or goroutine in between. AddVIP puts a
// virtual address on its NIC and announces it (gratuitous ARP, unsolicited neighbor
// advertisement): a neighbor that cached a failed resolution, or the previous owner's MAC,
// keeps sending elsewhere until told. DialContext, ListenTCP and ListenUDP give the host's
// sockets as net.Conn, net.Listener and net.PacketConn; no gVisor type crosses this
// package's API, and gVisor's errors become errors here. A standalone Host reads its ports
// itself: a plain host such as a lab client or real server.
//
// # Real servers for direct routing and tunnelling
//
// A DR or TUN real server holds the VIP itself and answers the client from it directly, yet
// must never answer ARP or neighbor solicitations for it nor announce it, or the router would
// send the VIP's traffic to it rather than to the appliance (Linux: the VIP on lo,
// arp_ignore=1, arp_announce=2). NICConfig.Hidden gives a host such addresses. gVisor has no
// per-address switch for this, so the NIC's link endpoint does it on the wire: received ARP
// requests and neighbor solicitations for a hidden address are dropped before the stack sees
// them, and the stack's own ARP requests and solicitations that would go out from a hidden
// address (gVisor takes their sender from the packet that needs the resolution: a reply from
// the VIP) are rewritten to come from the NIC's own address, the ICMPv6 checksum updated in
// place. The stack runs no duplicate address detection and sends no announcement by itself;
// the host announces its addresses and VIPs, never hidden ones. NICConfig.Ingress is a hook
// that sees each received frame before the stack and may rewrite it in place or drop it: a
// lab real server decapsulates TUN packets there (package tunnel's Decapsulator, which this
// package does not import). Host.Stats counts what the filters dropped and rewrote. Neither
// costs anything on a NIC that does not use it, and neither allocates.
//
// # Protocols beside the stack, and further MACs
//
// The host carries protocols gVisor does not know, VRRP (IP protocol 112) first, without
// a raw socket. HandleProtocol registers a handler for an IP protocol: the link takes the
// protocol's packets off the receive path, after the ingress hook and hidden-address filter
// and before the stack, which would answer them with ICMP protocol unreachable, and hands
// them, parsed, to the handler in the receiving goroutine (which must copy what it keeps).
// SendIP builds an IPv4 or IPv6 packet around a payload, with the TTL asked for, and writes
// it to the NIC's port as the stack does: to the group's MAC for multicast, else to the next
// hop's MAC from the neighbor snapshot (starting resolution and returning ErrUnresolved while
// it is unknown). Every NIC has an IPv6 link-local address (LinkLocal): the configured one,
// or one made from the port's MAC, which the stack answers neighbor solicitations for.
//
// AddMAC makes a NIC accept frames to a further unicast MAC (a VRRP virtual MAC): the loops
// forward and pass them as frames to the port's MAC, at no cost to frames to the port's MAC.
// SetVIPMAC gives an address such a MAC: the link rewrites the stack's ARP and neighbor
// discovery for it and the Ethernet source of what it sends from it, and the host announces
// it at that MAC; AnnounceFrom announces at a MAC chosen at the call.
//
// # Ports own their interfaces
//
// A port takes its interface whole: the kernel must hold no address on it, or the kernel and
// the host would both answer on one link.
//
// # Goroutines and their owners
//
// New and NewHost start nothing. Dataplane.Start starts the host and one goroutine per port;
// Dataplane.Close closes the ports (which ends every Read), waits for the loops, then closes
// the host. Host.Start starts the resolver goroutine, which starts the link-address
// resolutions the loops ask for (at most one per address per HostConfig.ResolveEvery, so a
// loop never waits on the stack), and for a standalone host one reader per port;
// Host.Close stops and waits for them and tears the stack down, whose own goroutines stop
// with it. Cancelling the context given to Start stops the goroutines as Close does; Close
// must still be called.
package netstack
