package netstack

import (
	"github.com/uvs-lb/uvs/netstack/port"
	"github.com/uvs-lb/uvs/packet"
)

// ICMP errors the loops originate: port unreachable for a connection no real server can take
// (IPVS's ip_vs_leave), time exceeded for a frame whose TTL ran out here, as a router sends
// it, and fragmentation needed / packet too big for a frame that no longer fits the egress
// MTU once encapsulated. Each is built in place over the frame that caused it and sent back
// out of the port it came in by, to the MAC it came from. They are rate-limited per loop.

// icmpKind is which error a loop sends.
type icmpKind uint8

const (
	icmpPortUnreachable icmpKind = iota
	icmpTimeExceeded
	icmpTooBig
)

// reject answers the frame in slot with an ICMP port unreachable from the address the client
// asked for (the VIP).
func (l *loop) reject(slot int, p *packet.Packet, now int64) {
	var src [16]byte
	copy(src[:], p.Key.Dst[:])
	l.icmpError(slot, p, now, src, icmpPortUnreachable, 0)
}

// tooBig answers the frame in slot with ICMP fragmentation needed (IPv4) or packet too big
// (IPv6) carrying mtu, from the address the client sent to (the VIP), as IPVS does from
// LOCAL_IN: the client's path MTU to the VIP drops to what fits the tunnel.
func (l *loop) tooBig(slot int, p *packet.Packet, now int64, mtu int) {
	var src [16]byte
	copy(src[:], p.Key.Dst[:])
	l.icmpError(slot, p, now, src, icmpTooBig, mtu)
}

// timeExceeded answers the frame in slot with an ICMP time exceeded from the host's address
// on the ingress port.
func (l *loop) timeExceeded(slot int, p *packet.Packet, now int64) {
	var src [16]byte
	switch p.Key.Family {
	case packet.FamilyIPv4:
		if !l.in.src4.IsValid() {
			l.batch.icmpSuppressed()
			return
		}
		a := l.in.src4.As4()
		copy(src[:], a[:])
	case packet.FamilyIPv6:
		if !l.in.src6.IsValid() {
			l.batch.icmpSuppressed()
			return
		}
		src = l.in.src6.As16()
	default:
		return
	}
	l.icmpError(slot, p, now, src, icmpTimeExceeded, 0)
}

func (l *loop) icmpError(slot int, p *packet.Packet, now int64, src [16]byte, kind icmpKind, mtu int) {
	c := &l.batch
	if p.L3Off == 0 || !l.icmp.allow(now) {
		c.icmpSuppressed()
		return
	}
	buf := l.bufs[slot]
	frame := buf[l.off : l.off+p.Len]
	client := packet.Ethernet(frame).Src()
	orig := p.IP(frame)
	out := buf[l.off+packet.EthernetLen:] // over the frame: the builders read orig first
	var n int
	var err error
	et := packet.EtherTypeIPv4
	v4 := p.Key.Family == packet.FamilyIPv4
	if !v4 {
		et = packet.EtherTypeIPv6
	}
	switch {
	case v4 && kind == icmpTimeExceeded:
		n, err = packet.BuildICMPv4TimeExceeded(out, [4]byte(src[:4]), orig)
	case v4 && kind == icmpTooBig:
		n, err = packet.BuildICMPv4FragNeeded(out, [4]byte(src[:4]), uint16(mtu), orig)
	case v4:
		n, err = packet.BuildICMPv4DestUnreachable(out, [4]byte(src[:4]), packet.ICMPv4PortUnreachable, orig)
	case kind == icmpTimeExceeded:
		n, err = packet.BuildICMPv6TimeExceeded(out, src, orig)
	case kind == icmpTooBig:
		n, err = packet.BuildICMPv6PacketTooBig(out, src, uint32(mtu), orig)
	default:
		n, err = packet.BuildICMPv6DestUnreachable(out, src, packet.ICMPv6PortUnreachable, orig)
	}
	if err != nil {
		c.icmpSuppressed()
		return
	}
	packet.PutEthernet(buf[l.off:], client, l.in.mac, et)
	if l.in.vnet {
		clear(buf[l.off-port.VNetHdrLen : l.off]) // a small new frame: no offload
	}
	l.send(l.nic, buf, l.off, packet.EthernetLen+n)
}

// tokenBucket limits a rate of events on the loop's clock (nanoseconds). Tokens are counted
// in billionths so that refilling needs no division.
type tokenBucket struct {
	rate, burst int64 // events per second; most saved up
	tokens      int64 // in units of 1e-9 event
	last        int64
}

const nano = 1_000_000_000

func (b *tokenBucket) allow(now int64) bool {
	elapsed := now - b.last
	b.last = now
	if full := b.burst * nano / b.rate; elapsed > full {
		elapsed = full // also keeps elapsed*rate from overflowing
	} else if elapsed < 0 {
		elapsed = 0
	}
	b.tokens = min(b.tokens+elapsed*b.rate, b.burst*nano)
	if b.tokens < nano {
		return false
	}
	b.tokens -= nano
	return true
}
