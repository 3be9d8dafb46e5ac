package netstack

import "github.com/uvs-lb/uvs/packet"

// Announcements of an address the host takes: nothing in gVisor sends them, so they are built
// here.

// announceLen is the size of the largest announcement frame (an unsolicited NA).
const announceLen = packet.EthernetLen + packet.IPv6Len + naLen

const (
	minFrame = 60 // Ethernet minimum frame without FCS: shorter frames are padded

	ndpNeighborAdvert = 136
	naLen             = 32 // NA header (24) + target link-layer address option (8)
	naFlagOverride    = 0x20
	ndpOptTargetLL    = 2
)

var (
	broadcastMAC    = [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	allNodesMAC     = [6]byte{0x33, 0x33, 0, 0, 0, 1}                         // ff02::1 over Ethernet (RFC 2464)
	allNodesAddress = [16]byte{0: 0xff, 1: 0x02, 15: 0x01}                    // ff02::1
	arpIPv4Ethernet = [6]byte{0, 1, byte(packet.EtherTypeIPv4 >> 8), 0, 6, 4} // htype 1, ptype IPv4, hlen 6, plen 4
)

// putGratuitousARP writes an ARP announcement (RFC 5227 2.3) of ip at mac into b, padded to
// the minimum frame, and returns its length: a broadcast request whose sender and target
// address are both ip, the form every ARP implementation takes to update a cached entry.
func putGratuitousARP(b []byte, mac [6]byte, ip [4]byte) int {
	n := packet.PutEthernet(b, broadcastMAC, mac, packet.EtherTypeARP)
	a := packet.ARP(b[n : n+packet.ARPLen])
	copy(a, arpIPv4Ethernet[:])
	a.SetOp(packet.ARPRequest)
	a.SetSenderMAC(mac)
	a.SetSenderIP(ip)
	a.SetTargetMAC([6]byte{})
	a.SetTargetIP(ip)
	n += packet.ARPLen
	clear(b[n:minFrame])
	return minFrame
}

// putUnsolicitedNA writes an unsolicited neighbor advertisement (RFC 4861 7.2.6) of ip at mac
// to all nodes into b and returns its length: Override set so neighbors replace a cached
// address, Solicited clear, the target link-layer address option carrying mac.
func putUnsolicitedNA(b []byte, mac [6]byte, ip [16]byte) int {
	n := packet.PutEthernet(b, allNodesMAC, mac, packet.EtherTypeIPv6)
	h := packet.IPv6(b[n : n+packet.IPv6Len])
	h.SetVersionClassFlow(0, 0)
	h.SetPayloadLength(naLen)
	h.SetNextHeader(packet.ProtoICMPv6)
	h.SetHopLimit(255) // RFC 4861 7.1.2: receivers drop NDP that crossed a router
	h.SetSrc(ip)
	h.SetDst(allNodesAddress)
	n += packet.IPv6Len
	na := b[n : n+naLen]
	clear(na)
	na[0] = ndpNeighborAdvert
	na[4] = naFlagOverride
	copy(na[8:24], ip[:])
	na[24], na[25] = ndpOptTargetLL, 1 // length in units of 8 bytes
	copy(na[26:32], mac[:])
	src, dst := ip, allNodesAddress
	ck := ^packet.Checksum(na, packet.PseudoHeaderChecksum6(packet.ProtoICMPv6, &src, &dst, naLen))
	na[2], na[3] = byte(ck>>8), byte(ck)
	return n + naLen
}
