package lb

import (
	"net/netip"

	"github.com/uvs-lb/uvs/lb/conntab"
	"github.com/uvs-lb/uvs/packet"
)

// Method is a forwarding method, as IPVS names them in `ipvsadm -L` ("Masq", "Route", ...).
type Method uint8

const (
	MethodNAT     Method = iota + 1 // masquerading: DNAT in, un-NAT of replies (ipvsadm -m)
	MethodDR                        // direct routing: rewrite MACs only (ipvsadm -g)
	MethodTUN                       // IP-in-IP / GUE tunnelling (ipvsadm -i)
	MethodFullNAT                   // NAT plus SNAT to a local pool: replies need no route back
	numMethods
)

var methodNames = [numMethods]string{"", "Masq", "Route", "Tunnel", "FullNat"}

func (m Method) String() string {
	if m < numMethods && m > 0 {
		return methodNames[m]
	}
	return "unknown"
}

// InputOnly reports whether replies bypass the appliance for this method (DR, TUN), which
// selects IPVS's INPUT_ONLY TCP state table and means no reply key is kept.
func (m Method) InputOnly() bool { return m == MethodDR || m == MethodTUN }

// Action is what the port loop does with a frame.
type Action uint8

const (
	ActPass    Action = iota // hand the frame to the appliance's host stack untouched
	ActForward               // rewrite with the Verdict's method and send it on
	ActDrop                  // drop it; Reason says why (counted, never logged per packet)
	ActReject                // drop it and answer the client with ICMP port unreachable (IPVS ip_vs_leave)
)

var actionNames = [...]string{"pass", "forward", "drop", "reject"}

func (a Action) String() string {
	if int(a) < len(actionNames) {
		return actionNames[a]
	}
	return "unknown"
}

// DropReason says why a frame was dropped or rejected. Counted per reason by each Worker.
type DropReason uint8

const (
	DropNone        DropReason = iota
	DropMalformed              // the frame did not parse
	DropFragment               // an IP fragment for a virtual service (no reassembly yet)
	DropNoServer               // no real server could take a new connection (rejected)
	DropTableFull              // the connection table is at capacity
	DropNoDest                 // the connection's real server left and expire_nodest_conn is on
	DropForwarder              // the forwarder refused the frame (e.g. no route, MTU)
	DropNoLocalPort            // full-NAT: no free local port in the pool
	DropTTLExceeded            // TTL / hop limit would reach 0 when forwarded
	DropNoNeighbor             // the next hop's MAC is not resolved (resolution started)
	DropNoRoute                // no route to the destination
	DropTooBig                 // larger than the egress MTU and not allowed to fragment
	DropDefense                // drop_packet: a new connection shed while the table is under pressure
	NumDropReasons
)

var dropNames = [NumDropReasons]string{"none", "malformed", "fragment", "no_server", "table_full", "no_dest", "forwarder", "no_local_port", "ttl_exceeded", "no_neighbor", "no_route", "too_big", "drop_packet"}

func (r DropReason) String() string {
	if r < NumDropReasons {
		return dropNames[r]
	}
	return "unknown"
}

// Dir is the direction of a forwarded frame: DirIn client → real server, DirOut reply.
type Dir = conntab.Dir

const (
	DirIn  = conntab.DirIn
	DirOut = conntab.DirOut
)

// Verdict is the engine's decision for one frame.
type Verdict struct {
	Action Action
	Reason DropReason // for ActDrop and ActReject
	Method Method     // for ActForward
	Dir    Dir        // for ActForward
	// ICMPError is set when the frame is an ICMP error that belongs to Conn: the forwarder
	// translates the embedded header too.
	ICMPError bool
	// Conn is the connection the frame belongs to: client, virtual, real and (full-NAT) local
	// endpoints, which is everything a forwarder needs to rewrite the frame. For one-packet
	// scheduling it describes a connection that was never inserted (Conn.Self == 0).
	Conn conntab.Conn
	// Tunnel is the real server's tunnel for MethodTUN (nil otherwise): it lives in the
	// immutable Table, so a verdict carries a pointer rather than a copy.
	Tunnel *TunnelEnds
}

// TunnelType is how TUN packets are encapsulated (ipvsadm --tun-type).
type TunnelType uint8

const (
	TunnelIPIP TunnelType = iota // IP in IP: IPv4 or IPv6 inner behind an IPv4 or IPv6 outer header
	TunnelGUE                    // Generic UDP Encapsulation (draft-ietf-intarea-gue, variant 0)
	numTunnelTypes
)

var tunnelNames = [numTunnelTypes]string{"ipip", "gue"}

func (t TunnelType) String() string {
	if t < numTunnelTypes {
		return tunnelNames[t]
	}
	return "unknown"
}

// Tunnel configures a TUN real server's encapsulation (ipvsadm --tun-type, --tun-port,
// --tun-nocsum / --tun-csum).
type Tunnel struct {
	Type TunnelType
	// Port is the real server's GUE UDP port (ipvsadm --tun-port); GUE needs one.
	Port uint16
	// Csum asks for a UDP checksum on a GUE outer header over IPv4 (--tun-csum); without it
	// the checksum is 0, as --tun-nocsum. An IPv6 outer UDP header always has one.
	Csum bool
	// Source is the outer header's source: the appliance's own address, of the server's
	// family, on its way to the server. Required.
	Source netip.Addr
}

// TunnelEnds is one TUN server's tunnel as the forwarders use it, compiled once per Table.
type TunnelEnds struct {
	Type     TunnelType
	Port     uint16
	Csum     bool
	Family   packet.Family // the outer header's: the real server's family
	Src, Dst [16]byte      // outer source and destination (the server), in packet.FlowKey form
}

// Encapsulator is a Forwarder that puts an outer header in front of the packet (TUN). The
// port loop asks it, before Forward, what the outer header adds and where it goes, so that a
// packet which would no longer fit the egress MTU is answered with ICMP fragmentation needed
// or packet too big (carrying the reduced MTU) while it is still the client's packet.
type Encapsulator interface {
	Forwarder
	// Overhead returns how many bytes Forward would add in front of the IP packet of
	// verdict v, and the outer destination; ok is false when Forward would refuse v.
	Overhead(v *Verdict) (n int, dst netip.Addr, ok bool)
}

// Forwarder rewrites a frame the engine decided to forward, in place. nat, dr and tunnel
// implement it. buf[off:off+p.Len] is the frame; buf[:off] is headroom an encapsulating
// forwarder may grow into. It returns the new frame bounds, or a drop reason other than
// DropNone. Forward is called from many port loops at once and must not allocate.
type Forwarder interface {
	Forward(buf []byte, off int, p *packet.Packet, v *Verdict) (newOff, newLen int, reason DropReason)
}
