package lb

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/uvs-lb/uvs/lb/conntab"
	"github.com/uvs-lb/uvs/lb/sched"
	"github.com/uvs-lb/uvs/packet"
)

const benchBatch = 64

// benchRig is an engine with one NAT service of 8 servers on VIP:80.
func benchRig(b *testing.B, scheduler string, persist time.Duration) *rig {
	return benchRigWith(b, scheduler, persist, Options{})
}

func benchRigWith(b *testing.B, scheduler string, persist time.Duration, opts Options) *rig {
	svc := ServiceConfig{Proto: packet.ProtoTCP, VIP: vip, Port: 80, Scheduler: scheduler, Persistence: persist}
	for i := 0; i < 8; i++ {
		w := int32(1 + i%3)
		if scheduler == "ovf" {
			// ovf stops sending to a server once its active connections exceed its
			// weight; the benchmark opens millions, so the weights must allow them.
			w <<= 24
		}
		svc.Servers = append(svc.Servers, ServerConfig{Addr: netip.AddrFrom4([4]byte{192, 168, 1, byte(20 + i)}), Port: 8080, Weight: w})
	}
	return newRig(b, &Config{Services: []ServiceConfig{svc}}, opts)
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
			ack := establish(b, r, n)
			benchPackets(b, r.w, ack, n, 0, r.clock.now)
		})
	}
}

// establish opens n connections (clients 0..n-1 of setClient) and returns an ACK frame.
func establish(b *testing.B, r *rig, n int) []byte {
	f := tcp(ap(client1, 1), ap(vip, 80), packet.TCPSyn).Build()
	pk, out := make([]packet.Packet, 1), make([]Verdict, 1)
	for i := 0; i < n; i++ {
		setClient(f, uint32(i))
		r.w.Process([][]byte{f}, pk, out, r.clock.now)
		if out[0].Action != ActForward {
			b.Fatalf("setup: %v", out[0])
		}
	}
	f[14+20+13] = packet.TCPAck
	return f
}

// BenchmarkSyncExistingConn is BenchmarkExistingConn/10k with connection sync off and on. On,
// the table counts every inbound packet and each connection is queued at one packet in 50
// (with its template first, under persistence); the sender's DrainSync runs inline every 16
// batches with an empty fn, so its share is in the figure. ns/op is per packet.
func BenchmarkSyncExistingConn(b *testing.B) {
	const n = 10_000
	for _, tc := range []struct {
		name    string
		sync    bool
		persist time.Duration
	}{{"off", false, 0}, {"on", true, 0}, {"off+persistence", false, time.Hour}, {"on+persistence", true, time.Hour}} {
		b.Run(tc.name, func(b *testing.B) {
			r := benchRigWith(b, "wlc", tc.persist, Options{Sync: SyncOptions{Enabled: tc.sync}})
			r.e.SetSyncMaster(false) // the setup's 10k templates would overflow the ring
			ack := establish(b, r, n)
			r.e.SetSyncMaster(true)
			drain := func(*conntab.Conn, time.Duration) {}
			pk, out := make([]packet.Packet, benchBatch), make([]Verdict, benchBatch)
			batch := ackBatch(ack)
			next := 0
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i += benchBatch {
				for _, f := range batch {
					setClient(f, uint32(next))
					next = (next + 7919) % n
				}
				r.w.Process(batch, pk, out, r.clock.now)
				if i/benchBatch%16 == 15 {
					r.e.DrainSync(drain)
				}
			}
			b.StopTimer()
			if st := r.e.SyncStats(); st.Dropped != 0 || (tc.sync && b.N > 100*n && st.Queued == 0) {
				b.Fatalf("sync stats %+v", st)
			}
		})
	}
}

// ackBatch is a batch of frame buffers, as a receive ring would hand them over: the frames
// are rewritten in place with the next clients' addresses, so the benchmark measures the
// engine's memory accesses and not a million scattered test frames.
func ackBatch(ack []byte) [][]byte {
	batch := make([][]byte, benchBatch)
	for i := range batch {
		batch[i] = append([]byte(nil), ack...)
	}
	return batch
}

// benchPackets pushes packets of n established connections, visited in a scrambled order
// so the table is not walked sequentially. ns/op is per packet.
func benchPackets(b *testing.B, w *Worker, ack []byte, n int, start int, now int64) {
	pk, out := make([]packet.Packet, benchBatch), make([]Verdict, benchBatch)
	batch := ackBatch(ack)
	const step = 7919 // prime, coprime with the sizes used
	next := start
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += benchBatch {
		for _, f := range batch {
			setClient(f, uint32(next))
			next = (next + step) % n
		}
		w.Process(batch, pk, out, now)
	}
}

