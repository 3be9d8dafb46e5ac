package netstack

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"

	"github.com/uvs-lb/uvs/netstack/nettest"
	"github.com/uvs-lb/uvs/netstack/port"
	"github.com/uvs-lb/uvs/packet"
	"github.com/uvs-lb/uvs/packet/packettest"
)

// Hidden addresses: a real server (rs) holds a VIP it never resolves nor announces, beside
// a peer (a gVisor host) and an observer played by the test, on one switch.
//
//	rs 10.0.0.2 2001:db8::2, hidden 10.0.0.100 2001:db8::100 ─┐
//	peer 10.0.0.3 2001:db8::3 ──────────────────────────────────┼─ switch
//	observer 10.0.0.9 2001:db8::9 (the test) ───────────────────┘
var (
	hiddenRS    = []netip.Prefix{netip.MustParsePrefix("10.0.0.2/24"), netip.MustParsePrefix("2001:db8::2/64")}
	hiddenPeer  = []netip.Prefix{netip.MustParsePrefix("10.0.0.3/24"), netip.MustParsePrefix("2001:db8::3/64")}
	hiddenVIP4  = netip.MustParseAddr("10.0.0.100")
	hiddenVIP6  = netip.MustParseAddr("2001:db8::100")
	hiddenObs4  = netip.MustParseAddr("10.0.0.9")
	hiddenObs6  = netip.MustParseAddr("2001:db8::9")
	macRS       = [6]byte{0x02, 0, 0, 0, 0x05, 0x02}
	macPeer     = [6]byte{0x02, 0, 0, 0, 0x05, 0x03}
	macObserver = [6]byte{0x02, 0, 0, 0, 0x05, 0x09}
)

type hiddenRig struct {
	rs, peer *Host
	obs      *rawEnd // sees what the switch floods: ARP requests, solicitations, announcements
}

// newHiddenRig starts the three ends; the real server's NIC has ingress as its hook.
func newHiddenRig(t *testing.T, ingress func([]byte) []byte) *hiddenRig {
	t.Helper()
	rsPort, sw0 := port.Pipe(mem("rs", macRS), mem("sw0", [6]byte{0x02, 0, 0, 0, 0x06, 0}))
	peerPort, sw1 := port.Pipe(mem("peer", macPeer), mem("sw1", [6]byte{0x02, 0, 0, 0, 0x06, 1}))
	obsPort, sw2 := port.Pipe(mem("observer", macObserver), mem("sw2", [6]byte{0x02, 0, 0, 0, 0x06, 2}))
	sw := nettest.NewSwitch(sw0, sw1, sw2)
	r := &hiddenRig{
		rs: mustHost(t, HostConfig{Standalone: true, NICs: []NICConfig{{Port: rsPort, Addrs: hiddenRS,
			Hidden: []netip.Addr{hiddenVIP4, hiddenVIP6}, Ingress: ingress}}}),
		peer: mustHost(t, HostConfig{Standalone: true, NICs: []NICConfig{{Port: peerPort, Addrs: hiddenPeer}}}),
		obs:  newRawEnd(obsPort, macObserver, hiddenObs4),
	}
	t.Cleanup(func() {
		r.rs.Close()
		r.peer.Close()
		r.obs.close()
		sw.Close()
	})
	sw.Start()
	ctx := context.Background()
	must(t, r.rs.Start(ctx))
	must(t, r.peer.Start(ctx))
	return r
}

// The real server neither answers ARP requests nor neighbor solicitations for its hidden
// addresses, nor announces them; it answers for its own addresses as before.
func TestHiddenAddressIsNeverResolvedNorAnnounced(t *testing.T) {
	r := newHiddenRig(t, nil)
	r.obs.expect(t, "the real server's announcement of its own address", isGratuitousARPFrom(hiddenRS[0].Addr(), macRS))

	r.obs.send(t, arpRequest(macObserver, hiddenObs4, hiddenVIP4))
	r.obs.send(t, nsFrame(macObserver, hiddenObs6, hiddenVIP6))
	// A gratuitous ARP for the VIP, as the appliance that owns it sends, asks nothing either.
	gratuitous := make([]byte, minFrame)
	putGratuitousARP(gratuitous, macObserver, hiddenVIP4.As4())
	r.obs.send(t, gratuitous)
	r.obs.expectNone(t, "an answer or announcement for a hidden address", 300*time.Millisecond, mentions(hiddenVIP4, hiddenVIP6))

	r.obs.send(t, arpRequest(macObserver, hiddenObs4, hiddenRS[0].Addr()))
	r.obs.expect(t, "ARP reply for the real server's own address", isARP(packet.ARPReply, hiddenRS[0].Addr()))
	r.obs.send(t, nsFrame(macObserver, hiddenObs6, hiddenRS[1].Addr()))
	r.obs.expect(t, "NA for the real server's own address", isNA(hiddenRS[1].Addr()))

	if s := r.rs.Stats().NICs[0]; s.HiddenDropped != 3 || s.HiddenRewritten != 0 || s.IngressDropped != 0 {
		t.Errorf("stats %+v, want the 3 solicitations for hidden addresses dropped", s)
	}
}

