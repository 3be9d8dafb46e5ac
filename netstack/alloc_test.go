package netstack

import (
	"bytes"
	"net"
	"net/netip"
	"sync/atomic"
	"testing"

	"github.com/uvs-lb/uvs/lb"
	"github.com/uvs-lb/uvs/netstack/port"
	"github.com/uvs-lb/uvs/packet"
	"github.com/uvs-lb/uvs/packet/packettest"
)

// sinkPort takes every frame written to it and has none to read: the far end of a port loop
// driven by hand, one prepared batch at a time.
type sinkPort struct {
	name    string
	mac     [6]byte
	written atomic.Uint64
}

func (s *sinkPort) Read([][]byte, []int, int) (int, error) { return 0, port.ErrClosed }
func (s *sinkPort) Write(bufs [][]byte, _ []int, _ int) (int, error) {
	s.written.Add(uint64(len(bufs)))
	return len(bufs), nil
}
func (s *sinkPort) BatchSize() int                 { return 64 }
func (s *sinkPort) MTU() int                       { return 1500 }
func (s *sinkPort) MaxFrame() int                  { return 1518 }
func (s *sinkPort) Headroom() int                  { return 0 }
func (s *sinkPort) HardwareAddr() net.HardwareAddr { return s.mac[:] }
func (s *sinkPort) Name() string                   { return s.name }
func (s *sinkPort) Close() error                   { return nil }

// flows returns one frame per client port for n NAT flows: from clients to the VIP with
// flags, and the replies from the real server.
func flows(n int, flags uint8, payload []byte) (in, out [][]byte) {
	for i := range n {
		c := netip.AddrPortFrom(clientAddr.Addr(), uint16(20000+i))
		f := packettest.Frame{SrcMAC: macClient, DstMAC: macLB0, Src: c, Dst: rawVIP, Proto: packet.ProtoTCP,
			TCPFlags: flags, Seq: 1, Ack: 1, Payload: payload}
		in = append(in, f.Build())
		f = packettest.Frame{SrcMAC: macServer, DstMAC: macLB1, Src: rawServer, Dst: c, Proto: packet.ProtoTCP,
			TCPFlags: flags | packet.TCPAck, Seq: 1, Ack: 1, Payload: payload}
		out = append(out, f.Build())
	}
	return in, out
}

// load puts frames into l's receive slots as Read would.
func (l *loop) load(frames [][]byte) int {
	for i, f := range frames {
		l.sizes[i] = copy(l.bufs[i][l.off:], f)
	}
	return len(frames)
}

// establishedRig is an appliance over two ports, not started, whose neighbors are known and
// whose connection table holds n established NAT connections.
func establishedRig(t testing.TB, inside, outside port.Port, n int) *Dataplane {
	t.Helper()
	dp, e := appliance(t, inside, outside, natConfig(rsAddrs[:1]))
	t.Cleanup(func() {
		dp.Close()
		e.Close()
	})
	dp.host.neigh.set(0, clientAddr.Addr(), macClient)
	dp.host.neigh.set(1, rawServer.Addr(), macServer)
	syns, synAcks := flows(n, packet.TCPSyn, nil)
	dp.loops[0].process(dp.loops[0].load(syns))
	dp.loops[1].process(dp.loops[1].load(synAcks))
	if s := dp.Stats(); s.Ports[0].Forwarded != uint64(n) || s.Ports[1].Forwarded != uint64(n) {
		t.Fatalf("handshakes not forwarded: %+v %v", s.Ports, s.Drops)
	}
	return dp
}

func TestForwardBatchDoesNotAllocate(t *testing.T) {
	inside, outside := &sinkPort{name: "lb0", mac: macLB0}, &sinkPort{name: "lb1", mac: macLB1}
	dp := establishedRig(t, inside, outside, 64)
	in, out := flows(64, packet.TCPAck, bytes.Repeat([]byte{'x'}, 64))
	before := dp.Stats()
	allocs := testing.AllocsPerRun(100, func() {
		dp.loops[0].process(dp.loops[0].load(in))
		dp.loops[1].process(dp.loops[1].load(out))
	})
	if allocs != 0 {
		t.Errorf("%v allocations per pair of batches, want 0", allocs)
	}
	after := dp.Stats()
	if got := after.Ports[0].Forwarded - before.Ports[0].Forwarded; got < 100*64 {
		t.Errorf("forwarded %d inbound frames in 101 batches of 64", got)
	}
	if got := after.Ports[1].Forwarded - before.Ports[1].Forwarded; got < 100*64 {
		t.Errorf("forwarded %d reply frames in 101 batches of 64", got)
	}
}

