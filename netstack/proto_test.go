package netstack

import (
	"bytes"
	"context"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/uvs-lb/uvs/netstack/nettest"
	"github.com/uvs-lb/uvs/netstack/port"
	"github.com/uvs-lb/uvs/packet"
	"github.com/uvs-lb/uvs/packet/packettest"
)

// Protocol handlers and SendIP: two standalone hosts and an observer played by the test on
// one switch, speaking IP protocol 112 (VRRP's) to each other.
//
//	a 10.0.1.1 2001:db8:5::1 ──┐
//	b 10.0.1.2 2001:db8:5::2 ──┼─ switch
//	observer 10.0.1.9 ─────────┘
const protoVRRP = 112

var (
	protoA    = []netip.Prefix{netip.MustParsePrefix("10.0.1.1/24"), netip.MustParsePrefix("2001:db8:5::1/64")}
	protoB    = []netip.Prefix{netip.MustParsePrefix("10.0.1.2/24"), netip.MustParsePrefix("2001:db8:5::2/64")}
	protoObs  = netip.MustParseAddr("10.0.1.9")
	macA      = [6]byte{0x02, 0, 0, 0, 0x07, 0x01}
	macB      = [6]byte{0x02, 0, 0, 0, 0x07, 0x02}
	macObs    = [6]byte{0x02, 0, 0, 0, 0x07, 0x09}
	group4    = netip.MustParseAddr("224.0.0.18")
	group6    = netip.MustParseAddr("ff02::12")
	vmac4     = [6]byte{0x00, 0x00, 0x5e, 0x00, 0x01, 0x33} // VRID 51
	vmac6     = [6]byte{0x00, 0x00, 0x5e, 0x00, 0x02, 0x33}
	advertish = []byte("\x31\x33\x64\x01\x00\x01\x00\x00\x0a\x00\x01\x64") // shaped as a VRRP advert
)

type protoRig struct {
	a, b *Host
	obs  *rawEnd
}

func newProtoRig(t *testing.T) *protoRig {
	t.Helper()
	pa, sw0 := port.Pipe(mem("a", macA), mem("sw0", [6]byte{0x02, 0, 0, 0, 0x08, 0}))
	pb, sw1 := port.Pipe(mem("b", macB), mem("sw1", [6]byte{0x02, 0, 0, 0, 0x08, 1}))
	po, sw2 := port.Pipe(mem("observer", macObs), mem("sw2", [6]byte{0x02, 0, 0, 0, 0x08, 2}))
	sw := nettest.NewSwitch(sw0, sw1, sw2)
	r := &protoRig{
		a:   mustHost(t, HostConfig{Standalone: true, NICs: []NICConfig{{Port: pa, Addrs: protoA}}}),
		b:   mustHost(t, HostConfig{Standalone: true, NICs: []NICConfig{{Port: pb, Addrs: protoB}}}),
		obs: newRawEnd(po, macObs, protoObs),
	}
	t.Cleanup(func() {
		r.a.Close()
		r.b.Close()
		r.obs.close()
		sw.Close()
	})
	sw.Start()
	must(t, r.a.Start(context.Background()))
	must(t, r.b.Start(context.Background()))
	return r
}

// received is what a test handler saw of one packet, copied.
type received struct {
	nic            int
	src, dst       netip.Addr
	ttl            uint8
	srcMAC, dstMAC [6]byte
	payload        []byte
}

type collector chan received

func newCollector() collector { return make(collector, 64) }

func (c collector) handle(nic int, f []byte, p *packet.Packet, payload []byte) {
	r := received{nic: nic, src: p.Key.SrcAddr(), dst: p.Key.DstAddr(), ttl: p.TTL,
		srcMAC: packet.Ethernet(f).Src(), dstMAC: packet.Ethernet(f).Dst(), payload: slices.Clone(payload)}
	select {
	case c <- r:
	default:
	}
}

func (c collector) expect(t *testing.T, what string, match func(received) bool) received {
	t.Helper()
	timeout := time.After(waitFor)
	for {
		select {
		case r := <-c:
			if match(r) {
				return r
			}
		case <-timeout:
			t.Fatalf("the handler got no %s", what)
			return received{}
		}
	}
}

func (c collector) expectNone(t *testing.T, what string, d time.Duration) {
	t.Helper()
	select {
	case r := <-c:
		t.Fatalf("the handler got %s: %+v", what, r)
	case <-time.After(d):
	}
}