// A peer that knows the hidden address's MAC (a static entry, as the appliance's forwarding
// does by sending to the real server's MAC) talks TCP to it. The real server resolves the
// peer from its own address: the peer never sees the VIP as the sender of a request.
func TestHiddenAddressServesTCP(t *testing.T) {
	r := newHiddenRig(t, nil)
	var wg sync.WaitGroup
	t.Cleanup(wg.Wait)
	for _, a := range []netip.Addr{hiddenVIP4, hiddenVIP6} {
		ln, err := r.rs.ListenTCP(netip.AddrPortFrom(a, 80)) // a service binds the hidden address
		must(t, err)
		t.Cleanup(func() { ln.Close() })
		wg.Go(func() { echoLines(ln, "rs") })
	}
	ps, err := r.peer.liveStack()
	must(t, err)
	for _, a := range []netip.Addr{hiddenVIP4, hiddenVIP6} {
		if err := ps.AddStaticNeighbor(nicID(0), protocolOf(a), toTCPIP(a), tcpip.LinkAddress(macRS[:])); err != nil {
			t.Fatalf("static neighbor %s: %s", a, err)
		}
	}
	for _, a := range []netip.Addr{hiddenVIP4, hiddenVIP6} {
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		c, err := r.peer.DialContext(ctx, "tcp", netip.AddrPortFrom(a, 80).String())
		cancel()
		if err != nil {
			t.Fatalf("dial %s: %v", a, err)
		}
		rd := bufio.NewReader(c)
		fmt.Fprintf(c, "hello %s\n", a)
		c.SetReadDeadline(time.Now().Add(waitFor))
		if line, err := rd.ReadString('\n'); err != nil || line != fmt.Sprintf("rs: hello %s\n", a) {
			t.Errorf("%s answered %q, %v", a, line, err)
		}
		c.Close()
	}

	// The real server resolved the peer with requests from its own addresses, a valid NS.
	f, _ := r.obs.expect(t, "the real server's ARP request for the peer", func(f []byte, p *packet.Packet) bool {
		return isARPRequestFor(f, p, hiddenPeer[0].Addr()) && packet.Ethernet(f).Src() == macRS
	})
	if a := packet.ARP(f[packet.EthernetLen:]); a.SenderIP() != hiddenRS[0].Addr().As4() || a.SenderMAC() != macRS {
		t.Errorf("ARP request from %v at %x, want %s at %x", a.SenderIP(), a.SenderMAC(), hiddenRS[0].Addr(), macRS)
	}
	f, p := r.obs.expect(t, "the real server's NS for the peer", isNSFor(hiddenPeer[1].Addr()))
	if p.Key.SrcAddr() != hiddenRS[1].Addr() || !packettest.VerifyChecksums(f) {
		t.Errorf("NS from %s (checksums valid: %v), want %s", p.Key.SrcAddr(), packettest.VerifyChecksums(f), hiddenRS[1].Addr())
	}
	r.obs.expectNone(t, "a frame naming a hidden address", 200*time.Millisecond, mentions(hiddenVIP4, hiddenVIP6))
	if s := r.rs.Stats().NICs[0]; s.HiddenRewritten < 2 {
		t.Errorf("stats %+v, want the two resolutions from the VIPs rewritten", s)
	}

	// The real server's own connections never come from a hidden address.
	ln, err := r.peer.ListenTCP(netip.AddrPortFrom(hiddenPeer[0].Addr(), 81))
	must(t, err)
	defer ln.Close()
	wg.Go(func() { echoLines(ln, "peer") })
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	c, err := r.rs.DialContext(ctx, "tcp", netip.AddrPortFrom(hiddenPeer[0].Addr(), 81).String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := c.LocalAddr().(*net.TCPAddr).AddrPort().Addr(); got != hiddenRS[0].Addr() {
		t.Errorf("the real server dialled from %s, want %s", got, hiddenRS[0].Addr())
	}
}

// The ingress hook sees every frame first: what it returns (here an inner frame it unwraps
// in place) goes to the stack, and what it drops is counted.
func TestIngressHook(t *testing.T) {
	const wrapped = 0x88b5 // a local experimental EtherType: 2 bytes of tag, then the inner frame
	blocked := [6]byte{0x02, 0, 0, 0, 0x05, 0x66}
	var seen sync.Map
	r := newHiddenRig(t, func(f []byte) []byte {
		if len(f) < packet.EthernetLen {
			return f
		}
		seen.Store(packet.Ethernet(f).Src(), true)
		switch {
		case packet.Ethernet(f).Src() == blocked:
			return nil
		case packet.Ethernet(f).EtherType() == wrapped:
			return f[packet.EthernetLen+2:]
		}
		return f
	})
	r.obs.send(t, arpRequest(blocked, hiddenObs4, hiddenRS[0].Addr()))
	echo := icmpEcho(macObserver, macRS, hiddenObs4, hiddenRS[0].Addr(), 9, 1)
	outer := make([]byte, packet.EthernetLen+2+len(echo))
	packet.PutEthernet(outer, macRS, macObserver, wrapped)
	copy(outer[packet.EthernetLen+2:], echo)
	r.obs.send(t, outer)
	r.obs.expect(t, "the echo reply to the unwrapped request", isICMP(hiddenRS[0].Addr(), hiddenObs4, packet.ICMPv4EchoReply, 0))
	if _, ok := seen.Load(blocked); !ok {
		t.Error("the hook did not see the blocked frame")
	}
	if s := r.rs.Stats().NICs[0]; s.IngressDropped != 1 {
		t.Errorf("stats %+v, want the blocked frame dropped", s)
	}
}

func TestHiddenAddressConfigErrors(t *testing.T) {
	p := &sinkPort{name: "eth0", mac: macRS}
	for _, c := range []struct {
		nic  NICConfig
		want string
	}{
		{NICConfig{Port: p, Addrs: hiddenRS[:1], Hidden: []netip.Addr{hiddenVIP6}}, "no address of its family"},
		{NICConfig{Port: p, Addrs: hiddenRS, Hidden: []netip.Addr{hiddenVIP4, hiddenVIP4}}, "listed twice"},
		{NICConfig{Port: p, Addrs: hiddenRS, Hidden: []netip.Addr{hiddenRS[0].Addr()}}, "is an address of NIC 0"},
		{NICConfig{Port: p, Addrs: hiddenRS, Hidden: []netip.Addr{netip.MustParseAddr("224.0.0.1")}}, "not a plain unicast"},
		{NICConfig{Port: p, Addrs: hiddenRS, Hidden: []netip.Addr{{}}}, "not a plain unicast"},
	} {
		_, err := NewHost(HostConfig{NICs: []NICConfig{c.nic}})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("hidden %v: %v, want an error saying %q", c.nic.Hidden, err, c.want)
		}
	}
}

