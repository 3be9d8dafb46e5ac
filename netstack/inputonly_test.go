package netstack

import (
	"bytes"
	"testing"
	"time"

	"github.com/uvs-lb/uvs/lb"
	"github.com/uvs-lb/uvs/packet"
	"github.com/uvs-lb/uvs/packet/packettest"
)

// The port loop with the input-only methods: direct routing and tunnelling, frame by frame.

// inputOnlyConfig is one TCP service on the VIP whose only server is the raw rig's, by
// method m; a TUN server tunnels from the appliance's address on its network.
func inputOnlyConfig(m lb.Method, tun lb.TunnelType) *lb.Config {
	rs := lb.ServerConfig{Addr: rawServer.Addr(), Weight: 1}
	if m == lb.MethodTUN {
		rs.Tunnel = lb.Tunnel{Type: tun, Source: lbOutside.Addr(), Port: 6080}
	}
	return &lb.Config{Services: []lb.ServiceConfig{{Proto: packet.ProtoTCP, VIP: vip, Port: tcpServicePort,
		Scheduler: "rr", Method: m, Servers: []lb.ServerConfig{rs}}}}
}

// TestDRSendsTheFrameToTheServersMAC: the frame keeps every IP byte (VIP destination, TTL) and
// goes to the real server's MAC from the egress port's.
func TestDRSendsTheFrameToTheServersMAC(t *testing.T) {
	r := newRawRig(t, inputOnlyConfig(lb.MethodDR, 0))
	resolve(t, r.host, 1, rawServer.Addr())
	syn := tcpFrame(macClient, macLB0, rawClient, rawVIP, packet.TCPSyn).Build()
	r.client.send(t, syn)
	f, _ := r.server.expect(t, "the SYN, still to the VIP", isTCP(rawClient, rawVIP))
	if e := packet.Ethernet(f); e.Dst() != macServer || e.Src() != macLB1 {
		t.Errorf("forwarded %x → %x, want %x → %x", e.Src(), e.Dst(), macLB1, macServer)
	}
	if !bytes.Equal(f[packet.EthernetLen:], syn[packet.EthernetLen:]) {
		t.Error("direct routing changed the IP packet")
	}
}

// TestTUNEncapsulatesToTheServer: IPIP and GUE frames leave from the appliance's address to
// the server's, carrying the client's packet unchanged.
func TestTUNEncapsulatesToTheServer(t *testing.T) {
	for _, typ := range []lb.TunnelType{lb.TunnelIPIP, lb.TunnelGUE} {
		t.Run(typ.String(), func(t *testing.T) {
			r := newRawRig(t, inputOnlyConfig(lb.MethodTUN, typ))
			resolve(t, r.host, 1, rawServer.Addr())
			syn := tcpFrame(macClient, macLB0, rawClient, rawVIP, packet.TCPSyn).Build()
			r.client.send(t, syn)
			f, p := r.server.expect(t, "the tunnelled SYN", isTunnel)
			if p.Key.SrcAddr() != lbOutside.Addr() || p.Key.DstAddr() != rawServer.Addr() {
				t.Errorf("outer %s → %s, want %s → %s", p.Key.SrcAddr(), p.Key.DstAddr(), lbOutside.Addr(), rawServer.Addr())
			}
			if e := packet.Ethernet(f); e.Dst() != macServer || e.Src() != macLB1 {
				t.Errorf("forwarded %x → %x", e.Src(), e.Dst())
			}
			if inner := syn[packet.EthernetLen:]; !bytes.HasSuffix(f, inner) {
				t.Error("the inner packet is not the client's")
			}
			if typ == lb.TunnelGUE && (p.Key.Proto != packet.ProtoUDP || p.Key.DstPort != 6080) {
				t.Errorf("GUE outer %+v", p.Key)
			}
		})
	}
}

