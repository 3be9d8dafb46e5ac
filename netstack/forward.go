package netstack

import (
	"net/netip"

	"github.com/uvs-lb/uvs/lb"
	"github.com/uvs-lb/uvs/netstack/afpacket/vnet"
	"github.com/uvs-lb/uvs/packet"
)

// forward sends on the frame in slot, which the engine decided to forward: the method's
// Forwarder rewrites it in place, then the loop routes it and sets its Ethernet header.
//
// Routing: the next hop of the rewritten destination address is the address itself when a
// port's prefix holds it, or else the gateway of the longest matching route; for direct
// routing (DR), whose frames keep the VIP as destination, it is the real server. The next
// hop's MAC comes from the host's neighbor snapshot; one not resolved yet is asked for and
// the frame dropped (lb.DropNoNeighbor), as a router without a hold queue does. The first
// packet of a flow to a new neighbor is lost and retransmitted by its sender; in service the
// health checks have resolved the real servers long before.
//
// VLAN: a port is one untagged segment (the host speaks untagged on it), so a tag on a
// forwarded frame is removed; its VLAN means nothing on the egress port.
func (l *loop) forward(slot int, p *packet.Packet, v *lb.Verdict, now int64) {
	c := &l.batch
	f := l.dp.fwd[v.Method]
	if f == nil {
		c.loopDrop(DropNoForwarder)
		return
	}
	buf := l.bufs[slot]
	var hdr vnet.Hdr
	if l.in.vnet {
		hdr = vnet.Decode(buf[l.off-vnet.Len : l.off]) // a forwarder growing the frame overwrites it
	}
	if e := l.dp.encap[v.Method]; e != nil {
		if !l.fitsEncapsulated(slot, p, v, e, hdr, now) {
			return
		}
		if hdr.IsGSO() {
			// No virtio-net GSO type describes IP in IP or GUE: cut the super-frame here
			// and encapsulate each segment.
			l.count(l.forwardSegments(buf[:l.off+p.Len], p, hdr, -1, func(seg []byte, sp *packet.Packet) lb.DropReason {
				return l.forwardFrame(f, seg, l.off, -1, sp, v, vnet.Hdr{}, now)
			}))
			return
		}
	}
	l.count(l.forwardFrame(f, buf, l.off, slot, p, v, hdr, now))
}

// count counts the fate of one received frame that was to be forwarded.
func (l *loop) count(r lb.DropReason) {
	if r == lb.DropNone {
		l.batch.forwarded++
	} else {
		l.batch.drop(r)
	}
}