// sendResolving retries SendIP while the next hop is being resolved.
func sendResolving(t *testing.T, h *Host, src, dst netip.Addr, ttl uint8, payload []byte) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for {
		err := h.SendIP(0, src, dst, protoVRRP, ttl, payload, [6]byte{})
		if err == nil {
			return
		}
		if !errors.Is(err, ErrUnresolved) || time.Now().After(deadline) {
			t.Fatalf("SendIP to %s: %v", dst, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func eui64(mac [6]byte) netip.Addr {
	return netip.AddrFrom16([16]byte{0: 0xfe, 1: 0x80, 8: mac[0] ^ 2, 9: mac[1], 10: mac[2], 11: 0xff, 12: 0xfe,
		13: mac[3], 14: mac[4], 15: mac[5]})
}

// A host's SendIP reaches another host's handler: to the IPv4 and IPv6 groups (from the
// link-local address), and unicast once the neighbor is resolved; TTL 255 arrives as sent.
func TestSendIPReachesProtocolHandler(t *testing.T) {
	r := newProtoRig(t)
	got := newCollector()
	must(t, r.b.HandleProtocol(protoVRRP, got.handle))
	if ll := r.a.LinkLocal(0); ll != eui64(macA) {
		t.Fatalf("LinkLocal = %s, want %s", ll, eui64(macA))
	}

	must(t, r.a.SendIP(0, netip.Addr{}, group4, protoVRRP, 255, advertish, [6]byte{}))
	m := got.expect(t, "the IPv4 multicast packet", func(m received) bool { return m.dst == group4 })
	want := received{nic: 0, src: protoA[0].Addr(), dst: group4, ttl: 255, srcMAC: macA,
		dstMAC: [6]byte{0x01, 0x00, 0x5e, 0, 0, 0x12}, payload: advertish}
	checkReceived(t, m, want)

	must(t, r.a.SendIP(0, r.a.LinkLocal(0), group6, protoVRRP, 255, advertish, [6]byte{}))
	m = got.expect(t, "the IPv6 multicast packet", func(m received) bool { return m.dst == group6 })
	checkReceived(t, m, received{src: eui64(macA), dst: group6, ttl: 255, srcMAC: macA,
		dstMAC: [6]byte{0x33, 0x33, 0, 0, 0, 0x12}, payload: advertish})

	// The observer sees what the switch floods: the IPv4 header is sound, the frame padded.
	f, p := r.obs.expect(t, "the IPv4 advert", func(f []byte, p *packet.Packet) bool {
		return p.Key.Proto == protoVRRP && p.Key.DstAddr() == group4
	})
	if ip := packet.IPv4(p.IP(f)); !ip.IsChecksumValid() || ip.IsFragment() || len(f) != minFrame {
		t.Errorf("IPv4 header % x (checksum valid %v), frame of %d bytes", p.IP(f)[:20], ip.IsChecksumValid(), len(f))
	}

	// Unicast: to b's address, then to b's link-local address (which b's stack resolves).
	sendResolving(t, r.a, protoA[0].Addr(), protoB[0].Addr(), 255, advertish)
	m = got.expect(t, "the IPv4 unicast packet", func(m received) bool { return m.dst == protoB[0].Addr() })
	checkReceived(t, m, received{src: protoA[0].Addr(), dst: protoB[0].Addr(), ttl: 255, srcMAC: macA, dstMAC: macB, payload: advertish})
	sendResolving(t, r.a, netip.Addr{}, r.b.LinkLocal(0), 255, advertish)
	m = got.expect(t, "the IPv6 link-local unicast packet", func(m received) bool { return m.dst == eui64(macB) })
	checkReceived(t, m, received{src: eui64(macA), dst: eui64(macB), ttl: 255, srcMAC: macA, dstMAC: macB, payload: advertish})
	sendResolving(t, r.a, netip.Addr{}, protoB[1].Addr(), 9, advertish)
	m = got.expect(t, "the IPv6 global unicast packet", func(m received) bool { return m.dst == protoB[1].Addr() })
	checkReceived(t, m, received{src: protoA[1].Addr(), dst: protoB[1].Addr(), ttl: 9, srcMAC: macA, dstMAC: macB, payload: advertish})

	if s := r.b.Stats().NICs[0]; s.ProtocolHandled < 5 || s.ProtocolDropped != 0 {
		t.Errorf("stats %+v, want 5 packets handled", s)
	}
}

func checkReceived(t *testing.T, m, want received) {
	t.Helper()
	if m.nic != want.nic || m.src != want.src || m.dst != want.dst || m.ttl != want.ttl ||
		m.srcMAC != want.srcMAC || m.dstMAC != want.dstMAC || !bytes.Equal(m.payload, want.payload) {
		t.Errorf("handler got %+v\nwant %+v", m, want)
	}
}

// Without a handler, the stack answers a unicast packet of an unknown protocol with ICMP
// protocol unreachable; with one, the handler gets it and the stack never sees it; removing
// the handler gives the protocol back to the stack.
func TestProtocolHandlerKeepsTheStackFromAnswering(t *testing.T) {
	r := newProtoRig(t)
	bAddr := protoB[0].Addr()
	frame := func(ttl uint8) []byte {
		ip := packettest.IP(protoObs, bAddr, protoVRRP, ttl, advertish)
		b := make([]byte, packet.EthernetLen+len(ip))
		packet.PutEthernet(b, macB, macObs, packet.EtherTypeIPv4)
		copy(b[packet.EthernetLen:], ip)
		return b
	}
	unreachable := isICMP(bAddr, protoObs, packet.ICMPv4DestUnreachable, packet.ICMPv4ProtoUnreachable)

	r.obs.send(t, frame(64))
	r.obs.expect(t, "protocol unreachable from the stack without a handler", unreachable)

	got := newCollector()
	must(t, r.b.HandleProtocol(protoVRRP, got.handle))
	r.obs.send(t, frame(7))
	m := got.expect(t, "the unicast packet", func(received) bool { return true })
	checkReceived(t, m, received{src: protoObs, dst: bAddr, ttl: 7, srcMAC: macObs, dstMAC: macB, payload: advertish})
	r.obs.expectNone(t, "protocol unreachable with a handler", 300*time.Millisecond, unreachable)

	// A frame to another MAC, a bad header checksum and a fragment are dropped, unseen.
	other := frame(7)
	packet.Ethernet(other).SetDst([6]byte{0x02, 0, 0, 0, 0x07, 0x77})
	badSum := frame(7)
	badSum[packet.EthernetLen+10] ^= 0xff
	frag := frame(7)
	ip := packet.IPv4(frag[packet.EthernetLen:])
	ip.SetFragment(false, true, 0)
	ip.SetChecksum(ip.ComputeChecksum())
	for _, f := range [][]byte{other, badSum, frag} {
		r.obs.send(t, f)
	}
	r.obs.expectNone(t, "protocol unreachable for the dropped frames", 300*time.Millisecond, unreachable)
	got.expectNone(t, "a dropped frame", 10*time.Millisecond)
	if s := r.b.Stats().NICs[0]; s.ProtocolHandled != 1 || s.ProtocolDropped != 3 {
		t.Errorf("stats %+v, want 1 handled and 3 dropped", s)
	}

	must(t, r.b.HandleProtocol(protoVRRP, nil))
	r.obs.send(t, frame(64))
	r.obs.expect(t, "protocol unreachable once the handler is gone", unreachable)
	got.expectNone(t, "a packet after the handler is gone", 10*time.Millisecond)
}

func TestHandleProtocolRefusesTheStacksProtocols(t *testing.T) {
	h := mustHost(t, HostConfig{NICs: []NICConfig{{Port: &sinkPort{name: "eth0", mac: macA}, Addrs: protoA}}})
	for _, p := range []uint8{packet.ProtoTCP, packet.ProtoUDP, packet.ProtoICMP, packet.ProtoICMPv6, packet.ProtoFragment} {
		if err := h.HandleProtocol(p, func(int, []byte, *packet.Packet, []byte) {}); err == nil {
			t.Errorf("protocol %d taken", p)
		}
	}
	must(t, h.HandleProtocol(protoVRRP, func(int, []byte, *packet.Packet, []byte) {}))
	if h.protos.Load() == nil {
		t.Error("no table with a handler")
	}
	must(t, h.HandleProtocol(protoVRRP, nil))
	if h.protos.Load() != nil {
		t.Error("a table without handlers: the receive path looks for none")
	}
}

func TestSendIPErrors(t *testing.T) {
	sink := &sinkPort{name: "eth0", mac: macA}
	h := mustHost(t, HostConfig{NICs: []NICConfig{{Port: sink, Addrs: protoA[:1]}}})
	send := func(nic int, src, dst netip.Addr, payload []byte, mac [6]byte) error {
		return h.SendIP(nic, src, dst, protoVRRP, 255, payload, mac)
	}
	if err := send(0, netip.Addr{}, group4, advertish, [6]byte{}); !errors.Is(err, errNotRunning) {
		t.Errorf("before Start: %v", err)
	}
	must(t, h.Start(context.Background()))
	t.Cleanup(func() { h.Close() })
	for _, c := range []struct {
		nic      int
		src, dst netip.Addr
		payload  []byte
		mac      [6]byte
		want     string
	}{
		{1, netip.Addr{}, group4, advertish, [6]byte{}, "no NIC 1"},
		{0, protoA[0].Addr(), group6, advertish, [6]byte{}, "two families"},
		{0, netip.Addr{}, netip.Addr{}, advertish, [6]byte{}, "no destination"},
		{0, group4, group4, advertish, [6]byte{}, "multicast source"},
		{0, netip.Addr{}, group4, advertish, [6]byte{0x01, 0, 0x5e, 0, 0, 1}, "not a unicast MAC"},
		{0, netip.Addr{}, group4, make([]byte, 1481), [6]byte{}, "exceeds the MTU"},
	} {
		if err := send(c.nic, c.src, c.dst, c.payload, c.mac); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("SendIP(%d, %s, %s, %d bytes, %x) = %v, want %q", c.nic, c.src, c.dst, len(c.payload), c.mac, err, c.want)
		}
	}
	// The largest packet fits; IPv6 to a group goes from the link-local address, which the
	// host has without an IPv6 address of its own.
	before := sink.written.Load()
	must(t, send(0, netip.Addr{}, group4, make([]byte, 1480), [6]byte{}))
	must(t, send(0, netip.Addr{}, group6, advertish, [6]byte{}))
	must(t, send(0, netip.Addr{}, netip.MustParseAddr("10.0.1.255"), advertish, [6]byte{})) // broadcast
	if n := sink.written.Load() - before; n != 3 {
		t.Errorf("%d frames written, want 3", n)
	}
	if err := send(0, netip.Addr{}, netip.MustParseAddr("10.0.1.77"), advertish, [6]byte{}); !errors.Is(err, ErrUnresolved) {
		t.Errorf("to an unresolved neighbor: %v", err)
	}
}

func TestLinkLocalIsConfiguredOrMadeFromTheMAC(t *testing.T) {
	ll := netip.MustParsePrefix("fe80::1/64")
	h := mustHost(t, HostConfig{NICs: []NICConfig{
		{Port: &sinkPort{name: "eth0", mac: macA}, Addrs: protoA},
		{Port: &sinkPort{name: "eth1", mac: macB}, Addrs: []netip.Prefix{ll}},
	}})
	if got := h.LinkLocal(0); got != eui64(macA) || got != netip.MustParseAddr("fe80::ff:fe00:701") {
		t.Errorf("LinkLocal(0) = %s, want %s", got, eui64(macA))
	}
	if got := h.LinkLocal(1); got != ll.Addr() {
		t.Errorf("LinkLocal(1) = %s, want the configured %s", got, ll.Addr())
	}
	if got := h.LinkLocal(2); got.IsValid() {
		t.Errorf("LinkLocal(2) = %s for no NIC", got)
	}
}

// The receive path takes frames off to a handler without allocating, with a handler
// registered or none, for the handler's protocol and any other.
func TestProtocolDivertDoesNotAllocate(t *testing.T) {
	h := mustHost(t, HostConfig{NICs: []NICConfig{{Port: &sinkPort{name: "eth0", mac: macB}, Addrs: protoB}}})
	l := h.links[0]
	handled := 0
	must(t, h.HandleProtocol(protoVRRP, func(_ int, _ []byte, p *packet.Packet, payload []byte) {
		if p.TTL == 255 && len(payload) == len(advertish) {
			handled++
		}
	}))
	build := func(src, dst netip.Addr, dstMAC [6]byte, proto uint8) []byte {
		ip := packettest.IP(src, dst, proto, 255, advertish)
		b := make([]byte, packet.EthernetLen+len(ip))
		et := packet.EtherTypeIPv6
		if src.Is4() {
			et = packet.EtherTypeIPv4
		}
		packet.PutEthernet(b, dstMAC, macObs, et)
		copy(b[packet.EthernetLen:], ip)
		return b
	}
	vrrp4 := build(protoObs, group4, multicastMAC(group4), protoVRRP)
	vrrp6 := build(eui64(macObs), group6, multicastMAC(group6), protoVRRP)
	udp := build(protoObs, protoB[0].Addr(), macB, packet.ProtoUDP)
	t1 := h.protos.Load()
	allocs := testing.AllocsPerRun(100, func() {
		if !l.divert(t1, vrrp4) || !l.divert(t1, vrrp6) || l.divert(t1, udp) {
			t.Fatal("divert took the wrong frames")
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per round", allocs)
	}
	if handled < 200 {
		t.Errorf("handled %d", handled)
	}
}