// The filters read and rewrite frames in place: no allocation, with hidden addresses or
// without.
func TestLinkFiltersDoNotAllocate(t *testing.T) {
	plain := newLink(&NICConfig{Port: &sinkPort{name: "a", mac: macRS}, Addrs: hiddenRS})
	hiding := newLink(&NICConfig{Port: &sinkPort{name: "b", mac: macRS}, Addrs: hiddenRS,
		Hidden: []netip.Addr{hiddenVIP4, hiddenVIP6}, Ingress: func(f []byte) []byte { return f }})
	if plain.hidden != nil {
		t.Fatal("a NIC without hidden addresses has a filter")
	}
	arpHidden := arpRequest(macObserver, hiddenObs4, hiddenVIP4)
	nsHidden := nsFrame(macObserver, hiddenObs6, hiddenVIP6)
	echo := icmpEcho(macObserver, macRS, hiddenObs4, hiddenRS[0].Addr(), 1, 1)
	arpOut := arpRequest(macRS, hiddenVIP4, hiddenPeer[0].Addr())
	nsOut := nsFrame(macRS, hiddenVIP6, hiddenPeer[1].Addr())
	allocs := testing.AllocsPerRun(100, func() {
		for _, f := range [][]byte{arpHidden, nsHidden, echo} {
			plain.admit(f)
			hiding.admit(f)
		}
		hiding.hidden.unhide(arpOut)
		hiding.hidden.unhide(nsOut)
		hiding.hidden.unhide(echo)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per round", allocs)
	}
	if hiding.admit(arpHidden) != nil || hiding.admit(nsHidden) != nil || hiding.admit(echo) == nil || plain.admit(arpHidden) == nil {
		t.Error("the filters let the wrong frames through")
	}
	// unhide rewrote the requests once and then found nothing to do: valid frames from the
	// real server's own addresses.
	if a := packet.ARP(arpOut[packet.EthernetLen:]); a.SenderIP() != hiddenRS[0].Addr().As4() {
		t.Errorf("ARP request rewritten to sender %v", a.SenderIP())
	}
	if src := packet.IPv6(nsOut[packet.EthernetLen:]).SrcAddr(); src != hiddenRS[1].Addr() || !packettest.VerifyChecksums(nsOut) {
		t.Errorf("NS rewritten to source %s, checksums valid %v", src, packettest.VerifyChecksums(nsOut))
	}
}

// echoLines answers each line of each connection with name: line.
func echoLines(ln net.Listener, name string) {
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		wg.Go(func() {
			defer c.Close()
			sc := bufio.NewScanner(c)
			for sc.Scan() {
				fmt.Fprintf(c, "%s: %s\n", name, sc.Text())
			}
		})
	}
}

