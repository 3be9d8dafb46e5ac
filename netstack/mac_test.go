package netstack

import (
	"bytes"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/uvs-lb/uvs/packet"
	"github.com/uvs-lb/uvs/packet/packettest"
)

// The appliance's host speaks protocol 112 through the dataplane: what the engine passes up
// reaches the handler, SendIP leaves by the port.
func TestProtocolHandlerOnDataplane(t *testing.T) {
	r := newRawRig(t, natConfig(rsAddrs[:1]))
	got := newCollector()
	must(t, r.host.HandleProtocol(protoVRRP, got.handle))
	frame := func(dst netip.Addr, dstMAC [6]byte) []byte {
		ip := packettest.IP(clientAddr.Addr(), dst, protoVRRP, 255, advertish)
		b := make([]byte, packet.EthernetLen+len(ip))
		packet.PutEthernet(b, dstMAC, macClient, packet.EtherTypeIPv4)
		copy(b[packet.EthernetLen:], ip)
		return b
	}
	r.client.send(t, frame(group4, multicastMAC(group4)))
	m := got.expect(t, "the multicast advert passed by the engine", func(m received) bool { return m.dst == group4 })
	checkReceived(t, m, received{src: clientAddr.Addr(), dst: group4, ttl: 255, srcMAC: macClient,
		dstMAC: multicastMAC(group4), payload: advertish})
	r.client.send(t, frame(lbInside.Addr(), macLB0))
	got.expect(t, "the unicast advert", func(m received) bool { return m.dst == lbInside.Addr() })
	r.client.expectNone(t, "protocol unreachable", 300*time.Millisecond,
		isICMP(lbInside.Addr(), clientAddr.Addr(), packet.ICMPv4DestUnreachable, packet.ICMPv4ProtoUnreachable))

	must(t, r.host.SendIP(0, netip.Addr{}, group4, protoVRRP, 255, advertish, vmac4))
	f, p := r.client.expect(t, "the appliance's advert", func(_ []byte, p *packet.Packet) bool { return p.Key.Proto == protoVRRP })
	if packet.Ethernet(f).Src() != vmac4 || packet.Ethernet(f).Dst() != multicastMAC(group4) || p.TTL != 255 ||
		p.Key.SrcAddr() != lbInside.Addr() || !bytes.Equal(f[p.L3Off+20:p.L3End()], advertish) {
		t.Errorf("advert % x", f)
	}
	if s := r.host.Stats().NICs[0]; s.ProtocolHandled != 2 {
		t.Errorf("stats %+v, want 2 handled", s)
	}
}

// A virtual MAC: the dataplane takes frames to it once added, forwards and passes them; the
// host answers ARP and neighbor solicitations for the VIP with it and announces the VIP at
// it.
func TestVirtualMACOnDataplane(t *testing.T) {
	r := newRawRig(t, natConfig(rsAddrs[:1]))
	r.client.expect(t, "the VIP announced at the port's MAC", isGratuitousARPFrom(vip, macLB0))
	echo := icmpEcho(macClient, vmac4, clientAddr.Addr(), vip, 5, 1)
	reply := isICMP(vip, clientAddr.Addr(), packet.ICMPv4EchoReply, 0)

	r.client.send(t, echo)
	waitStats(t, r.dp, "the frame to the virtual MAC dropped", func(s Stats) bool { return s.LoopDrops[DropNotForUs] == 1 })
	r.client.expectNone(t, "an echo reply through an unknown MAC", 200*time.Millisecond, reply)

	must(t, r.host.AddMAC(0, vmac4))
	must(t, r.host.SetVIPMAC(vip, vmac4))
	must(t, r.host.Announce(vip))
	f, _ := r.client.expect(t, "the VIP announced at the virtual MAC", isGratuitousARPFrom(vip, vmac4))
	if packet.Ethernet(f).Src() != vmac4 {
		t.Errorf("announcement from %x", packet.Ethernet(f).Src())
	}
	other := [6]byte{0x02, 0, 0, 0, 0x07, 0x42}
	must(t, r.host.AnnounceFrom(vip, other))
	r.client.expect(t, "the VIP announced at a chosen MAC", isGratuitousARPFrom(vip, other))

	r.client.send(t, arpRequest(macClient, clientAddr.Addr(), vip))
	f, p := r.client.expect(t, "ARP reply for the VIP", isARP(packet.ARPReply, vip))
	if a := packet.ARP(f[p.L3Off:]); a.SenderMAC() != vmac4 || packet.Ethernet(f).Src() != vmac4 {
		t.Errorf("VIP at %x (frame from %x), want the virtual MAC", a.SenderMAC(), packet.Ethernet(f).Src())
	}
	r.client.send(t, arpRequest(macClient, clientAddr.Addr(), lbInside.Addr()))
	f, p = r.client.expect(t, "ARP reply for the host's own address", isARP(packet.ARPReply, lbInside.Addr()))
	if a := packet.ARP(f[p.L3Off:]); a.SenderMAC() != macLB0 {
		t.Errorf("the host's own address at %x, want the port's MAC", a.SenderMAC())
	}

	r.client.send(t, echo)
	f, _ = r.client.expect(t, "the echo reply through the virtual MAC", reply)
	if packet.Ethernet(f).Src() != vmac4 {
		t.Errorf("echo reply from %x, want the VIP's MAC", packet.Ethernet(f).Src())
	}
	resolve(t, r.host, 1, rawServer.Addr())
	r.client.send(t, tcpFrame(macClient, vmac4, rawClient, rawVIP, packet.TCPSyn).Build())
	r.server.expect(t, "the SYN through the virtual MAC, forwarded", isTCP(rawClient, rawServer))

	// IPv6: the VIP goes up at its own MAC, and neighbor discovery carries it.
	must(t, r.host.AddMAC(0, vmac6))
	must(t, r.host.SetVIPMAC(vip6, vmac6))
	must(t, r.host.AddVIP(vip6))
	f, p = r.client.expect(t, "the unsolicited NA for the IPv6 VIP", isNA(vip6))
	checkNA(t, f, p, vmac6)
	r.client.send(t, nsFrame(macClient, clientAddr6.Addr(), vip6))
	f, p = r.client.expect(t, "the NA answering the solicitation", func(f []byte, p *packet.Packet) bool {
		return isNA(vip6)(f, p) && p.Key.DstAddr() == clientAddr6.Addr()
	})
	checkNA(t, f, p, vmac6)
	if got := r.host.MACs(0); !slices.Equal(got, [][6]byte{vmac4, vmac6}) {
		t.Errorf("MACs = %x", got)
	}

	// Given back: the port's MAC in answers, frames to the virtual MAC dropped again.
	must(t, r.host.SetVIPMAC(vip, [6]byte{}))
	must(t, r.host.RemoveMAC(0, vmac4))
	r.client.send(t, arpRequest(macClient, clientAddr.Addr(), vip))
	f, p = r.client.expect(t, "ARP reply for the VIP", isARP(packet.ARPReply, vip))
	if a := packet.ARP(f[p.L3Off:]); a.SenderMAC() != macLB0 {
		t.Errorf("VIP at %x after SetVIPMAC(zero), want the port's MAC", a.SenderMAC())
	}
	drops := r.dp.Stats().LoopDrops[DropNotForUs]
	r.client.send(t, echo)
	waitStats(t, r.dp, "the frame to the removed MAC dropped", func(s Stats) bool { return s.LoopDrops[DropNotForUs] == drops+1 })
	if got := r.host.MACs(0); !slices.Equal(got, [][6]byte{vmac6}) {
		t.Errorf("MACs = %x after RemoveMAC", got)
	}
	if s := r.host.Stats().NICs[0]; s.MACRewritten < 3 {
		t.Errorf("stats %+v, want the ARP reply, echo reply and NA rewritten", s)
	}
}

