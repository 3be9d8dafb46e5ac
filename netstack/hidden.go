package netstack

import (
	"net/netip"

	"github.com/uvs-lb/uvs/packet"
)

// Hidden addresses (NICConfig.Hidden) are what a direct-routing or tunnelling real server
// holds its VIP as: Linux puts it on lo with arp_ignore=1 and arp_announce=2. The host
// accepts and sends traffic for it as for any of its addresses, but the link hides it from
// neighbor discovery:
//
//   - on receive, an ARP request or neighbor solicitation whose target is hidden is dropped
//     before the stack sees it (counted): the stack would answer it, and record the asker;
//   - on transmit, an ARP request or neighbor solicitation of the stack's whose sender is
//     hidden gets the NIC's own address instead (counted). gVisor takes the sender of a
//     resolution from the packet that started it, a reply from the VIP; a peer (the router)
//     would then learn VIP → this host from it, and send the VIP's traffic here.
//
// The stack announces nothing by itself (the host's announcements are its own, of its
// addresses and VIPs, never of hidden ones), and it runs no duplicate address detection:
// the appliance, which owns the VIP, would win it.
//
// The filters read the frame in place, allocate nothing, and cost nothing on a NIC that
// hides no address.

// ndpNeighborSolicit is the ICMPv6 type of a neighbor solicitation.
const ndpNeighborSolicit = 135

// Offsets in an untagged Ethernet frame.
const (
	arpOff      = packet.EthernetLen                  // the ARP packet
	ndpOff      = packet.EthernetLen + packet.IPv6Len // the ICMPv6 message after a bare IPv6 header
	ndpTarget   = ndpOff + 8                          // a solicitation's target address
	ndpMinFrame = ndpTarget + 16                      // the shortest frame holding one
	arpMinFrame = packet.EthernetLen + packet.ARPLen  // and an ARP packet
	ipv6NextOff = packet.EthernetLen + 6              // the IPv6 next header
	icmpCkOff   = ndpOff + 2                          // the ICMPv6 checksum
)

// hiddenAddrs are one NIC's hidden addresses and the ordinary addresses that stand in for
// them as the sender of the stack's ARP requests and neighbor solicitations.
type hiddenAddrs struct {
	v4   [][4]byte
	v6   [][16]byte
	own4 []netip.Prefix // the NIC's IPv4 addresses, in configuration order
	own6 []netip.Prefix
}

// newHiddenAddrs returns the filter of a NIC, or nil when it hides nothing.
func newHiddenAddrs(n *NICConfig) *hiddenAddrs {
	if len(n.Hidden) == 0 {
		return nil
	}
	h := &hiddenAddrs{}
	for _, a := range n.Hidden {
		if a.Is4() {
			h.v4 = append(h.v4, a.As4())
		} else {
			h.v6 = append(h.v6, a.As16())
		}
	}
	for _, p := range n.Addrs {
		if p.Addr().Is4() {
			h.own4 = append(h.own4, p)
		} else {
			h.own6 = append(h.own6, p)
		}
	}
	return h
}

func (h *hiddenAddrs) has4(a [4]byte) bool {
	for i := range h.v4 {
		if a == h.v4[i] {
			return true
		}
	}
	return false
}

func (h *hiddenAddrs) has6(a [16]byte) bool {
	for i := range h.v6 {
		if a == h.v6[i] {
			return true
		}
	}
	return false
}

// solicits reports whether f is an ARP request or a neighbor solicitation for a hidden
// address: what the host must not answer.
func (h *hiddenAddrs) solicits(f []byte) bool {
	switch packet.Ethernet(f).EtherType() {
	case packet.EtherTypeARP:
		if len(f) < arpMinFrame || len(h.v4) == 0 {
			return false
		}
		a := packet.ARP(f[arpOff:])
		return a.IsEthernetIPv4() && a.Op() == packet.ARPRequest && h.has4(a.TargetIP())
	case packet.EtherTypeIPv6:
		return len(h.v6) > 0 && isNS(f) && h.has6([16]byte(f[ndpTarget:ndpTarget+16]))
	}
	return false
}

// isNS reports whether f is a neighbor solicitation right behind the IPv6 header (NDP
// messages carry no extension header).
func isNS(f []byte) bool {
	return len(f) >= ndpMinFrame && f[ipv6NextOff] == packet.ProtoICMPv6 && f[ndpOff] == ndpNeighborSolicit
}

// unhide rewrites an ARP request or neighbor solicitation the stack sends from a hidden
// address to come from the NIC's own address of the family: the one whose prefix holds the
// target, or else the first (arp_announce=2). It reports whether it rewrote f.
func (h *hiddenAddrs) unhide(f []byte) bool {
	if len(f) < packet.EthernetLen {
		return false
	}
	switch packet.Ethernet(f).EtherType() {
	case packet.EtherTypeARP:
		if len(f) < arpMinFrame || len(h.v4) == 0 {
			return false
		}
		a := packet.ARP(f[arpOff:])
		if !a.IsEthernetIPv4() || a.Op() != packet.ARPRequest || !h.has4(a.SenderIP()) {
			return false
		}
		src := pickOwn(h.own4, netip.AddrFrom4(a.TargetIP()))
		a.SetSenderIP(src.As4())
		return true
	case packet.EtherTypeIPv6:
		if len(h.v6) == 0 || !isNS(f) {
			return false
		}
		ip := packet.IPv6(f[packet.EthernetLen:])
		old := ip.Src()
		if !h.has6(old) {
			return false
		}
		src := pickOwn(h.own6, netip.AddrFrom16([16]byte(f[ndpTarget:ndpTarget+16]))).As16()
		ip.SetSrc(src)
		ck := uint16(f[icmpCkOff])<<8 | uint16(f[icmpCkOff+1])
		ck = packet.ChecksumUpdateAddr6(ck, &old, &src)
		f[icmpCkOff], f[icmpCkOff+1] = byte(ck>>8), byte(ck)
		return true
	}
	return false
}

// pickOwn returns the address of own whose prefix holds target, or else the first. own is
// never empty: HostConfig.validate requires an address of each hidden address's family.
func pickOwn(own []netip.Prefix, target netip.Addr) netip.Addr {
	for _, p := range own {
		if p.Contains(target) {
			return p.Addr()
		}
	}
	return own[0].Addr()
}
