package conntab

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/uvs-lb/uvs/packet"
)

// benchConn is the i-th of a set of distinct NAT connections spread over clients and ports.
func benchConn(i int, fam packet.Family) Conn {
	c := natConn(v4(10, byte(i>>16), byte(i>>8), byte(i)), uint16(1024+i*7919%60000))
	c.DAddr[3] = byte(i % 16)
	if fam == packet.FamilyIPv6 {
		c.Family = fam
		c.CAddr = [16]byte{0x20, 0x01, 0x0d, 0xb8, 12: byte(i >> 24), 13: byte(i >> 16), 14: byte(i >> 8), 15: byte(i)}
		c.VAddr = v6(100)
		c.DAddr = v6(byte(i % 16))
	}
	return c
}

func fill(tb testing.TB, n int, fam packet.Family) *Table {
	tab := New(Config{Capacity: n + 1<<16})
	for i := range n {
		c := benchConn(i, fam)
		if err := tab.Insert(&c, syn, 0, 0); err != nil {
			tb.Fatalf("fill %d: %v", i, err)
		}
	}
	return tab
}

// queryKeys samples inbound keys of the first n connections (a bounded set, so the keys
// themselves do not dominate memory for 10M entries).
func queryKeys(n int, seed uint64) []packet.FlowKey {
	rng := rand.New(rand.NewPCG(seed, 99))
	keys := make([]packet.FlowKey, 1<<16)
	for i := range keys {
		c := benchConn(rng.IntN(n), packet.FamilyIPv4)
		keys[i] = inKey(&c)
	}
	return keys
}

func BenchmarkLookupHit(b *testing.B) {
	for _, n := range []int{10_000, 1_000_000, 10_000_000} {
		b.Run(sizeName(n), func(b *testing.B) {
			if n > 1_000_000 && testing.Short() {
				b.Skip("10M entries: not in -short")
			}
			tab := fill(b, n, packet.FamilyIPv4)
			keys := queryKeys(n, 1)
			var out Conn
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, ok := tab.Lookup(&keys[i&(len(keys)-1)], ack, sec, &out); !ok {
					b.Fatal("miss")
				}
			}
		})
	}
}

func BenchmarkLookupMiss(b *testing.B) {
	tab := fill(b, 10_000, packet.FamilyIPv4)
	keys := queryKeys(10_000, 1)
	for i := range keys {
		keys[i].DstPort++ // another service port: no such connection either way
	}
	var out Conn
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, ok := tab.Lookup(&keys[i&(len(keys)-1)], ack, sec, &out); ok {
			b.Fatal("hit")
		}
	}
}

func BenchmarkInsertDelete(b *testing.B) {
	const n = 100_000
	tab := fill(b, n, packet.FamilyIPv4)
	conns := make([]Conn, 1<<12)
	for i := range conns {
		conns[i] = benchConn(n+i, packet.FamilyIPv4)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c := conns[i&(len(conns)-1)]
		if err := tab.Insert(&c, syn, 0, sec); err != nil {
			b.Fatal(err)
		}
		tab.Delete(c.Self)
	}
}

// BenchmarkParallelLookup runs lookups from every P (compare -cpu 1,2): at 10k entries the
// table is cache-resident and the figure shows lock and cache-line contention; at 1M it is
// bound by memory latency.
func BenchmarkParallelLookup(b *testing.B) {
	for _, n := range []int{10_000, 1_000_000} {
		b.Run(sizeName(n), func(b *testing.B) {
			tab := fill(b, n, packet.FamilyIPv4)
			sets := make([][]packet.FlowKey, runtime.GOMAXPROCS(0))
			for i := range sets {
				sets[i] = queryKeys(n, uint64(i))
			}
			var next atomic.Int64
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				keys := sets[int(next.Add(1)-1)%len(sets)]
				var out Conn
				for i := 0; pb.Next(); i++ {
					tab.Lookup(&keys[i&(len(keys)-1)], ack, sec, &out)
				}
			})
		})
	}
}

// BenchmarkMemoryPerConn reports the heap a table takes per NAT connection (entry, inbound and
// reply slots, chunk slack), measured around filling it. Run with -benchtime=1x.
func BenchmarkMemoryPerConn(b *testing.B) {
	for _, tc := range []struct {
		n   int
		fam packet.Family
	}{
		{1_000_000, packet.FamilyIPv4},
		{10_000_000, packet.FamilyIPv4},
		{1_000_000, packet.FamilyIPv6},
	} {
		b.Run(fmt.Sprintf("%s/IPv%d", sizeName(tc.n), tc.fam), func(b *testing.B) {
			if tc.n > 1_000_000 && testing.Short() {
				b.Skip("10M entries: not in -short")
			}
			var perConn float64
			for range b.N {
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				tab := fill(b, tc.n, tc.fam)
				runtime.GC()
				runtime.ReadMemStats(&after)
				perConn = float64(after.HeapAlloc-before.HeapAlloc) / float64(tc.n)
				runtime.KeepAlive(tab)
			}
			b.ReportMetric(perConn, "B/conn")
		})
	}
}

func sizeName(n int) string {
	switch {
	case n >= 1_000_000:
		return fmt.Sprintf("%dM", n/1_000_000)
	case n >= 1_000:
		return fmt.Sprintf("%dk", n/1_000)
	}
	return fmt.Sprint(n)
}
