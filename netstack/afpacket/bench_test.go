//go:build linux

package afpacket

import (
	"sync"
	"testing"
	"time"
)

// The benchmarks run over a veth pair between two namespaces they create (root only), and are
// bounded: b.N frames or round trips, with a deadline that closes the ports if frames stop
// arriving.

// BenchmarkAFPacketRoundTrip: one ARP request written to the kernel on the peer and its reply
// read back, per op. With V2 the reply is readable as soon as the kernel has written it. With
// V3 a block is never full at this rate, so each reply waits in the ring for the block timeout
// (FrameTimeout, 1 ms at least): ns/op measures that floor of TPACKET_V3.
func BenchmarkAFPacketRoundTrip(b *testing.B) {
	needRoot(b)
	for _, rv := range ringVersions {
		b.Run(string(rv), func(b *testing.B) { benchRoundTrip(b, rv) })
	}
}

func benchRoundTrip(b *testing.B, rv RingVersion) {
	l := newLink(b)
	p := openIn(b, l.nsA, Config{Name: "a0", NumBlocks: 16, RingVersion: rv})
	req := arpRequest(p.HardwareAddr(), l.portIP, l.peerIP)
	wb, ws := [][]byte{req}, []int{len(req)}
	rb, rs := mkBufs(p.BatchSize(), 2048)
	guard := time.AfterFunc(time.Minute, func() { p.Close() })
	defer guard.Stop()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := p.Write(wb, ws, 0); err != nil {
			b.Fatal(err)
		}
		for got := false; !got; {
			n, err := p.Read(rb, rs, 0)
			if err != nil {
				b.Fatal(err)
			}
			for i := 0; i < n; i++ {
				if _, ok := isARPReply(rb[i][:rs[i]], l.peerIP, p.HardwareAddr()); ok {
					got = true
				}
			}
		}
	}
}

// BenchmarkAFPacketThroughput: 60-byte frames from a port on one end of a veth to a port on
// the other, BatchSize frames per Write, with at most `window` frames in flight so the ring
// never overflows: the loss-free rate of Write + Read through the kernel. ns/op is per frame.
func BenchmarkAFPacketThroughput(b *testing.B) {
	needRoot(b)
	type bcase struct {
		name string
		cfg  Config
	}
	var cases []bcase
	for _, rv := range ringVersions {
		for _, c := range []bcase{
			{"plain", Config{}},
			{"qdisc-bypass", Config{QdiscBypass: true}},
			{"vnethdr", Config{VNetHdr: true}},
		} {
			c.name, c.cfg.RingVersion = string(rv)+"/"+c.name, rv
			cases = append(cases, c)
		}
	}
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			l := newLink(b)
			ca, cb := bc.cfg, bc.cfg
			ca.Name, cb.Name = "a0", "b0"
			ca.NumBlocks = 8
			tx, rx := openIn(b, l.nsA, ca), openIn(b, l.nsB, cb)
			hr := tx.Headroom()
			batch := tx.BatchSize()
			wb := make([][]byte, batch)
			ws := make([]int, batch)
			for i := range wb {
				f := testFrame(l.macB, l.macA, uint32(i), 60)
				wb[i] = append(make([]byte, hr), f...)
				ws[i] = len(f)
			}
			rb, rs := mkBufs(batch, 2048)
			const window = 32 // batches in flight: 2048 frames, far below the ring's capacity
			credit := make(chan struct{}, window)
			for range window {
				credit <- struct{}{}
			}
			batches := (b.N + batch - 1) / batch
			total := batches * batch
			guard := time.AfterFunc(2*time.Minute, func() { tx.Close(); rx.Close() })
			defer guard.Stop()
			var wg sync.WaitGroup
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range batches {
					<-credit
					if _, err := tx.Write(wb, ws, hr); err != nil {
						return
					}
				}
			}()
			got, credited, reads := 0, 0, 0
			for got < total {
				n, err := rx.Read(rb, rs, hr)
				reads++
				if err != nil {
					b.Fatalf("Read after %d of %d frames: %v (rx %+v)", got, total, err, rx.Stats())
				}
				for i := 0; i < n; i++ {
					if _, ok := testFrameSeq(rb[i][hr : hr+rs[i]]); ok {
						got++
					}
				}
				for ; got-credited >= batch; credited += batch {
					credit <- struct{}{}
				}
			}
			el := time.Since(start)
			b.StopTimer()
			wg.Wait()
			b.ReportMetric(float64(total)/el.Seconds(), "pps")
			b.ReportMetric(float64(got)/float64(reads), "frames/read")
			if s := rx.Stats(); s.Drops != 0 {
				b.Errorf("ring drops %d", s.Drops)
			}
		})
	}
}

// BenchmarkAFPacketWrite: Write alone, BatchSize 60-byte frames per sendmmsg; the peer's
// kernel discards them (unknown EtherType). ns/op is per frame.
func BenchmarkAFPacketWrite(b *testing.B) {
	needRoot(b)
	for _, bc := range []struct {
		name string
		cfg  Config
	}{{"qdisc", Config{}}, {"qdisc-bypass", Config{QdiscBypass: true}}} {
		b.Run(bc.name, func(b *testing.B) {
			l := newLink(b)
			cfg := bc.cfg
			cfg.Name, cfg.NumBlocks = "a0", 4
			p := openIn(b, l.nsA, cfg)
			wb := make([][]byte, p.BatchSize())
			ws := make([]int, len(wb))
			for i := range wb {
				wb[i] = testFrame(l.macB, l.macA, uint32(i), 60)
				ws[i] = 60
			}
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			for sent := 0; sent < b.N; {
				n, err := p.Write(wb[:min(len(wb), b.N-sent)], ws, 0)
				if err != nil {
					b.Fatal(err)
				}
				sent += n
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "pps")
			if s := p.Stats(); s.TxDropped != 0 {
				b.Errorf("dropped %d", s.TxDropped)
			}
		})
	}
}
