package netstack

import (
	"context"
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/uvs-lb/uvs/lb"
	"github.com/uvs-lb/uvs/netstack/port"
	"github.com/uvs-lb/uvs/packet"
	"github.com/uvs-lb/uvs/packet/packettest"
)

// rawEnd is the far end of one of the appliance's ports, played by the test: it sends frames
// the test builds, collects what the appliance sends, and answers ARP requests for its own
// address as a host would.
type rawEnd struct {
	p      *port.Mem
	mac    [6]byte
	ip     netip.Addr
	frames chan []byte
	done   chan struct{}
}

func newRawEnd(p *port.Mem, mac [6]byte, ip netip.Addr) *rawEnd {
	r := &rawEnd{p: p, mac: mac, ip: ip, frames: make(chan []byte, 1024), done: make(chan struct{})}
	go r.read()
	return r
}

func (r *rawEnd) read() {
	defer close(r.done)
	bufs, sizes := make([][]byte, r.p.BatchSize()), make([]int, r.p.BatchSize())
	off := r.p.Headroom()
	for i := range bufs {
		bufs[i] = make([]byte, off+r.p.MaxFrame())
	}
	for {
		n, err := r.p.Read(bufs, sizes, off)
		if err != nil {
			return
		}
		for i := range n {
			f := append([]byte(nil), bufs[i][off:off+sizes[i]]...)
			if r.answerARP(f) {
				continue
			}
			select {
			case r.frames <- f:
			default: // the test is not looking: forget it
			}
		}
	}
}

// answerARP replies to an ARP request for the end's address.
func (r *rawEnd) answerARP(f []byte) bool {
	var p packet.Packet
	if packet.Parse(f, &p) != nil || p.EtherType != packet.EtherTypeARP {
		return false
	}
	a := packet.ARP(f[p.L3Off:])
	if a.Op() != packet.ARPRequest || !r.ip.Is4() || a.TargetIP() != r.ip.As4() || a.SenderIP() == a.TargetIP() {
		return false
	}
	reply := arpFrame(packet.ARPReply, r.mac, a.SenderMAC(), r.ip, netip.AddrFrom4(a.SenderIP()))
	r.write(reply, nil)
	return true
}

// write sends f, behind the virtio-net header h when the end has vnet headers (nil: none).
func (r *rawEnd) write(f, h []byte) error {
	off := r.p.Headroom()
	b := make([]byte, off+len(f))
	copy(b[off-len(h):off], h)
	copy(b[off:], f)
	_, err := r.p.Write([][]byte{b}, []int{len(f)}, off)
	return err
}

func (r *rawEnd) close() {
	r.p.Close()
	<-r.done
}

func (r *rawEnd) send(t testing.TB, f []byte) {
	t.Helper()
	if err := r.write(f, nil); err != nil {
		t.Fatalf("%s: write: %v", r.p.Name(), err)
	}
}

// expect waits for a frame that match accepts, skipping others.
func (r *rawEnd) expect(t testing.TB, what string, match func(f []byte, p *packet.Packet) bool) ([]byte, *packet.Packet) {
	t.Helper()
	timeout := time.After(waitFor)
	for {
		select {
		case f := <-r.frames:
			p := new(packet.Packet)
			if packet.Parse(f, p) == nil && match(f, p) {
				return f, p
			}
		case <-timeout:
			t.Fatalf("%s: no %s", r.p.Name(), what)
			return nil, nil
		}
	}
}

// expectNone checks that no frame match accepts arrives within d.
func (r *rawEnd) expectNone(t testing.TB, what string, d time.Duration, match func(f []byte, p *packet.Packet) bool) {
	t.Helper()
	timeout := time.After(d)
	for {
		select {
		case f := <-r.frames:
			p := new(packet.Packet)
			if packet.Parse(f, p) == nil && match(f, p) {
				t.Fatalf("%s: unexpected %s: % x", r.p.Name(), what, f)
			}
		case <-timeout:
			return
		}
	}
}

// rawRig is the appliance between two ends played by the test: a client (10.0.0.2) on lb0
// and a real server (192.168.1.10) on lb1.
type rawRig struct {
	dp             *Dataplane
	host           *Host
	engine         *lb.Engine
	client, server *rawEnd
}

func newRawRig(t *testing.T, cfg *lb.Config) *rawRig {
	t.Helper()
	return newRawRigVNet(t, cfg, false)
}

