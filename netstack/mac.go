package netstack

import (
	"fmt"
	"net/netip"
	"slices"

	"github.com/uvs-lb/uvs/packet"
)

// Further MAC addresses of a NIC: what keepalived's use_vmac gives a virtual router (the
// virtual MAC 00-00-5E-00-01-{VRID}, IPv6 00-00-5E-00-02-{VRID}, on a macvlan interface).
//
//   - AddMAC makes the NIC accept frames to another unicast MAC beside the port's: the
//     Dataplane's loops forward and pass them as frames to the port's MAC, and a standalone
//     host's protocol handlers take them.
//   - SetVIPMAC gives an address a MAC of its own: the host's ARP replies and requests,
//     neighbor advertisements and solicitations for or from the address carry it (the link
//     rewrites them on their way to the port, as a macvlan interface holding the address
//     would send them), every frame the host sends from the address leaves with it as its
//     Ethernet source, and the host announces the address at it (AddVIP, Announce).
//   - AnnounceFrom announces an address at a MAC chosen at the call.
//
// Frames the Dataplane's loops build themselves (forwarded frames, their ICMP errors) leave
// with the port's MAC as before. The port must let the frames in: an AF_PACKET port on an
// interface that filters destination MACs in hardware needs to be promiscuous for an added
// MAC (and for multicast groups it did not join).

// linkMACs is a NIC's snapshot of its further MACs, published behind link.macs (nil when it
// has none): read without a lock by the receive and transmit paths.
type linkMACs struct {
	accept [][6]byte // AddMAC's, in order
	v4     []addrMAC4
	v6     []addrMAC6
}

type addrMAC4 struct {
	ip  [4]byte
	mac [6]byte
}

type addrMAC6 struct {
	ip  [16]byte
	mac [6]byte
}

// AddMAC makes NIC nic accept frames to mac, a unicast MAC other than the port's, as it
// accepts frames to the port's own (see the package documentation of further MACs). Adding a
// MAC the NIC accepts already does nothing.
func (h *Host) AddMAC(nic int, mac [6]byte) error {
	if err := h.checkMAC(nic, mac); err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.state == hostClosed {
		return errNotRunning
	}
	if !slices.Contains(h.macs[nic], mac) {
		h.macs[nic] = append(h.macs[nic], mac)
		h.publishMACs(nic)
	}
	return nil
}

