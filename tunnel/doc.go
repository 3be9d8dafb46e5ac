// Package tunnel is the lb.Forwarder for IPVS's tunnelling method (lb.MethodTUN, `ipvsadm -i`)
// and the receive side of those tunnels, for real servers that have no kernel ipip or fou
// (lab hosts on gVisor, `uvs realserver`).
//
// # Sending (Forwarder)
//
// With TUN the appliance does not rewrite the client's packet at all: it puts an outer IP
// header (and for GUE a UDP and a GUE header) in front of it, addressed from the appliance to
// the real server, which strips it, finds the VIP on one of its own interfaces and answers
// the client directly. The inner packet is sent exactly as it arrived: as IPVS does, its TTL
// is not decremented, so the tunnel looks like one link to it. Every family combination is
// carried: IPv4 in IPv4 (protocol 4), IPv6 in IPv6 (next header 41), IPv4 in IPv6 and IPv6
// in IPv4; the outer family is the real server's, the inner the virtual service's.
//
// The outer header's fields are chosen as follows.
//
//   - TTL / hop limit: copied from the inner packet (as ip_vs_tunnel_xmit does). A packet
//     about to expire expires in the tunnel too, so a routing loop between appliance and
//     server still ends, and traceroute through the tunnel keeps counting.
//   - DSCP and ECN: the inner TOS / traffic class byte is copied whole (RFC 2983 uniform
//     model for DSCP, RFC 6040 normal mode for ECN), so queues on the way treat the tunnel
//     packet as they would have treated the client's, and congestion marks reach the server,
//     which copies them into the inner header when it decapsulates (Decapsulator does).
//   - IPv4 DF: copied from an IPv4 inner packet, set for an IPv6 inner one. A client doing
//     path MTU discovery (DF set, or IPv6, which routers never fragment) must hear about a
//     too-small link rather than have its packets fragmented behind its back; a client that
//     allowed fragmentation (DF clear) gets it on the outer header.
//   - IPv4 ID: the inner IPv4 packet's ID, 0 for an IPv6 inner packet. With DF set the ID has
//     no meaning (RFC 6864, atomic datagrams); with DF clear it is the one a fragmenting
//     router downstream needs, and the client already made it unique for its own flow, which
//     the appliance can do without keeping a counter shared by every port loop.
//   - IPv6 flow label: 20 bits of a hash of the inner flow (RFC 6438), under a fixed seed, so
//     every packet of a connection carries the same label, from every appliance (a backup
//     that takes over keeps the label), and ECMP routers and the server's NIC spread flows by
//     it. A hash of 0 is sent as 1: 0 means "no label".
//   - GUE (draft-ietf-intarea-gue variant 0, what Linux IPVS --tun-type gue sends): a 4-byte
//     header with version 0, C=0, Hlen=0, no flags, and protocol 4 or 41 by the inner family.
//     The UDP destination is the server's port (ipvsadm --tun-port). The UDP source port is
//     the same kind of flow hash mapped into 49152–65535, so a server's NIC, which hashes the
//     outer 5-tuple, spreads the tunnelled flows over its receive queues (RSS) the way it
//     would spread them unencapsulated.
//   - GUE checksum: over IPv4 the UDP checksum is computed only with Csum (--tun-csum) and is
//     0 otherwise (--tun-nocsum, the default): the inner packet carries its own TCP or UDP
//     checksum, the outer IPv4 header has its header checksum, and summing every byte again
//     costs a pass over the packet. Over IPv6 a zero UDP checksum is not allowed (RFC 8200
//     8.1; RFC 6935's exception needs the receiver to opt in), so it is always computed, and a
//     computed 0 is sent as 0xFFFF.
//   - ICMP errors that belong to a connection are encapsulated like its data. Their flow
//     hash (label, GUE source port) is taken from the connection's flow as it quotes it, so
//     they reach the server's queue, and the socket, that the connection's packets reach.
//
// The Ethernet header is new, untagged, with the outer family's EtherType; its MAC addresses
// are left for the port loop, which sets them after routing to the outer destination.
// Forward also keeps the Packet it was given up to date: afterwards it describes the outer
// packet as packet.Parse (and ParseGUE) would, so the port loop routes on p.Key.Dst.
//
// # MTU
//
// Encapsulation makes the packet bigger, and that is the port loop's business, not the
// forwarder's: before Forward it asks Overhead how many bytes the outer headers add and where
// they go, and compares the grown packet with the egress MTU. A packet that does not fit and
// must not be fragmented (IPv4 with DF, or IPv6) is answered with ICMP fragmentation needed
// or ICMPv6 packet too big carrying the reduced MTU (the egress MTU minus Overhead), so the
// client lowers its path MTU and the connection keeps working; as long as the error is sent
// the packet is still the client's, which the error must quote. A non-DF IPv4 packet that does
// not fit is dropped and counted as too_big, not fragmented: the appliance does no
// fragmentation on the fast path (IPVS would fragment the outer packet; uvs prefers a counted
// drop to a slow path, and clients that clear DF are rare).
//
// # Receiving (Decapsulator)
//
// A Decapsulator terminates tunnels addressed to the host's own addresses: IPIP and
// IPv6-in-IP always, GUE on the configured UDP ports (variant 0, optional fields skipped;
// variant 1, direct IPv4 or IPv6). Decap turns a whole Ethernet frame into a frame carrying the
// inner packet, in place, after checking the outer checksums and applying RFC 6040's ECN
// decapsulation rules (a congestion mark on the outer header is copied to an ECN-capable inner
// one). Inner does the same for a payload whose outer IP header a socket already removed.
// Both refuse what a kernel would refuse: fragments, GUE control messages, unknown GUE
// versions, malformed inner packets, and inner destinations that are not this host's VIPs.
//
// All checksum math is package packet's; this package only decides what goes where.
package tunnel
