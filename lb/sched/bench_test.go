package sched

import (
	"math/rand/v2"
	"net/netip"
	"testing"
)

// benchInputs are 1024 connections from 256 clients to 64 destinations, so that the caches
// of lblc/lblcr mostly hit, as they do with real traffic.
func benchInputs() []Input {
	r := rand.New(rand.NewPCG(1, 2))
	in := make([]Input, 1024)
	for i := range in {
		in[i] = Input{
			Src:     netip.AddrFrom4([4]byte{198, 51, 100, byte(r.IntN(256))}),
			Dst:     netip.AddrFrom4([4]byte{203, 0, 113, byte(r.IntN(64))}),
			SrcPort: uint16(r.Uint32()), DstPort: 80, Proto: 6,
		}
	}
	return in
}

// benchDests are 8 servers, all usable and all busy (so that nq cannot stop at an idle one).
func benchDests() []Dest {
	ds := mkDests(1, 2, 3, 4, 1, 2, 3, 4)
	for i := range ds {
		ds[i].Counts.Active.Store(int32(1 + i*3%7))
		ds[i].Counts.Inactive.Store(int32(i * 5 % 11))
	}
	return ds
}

// BenchmarkPick measures one pick with 8 servers, all usable.
func BenchmarkPick(b *testing.B) {
	inputs := benchInputs()
	for _, name := range Names() {
		b.Run(name, func(b *testing.B) {
			s := mustNew(b, name, benchDests(), 0, Options{})
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				s.Pick(&inputs[i&1023])
				i++
			}
		})
	}
}

// BenchmarkPickParallel measures picks from all Ps at once: the cost of the shared cursor
// (rr, wrr, twos) or lock (lblc, lblcr) under contention.
func BenchmarkPickParallel(b *testing.B) {
	inputs := benchInputs()
	for _, name := range Names() {
		b.Run(name, func(b *testing.B) {
			s := mustNew(b, name, benchDests(), 0, Options{})
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					s.Pick(&inputs[i&1023])
					i++
				}
			})
		})
	}
}

// BenchmarkFallback measures sh/mh picks whose hashed server is unusable.
func BenchmarkFallback(b *testing.B) {
	inputs := benchInputs()
	for _, tc := range []variant{{"sh", FlagSHFallback}, {"mh", FlagMHFallback}} {
		b.Run(tc.name, func(b *testing.B) {
			ds := benchDests()
			for i := range 6 {
				ds[i].Counts.Overloaded.Store(true)
			}
			s := mustNew(b, tc.name, ds, tc.flags, Options{})
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				s.Pick(&inputs[i&1023])
				i++
			}
		})
	}
}

// BenchmarkNew measures building a scheduler, which happens on every table change.
func BenchmarkNew(b *testing.B) {
	ds := benchDests()
	for _, name := range []string{"wrr", "sh", "mh", "lblc", "lblcr"} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				mustNew(b, name, ds, 0, Options{})
			}
		})
	}
}
