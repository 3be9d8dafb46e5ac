package nat

import (
	"github.com/uvs-lb/uvs/lb"
	"github.com/uvs-lb/uvs/lb/conntab"
	"github.com/uvs-lb/uvs/packet"
)

// dropTTLExceeded is returned for a packet whose TTL or hop limit would reach 0, so the port
// loop can answer with an ICMP time exceeded.
const dropTTLExceeded = lb.DropTTLExceeded

// Forwarder rewrites frames of NAT and full-NAT connections. It has no state: the Verdict's
// connection carries every endpoint, so one Forwarder serves every port loop at once.
type Forwarder struct{}

// New returns a Forwarder.
func New() *Forwarder { return &Forwarder{} }

var _ lb.Forwarder = (*Forwarder)(nil)

// Forward translates the frame buf[off:off+p.Len] in place for v's connection and direction
// (see the package comment), decrements its TTL or hop limit, and keeps every checksum and
// p itself up to date. The frame keeps its place and length. It returns lb.DropForwarder,
// with the frame untouched, for a verdict it cannot carry out (another method, a full-NAT
// connection without a local endpoint, a family or ICMP-error mismatch between v and p),
// and, also untouched, the TTL-exceeded reason for a packet whose TTL is 0 or 1.
func (f *Forwarder) Forward(buf []byte, off int, p *packet.Packet, v *lb.Verdict) (newOff, newLen int, reason lb.DropReason) {
	if off < 0 || p.Len < 0 || off > len(buf)-p.Len {
		return off, p.Len, lb.DropForwarder
	}
	t, ok := plan(p, v)
	if !ok {
		return off, p.Len, lb.DropForwarder
	}
	frame := buf[off : off+p.Len]
	if !packet.DecrementTTL(frame, p) {
		return off, p.Len, dropTTLExceeded
	}
	if err := t.apply(frame, p, v.ICMPError); err != nil {
		// plan checked everything the packet helpers check, so this is a bug, not traffic.
		return off, p.Len, lb.DropForwarder
	}
	return off, p.Len, lb.DropNone
}

// translation is what a packet's source and destination become; a nil address keeps that
// endpoint as it is.
type translation struct {
	src, dst endpoint
}

// endpoint is an address in packet.FlowKey's array form and a port.
type endpoint struct {
	addr *[16]byte
	port uint16
}

// plan checks that v is a verdict this forwarder can apply to p and returns its translation
// (the one for p's own header; an ICMP error's quote gets its inverse). The connection's
// FlagFullNAT, which says its local endpoint is set, is what makes it full-NAT: a
// MethodFullNAT verdict without it is refused rather than sent from the zero address.
func plan(p *packet.Packet, v *lb.Verdict) (translation, bool) {
	c := &v.Conn
	full := c.Flags&conntab.FlagFullNAT != 0
	switch {
	case v.Method != lb.MethodNAT && v.Method != lb.MethodFullNAT,
		// A full-NAT verdict without a local endpoint would send the packet from L = 0.
		v.Method == lb.MethodFullNAT && !full,
		p.Key.Family != packet.FamilyIPv4 && p.Key.Family != packet.FamilyIPv6,
		p.Key.Family != c.Family,
		v.ICMPError != p.Has(packet.FlagICMPError),
		v.ICMPError && p.Inner.Key.Family != p.Key.Family:
		return translation{}, false
	}
	var t translation
	switch v.Dir {
	case lb.DirIn:
		t.dst = endpoint{&c.DAddr, c.DPort}
		if full {
			t.src = endpoint{&c.LAddr, c.LPort}
		}
	case lb.DirOut:
		t.src = endpoint{&c.VAddr, c.VPort}
		if full {
			t.dst = endpoint{&c.CAddr, c.CPort}
		}
	default:
		return translation{}, false
	}
	return t, true
}

// apply rewrites the frame with t; for an ICMP error, the outer addresses with t and the
// quote with its inverse.
func (t translation) apply(frame []byte, p *packet.Packet, icmpError bool) error {
	if !icmpError {
		if err := rewrite(frame, p, outerSrc, t.src, p.Key.Proto, p.Key.SrcPort); err != nil {
			return err
		}
		return rewrite(frame, p, outerDst, t.dst, p.Key.Proto, p.Key.DstPort)
	}
	in := &p.Inner.Key
	// The outer header gets addresses only (ICMP has no ports: proto 0 keeps the current).
	if err := rewrite(frame, p, outerSrc, t.src, 0, p.Key.SrcPort); err != nil {
		return err
	}
	if err := rewrite(frame, p, outerDst, t.dst, 0, p.Key.DstPort); err != nil {
		return err
	}
	if err := rewrite(frame, p, innerSrc, t.dst, in.Proto, in.SrcPort); err != nil {
		return err
	}
	return rewrite(frame, p, innerDst, t.src, in.Proto, in.DstPort)
}