// BenchmarkNewConn is the cost of a connection's first packet — parse, lookup miss, service
// lookup, (persistence,) scheduler, insert — in a table held at a steady size: each new
// connection replaces the oldest, as expiry does in a running system (the delete is in the
// figure). One row per scheduler, at 10k connections.
func BenchmarkNewConn(b *testing.B) {
	for _, name := range append(sched.Names(), "wlc+persistence") {
		b.Run(name, func(b *testing.B) { benchNewConn(b, name, 10_000) })
	}
}

// BenchmarkNewConnTableSize is the wlc row at larger steady sizes, where the index no longer
// fits in cache and every probe is a memory access.
func BenchmarkNewConnTableSize(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		b.Run(itoa(n), func(b *testing.B) { benchNewConn(b, "wlc", n) })
	}
}

func benchNewConn(b *testing.B, name string, steady int) {
	s, persist := name, time.Duration(0)
	if name == "wlc+persistence" {
		s, persist = "wlc", 300*time.Second
	}
	r := benchRig(b, s, persist)
	f := tcp(ap(client1, 1), ap(vip, 80), packet.TCPSyn).Build()
	batch := [][]byte{f}
	pk, out := make([]packet.Packet, 1), make([]Verdict, 1)
	ring := make([]conntab.Ref, steady)
	client := uint32(0)
	step := func() {
		client++
		setClient(f, client)
		r.w.Process(batch, pk, out, r.clock.now)
		if out[0].Action != ActForward {
			b.Fatalf("verdict %v", out[0])
		}
	}
	for i := range ring { // fill to the steady size
		step()
		ring[i] = out[0].Conn.Self
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k := i % steady
		r.e.Conns().Delete(ring[k])
		step()
		ring[k] = out[0].Conn.Self
	}
}

// BenchmarkParallelExisting runs one Worker per goroutine over established connections; run
// with -cpu 1,2 to compare one core with two. ns/op is wall time per packet, all cores
// together.
func BenchmarkParallelExisting(b *testing.B) {
	const n = 100_000
	r := benchRig(b, "wlc", 0)
	ack := establish(b, r, n)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		w := r.e.NewWorker()
		pk, out := make([]packet.Packet, benchBatch), make([]Verdict, benchBatch)
		batch := ackBatch(ack)
		next := w.slot * 7919 % n
		for {
			for _, f := range batch {
				if !pb.Next() {
					return
				}
				setClient(f, uint32(next))
				next = (next + 7919) % n
			}
			w.Process(batch, pk, out, r.clock.now)
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

// BenchmarkInstallSynced is the backup's cost per received connection: "new" inserts 10k
// connections and deletes them again (the delete is in the figure), "refresh" re-applies
// records of connections the backup holds. ns/op is per record.
func BenchmarkInstallSynced(b *testing.B) {
	const n = 10_000
	master := benchRigWith(b, "wlc", 0, Options{Sync: SyncOptions{Enabled: true, Period: 1, RingSize: 2 * n}})
	ack := establish(b, master, n)
	for i := range n { // ESTABLISHED: synced (every packet, with Period 1)
		setClient(ack, uint32(i))
		master.w.Process([][]byte{ack}, master.pkts, master.out, master.clock.now)
	}
	var recs []syncRec
	master.e.DrainSync(func(c *conntab.Conn, to time.Duration) { recs = append(recs, syncRec{*c, to}) })
	if len(recs) != n {
		b.Fatalf("%d records", len(recs))
	}
	for _, name := range []string{"new", "refresh"} {
		b.Run(name, func(b *testing.B) {
			backup := benchRigWith(b, "wlc", 0, Options{})
			now := backup.clock.now
			var c conntab.Conn
			if name == "refresh" {
				for i := range recs {
					c = recs[i].c
					if err := backup.e.InstallSynced(&c, recs[i].timeout, now); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				r := &recs[i%n]
				c = r.c
				if err := backup.e.InstallSynced(&c, r.timeout, now); err != nil {
					b.Fatal(err)
				}
				if name == "new" {
					backup.e.Conns().Delete(c.Self)
				}
			}
		})
	}
}