// BenchmarkDataplaneForward pushes batches of 64 established NAT TCP segments (64-byte
// payload) through one loop on memory ports: the client's end writes a batch, the loop reads,
// decides, rewrites and writes it out, and the server's end drains it. The memory ports'
// copies are included.
func BenchmarkDataplaneForward(b *testing.B) {
	client, inside := port.Pipe(mem("client", macClient), mem("lb0", macLB0))
	outside, server := port.Pipe(mem("lb1", macLB1), mem("server", macServer))
	const batch = 64
	dp := establishedRig(b, inside, outside, batch)
	// The handshakes went out through the memory ports: take them off the far ends.
	bufs, sizes := make([][]byte, batch), make([]int, batch)
	for i := range bufs {
		bufs[i] = make([]byte, server.MaxFrame())
	}
	for _, p := range []*port.Mem{client, server} {
		if n, _ := p.Read(bufs, sizes, 0); n != batch {
			b.Fatalf("%s: %d handshake frames, want %d", p.Name(), n, batch)
		}
	}
	in, _ := flows(batch, packet.TCPAck, bytes.Repeat([]byte{'x'}, 64))
	for i, f := range in {
		sizes[i] = len(f)
	}
	l := dp.loops[0]
	sink, sinkSizes := bufs, make([]int, batch)
	b.ReportAllocs()
	b.SetBytes(int64(batch * len(in[0])))
	for b.Loop() {
		client.Write(in, sizes, 0)
		n, err := inside.Read(l.bufs, l.sizes, l.off)
		if err != nil || n != batch {
			b.Fatalf("read %d frames: %v", n, err)
		}
		l.process(n)
		if m, _ := server.Read(sink, sinkSizes, 0); m != batch {
			b.Fatalf("%d frames of %d forwarded: %+v", m, batch, dp.Stats())
		}
	}
	frames := float64(b.N) * batch
	b.ReportMetric(b.Elapsed().Seconds()*1e9/frames, "ns/frame")
	b.ReportMetric(frames/b.Elapsed().Seconds(), "frames/s")
}

// inputOnlyRig is an appliance over two ports, not started, whose neighbors are known and
// whose connection table holds n connections of cfg's (DR or TUN) service: only the
// clients' side exists for these methods.
func inputOnlyRig(t testing.TB, inside, outside port.Port, cfg *lb.Config, n int) *Dataplane {
	t.Helper()
	dp, e := appliance(t, inside, outside, cfg)
	t.Cleanup(func() {
		dp.Close()
		e.Close()
	})
	dp.host.neigh.set(0, clientAddr.Addr(), macClient)
	dp.host.neigh.set(1, rawServer.Addr(), macServer)
	syns, _ := flows(n, packet.TCPSyn, nil)
	dp.loops[0].process(dp.loops[0].load(syns))
	if s := dp.Stats(); s.Ports[0].Forwarded != uint64(n) {
		t.Fatalf("SYNs not forwarded: %+v %v", s.Ports, s.Drops)
	}
	return dp
}

var inputOnlyMethods = []struct {
	name string
	cfg  *lb.Config
}{
	{"dr", inputOnlyConfig(lb.MethodDR, 0)},
	{"tun-ipip", inputOnlyConfig(lb.MethodTUN, lb.TunnelIPIP)},
	{"tun-gue", inputOnlyConfig(lb.MethodTUN, lb.TunnelGUE)},
}

func TestInputOnlyForwardDoesNotAllocate(t *testing.T) {
	for _, m := range inputOnlyMethods {
		t.Run(m.name, func(t *testing.T) {
			inside, outside := &sinkPort{name: "lb0", mac: macLB0}, &sinkPort{name: "lb1", mac: macLB1}
			dp := inputOnlyRig(t, inside, outside, m.cfg, 64)
			in, _ := flows(64, packet.TCPAck, bytes.Repeat([]byte{'x'}, 64))
			before := dp.Stats()
			if allocs := testing.AllocsPerRun(100, func() { dp.loops[0].process(dp.loops[0].load(in)) }); allocs != 0 {
				t.Errorf("%v allocations per batch, want 0", allocs)
			}
			if got := dp.Stats().Ports[0].Forwarded - before.Ports[0].Forwarded; got < 100*64 {
				t.Errorf("forwarded %d frames in 101 batches of 64", got)
			}
		})
	}
}

// BenchmarkDataplaneForwardInputOnly is BenchmarkDataplaneForward's loop for DR and TUN:
// batches of 64 established TCP segments (64-byte payload) through one loop, into a sink.
func BenchmarkDataplaneForwardInputOnly(b *testing.B) {
	for _, m := range inputOnlyMethods {
		b.Run(m.name, func(b *testing.B) {
			inside, outside := &sinkPort{name: "lb0", mac: macLB0}, &sinkPort{name: "lb1", mac: macLB1}
			const batch = 64
			dp := inputOnlyRig(b, inside, outside, m.cfg, batch)
			in, _ := flows(batch, packet.TCPAck, bytes.Repeat([]byte{'x'}, 64))
			l := dp.loops[0]
			b.ReportAllocs()
			for b.Loop() {
				l.process(l.load(in))
			}
			frames := float64(b.N) * batch
			b.ReportMetric(b.Elapsed().Seconds()*1e9/frames, "ns/frame")
			b.ReportMetric(frames/b.Elapsed().Seconds(), "frames/s")
			if s := dp.Stats(); s.Ports[0].Dropped != 0 {
				b.Fatalf("drops: %v", s.Drops)
			}
		})
	}
}
