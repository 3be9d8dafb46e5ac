package netstack

import (
	"net/netip"

	"github.com/uvs-lb/uvs/packet"
	"gvisor.dev/gvisor/pkg/tcpip/header"
)

// Gratuitous ARP. When a VIP moves (VRRP failover), its new owner announces it with a
// gratuitous ARP, and Linux updates an existing ARP entry from it. gVisor ignores ARP requests
// whose target is not one of its own addresses, and takes an unsolicited reply for a known
// address only as a hint that the entry is stale: a host built here would keep sending to the
// old owner until neighbor unreachability detection gave up on it, seconds later. So the link
// watches for announcements (a request whose sender and target address are the same, or an
// unsolicited reply) of an address the host has resolved to another MAC, and forgets that
// entry: the next packet to the address resolves it afresh, and the new owner answers.

// garpLearner forgets a neighbor entry that an announcement says moved.
type garpLearner func(nic int, ip netip.Addr, mac [6]byte)

// watchGARP looks at an ARP frame received on l and tells learn of an announcement.
func (l *link) watchGARP(frame []byte) {
	if l.learn == nil || len(frame) < packet.EthernetLen+packet.ARPLen ||
		packet.Ethernet(frame).EtherType() != packet.EtherTypeARP {
		return
	}
	a := header.ARP(frame[packet.EthernetLen:])
	if !a.IsValid() {
		return
	}
	sender, target := [4]byte(a.ProtocolAddressSender()), [4]byte(a.ProtocolAddressTarget())
	if a.Op() == header.ARPRequest && sender != target {
		return // an ordinary request: gVisor learns from those that are for it
	}
	if sender == [4]byte{} {
		return // an address probe (RFC 5227) announces nothing
	}
	l.learn(l.nic, netip.AddrFrom4(sender), [6]byte(a.HardwareAddressSender()))
}

// forgetMoved is the host's garpLearner: an address resolved to another MAC than the one
// announced is removed from the stack's neighbor cache (and so from the snapshot).
func (h *Host) forgetMoved(nic int, ip netip.Addr, mac [6]byte) {
	cur, ok := h.neigh.Lookup(nic, ip)
	if !ok || cur == mac {
		return
	}
	h.mu.Lock()
	s := h.stack
	h.mu.Unlock()
	if s == nil {
		return
	}
	s.RemoveNeighbor(nicID(nic), header.IPv4ProtocolNumber, toTCPIP(ip))
	h.neigh.remove(nic, ip) // the stack's removal event does it too; this is at once
}