// TestTUNTooBigAnswersWithTheTunnelMTU: a DF packet that no longer fits the egress MTU behind
// an outer header is answered with fragmentation needed carrying MTU - 20, from the VIP; one
// without DF is dropped and counted.
func TestTUNTooBigAnswersWithTheTunnelMTU(t *testing.T) {
	r := newRawRig(t, inputOnlyConfig(lb.MethodTUN, lb.TunnelIPIP))
	resolve(t, r.host, 1, rawServer.Addr())
	resolve(t, r.host, 0, rawClient.Addr())
	r.client.send(t, tcpFrame(macClient, macLB0, rawClient, rawVIP, packet.TCPSyn).Build())
	r.server.expect(t, "the SYN", isTunnel)

	big := tcpFrame(macClient, macLB0, rawClient, rawVIP, packet.TCPAck)
	big.Payload = make([]byte, 1500-40)
	frame := big.Build() // packettest sets DF on IPv4
	r.client.send(t, frame)
	f, _ := r.client.expect(t, "fragmentation needed from the VIP",
		isICMP(vip, rawClient.Addr(), packet.ICMPv4DestUnreachable, packet.ICMPv4FragNeeded))
	icmp := f[packet.EthernetLen+20:]
	if mtu := int(icmp[6])<<8 | int(icmp[7]); mtu != 1500-20 {
		t.Errorf("next-hop MTU %d, want %d (1500 less the outer header)", mtu, 1500-20)
	}

	noDF := append([]byte(nil), frame...)
	ip := packet.IPv4(noDF[packet.EthernetLen:])
	ip.SetFragment(false, false, 0)
	ip.SetChecksum(ip.ComputeChecksum())
	r.client.send(t, noDF)
	s := waitStats(t, r.dp, "two too_big drops", func(s Stats) bool { return s.Drops[lb.DropTooBig] == 2 })
	r.server.expectNone(t, "a tunnelled frame over the MTU", 50*time.Millisecond, isTunnel)
	if s.Ports[0].Rejected != 0 {
		t.Errorf("client port %+v", s.Ports[0])
	}
}

// TestTUNSegmentsGSOSuperFrames: a super-frame from a port with virtio-net headers is cut in
// software and each segment tunnelled, within the MTU.
func TestTUNSegmentsGSOSuperFrames(t *testing.T) {
	r := newRawRigVNet(t, inputOnlyConfig(lb.MethodTUN, lb.TunnelGUE), true)
	resolve(t, r.host, 1, rawServer.Addr())
	r.client.send(t, tcpFrame(macClient, macLB0, rawClient, rawVIP, packet.TCPSyn).Build())
	r.server.expect(t, "the SYN", isTunnel)

	payload := bytes.Repeat([]byte("0123456789abcdef"), 400) // 6400 bytes
	frame, hdr := superFrame(t, macClient, macLB0, tcpFrame(macClient, macLB0, rawClient, rawVIP, packet.TCPAck), payload, 1400)
	if err := r.client.write(frame, hdr); err != nil {
		t.Fatal(err)
	}
	var got []byte
	for len(got) < len(payload) {
		f, p := r.server.expect(t, "a tunnelled segment", isTunnel)
		if p.IPLen > 1500 {
			t.Fatalf("outer IP length %d over the MTU", p.IPLen)
		}
		// The inner packet follows the outer IPv4 (20), UDP (8) and GUE (4) headers.
		inner := f[p.L3Off+20+8+4 : p.L3End()]
		var ip packet.Packet
		eth := append(make([]byte, packet.EthernetLen), inner...)
		packet.PutEthernet(eth, macServer, macLB1, packet.EtherTypeIPv4)
		if err := packet.Parse(eth, &ip); err != nil || !packettest.VerifyChecksums(eth) {
			t.Fatalf("inner segment: %v, checksums right: %v", err, packettest.VerifyChecksums(eth))
		}
		got = append(got, eth[ip.PayloadOff:ip.L3End()]...)
	}
	if !bytes.Equal(got, payload) {
		t.Fatal("the segments do not carry the payload in order")
	}
	// The loop publishes its counters after writing the batch: wait for them.
	s := waitStats(t, r.dp, "one super-frame segmented", func(s Stats) bool { return s.Ports[0].Segmented == 1 })
	if s.Ports[0].Dropped != 0 || s.Ports[0].Forwarded != 2 {
		t.Errorf("client port %+v", s.Ports[0])
	}
}

// isTunnel matches IPIP and IPv6-in-IP frames, and GUE on port 6080.
func isTunnel(f []byte, p *packet.Packet) bool {
	return p.Flags&packet.FlagTunnel != 0 || packet.ParseGUE(f, p, 6080)
}
