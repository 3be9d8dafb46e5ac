package lb

import (
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uvs-lb/uvs/packet"
)

// floodDefenses are the configurations the flood measurements compare.
var floodDefenses = []struct {
	name string
	d    Defense
}{
	{"none", Defense{}},
	{"drop_entry", Defense{DropEntry: DefenseAuto}},
	{"drop_packet", Defense{DropPacket: DefenseAuto}},
	{"secure_tcp", Defense{SecureTCP: DefenseAuto}},
	{"all", Defense{DropEntry: DefenseAuto, DropPacket: DefenseAuto, SecureTCP: DefenseAuto}},
}

// BenchmarkSYNFlood is the engine's side of a SYN flood: ns per spoofed SYN to a NAT VIP,
// with a 64k-entry table that the flood fills, per defense; it reports the table's size at
// the end (entries) and the share of SYNs forwarded (fwd%).
//
//	go test -run '^$' -bench SYNFlood -cpu 1 ./lb/
func BenchmarkSYNFlood(b *testing.B) {
	const size = 1 << 16
	frames := synFlood(0, 1<<18)
	for _, fd := range floodDefenses {
		b.Run(fd.name, func(b *testing.B) {
			d := fd.d
			d.Size = size
			e := New(Options{Shards: 256})
			if err := e.Apply(&Config{Services: []ServiceConfig{natService("rr", rs1, rs2)}, Defense: d}); err != nil {
				b.Fatal(err)
			}
			w := e.NewWorker()
			pkts, out := make([]packet.Packet, 64), make([]Verdict, 64)
			fwd := 0
			now := e.Now()
			b.ResetTimer()
			for i := 0; i < b.N; i += 64 {
				off := i % len(frames)
				w.Process(frames[off:off+64], pkts, out, now)
				for j := range out {
					if out[j].Action == ActForward {
						fwd++
					}
				}
				if i%(64*1024) == 0 { // Maintain's pace: about every 64k SYNs
					now += int64(250 * time.Millisecond)
					e.Maintain(now)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(e.Conns().Len()), "entries")
			b.ReportMetric(100*float64(fwd)/float64(max(b.N, 1)), "fwd%")
		})
	}
}

// TestFloodGoodput measures, on the engine alone, what a SYN flood on one core costs the
// established connections on another: one worker forwards packets of 1000 established
// connections as fast as it can, first alone, then while a second worker processes a
// spoofed SYN flood as fast as it can into a table of 64k entries. It logs the flood's
// rate, the table's size and the established packet rate's ratio; it asserts only that the
// table stays bounded. UVS_FLOOD_MEASURE=1 to run it (it takes 2 s a defense).
//
//	UVS_FLOOD_MEASURE=1 go test -run FloodGoodput -v ./lb/
func TestFloodGoodput(t *testing.T) {
	if os.Getenv("UVS_FLOOD_MEASURE") == "" {
		t.Skip("a measurement: UVS_FLOOD_MEASURE=1")
	}
	const size, conns, run = 1 << 16, 1000, time.Second
	flood := synFlood(0, 1<<18)
	for _, fd := range floodDefenses {
		d := fd.d
		d.Size = size
		r := newRig(t, &Config{Services: []ServiceConfig{natService("rr", rs1, rs2)}, Defense: d}, Options{Shards: 256})
		var est [][]byte
		for i := range conns {
			c := ap(client1, uint16(10000+i))
			r.handshake(c)
			est = append(est, tcp(c, ap(vip, 80), packet.TCPAck).Build())
		}
		var now atomic.Int64 // the engine's time: real time, from the rig's clock on
		now.Store(r.clock.now)
		established := func(stop *atomic.Bool) (pkts int) {
			w := r.e.NewWorker()
			ps, out := make([]packet.Packet, 64), make([]Verdict, 64)
			for i := 0; !stop.Load(); i++ {
				off := (i * 64) % (conns - 64)
				w.Process(est[off:off+64], ps, out, now.Load())
				for j := range out {
					if out[j].Action != ActForward {
						t.Errorf("established packet: %v %v", out[j].Action, out[j].Reason)
						return
					}
				}
				pkts += 64
			}
			return pkts
		}
		var stop atomic.Bool
		time.AfterFunc(run, func() { stop.Store(true) })
		alone := established(&stop)

		stop.Store(false)
		var wg sync.WaitGroup
		var syns int
		fw := r.e.NewWorker()
		wg.Go(func() {
			w := fw
			ps, out := make([]packet.Packet, 64), make([]Verdict, 64)
			next := time.Now().Add(250 * time.Millisecond)
			for i := 0; !stop.Load(); i++ {
				off := (i * 64) % len(flood)
				w.Process(flood[off:off+64], ps, out, now.Load())
				syns += 64
				if time.Now().After(next) { // the engine's maintenance, in the flood's goroutine
					r.e.Maintain(now.Add(int64(250 * time.Millisecond)))
					next = next.Add(250 * time.Millisecond)
				}
			}
		})
		time.AfterFunc(run, func() { stop.Store(true) })
		during := established(&stop)
		wg.Wait()
		st := r.e.DefenseState()
		t.Logf("%-11s flood %5.2f M SYN/s; table %6d of %d (evicted %d, drop_packet %d, table_full %d); established %5.2f M pkt/s alone, %5.2f during: %.0f %%",
			fd.name, float64(syns)/run.Seconds()/1e6, r.e.Conns().Len(), size, st.Evicted,
			fw.Stats().Drops[DropDefense], fw.Stats().Drops[DropTableFull], float64(alone)/run.Seconds()/1e6, float64(during)/run.Seconds()/1e6, 100*float64(during)/float64(alone))
		if n := r.e.Conns().Len(); n > size {
			t.Errorf("%s: table holds %d > %d", fd.name, n, size)
		}
	}
}