// checkNA checks a neighbor advertisement carries mac as its Ethernet source and target
// link-layer address, with a valid checksum.
func checkNA(t *testing.T, f []byte, p *packet.Packet, mac [6]byte) {
	t.Helper()
	na := f[p.L4Off:p.L3End()]
	if packet.Ethernet(f).Src() != mac || len(na) < 32 || na[24] != ndpOptTargetLL || [6]byte(na[26:32]) != mac ||
		!packettest.VerifyChecksums(f) {
		t.Errorf("NA from %x: % x (checksums valid %v), want at %x", packet.Ethernet(f).Src(), na, packettest.VerifyChecksums(f), mac)
	}
}

func TestVirtualMACErrors(t *testing.T) {
	h := mustHost(t, HostConfig{NICs: []NICConfig{{Port: &sinkPort{name: "eth0", mac: macA}, Addrs: protoA}}})
	for _, c := range []struct {
		nic int
		mac [6]byte
	}{{1, vmac4}, {0, [6]byte{}}, {0, [6]byte{0x01, 0, 0x5e, 0, 0, 0x12}}, {0, macA}} {
		if err := h.AddMAC(c.nic, c.mac); err == nil {
			t.Errorf("AddMAC(%d, %x) accepted", c.nic, c.mac)
		}
	}
	if err := h.SetVIPMAC(netip.MustParseAddr("192.0.2.1"), vmac4); err == nil {
		t.Error("SetVIPMAC for an address on no NIC accepted")
	}
	if err := h.AnnounceFrom(protoA[0].Addr(), vmac4); err == nil {
		t.Error("AnnounceFrom for an address that is no VIP accepted")
	}
	must(t, h.AddMAC(0, vmac4))
	must(t, h.AddMAC(0, vmac4))
	if got := h.MACs(0); len(got) != 1 {
		t.Errorf("MACs = %x after adding one twice", got)
	}
}

// Frames to a virtual MAC cost the loop nothing more than frames to the port's: a batch of
// them is forwarded without allocating.
func TestForwardToVirtualMACDoesNotAllocate(t *testing.T) {
	inside, outside := &sinkPort{name: "lb0", mac: macLB0}, &sinkPort{name: "lb1", mac: macLB1}
	dp := establishedRig(t, inside, outside, 64)
	must(t, dp.host.AddMAC(0, vmac4))
	in, _ := flows(64, packet.TCPAck, bytes.Repeat([]byte{'x'}, 64))
	for _, f := range in {
		packet.Ethernet(f).SetDst(vmac4)
	}
	before := dp.Stats()
	allocs := testing.AllocsPerRun(100, func() { dp.loops[0].process(dp.loops[0].load(in)) })
	if allocs != 0 {
		t.Errorf("%v allocations per batch, want 0", allocs)
	}
	if got := dp.Stats().Ports[0].Forwarded - before.Ports[0].Forwarded; got < 100*64 {
		t.Errorf("forwarded %d frames to the virtual MAC in 101 batches of 64", got)
	}
}
