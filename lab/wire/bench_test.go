package wire

import (
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uvs-lb/uvs/netstack/port"
)

// BenchmarkLink measures a link's cost per frame between two memory pipes, in 32-frame
// batches of 200-byte frames, with at most 512 frames in flight.
func BenchmarkLink(b *testing.B) {
	for _, bc := range []struct {
		name string
		imp  Impairment
	}{
		{"perfect", Impairment{}},
		{"impaired", Impairment{Delay: 100 * time.Microsecond, Jitter: 50 * time.Microsecond, Loss: 1, Duplicate: 1, Reorder: 1, Corrupt: 1}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			na, la := port.Pipe(port.MemConfig{}, port.MemConfig{})
			lb, nb := port.Pipe(port.MemConfig{}, port.MemConfig{})
			l := NewLink(la, lb, LinkConfig{AtoB: bc.imp})
			l.Start()
			var total atomic.Uint64
			done := make(chan struct{})
			go func() {
				defer close(done)
				bufs, sizes := make([][]byte, 64), make([]int, 64)
				for i := range bufs {
					bufs[i] = make([]byte, 1518)
				}
				for {
					n, err := nb.Read(bufs, sizes, 0)
					if err != nil {
						return
					}
					total.Add(uint64(n))
				}
			}()
			frames, sizes := make([][]byte, 32), make([]int, 32)
			for i := range frames {
				frames[i], sizes[i] = testFrame(macB, macA, uint32(i), 200), 200
			}
			b.ResetTimer()
			for sent := 0; sent < b.N; sent += 32 {
				for {
					s := l.Stats().AtoB
					if s.Frames+s.Duplicated-s.Delivered-s.Lost-s.DroppedQueue < 512 && s.Frames >= uint64(sent) {
						break
					}
					runtime.Gosched()
				}
				na.Write(frames, sizes, 0)
			}
			b.StopTimer()
			l.Close()
			<-done
			b.ReportMetric(float64(total.Load())/b.Elapsed().Seconds(), "frames/s")
		})
	}
}
