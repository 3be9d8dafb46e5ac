package netstack

import (
	"fmt"
	"sync"

	"github.com/uvs-lb/uvs/packet"
)

// Protocols the host carries itself, beside the stack: VRRP (112) for one. The stack knows no
// such protocol, so it would answer a unicast packet of it with an ICMP protocol unreachable
// (and drop a multicast one); a registered handler takes the packets of its protocol off the
// receive path instead, before the stack sees them, and sends with Host.SendIP.

// ProtocolHandler receives the IPv4 and IPv6 packets of one IP protocol that reach a NIC of
// the host (HandleProtocol). frame is the whole Ethernet frame, p its parse (addresses in
// p.Key, TTL or hop limit in p.TTL, the IP header at p.L3Off), and payload the protocol's
// bytes: the IP payload after the IPv4 header or the IPv6 extension headers, without link
// padding.
//
// A handler runs in the goroutine that receives the frame: a port loop of the Dataplane, or
// the port's reader of a standalone host. It must return quickly (the port waits for it) and
// must not keep frame, p or payload, which are reused as soon as it returns: it copies what it
// keeps (to hand it to a goroutine of its own, say). It may be called for several NICs at once.
// It may call SendIP.
type ProtocolHandler func(nic int, frame []byte, p *packet.Packet, payload []byte)

// protoTable holds the handlers by IP protocol. It is replaced, never changed, once published.
type protoTable [256]ProtocolHandler

// HandleProtocol makes fn receive the IPv4 and IPv6 packets of IP protocol proto that reach
// the host's NICs while it runs, instead of the stack; nil gives the protocol back to the
// stack. It may be called at any time, before Start too.
//
// fn sees every untagged, unfragmented packet of the protocol whose frame is for the NIC (to
// the port's MAC, one added with AddMAC, broadcast or multicast), whatever its destination
// address: to filter by address (a multicast group, the host's own) is fn's business. Frames
// of the protocol that fail those checks, fragments and IPv4 packets with a bad header
// checksum, are dropped and counted (NICStats.ProtocolDropped); the stack never sees them.
// What fn receives is counted in NICStats.ProtocolHandled.
//
// The protocols the stack speaks itself (ICMP, TCP, UDP, ICMPv6) and the IPv6 extension
// headers cannot be taken. With no handler registered, the receive path costs one atomic load
// per frame more, and allocates nothing either way.
func (h *Host) HandleProtocol(proto uint8, fn ProtocolHandler) error {
	switch proto {
	case packet.ProtoICMP, packet.ProtoTCP, packet.ProtoUDP, packet.ProtoICMPv6,
		packet.ProtoHopByHop, packet.ProtoRouting, packet.ProtoFragment, packet.ProtoESP,
		packet.ProtoAH, packet.ProtoNoNext, packet.ProtoDstOpts:
		return fmt.Errorf("netstack: IP protocol %d is the stack's or an IPv6 extension header: it cannot be handled", proto)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	var t protoTable
	if cur := h.protos.Load(); cur != nil {
		t = *cur
	}
	t[proto] = fn
	for _, f := range t {
		if f != nil {
			h.protos.Store(&t)
			return nil
		}
	}
	h.protos.Store(nil) // no handler: the receive path skips the lookup
	return nil
}

// packets are the parses of frames on their way to a handler: a handler gets a pointer, which
// escapes, so it cannot live on the receive path's stack; a pool keeps that path free of
// allocation.
var packets = sync.Pool{New: func() any { return new(packet.Packet) }}

// divert hands frame to the handler of its IP protocol in t, if there is one, and reports
// whether it took the frame (handled or dropped): then the stack must not see it.
func (l *link) divert(t *protoTable, frame []byte) bool {
	var proto uint8
	switch packet.Ethernet(frame).EtherType() {
	case packet.EtherTypeIPv4:
		if len(frame) < packet.EthernetLen+packet.IPv4MinLen {
			return false
		}
		proto = frame[packet.EthernetLen+9]
	case packet.EtherTypeIPv6:
		if len(frame) < packet.EthernetLen+packet.IPv6Len {
			return false
		}
		proto = frame[ipv6NextOff]
	default:
		return false // ARP, VLAN tags (which the stack drops too)...
	}
	if t[proto] == nil && !isIPv6Ext(proto) {
		return false
	}
	p := packets.Get().(*packet.Packet)
	defer packets.Put(p)
	if packet.Parse(frame, p) != nil {
		return false // malformed: the stack drops it and counts it as such
	}
	fn := t[p.Key.Proto]
	if fn == nil {
		return false
	}
	payload, ok := ipPayload(frame, p)
	if !ok || !l.forNIC(frame) {
		l.protoDropped.Add(1)
		return true
	}
	fn(l.nic, frame, p, payload)
	l.protoHandled.Add(1)
	return true
}

// forNIC reports whether frame is addressed to the NIC at the link layer: to the port's MAC,
// an added one, broadcast or multicast.
func (l *link) forNIC(frame []byte) bool {
	dst := [6]byte(frame[0:6])
	return dst[0]&1 != 0 || dst == l.mac || l.acceptsMAC(dst)
}

func isIPv6Ext(proto uint8) bool {
	switch proto {
	case packet.ProtoHopByHop, packet.ProtoRouting, packet.ProtoDstOpts, packet.ProtoFragment, packet.ProtoAH:
		return true
	}
	return false
}

// ipPayload returns the upper-layer payload of the IP packet p parsed from frame, and false
// for what a handler must not get: a fragment, or an IPv4 header whose checksum is wrong.
// Parse has checked every length it crosses.
func ipPayload(frame []byte, p *packet.Packet) ([]byte, bool) {
	if p.Flags&packet.FlagFragment != 0 {
		return nil, false
	}
	end := p.L3End()
	if p.Key.Family == packet.FamilyIPv4 {
		ip := packet.IPv4(frame[p.L3Off:end])
		if !ip.IsChecksumValid() {
			return nil, false
		}
		return frame[p.L3Off+ip.HeaderLength() : end], true
	}
	off, next := p.L3Off+packet.IPv6Len, packet.IPv6(frame[p.L3Off:]).NextHeader()
	for isIPv6Ext(next) && off+2 <= end {
		n := (int(frame[off+1]) + 1) * 8
		if next == packet.ProtoAH {
			n = (int(frame[off+1]) + 2) * 4
		}
		next = frame[off]
		off += n
	}
	if next != p.Key.Proto || off > end {
		return nil, false
	}
	return frame[off:end], true
}
