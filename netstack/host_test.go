package netstack

import (
	"net/netip"
	"testing"
	"time"

	"github.com/uvs-lb/uvs/packet"
	"github.com/uvs-lb/uvs/packet/packettest"
)

// The appliance's host answers for the VIP as any host would, for what the engine passes up.

func TestARPForVIPIsAnsweredWithThePortMAC(t *testing.T) {
	r := newRawRig(t, natConfig(rsAddrs[:1]))
	r.client.send(t, arpRequest(macClient, clientAddr.Addr(), vip))
	f, p := r.client.expect(t, "ARP reply for the VIP", isARP(packet.ARPReply, vip))
	a := packet.ARP(f[p.L3Off:])
	if a.SenderMAC() != macLB0 || packet.Ethernet(f).Src() != macLB0 {
		t.Errorf("VIP at %x (frame from %x), want the port's MAC %x", a.SenderMAC(), packet.Ethernet(f).Src(), macLB0)
	}
	if packet.Ethernet(f).Dst() != macClient || a.TargetIP() != clientAddr.Addr().As4() {
		t.Errorf("reply to %x / %v, want the asker", packet.Ethernet(f).Dst(), a.TargetIP())
	}
}

func TestVIPIsAnnouncedWhenAdded(t *testing.T) {
	r := newRawRig(t, natConfig(rsAddrs[:1]))
	// The VIP added before Start is announced by Start.
	r.client.expect(t, "gratuitous ARP for the configured VIP", isGratuitousARP(vip))

	extra := netip.MustParseAddr("10.0.0.7")
	must(t, r.host.AddVIP(extra))
	f, _ := r.client.expect(t, "gratuitous ARP for the added VIP", isGratuitousARP(extra))
	if packet.Ethernet(f).Src() != macLB0 {
		t.Errorf("announced from %x, want %x", packet.Ethernet(f).Src(), macLB0)
	}
	r.client.send(t, arpRequest(macClient, clientAddr.Addr(), extra))
	r.client.expect(t, "ARP reply for the added VIP", isARP(packet.ARPReply, extra))

	must(t, r.host.RemoveVIP(extra))
	r.client.send(t, arpRequest(macClient, clientAddr.Addr(), extra))
	r.client.expectNone(t, "ARP reply for a removed VIP", 300*time.Millisecond, isARP(packet.ARPReply, extra))

	must(t, r.host.AddVIP(vip6))
	f, p := r.client.expect(t, "unsolicited NA for the IPv6 VIP", func(f []byte, p *packet.Packet) bool {
		return p.Key.Proto == packet.ProtoICMPv6 && p.ICMPType == ndpNeighborAdvert && p.Key.SrcAddr() == vip6
	})
	na := f[p.L4Off:]
	if packet.Ethernet(f).Dst() != allNodesMAC || p.Key.DstAddr() != netip.MustParseAddr("ff02::1") || p.TTL != 255 {
		t.Errorf("NA to %x / %s hop limit %d, want all nodes, 255", packet.Ethernet(f).Dst(), p.Key.DstAddr(), p.TTL)
	}
	if na[4] != naFlagOverride || netip.AddrFrom16([16]byte(na[8:24])) != vip6 || [6]byte(na[26:32]) != macLB0 {
		t.Errorf("NA flags %#x target %x option %x", na[4], na[8:24], na[24:32])
	}
	if !packettest.VerifyChecksums(f) {
		t.Error("NA checksum is wrong")
	}
	if got := r.host.VIPs(); len(got) != 2 || got[0] != vip || got[1] != vip6 {
		t.Errorf("VIPs() = %v", got)
	}
}

func isGratuitousARP(addr netip.Addr) func([]byte, *packet.Packet) bool {
	return func(f []byte, p *packet.Packet) bool {
		if p.EtherType != packet.EtherTypeARP {
			return false
		}
		a := packet.ARP(f[p.L3Off:])
		return packet.Ethernet(f).Dst() == broadcastMAC && a.Op() == packet.ARPRequest &&
			a.SenderIP() == addr.As4() && a.TargetIP() == addr.As4() && a.SenderMAC() == macLB0
	}
}

func TestEchoToVIPIsAnswered(t *testing.T) {
	r := newRawRig(t, natConfig(rsAddrs[:1]))
	r.client.send(t, icmpEcho(macClient, macLB0, clientAddr.Addr(), vip, 7, 1))
	f, _ := r.client.expect(t, "echo reply from the VIP", isICMP(vip, clientAddr.Addr(), packet.ICMPv4EchoReply, 0))
	if packet.Ethernet(f).Dst() != macClient || packet.Ethernet(f).Src() != macLB0 {
		t.Errorf("reply %x → %x", packet.Ethernet(f).Src(), packet.Ethernet(f).Dst())
	}
}

func TestSYNToVIPOnNoServiceGetsRST(t *testing.T) {
	r := newRawRig(t, natConfig(rsAddrs[:1]))
	client, svc := netip.AddrPortFrom(clientAddr.Addr(), 40001), netip.AddrPortFrom(vip, 81)
	r.client.send(t, tcpFrame(macClient, macLB0, client, svc, packet.TCPSyn).Build())
	_, p := r.client.expect(t, "RST from VIP:81", isTCP(svc, client))
	if p.TCPFlags&packet.TCPRst == 0 {
		t.Errorf("answer has flags %#x, want RST", p.TCPFlags)
	}
	waitStats(t, r.dp, "the SYN passed to the host", func(s Stats) bool { return s.Ports[0].Passed != 0 })
}

func TestUDPToVIPOnNoServiceGetsPortUnreachable(t *testing.T) {
	r := newRawRig(t, natConfig(rsAddrs[:1]))
	client, svc := netip.AddrPortFrom(clientAddr.Addr(), 40002), netip.AddrPortFrom(vip, 9999)
	r.client.send(t, packettest.Frame{SrcMAC: macClient, DstMAC: macLB0, Src: client, Dst: svc,
		Proto: packet.ProtoUDP, Payload: []byte("anyone?")}.Build())
	_, p := r.client.expect(t, "port unreachable from the VIP",
		isICMP(vip, client.Addr(), packet.ICMPv4DestUnreachable, packet.ICMPv4PortUnreachable))
	if p.Inner.Key.DstPort != svc.Port() {
		t.Errorf("the error quotes port %d, want %d", p.Inner.Key.DstPort, svc.Port())
	}
}
