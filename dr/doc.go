// Package dr is the lb.Forwarder for IPVS's direct routing (lb.MethodDR, `ipvsadm -g`), over
// IPv4 and IPv6.
//
// Direct routing rewrites nothing in the IP packet: the frame is sent on, still addressed to
// the VIP, to the MAC address of the chosen real server, which holds the VIP itself (Linux: on
// lo, with arp_ignore=1 and arp_announce=2, so it never answers ARP for it) and replies to the
// client directly. The forwarder only checks that the verdict is one it can carry out; the
// port loop sets the MACs after routing: the destination is the real server's (resolved
// through the netstack's neighbor table), the source the egress port's. The real server must
// therefore be on a directly connected network, and the packet keeps its ports: both are
// configuration errors otherwise, as in IPVS, and a real server the routes reach only through
// a gateway is dropped as no_route at run time.
//
// As IPVS (which forwards from LOCAL_IN, not as a router), the TTL is not decremented: the
// packet was addressed to the appliance's VIP and leaves for a host that holds the same VIP.
//
// ICMP errors about a connection reach the appliance when a router on the reply path (real
// server → client) sends them to the reply's source, the VIP; they are sent on unchanged to the
// connection's real server, whose stack sees an error about its own reply (path MTU discovery
// keeps working through the appliance).
//
// Since the appliance never sees the replies, connections follow IPVS's INPUT_ONLY TCP state
// table (the engine's choice for lb.Method.InputOnly methods), and nothing here keeps state.
package dr
