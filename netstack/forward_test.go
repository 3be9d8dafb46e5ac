package netstack

import (
	"net/netip"
	"testing"

	"github.com/uvs-lb/uvs/lb"
	"github.com/uvs-lb/uvs/packet"
	"github.com/uvs-lb/uvs/packet/packettest"
)

// The forward path frame by frame, with the test playing client and real server.

var (
	rawClient = netip.AddrPortFrom(clientAddr.Addr(), 40000)
	rawVIP    = netip.AddrPortFrom(vip, tcpServicePort)
	rawServer = netip.AddrPortFrom(rsAddrs[0].Addr(), tcpServerPort)
)

func TestForwardRewritesMACsAndStripsVLAN(t *testing.T) {
	r := newRawRig(t, natConfig(rsAddrs[:1]))
	resolve(t, r.host, 1, rawServer.Addr())
	resolve(t, r.host, 0, rawClient.Addr())

	syn := tcpFrame(macClient, macLB0, rawClient, rawVIP, packet.TCPSyn)
	syn.VLAN = 7
	r.client.send(t, syn.Build())
	f, p := r.server.expect(t, "the SYN, NATed to the real server", isTCP(rawClient, rawServer))
	if e := packet.Ethernet(f); e.Dst() != macServer || e.Src() != macLB1 {
		t.Errorf("forwarded %x → %x, want %x → %x", e.Src(), e.Dst(), macLB1, macServer)
	}
	if p.Flags&packet.FlagVLAN != 0 {
		t.Errorf("the VLAN tag was kept (VLAN %d)", p.VLAN)
	}
	if p.TTL != 63 || !packettest.VerifyChecksums(f) {
		t.Errorf("TTL %d, checksums right: %v", p.TTL, packettest.VerifyChecksums(f))
	}

	r.server.send(t, tcpFrame(macServer, macLB1, rawServer, rawClient, packet.TCPSyn|packet.TCPAck).Build())
	f, _ = r.client.expect(t, "the SYN-ACK, from the VIP", isTCP(rawVIP, rawClient))
	if e := packet.Ethernet(f); e.Dst() != macClient || e.Src() != macLB0 || !packettest.VerifyChecksums(f) {
		t.Errorf("reply %x → %x, checksums right: %v", e.Src(), e.Dst(), packettest.VerifyChecksums(f))
	}
	// The loops publish their counters after writing a batch: wait for both.
	waitStats(t, r.dp, "port counters", func(s Stats) bool {
		return s.Ports[0].Forwarded == 1 && s.Ports[1].Forwarded == 1 && s.Ports[0].TxFrames != 0 && s.Ports[1].TxFrames == 1
	})
}

func TestUnresolvedNextHopIsDroppedThenResolved(t *testing.T) {
	r := newRawRig(t, natConfig(rsAddrs[:1]))
	syn := tcpFrame(macClient, macLB0, rawClient, rawVIP, packet.TCPSyn).Build()
	r.client.send(t, syn)
	waitStats(t, r.dp, "a drop for want of a neighbor", func(s Stats) bool { return s.Drops[lb.DropNoNeighbor] == 1 })
	// The server end answers the appliance's ARP request; once the snapshot has it, the
	// retransmitted SYN goes through.
	resolve(t, r.host, 1, rawServer.Addr())
	r.client.send(t, syn)
	r.server.expect(t, "the retransmitted SYN", isTCP(rawClient, rawServer))
}

func TestRejectAnswersWithPortUnreachable(t *testing.T) {
	r := newRawRig(t, natConfig(rsAddrs[:1], 0)) // the only server is quiesced
	syn := tcpFrame(macClient, macLB0, rawClient, rawVIP, packet.TCPSyn)
	syn.VLAN = 9
	r.client.send(t, syn.Build())
	f, p := r.client.expect(t, "port unreachable from the VIP",
		isICMP(vip, rawClient.Addr(), packet.ICMPv4DestUnreachable, packet.ICMPv4PortUnreachable))
	if e := packet.Ethernet(f); e.Dst() != macClient || e.Src() != macLB0 {
		t.Errorf("error %x → %x, want back to the sender", e.Src(), e.Dst())
	}
	if p.Inner.Key.SrcPort != rawClient.Port() || p.Inner.Key.DstPort != rawVIP.Port() || !packettest.VerifyChecksums(f) {
		t.Errorf("quote %+v, checksums right: %v", p.Inner.Key, packettest.VerifyChecksums(f))
	}
	waitStats(t, r.dp, "one rejected, none dropped", func(s Stats) bool { return s.Ports[0].Rejected == 1 && s.Ports[0].Dropped == 0 })
}

func TestExpiringTTLGetsTimeExceeded(t *testing.T) {
	r := newRawRig(t, natConfig(rsAddrs[:1]))
	syn := tcpFrame(macClient, macLB0, rawClient, rawVIP, packet.TCPSyn)
	syn.TTL = 1
	r.client.send(t, syn.Build())
	r.client.expect(t, "time exceeded from the appliance's address",
		isICMP(lbInside.Addr(), rawClient.Addr(), packet.ICMPv4TimeExceeded, 0))
	waitStats(t, r.dp, "one ttl_exceeded drop", func(s Stats) bool { return s.Drops[lb.DropTTLExceeded] == 1 && s.Ports[0].Dropped == 1 })
}

func TestFrameForAnotherMACIsNotForwarded(t *testing.T) {
	r := newRawRig(t, natConfig(rsAddrs[:1]))
	resolve(t, r.host, 1, rawServer.Addr())
	r.client.send(t, tcpFrame(macClient, [6]byte{0x02, 9, 9, 9, 9, 9}, rawClient, rawVIP, packet.TCPSyn).Build())
	s := waitStats(t, r.dp, "the frame dropped", func(s Stats) bool { return s.LoopDrops[DropNotForUs] == 1 })
	if s.Ports[0].Forwarded != 0 {
		t.Errorf("forwarded a frame for another MAC: %+v", s.Ports[0])
	}
}