// RemoveMAC stops NIC nic accepting frames to mac. Removing a MAC it does not accept is not
// an error.
func (h *Host) RemoveMAC(nic int, mac [6]byte) error {
	if uint(nic) >= uint(len(h.links)) {
		return fmt.Errorf("netstack: no NIC %d", nic)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if i := slices.Index(h.macs[nic], mac); i >= 0 {
		h.macs[nic] = slices.Delete(h.macs[nic], i, i+1)
		h.publishMACs(nic)
	}
	return nil
}

// MACs returns the MACs NIC nic accepts besides the port's (AddMAC), in the order added.
func (h *Host) MACs(nic int) [][6]byte {
	if uint(nic) >= uint(len(h.links)) {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.macs[nic])
}

// SetVIPMAC makes the host give addr the link address mac instead of the port's: in its ARP
// and neighbor discovery messages, as the Ethernet source of what it sends from addr, and in
// its announcements of addr (AddVIP, Announce). The zero MAC gives addr the port's MAC back.
// addr need not be a VIP yet: the setting holds from now on, whether the host owns the
// address or not, and announces nothing by itself. mac should be one the NIC accepts
// (AddMAC), or the answers would send addr's traffic where the NIC does not take it.
func (h *Host) SetVIPMAC(addr netip.Addr, mac [6]byte) error {
	addr = addr.Unmap()
	nic, err := h.vipNIC(addr)
	if err != nil {
		return err
	}
	if mac != ([6]byte{}) {
		if err := h.checkMAC(nic, mac); err != nil {
			return err
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.state == hostClosed {
		return errNotRunning
	}
	if mac == ([6]byte{}) {
		delete(h.vipMACs, addr)
	} else {
		h.vipMACs[addr] = mac
	}
	h.publishMACs(nic)
	return nil
}

// AnnounceFrom sends a gratuitous ARP (IPv4) or unsolicited neighbor advertisement (IPv6)
// for a VIP the host owns, telling its neighbors that addr is at mac (the zero MAC: the
// port's). Announce announces at the MAC SetVIPMAC gave addr.
func (h *Host) AnnounceFrom(addr netip.Addr, mac [6]byte) error {
	addr = addr.Unmap()
	h.mu.Lock()
	defer h.mu.Unlock()
	nic, ok := h.vips[addr]
	if !ok {
		return fmt.Errorf("netstack: announce %s: not a VIP of this host", addr)
	}
	if h.state != hostStarted {
		return errNotRunning
	}
	if mac == ([6]byte{}) {
		mac = h.links[nic].mac
	} else if mac[0]&1 != 0 {
		return fmt.Errorf("netstack: announce %s at %x: not a unicast MAC", addr, mac)
	}
	return h.announceAt(nic, addr, mac)
}

// checkMAC checks that mac may be a further MAC of NIC nic.
func (h *Host) checkMAC(nic int, mac [6]byte) error {
	switch {
	case uint(nic) >= uint(len(h.links)):
		return fmt.Errorf("netstack: no NIC %d", nic)
	case mac == [6]byte{} || mac[0]&1 != 0:
		return fmt.Errorf("netstack: %x is not a unicast MAC", mac)
	case mac == h.links[nic].mac:
		return fmt.Errorf("netstack: %x is the port's own MAC", mac)
	}
	return nil
}

// addrMAC returns the MAC the host gives addr on NIC nic: SetVIPMAC's, or the port's.
// h.mu is held.
func (h *Host) addrMAC(nic int, addr netip.Addr) [6]byte {
	if mac, ok := h.vipMACs[addr]; ok {
		return mac
	}
	return h.links[nic].mac
}

// publishMACs replaces NIC nic's snapshot. h.mu is held.
func (h *Host) publishMACs(nic int) {
	m := &linkMACs{accept: slices.Clone(h.macs[nic])}
	for a, mac := range h.vipMACs {
		if n, err := h.vipNIC(a); err != nil || n != nic {
			continue
		}
		if a.Is4() {
			m.v4 = append(m.v4, addrMAC4{a.As4(), mac})
		} else {
			m.v6 = append(m.v6, addrMAC6{a.As16(), mac})
		}
	}
	if len(m.accept) == 0 && len(m.v4) == 0 && len(m.v6) == 0 {
		m = nil
	}
	h.links[nic].macs.Store(m)
}

// acceptsMAC reports whether dst is one of the NIC's further MACs. It takes no lock and does
// not allocate: the port loops call it for frames to a MAC other than the port's.
func (l *link) acceptsMAC(dst [6]byte) bool {
	m := l.macs.Load()
	if m == nil {
		return false
	}
	for i := range m.accept {
		if m.accept[i] == dst {
			return true
		}
	}
	return false
}

func (m *linkMACs) mac4(ip [4]byte) ([6]byte, bool) {
	for i := range m.v4 {
		if m.v4[i].ip == ip {
			return m.v4[i].mac, true
		}
	}
	return [6]byte{}, false
}

func (m *linkMACs) mac6(ip [16]byte) ([6]byte, bool) {
	for i := range m.v6 {
		if m.v6[i].ip == ip {
			return m.v6[i].mac, true
		}
	}
	return [6]byte{}, false
}

// NDP message types and options the rewrite reads.
const (
	ndpOptSourceLL = 1
	ndpOptsOff     = ndpOff + 24 // the options of a solicitation or advertisement
)

// rewrite gives a frame the stack sends the MAC of the address it is from (SetVIPMAC):
// an ARP packet whose sender is such an address gets it as sender and Ethernet source; an
// IPv6 neighbor solicitation from one, or advertisement of one, gets it in its link-layer
// address option too (the ICMPv6 checksum recomputed); any other IP packet from one gets it as
// Ethernet source. It reports whether it changed f, and allocates nothing.
func (m *linkMACs) rewrite(f []byte) bool {
	if len(m.v4) == 0 && len(m.v6) == 0 || len(f) < packet.EthernetLen {
		return false
	}
	eth := packet.Ethernet(f)
	switch eth.EtherType() {
	case packet.EtherTypeARP:
		if len(f) < arpMinFrame || len(m.v4) == 0 {
			return false
		}
		a := packet.ARP(f[arpOff:])
		mac, ok := m.mac4(a.SenderIP())
		if !ok || !a.IsEthernetIPv4() {
			return false
		}
		a.SetSenderMAC(mac)
		eth.SetSrc(mac)
		return true
	case packet.EtherTypeIPv4:
		if len(f) < packet.EthernetLen+packet.IPv4MinLen || len(m.v4) == 0 {
			return false
		}
		mac, ok := m.mac4(packet.IPv4(f[packet.EthernetLen:]).Src())
		if ok {
			eth.SetSrc(mac)
		}
		return ok
	case packet.EtherTypeIPv6:
		if len(f) < packet.EthernetLen+packet.IPv6Len || len(m.v6) == 0 {
			return false
		}
		ip := packet.IPv6(f[packet.EthernetLen:])
		if isNS(f) || isAdvert(f) {
			return m.rewriteNDP(f)
		}
		mac, ok := m.mac6(ip.Src())
		if ok {
			eth.SetSrc(mac)
		}
		return ok
	}
	return false
}

// isAdvert reports whether f is a neighbor advertisement right behind the IPv6 header.
func isAdvert(f []byte) bool {
	return len(f) >= ndpMinFrame && f[ipv6NextOff] == packet.ProtoICMPv6 && f[ndpOff] == ndpNeighborAdvert
}

// rewriteNDP rewrites a neighbor solicitation from, or advertisement of, an address with a
// MAC of its own: its Ethernet source and its source (target) link-layer address option.
func (m *linkMACs) rewriteNDP(f []byte) bool {
	ip := packet.IPv6(f[packet.EthernetLen:])
	end := packet.EthernetLen + packet.IPv6Len + int(ip.PayloadLength())
	if end > len(f) {
		return false
	}
	addr, opt := ip.Src(), uint8(ndpOptSourceLL)
	if f[ndpOff] == ndpNeighborAdvert {
		addr, opt = [16]byte(f[ndpTarget:ndpTarget+16]), ndpOptTargetLL
	}
	mac, ok := m.mac6(addr)
	if !ok {
		// The source of an advertisement may have a MAC of its own while its target has
		// not: only the Ethernet source changes then.
		if mac, ok = m.mac6(ip.Src()); ok {
			packet.Ethernet(f).SetSrc(mac)
		}
		return ok
	}
	packet.Ethernet(f).SetSrc(mac)
	for off := ndpOptsOff; off+8 <= end; {
		n := int(f[off+1]) * 8
		if n == 0 || off+n > end {
			break
		}
		if f[off] == opt && n == 8 {
			copy(f[off+2:off+8], mac[:])
		}
		off += n
	}
	icmp := f[ndpOff:end]
	icmp[2], icmp[3] = 0, 0
	src, dst := ip.Src(), ip.Dst()
	ck := ^packet.Checksum(icmp, packet.PseudoHeaderChecksum6(packet.ProtoICMPv6, &src, &dst, uint32(len(icmp))))
	icmp[2], icmp[3] = byte(ck>>8), byte(ck)
	return true
}
