package netstack

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/uvs-lb/uvs/packet"
)

// ErrUnresolved is returned (wrapped) by SendIP when the link address of a unicast next hop is
// not known yet: SendIP has asked for it (ARP or neighbor discovery), so sending again a
// little later succeeds once the neighbor answers.
var ErrUnresolved = errors.New("netstack: next hop not resolved yet")

// SendIP sends one IP packet of protocol proto carrying payload out of NIC nic: it builds the
// Ethernet and IPv4 or IPv6 header (no options, no extension headers: IPv4 TOS and IPv6 traffic
// class 0, IPv4 without DF) with TTL or hop limit ttl, and writes the frame to the NIC's port
// as the host's stack does (Port.Write is safe beside the port loop's writes). The payload
// goes as it is: a checksum it carries is the caller's to compute (with the pseudo-header of
// src and dst where the protocol wants one: packet.PseudoHeaderChecksum4/6).
//
// src and dst must be of one family. An invalid src is the NIC's first address of dst's
// family, for IPv6 its link-local address (LinkLocal) when dst is link-local or multicast.
// The frame goes to the group's MAC for a multicast dst (01:00:5e:…, 33:33:…), to broadcast
// for 255.255.255.255 or the broadcast address of one of the NIC's IPv4 prefixes, and else to
// the MAC of the next hop: dst itself, or the gateway of the host's route to dst when that
// route leaves by nic. An unresolved next hop starts its resolution and returns an error that
// wraps ErrUnresolved. srcMAC is the frame's source; the zero MAC is the port's.
//
// The packet must fit the NIC's MTU: nothing is fragmented. SendIP needs a running host.
func (h *Host) SendIP(nic int, src, dst netip.Addr, proto, ttl uint8, payload []byte, srcMAC [6]byte) error {
	if uint(nic) >= uint(len(h.links)) {
		return fmt.Errorf("netstack: send: no NIC %d", nic)
	}
	l := h.links[nic]
	src, dst = src.Unmap().WithZone(""), dst.Unmap().WithZone("")
	if !src.IsValid() && dst.IsValid() {
		src = h.defaultSource(nic, dst)
	}
	switch {
	case !dst.IsValid() || dst.IsUnspecified():
		return fmt.Errorf("netstack: send: no destination address")
	case !src.IsValid():
		return fmt.Errorf("netstack: send to %s: NIC %s has no address of its family", dst, l.port.Name())
	case src.Is4() != dst.Is4():
		return fmt.Errorf("netstack: send from %s to %s: addresses of two families", src, dst)
	case src.IsMulticast():
		return fmt.Errorf("netstack: send from %s: a multicast source", src)
	case srcMAC[0]&1 != 0:
		return fmt.Errorf("netstack: send from MAC %x: not a unicast MAC", srcMAC)
	}
	hdr := packet.IPv6Len
	if dst.Is4() {
		hdr = packet.IPv4MinLen
	}
	if size := hdr + len(payload); size > int(l.MTU()) {
		return fmt.Errorf("netstack: send to %s: a %d-byte packet exceeds the MTU of %s (%d)", dst, size, l.port.Name(), l.MTU())
	}
	if _, err := h.liveStack(); err != nil {
		return err
	}
	dstMAC, err := h.nextHopMAC(nic, dst)
	if err != nil {
		return err
	}
	if srcMAC == ([6]byte{}) {
		srcMAC = l.mac
	}

	b := make([]byte, l.headroom+max(packet.EthernetLen+hdr+len(payload), minFrame))
	f := b[l.headroom:]
	n := packet.EthernetLen
	if dst.Is4() {
		packet.PutEthernet(f, dstMAC, srcMAC, packet.EtherTypeIPv4)
		ip := packet.IPv4(f[n : n+hdr])
		ip.SetHeaderLength(packet.IPv4MinLen)
		ip.SetTotalLength(uint16(hdr + len(payload)))
		ip.SetID(uint16(h.ipID.Add(1)))
		ip.SetTTL(ttl)
		ip.SetProtocol(proto)
		ip.SetSrc(src.As4())
		ip.SetDst(dst.As4())
		ip.SetChecksum(ip.ComputeChecksum())
	} else {
		packet.PutEthernet(f, dstMAC, srcMAC, packet.EtherTypeIPv6)
		ip := packet.IPv6(f[n : n+hdr])
		ip.SetVersionClassFlow(0, 0)
		ip.SetPayloadLength(uint16(len(payload)))
		ip.SetNextHeader(proto)
		ip.SetHopLimit(ttl)
		ip.SetSrc(src.As16())
		ip.SetDst(dst.As16())
	}
	n += hdr + copy(f[n+hdr:], payload)
	n = max(n, minFrame) // padded: the buffer is zero beyond the packet
	if sent, err := l.port.Write([][]byte{b}, []int{n}, l.headroom); sent == 0 {
		l.txDropped.Add(1)
		if err == nil {
			err = errors.New("the port refused the frame")
		}
		return fmt.Errorf("netstack: send to %s on %s: %w", dst, l.port.Name(), err)
	}
	return nil
}