// forwardFrame has f rewrite the frame at buf[off:off+p.Len], routes it, sets its Ethernet
// header and queues it on the egress port. slot is the receive slot it came in (for an ICMP
// time exceeded), or -1 for a segment the loop cut. It returns why the frame was not sent, or
// lb.DropNone; the caller counts.
func (l *loop) forwardFrame(f lb.Forwarder, buf []byte, off, slot int, p *packet.Packet, v *lb.Verdict, hdr vnet.Hdr, now int64) lb.DropReason {
	start, size, reason := f.Forward(buf, off, p, v)
	if reason != lb.DropNone {
		if reason == lb.DropTTLExceeded && slot >= 0 {
			l.timeExceeded(slot, p, now) // the forwarder leaves such a frame untouched
		}
		return reason
	}
	if start < off-EncapHeadroom || size < packet.EthernetLen || start+size > len(buf) {
		return lb.DropForwarder // a frame out of its buffer's bounds: a forwarder bug
	}
	frame := buf[start : start+size]
	l3, dst := destination(frame, v)
	if !dst.IsValid() {
		return lb.DropForwarder
	}
	nic, hop, ok := l.dp.host.routes.lookup(dst)
	if !ok || v.Method == lb.MethodDR && hop != dst {
		// Direct routing reaches only servers on a connected network: the frame keeps the
		// VIP as its destination, so no gateway could pass it on.
		return lb.DropNoRoute
	}
	mac, ok := l.dp.host.neigh.Lookup(nic, hop)
	if !ok {
		l.dp.host.neigh.Resolve(nic, hop)
		return lb.DropNoNeighbor
	}
	if l3 > packet.EthernetLen { // strip the tag: the inner EtherType already sits where the new header ends
		start += packet.VLANTagLen
		size -= packet.VLANTagLen
	}
	out := &l.dp.ports[nic]
	gso := l.in.vnet && hdr.IsGSO()
	eth := packet.Ethernet(buf[start : start+packet.EthernetLen])
	eth.SetDst(mac)
	eth.SetSrc(out.mac)
	if size-packet.EthernetLen > out.mtu && !(gso && out.vnet) {
		if !gso {
			return lb.DropTooBig
		}
		// A super-frame for a port that takes no GSO: cut it, each segment already
		// rewritten and addressed.
		var sp packet.Packet
		if packet.Parse(buf[start:start+size], &sp) != nil {
			return lb.DropTooBig
		}
		return l.forwardSegments(buf[:start+size], &sp, hdr, start, func(seg []byte, _ *packet.Packet) lb.DropReason {
			if len(seg)-l.off-packet.EthernetLen > out.mtu {
				return lb.DropTooBig
			}
			if out.vnet {
				clear(seg[l.off-vnet.Len : l.off])
			}
			l.send(nic, seg, l.off, len(seg)-l.off)
			return lb.DropNone
		})
	}
	if out.vnet {
		l.putVNetHdr(buf, start, hdr)
	}
	l.send(nic, buf, start, size)
	return lb.DropNone
}

// forwardSegments cuts the GSO super-frame buf[start:] (parsed into p; start < 0 means l.off)
// into segments of hdr.GSOSize payload bytes in the loop's segment buffers, and hands each,
// parsed, to send. The super-frame is one received frame: it counts as forwarded when any
// segment went out; each refused segment's reason is counted, without counting a frame
// dropped. It returns lb.DropNone, or the reason no segment went out.
func (l *loop) forwardSegments(buf []byte, p *packet.Packet, hdr vnet.Hdr, start int, send func(seg []byte, p *packet.Packet) lb.DropReason) lb.DropReason {
	if start < 0 {
		start = l.off
	}
	frame := buf[start:]
	mss := int(hdr.GSOSize)
	n := packet.SegmentCount(p, mss)
	if n == 0 || n > len(l.segs) {
		return lb.DropTooBig
	}
	if l.segUsed+n > len(l.segs) {
		l.flush() // every queued segment is written: the buffers are free again
	}
	bufs, sizes := l.segs[l.segUsed:l.segUsed+n], l.segSizes[:n]
	var err error
	switch hdr.GSOType &^ vnet.GSOECN {
	case vnet.GSOTCPv4, vnet.GSOTCPv6:
		_, err = packet.SegmentTCP(frame, p, mss, bufs, l.off, sizes)
	case vnet.GSOUDPL4:
		_, err = packet.SegmentUDP(frame, p, mss, bufs, l.off, sizes)
	default: // UFO (IP fragmentation) is not offered to the kernel's peers
		return lb.DropTooBig
	}
	if err != nil {
		return lb.DropTooBig
	}
	l.segUsed += n
	l.batch.segmented++
	last, sent := lb.DropNone, false
	for i, b := range bufs {
		seg := b[:l.off+sizes[i]]
		if err := packet.Parse(seg[l.off:], &l.segPkt); err != nil {
			last = lb.DropMalformed
		} else {
			last = send(seg, &l.segPkt)
		}
		if last == lb.DropNone {
			sent = true
		} else {
			l.batch.count(last)
		}
	}
	if sent {
		return lb.DropNone
	}
	return last
}

