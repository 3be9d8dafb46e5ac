// Package nat is the lb.Forwarder for IPVS's masquerading (lb.MethodNAT, `ipvsadm -m`) and
// for full-NAT (lb.MethodFullNAT), over IPv4 and IPv6. It rewrites addresses and ports in
// place, decrements the TTL as a router must, and leaves the Ethernet header to the port loop,
// which sets the MACs after routing.
//
// NAT and full-NAT. With NAT the appliance rewrites only the destination of inbound packets
// (VIP:vport → real server) and only the source of replies (real server → VIP:vport), so the
// real servers see the client's own address: logs, ACLs and rate limits work unchanged. The
// price is routing: every reply must come back through the appliance to be un-NATed, so the
// appliance has to be the real servers' default gateway (or policy route), and the servers
// must sit on networks the appliance routes. Full-NAT also rewrites the source of inbound
// packets to a local address of the appliance (client → LAddr:LPort) and the destination of
// replies back (LAddr:LPort → client), so a real server talks only to the appliance: it needs
// no route back through it and may be anywhere the appliance can reach, across routers. The
// price is that a real server sees the appliance's local address instead of the client's, and
// each connection holds a local port from a finite pool.
//
// Mapping, with C the client, V the virtual service, D the real server and L the local
// (full-NAT) endpoint of the connection:
//
//	DirIn   C → V  becomes  C → D  (NAT)
//	        C → V  becomes  L → D  (full-NAT)
//	DirOut  D → C  becomes  V → C  (NAT)
//	        D → L  becomes  V → C  (full-NAT)
//
// ICMP errors. An error belongs to the connection of the packet it quotes, which travelled
// the other way, so its outer header gets the address rewrite of its own direction and the
// quote gets the inverse (the endpoint the outer destination moves to is the one the quoted
// source moves to, and so on). The outer header gets addresses only: an error has no ports.
// As IPVS does (ip_vs_nat_icmp), the outer source of an error travelling to the client
// becomes the VIP whoever sent it, the real server or a router behind it: the inside network
// stays hidden and the client sees an error from the address it talked to.
// For full-NAT, as the Alibaba FULLNAT patch does, the outer source of an error travelling
// to a real server becomes the local address: the server may have no route to the router
// that sent it, which is the point of full-NAT. Concretely:
//
//	            outer (addresses)          quote (addresses and ports)
//	NAT in      dst V → D                  src V:vport → D:dport
//	NAT out     src → V                    dst D:dport → V:vport
//	full in     dst V → D, src → L         src V:vport → D:dport, dst C:cport → L:lport
//	full out    src → V, dst L → C         dst D:dport → V:vport, src L:lport → C:cport
//
// Unlike IPVS, which leaves the quoted TCP or UDP checksum stale, package packet keeps every
// checksum the quote holds right, and the error's own, incrementally.
//
// All checksum math is package packet's; this package only decides what goes where.
package nat