// newRawRigVNet is newRawRig with virtio-net headers on the client's link when vnet is set,
// as an AF_PACKET or TAP port has with offloads on.
func newRawRigVNet(t *testing.T, cfg *lb.Config, vnet bool) *rawRig {
	t.Helper()
	cc, lc := mem("raw-client", macClient), mem("lb0", macLB0)
	cc.VNetHdr, lc.VNetHdr = vnet, vnet
	c, lb0 := port.Pipe(cc, lc)
	lb1, s := port.Pipe(mem("lb1", macLB1), mem("raw-server", macServer))
	dp, e := appliance(t, lb0, lb1, cfg)
	r := &rawRig{dp: dp, host: dp.Host(), engine: e,
		client: newRawEnd(c, macClient, clientAddr.Addr()),
		server: newRawEnd(s, macServer, rsAddrs[0].Addr())}
	t.Cleanup(func() {
		dp.Close()
		e.Close()
		r.client.close()
		r.server.close()
	})
	must(t, e.Start(context.Background()))
	must(t, dp.Start(context.Background()))
	return r
}

// waitStats polls the dataplane's counters until ok accepts them.
func waitStats(t testing.TB, dp *Dataplane, what string, ok func(Stats) bool) Stats {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for {
		s := dp.Stats()
		if ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: stats %+v", what, s)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Frame builders and matchers.

func arpFrame(op uint16, srcMAC, dstMAC [6]byte, sender, target netip.Addr) []byte {
	b := make([]byte, packet.EthernetLen+packet.ARPLen)
	n := packet.PutEthernet(b, dstMAC, srcMAC, packet.EtherTypeARP)
	a := packet.ARP(b[n:])
	copy(a, arpIPv4Ethernet[:])
	a.SetOp(op)
	a.SetSenderMAC(srcMAC)
	a.SetSenderIP(sender.As4())
	if op == packet.ARPReply {
		a.SetTargetMAC(dstMAC)
	}
	a.SetTargetIP(target.As4())
	return b
}

func arpRequest(srcMAC [6]byte, sender, target netip.Addr) []byte {
	return arpFrame(packet.ARPRequest, srcMAC, broadcastMAC, sender, target)
}

// icmpEcho builds an ICMPv4 echo request.
func icmpEcho(srcMAC, dstMAC [6]byte, src, dst netip.Addr, id, seq uint16) []byte {
	m := make([]byte, packet.ICMPLen+8)
	m[0] = packet.ICMPv4EchoRequest
	binary.BigEndian.PutUint16(m[4:], id)
	binary.BigEndian.PutUint16(m[6:], seq)
	copy(m[8:], "uvs-ping")
	binary.BigEndian.PutUint16(m[2:], packettest.Checksum(m, 0))
	ip := packettest.IP(src, dst, packet.ProtoICMP, 64, m)
	b := make([]byte, packet.EthernetLen+len(ip))
	packet.PutEthernet(b, dstMAC, srcMAC, packet.EtherTypeIPv4)
	copy(b[packet.EthernetLen:], ip)
	return b
}

func tcpFrame(srcMAC, dstMAC [6]byte, src, dst netip.AddrPort, flags uint8) packettest.Frame {
	return packettest.Frame{SrcMAC: srcMAC, DstMAC: dstMAC, Src: src, Dst: dst, Proto: packet.ProtoTCP,
		TCPFlags: flags, Seq: 1000, Payload: nil}
}

func isTCP(src, dst netip.AddrPort) func([]byte, *packet.Packet) bool {
	return func(_ []byte, p *packet.Packet) bool {
		return p.Key.Proto == packet.ProtoTCP && p.Key.SrcAddr() == src.Addr() && p.Key.SrcPort == src.Port() &&
			p.Key.DstAddr() == dst.Addr() && p.Key.DstPort == dst.Port()
	}
}

func isICMP(from, to netip.Addr, typ, code uint8) func([]byte, *packet.Packet) bool {
	return func(_ []byte, p *packet.Packet) bool {
		return (p.Key.Proto == packet.ProtoICMP || p.Key.Proto == packet.ProtoICMPv6) &&
			p.Key.SrcAddr() == from && p.Key.DstAddr() == to && p.ICMPType == typ && p.ICMPCode == code
	}
}

func isARP(op uint16, sender netip.Addr) func([]byte, *packet.Packet) bool {
	return func(f []byte, p *packet.Packet) bool {
		if p.EtherType != packet.EtherTypeARP {
			return false
		}
		a := packet.ARP(f[p.L3Off:])
		return a.Op() == op && a.SenderIP() == sender.As4()
	}
}
