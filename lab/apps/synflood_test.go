package apps

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/uvs-lb/uvs/netstack"
	"github.com/uvs-lb/uvs/packet"
)

var _ FrameWriter = (*netstack.Host)(nil)

// nicRecorder is a FrameWriter that keeps copies of the frames written, and can play a
// next hop that is not resolved yet.
type nicRecorder struct {
	src, next  [6]byte
	unresolved bool

	mu     sync.Mutex
	frames [][]byte
	writes int
}

var errTestUnresolved = errors.New("next hop not resolved yet")

func (w *nicRecorder) NextHop(dst netip.Addr) (int, [6]byte, [6]byte, error) {
	if w.unresolved {
		return 0, [6]byte{}, [6]byte{}, errTestUnresolved
	}
	return 1, w.src, w.next, nil
}

func (w *nicRecorder) WriteFrames(nic int, bufs [][]byte, sizes []int, offset int) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writes++
	for i, b := range bufs {
		if nic != 1 || offset != 2 {
			return i, errors.New("wrong NIC or offset")
		}
		w.frames = append(w.frames, append([]byte(nil), b[offset:offset+sizes[i]]...))
	}
	return len(bufs), nil
}

func (w *nicRecorder) Headroom(nic int) int { return 2 }

// A SYN flood writes its rate in batches, each frame a valid IPv4 TCP SYN (checksums, an MSS
// option) from a random address of its sources and a random port, with a random ISN, to the
// target, addressed to the next hop's MAC.
func TestSYNFloodFrames(t *testing.T) {
	w := &nicRecorder{src: [6]byte{2, 0, 0, 0, 0, 1}, next: [6]byte{2, 0, 0, 0, 0, 0xfe}}
	f := &SYNFlood{Target: netip.MustParseAddrPort("10.0.0.1:80"), Sources: netip.MustParsePrefix("198.18.0.0/15"), Rate: 64000}
	const d = 500 * time.Millisecond
	rec := NewRecorder(time.Now(), 100*time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	if err := f.Run(ctx, w, rec); err != nil {
		t.Fatal(err)
	}
	s := rec.Summary()
	want := uint64(f.Rate * d.Seconds())
	if !within(s.Sent, want, 0.15) || s.Sent != uint64(len(w.frames)) || s.Errors != 0 {
		t.Fatalf("sent %d SYNs (%d frames written, %d errors) in %v at %v/s, want about %d", s.Sent, len(w.frames), s.Errors, d, f.Rate, want)
	}
	if per := float64(len(w.frames)) / float64(w.writes); per != synBatch {
		t.Errorf("%.1f frames a write, want batches of %d", per, synBatch)
	}
	var inSeries uint64
	for _, p := range s.Series {
		inSeries += p.Sent
	}
	if inSeries != s.Sent {
		t.Errorf("the series has %d SYNs, the total %d", inSeries, s.Sent)
	}
	sources, ports, isns := map[netip.Addr]bool{}, map[uint16]bool{}, map[uint32]bool{}
	for _, fr := range w.frames {
		var p packet.Packet
		if err := packet.Parse(fr, &p); err != nil {
			t.Fatalf("% x: %v", fr, err)
		}
		tcp := packet.TCP(fr[p.L4Off:p.L3End()])
		eth := packet.Ethernet(fr)
		switch {
		case len(fr) != 60 || p.Key.Proto != packet.ProtoTCP || p.Key.DstAddr() != f.Target.Addr() || p.Key.DstPort != 80:
			t.Fatalf("not a SYN to %s: % x", f.Target, fr)
		case tcp.Flags() != packet.TCPSyn || tcp.DataOffset() != 24 || tcp.Options()[0] != 2:
			t.Fatalf("flags %#x, header %d bytes, options % x: want a bare SYN with an MSS", tcp.Flags(), tcp.DataOffset(), tcp.Options())
		case !packet.ChecksumsValid(fr, &p):
			t.Fatalf("bad checksum: % x", fr)
		case eth.Dst() != w.next || eth.Src() != w.src:
			t.Fatalf("MACs %x → %x, want %x → %x", eth.Src(), eth.Dst(), w.src, w.next)
		case !f.Sources.Contains(p.Key.SrcAddr()) || p.Key.SrcPort < 1024:
			t.Fatalf("source %s:%d, want one of %s, port ≥ 1024", p.Key.SrcAddr(), p.Key.SrcPort, f.Sources)
		}
		sources[p.Key.SrcAddr()], ports[p.Key.SrcPort], isns[tcp.Seq()] = true, true, true
	}
	n := len(w.frames)
	// Random in a /15 (131072 addresses) and 64512 ports: few repeats among ~32000.
	if len(sources) < n*8/10 || len(ports) < n*6/10 || len(isns) < n*99/100 {
		t.Errorf("%d SYNs from %d sources, %d ports, %d ISNs: not random", n, len(sources), len(ports), len(isns))
	}
}

// A flood sends no batch due at or after its Stop, whatever its context says.
func TestSYNFloodStop(t *testing.T) {
	w := &nicRecorder{src: [6]byte{2, 0, 0, 0, 0, 1}, next: [6]byte{2, 0, 0, 0, 0, 0xfe}}
	start := time.Now()
	f := &SYNFlood{Target: netip.MustParseAddrPort("10.0.0.1:80"), Sources: netip.MustParsePrefix("198.18.0.0/15"), Rate: 10000,
		Stop: start.Add(100 * time.Millisecond)}
	rec := NewRecorder(start, 50*time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := f.Run(ctx, w, rec); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 500*time.Millisecond {
		t.Errorf("the flood ran %v, past its stop at 100ms", took)
	}
	s := rec.Summary()
	if s.Sent > 1000 || len(s.Series) > 2 {
		t.Errorf("sent %d SYNs in %d buckets of 50ms, want at most 1000 in the first 100ms", s.Sent, len(s.Series))
	}
}

// A flood allocates nothing per frame once its buffers are made.
func TestSYNFloodAllocs(t *testing.T) {
	w := &nicRecorder{src: [6]byte{2, 0, 0, 0, 0, 1}, next: [6]byte{2, 0, 0, 0, 0, 0xfe}}
	g := newSYNGen(&SYNFlood{Target: netip.MustParseAddrPort("10.0.0.1:80"), Sources: netip.MustParsePrefix("198.18.0.0/15"), Rate: 1})
	sink := discardNIC{w}
	if err := g.send(sink, synBatch); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() { g.send(sink, synBatch) }); n != 0 {
		t.Errorf("%v allocations a batch of %d, want 0", n, synBatch)
	}
}

// discardNIC is a nicRecorder that keeps nothing.
type discardNIC struct{ *nicRecorder }

func (discardNIC) WriteFrames(nic int, bufs [][]byte, sizes []int, offset int) (int, error) {
	return len(bufs), nil
}

// Until the next hop is resolved nothing is sent: each batch is an error of its kind.
func TestSYNFloodUnresolved(t *testing.T) {
	w := &nicRecorder{unresolved: true}
	f := &SYNFlood{Target: netip.MustParseAddrPort("10.0.0.1:80"), Sources: netip.MustParsePrefix("198.18.0.0/15"), Rate: 1000}
	rec := NewRecorder(time.Now(), time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := f.Run(ctx, w, rec); err != nil {
		t.Fatal(err)
	}
	if s := rec.Summary(); s.Sent != 0 || s.Errors == 0 || len(w.frames) != 0 {
		t.Errorf("sent %d, %d errors, %d frames written to an unresolved next hop", s.Sent, s.Errors, len(w.frames))
	}
}

func TestSYNFloodRefusesBadConfig(t *testing.T) {
	w := &nicRecorder{}
	for _, f := range []SYNFlood{
		{Target: netip.MustParseAddrPort("[2001:db8::1]:80"), Sources: netip.MustParsePrefix("198.18.0.0/15"), Rate: 1},
		{Target: netip.MustParseAddrPort("10.0.0.1:80"), Sources: netip.MustParsePrefix("2001:db8::/64"), Rate: 1},
		{Target: netip.MustParseAddrPort("10.0.0.1:80"), Sources: netip.MustParsePrefix("198.18.0.0/15")},
		{Target: netip.MustParseAddrPort("10.0.0.1:0"), Sources: netip.MustParsePrefix("198.18.0.0/15"), Rate: 1},
	} {
		if err := f.Run(context.Background(), w, NewRecorder(time.Now(), time.Second)); err == nil {
			t.Errorf("%+v: no error", f)
		}
	}
}
