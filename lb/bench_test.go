package lb

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/uvs-lb/uvs/lb/sched"
	"github.com/uvs-lb/uvs/packet"
)

const benchBatch = 64

// benchRig is an engine with one NAT service of 8 servers on VIP:80.
func benchRig(b *testing.B, scheduler string, persist time.Duration) *rig {
	svc := ServiceConfig{Proto: packet.ProtoTCP, VIP: vip, Port: 80, Scheduler: scheduler, Persistence: persist}
	for i := 0; i < 8; i++ {
		svc.Servers = append(svc.Servers, ServerConfig{Addr: netip.AddrFrom4([4]byte{192, 168, 1, byte(20 + i)}), Port: 8080, Weight: int32(1 + i%3)})
	}
	return newRig(b, &Config{Services: []ServiceConfig{svc}}, Options{})
}

// setClient writes a distinct client address and port into an untagged IPv4 TCP frame. The
// engine does not verify checksums, so the frame need not be fixed up.
func setClient(f []byte, n uint32) {
	binary.BigEndian.PutUint32(f[14+12:], 0x0a000000|n>>6)         // 10.x.y.z
	binary.BigEndian.PutUint16(f[14+20:], uint16(1024+(n&63)*900)) // spread ports too
}

// BenchmarkExistingConn is the per-packet cost of a packet of an established connection:
// parse, connection lookup with state update, counters. ns/op is per packet.
func BenchmarkExistingConn(b *testing.B) {
	for _, n := range []int{10_000, 1_000_000} {
		b.Run(itoa(n), func(b *testing.B) {
			r := benchRig(b, "wlc", 0)
			frames := establish(b, r, n)
			benchPackets(b, r.w, frames, r.clock.now)
		})
	}
}

// establish opens n connections and returns one ACK frame per connection.
func establish(b *testing.B, r *rig, n int) [][]byte {
	frames := make([][]byte, n)
	pk, out := make([]packet.Packet, 1), make([]Verdict, 1)
	for i := range frames {
		f := tcp(ap(client1, 1), ap(vip, 80), packet.TCPSyn).Build()
		setClient(f, uint32(i))
		r.w.Process([][]byte{f}, pk, out, r.clock.now)
		if out[0].Action != ActForward {
			b.Fatalf("setup: %v", out[0])
		}
		f[14+20+13] = packet.TCPAck
		frames[i] = f
	}
	return frames
}

func benchPackets(b *testing.B, w *Worker, frames [][]byte, now int64) {
	pk, out := make([]packet.Packet, benchBatch), make([]Verdict, benchBatch)
	// Visit connections in a scrambled order so the table is not walked sequentially.
	order := make([][]byte, len(frames))
	step := 7919 // prime, coprime with the sizes used
	for i := range order {
		order[i] = frames[(i*step)%len(frames)]
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += benchBatch {
		lo := i % (len(order) - benchBatch)
		w.Process(order[lo:lo+benchBatch], pk, out, now)
	}
}

// BenchmarkNewConn is the cost of a connection's first packet: parse, lookup miss, service
// lookup, (persistence,) scheduler, insert. One row per scheduler. The table is emptied every
// 2^20 connections with the timer stopped, so it grows as in a real burst but not forever.
func BenchmarkNewConn(b *testing.B) {
	rows := append(sched.Names(), "wlc+persistence")
	for _, name := range rows {
		b.Run(name, func(b *testing.B) {
			s, persist := name, time.Duration(0)
			if name == "wlc+persistence" {
				s, persist = "wlc", 300*time.Second
			}
			r := benchRig(b, s, persist)
			f := tcp(ap(client1, 1), ap(vip, 80), packet.TCPSyn).Build()
			batch := [][]byte{f}
			pk, out := make([]packet.Packet, 1), make([]Verdict, 1)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if i&(1<<20-1) == 1<<20-1 {
					b.StopTimer()
					r.clock.advance(time.Hour)
					for r.e.Conns().Len() > 0 {
						r.e.Conns().Sweep(r.clock.now, 1<<20)
					}
					b.StartTimer()
				}
				setClient(f, uint32(i))
				r.w.Process(batch, pk, out, r.clock.now)
				if out[0].Action != ActForward {
					b.Fatalf("verdict %v", out[0])
				}
			}
		})
	}
}

// BenchmarkParallelExisting runs one Worker per goroutine over established connections; run
// with -cpu 1,2 to compare one core with two.
func BenchmarkParallelExisting(b *testing.B) {
	r := benchRig(b, "wlc", 0)
	frames := establish(b, r, 100_000)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		w := r.e.NewWorker()
		pk, out := make([]packet.Packet, benchBatch), make([]Verdict, benchBatch)
		lo := int(w.slot) * 7919 % (len(frames) - benchBatch)
		for {
			for j := 0; j < benchBatch; j++ {
				if !pb.Next() {
					return
				}
			}
			w.Process(frames[lo:lo+benchBatch], pk, out, r.clock.now)
			if lo += benchBatch; lo+benchBatch > len(frames) {
				lo = 0
			}
		}
	})
}

func itoa(n int) string {
	switch {
	case n >= 1_000_000 && n%1_000_000 == 0:
		return itoa(n/1_000_000) + "M"
	case n >= 1000 && n%1000 == 0:
		return itoa(n/1000) + "k"
	}
	return fmtInt(n)
}

func fmtInt(n int) string {
	if n == 0 {
		return "0"
	}
	var buf [20]byte
	i := len(buf)
	for ; n > 0; n /= 10 {
		i--
		buf[i] = byte('0' + n%10)
	}
	return string(buf[i:])
}