// destination returns where a forwarded frame goes: its IP destination, or the real server for
// DR, and the offset of its IP header. The address is invalid when the frame is not IP.
func destination(frame []byte, v *lb.Verdict) (l3 int, dst netip.Addr) {
	l3 = packet.EthernetLen
	et := packet.Ethernet(frame).EtherType()
	if et == packet.EtherTypeVLAN && len(frame) >= packet.EthernetLen+packet.VLANTagLen {
		et = packet.Ethernet(frame).InnerEtherType()
		l3 += packet.VLANTagLen
	}
	if v.Method == lb.MethodDR && v.Dir == lb.DirIn {
		return l3, packet.AddrFrom(v.Conn.Family, &v.Conn.DAddr)
	}
	switch {
	case et == packet.EtherTypeIPv4 && len(frame) >= l3+packet.IPv4MinLen:
		return l3, netip.AddrFrom4([4]byte(frame[l3+16 : l3+20]))
	case et == packet.EtherTypeIPv6 && len(frame) >= l3+packet.IPv6Len:
		return l3, netip.AddrFrom16([16]byte(frame[l3+24 : l3+40]))
	}
	return l3, netip.Addr{}
}

// putVNetHdr writes the virtio-net header an egress port with offloads expects in front of
// the frame at start: the one the frame arrived with, its offsets moved by as much as the
// frame's start moved (a stripped tag, an added outer header), or a zero header (no offload
// asked) when the ingress port has none.
func (l *loop) putVNetHdr(buf []byte, start int, h vnet.Hdr) {
	dst := buf[start-vnet.Len : start]
	if !l.in.vnet {
		clear(dst)
		return
	}
	if shift := l.off - start; shift != 0 {
		if h.HdrLen != 0 {
			h.HdrLen = uint16(int(h.HdrLen) + shift)
		}
		if h.Flags&vnet.FlagNeedsCsum != 0 {
			h.CsumStart = uint16(int(h.CsumStart) + shift)
		}
	}
	h.Encode(dst)
}

// fitsEncapsulated checks, before an Encapsulator grows the frame in slot, that the packet
// still fits the MTU of the port its outer header leaves by (for a GSO super-frame, each
// segment must fit). A packet that does not is dropped as too_big; when it may not be
// fragmented (IPv4 with DF, any IPv6) the client gets ICMP fragmentation needed / packet too
// big with the MTU that leaves room for the outer header, so its path MTU to the VIP shrinks
// to what the tunnel carries (IPVS does the same in ip_vs_tunnel_xmit). An IPv4 packet without
// DF is not fragmented here: the outer packet would need fragmenting and the real server
// reassembling, a cost and a failure mode (lost fragments, reassembly limits) that TCP avoids
// anyway by always setting DF; such packets are counted as too_big.
func (l *loop) fitsEncapsulated(slot int, p *packet.Packet, v *lb.Verdict, e lb.Encapsulator, hdr vnet.Hdr, now int64) bool {
	grow, dst, ok := e.Overhead(v)
	if !ok {
		return true // Forward refuses it and says why
	}
	nic, _, ok := l.dp.host.routes.lookup(dst)
	if !ok {
		l.batch.drop(lb.DropNoRoute)
		return false
	}
	mtu := l.dp.ports[nic].mtu
	size := p.IPLen
	if l.in.vnet && hdr.IsGSO() && p.PayloadOff > 0 {
		size = p.PayloadOff - p.L3Off + int(hdr.GSOSize) // each segment's IP packet
	}
	if size+grow <= mtu {
		return true
	}
	l.batch.drop(lb.DropTooBig)
	df := p.Key.Family == packet.FamilyIPv6 ||
		packet.IPv4(l.bufs[slot][l.off+p.L3Off:l.off+p.L3End()]).DF()
	if df && !v.ICMPError && mtu-grow >= minMTU(p.Key.Family) {
		l.tooBig(slot, p, now, mtu-grow)
	}
	return false
}

// minMTU is the least MTU a path may have (RFC 791 68 bytes; RFC 8200 1280 bytes): a tunnel
// that leaves less is not announced to the client, whose packets are dropped instead.
func minMTU(f packet.Family) int {
	if f == packet.FamilyIPv6 {
		return 1280
	}
	return 68
}