// nsFrame builds a neighbor solicitation for target from src, to target's solicited-node
// group, with the source link-layer address option.
func nsFrame(srcMAC [6]byte, src, target netip.Addr) []byte {
	const nsLen = 32 // header with target (24) + source link-layer address option (8)
	t16 := target.As16()
	group := [16]byte{0: 0xff, 1: 0x02, 11: 0x01, 12: 0xff, 13: t16[13], 14: t16[14], 15: t16[15]}
	dstMAC := [6]byte{0x33, 0x33, group[12], group[13], group[14], group[15]}
	b := make([]byte, packet.EthernetLen+packet.IPv6Len+nsLen)
	n := packet.PutEthernet(b, dstMAC, srcMAC, packet.EtherTypeIPv6)
	h := packet.IPv6(b[n:])
	h.SetVersionClassFlow(0, 0)
	h.SetPayloadLength(nsLen)
	h.SetNextHeader(packet.ProtoICMPv6)
	h.SetHopLimit(255)
	h.SetSrc(src.As16())
	h.SetDst(group)
	ns := b[n+packet.IPv6Len:]
	ns[0] = ndpNeighborSolicit
	copy(ns[8:24], t16[:])
	ns[24], ns[25] = 1, 1 // source link-layer address, 8 bytes
	copy(ns[26:32], srcMAC[:])
	s16 := src.As16()
	ck := ^packet.Checksum(ns, packet.PseudoHeaderChecksum6(packet.ProtoICMPv6, &s16, &group, nsLen))
	ns[2], ns[3] = byte(ck>>8), byte(ck)
	return b
}

func isNA(target netip.Addr) func([]byte, *packet.Packet) bool {
	return func(f []byte, p *packet.Packet) bool {
		return p.Key.Proto == packet.ProtoICMPv6 && p.ICMPType == ndpNeighborAdvert &&
			netip.AddrFrom16([16]byte(f[p.L4Off+8:p.L4Off+24])) == target
	}
}

func isNSFor(target netip.Addr) func([]byte, *packet.Packet) bool {
	return func(f []byte, p *packet.Packet) bool {
		return p.Key.Proto == packet.ProtoICMPv6 && p.ICMPType == ndpNeighborSolicit &&
			netip.AddrFrom16([16]byte(f[p.L4Off+8:p.L4Off+24])) == target
	}
}

func isARPRequestFor(f []byte, p *packet.Packet, target netip.Addr) bool {
	if p.EtherType != packet.EtherTypeARP {
		return false
	}
	a := packet.ARP(f[p.L3Off:])
	return a.Op() == packet.ARPRequest && a.TargetIP() == target.As4()
}

func isGratuitousARPFrom(addr netip.Addr, mac [6]byte) func([]byte, *packet.Packet) bool {
	return func(f []byte, p *packet.Packet) bool {
		if p.EtherType != packet.EtherTypeARP {
			return false
		}
		a := packet.ARP(f[p.L3Off:])
		return a.SenderIP() == addr.As4() && a.TargetIP() == addr.As4() && a.SenderMAC() == mac
	}
}

// mentions matches a frame from the real server that names one of the hidden addresses in
// neighbor discovery: an ARP packet with it as sender, a neighbor solicitation or
// advertisement from it or about it.
func mentions(v4, v6 netip.Addr) func([]byte, *packet.Packet) bool {
	return func(f []byte, p *packet.Packet) bool {
		if packet.Ethernet(f).Src() != macRS {
			return false
		}
		if p.EtherType == packet.EtherTypeARP {
			a := packet.ARP(f[p.L3Off:])
			return a.SenderIP() == v4.As4() || a.Op() == packet.ARPReply && a.TargetIP() == v4.As4()
		}
		if p.Key.Proto != packet.ProtoICMPv6 || (p.ICMPType != ndpNeighborSolicit && p.ICMPType != ndpNeighborAdvert) {
			return false
		}
		return p.Key.SrcAddr() == v6 || netip.AddrFrom16([16]byte(f[p.L4Off+8:p.L4Off+24])) == v6
	}
}