// defaultSource is the source SendIP takes for dst on NIC nic when none is given.
func (h *Host) defaultSource(nic int, dst netip.Addr) netip.Addr {
	if dst.Is6() && (dst.IsLinkLocalUnicast() || dst.IsMulticast()) {
		return h.LinkLocal(nic)
	}
	for _, p := range h.cfg.NICs[nic].Addrs {
		if a := p.Addr(); a.Is4() == dst.Is4() && !a.IsLinkLocalUnicast() {
			return a
		}
	}
	if dst.Is6() {
		return h.LinkLocal(nic)
	}
	return netip.Addr{}
}

// nextHopMAC returns the MAC a packet to dst leaving by NIC nic goes to, or starts resolving
// the next hop and returns an error wrapping ErrUnresolved.
func (h *Host) nextHopMAC(nic int, dst netip.Addr) ([6]byte, error) {
	if dst.IsMulticast() {
		return multicastMAC(dst), nil
	}
	if dst.Is4() && h.isBroadcast(nic, dst) {
		return broadcastMAC, nil
	}
	hop := dst
	if !dst.IsLinkLocalUnicast() {
		if rnic, gw, ok := h.routes.lookup(dst); ok && rnic == nic {
			hop = gw
		}
	}
	if mac, ok := h.neigh.Lookup(nic, hop); ok {
		return mac, nil
	}
	h.neigh.Resolve(nic, hop)
	return [6]byte{}, fmt.Errorf("netstack: send to %s: %w: %s on %s", dst, ErrUnresolved, hop, h.links[nic].port.Name())
}

// isBroadcast reports whether dst is the limited broadcast address or the broadcast address
// of one of NIC nic's IPv4 prefixes.
func (h *Host) isBroadcast(nic int, dst netip.Addr) bool {
	if dst == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
		return true
	}
	for _, p := range h.cfg.NICs[nic].Addrs {
		if !p.Addr().Is4() || p.Bits() >= 31 || !p.Contains(dst) {
			continue
		}
		a, mask := p.Addr().As4(), uint32(1)<<(32-p.Bits())-1
		v := (uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])) | mask
		if dst == netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}) {
			return true
		}
	}
	return false
}

// multicastMAC is the Ethernet group address of an IP multicast group (RFC 1112 6.4,
// RFC 2464 7).
func multicastMAC(group netip.Addr) [6]byte {
	if group.Is4() {
		a := group.As4()
		return [6]byte{0x01, 0x00, 0x5e, a[1] & 0x7f, a[2], a[3]}
	}
	a := group.As16()
	return [6]byte{0x33, 0x33, a[12], a[13], a[14], a[15]}
}

// LinkLocal returns the IPv6 link-local address of NIC nic: the first fe80::/10 address of
// its configured addresses, or else the one the host adds to every NIC when it starts, made
// from the port's MAC (modified EUI-64, RFC 4291 appendix A: fe80::ff:fe in the middle, the
// universal/local bit flipped). It is what the host sends its link-scoped IPv6 from (VRRP
// version 3 adverts, by RFC 5798 5.1.2.1). It is the invalid address for an unknown NIC.
func (h *Host) LinkLocal(nic int) netip.Addr {
	if uint(nic) >= uint(len(h.links)) {
		return netip.Addr{}
	}
	a, _ := h.linkLocal(nic)
	return a
}

// linkLocal returns NIC nic's link-local address and whether it is configured (else it is
// made from the MAC).
func (h *Host) linkLocal(nic int) (netip.Addr, bool) {
	for _, p := range h.cfg.NICs[nic].Addrs {
		if a := p.Addr(); a.Is6() && a.IsLinkLocalUnicast() {
			return a, true
		}
	}
	m := h.links[nic].mac
	return netip.AddrFrom16([16]byte{0: 0xfe, 1: 0x80,
		8: m[0] ^ 0x02, 9: m[1], 10: m[2], 11: 0xff, 12: 0xfe, 13: m[3], 14: m[4], 15: m[5]}), false
}
