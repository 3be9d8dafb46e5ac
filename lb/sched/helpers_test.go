package sched

import (
	"math/rand/v2"
	"net/netip"
	"testing"
)

// mkDests returns servers 10.0.0.1:80, 10.0.0.2:80, … with the given weights, each with its
// own Counts.
func mkDests(weights ...int32) []Dest {
	ds := make([]Dest, len(weights))
	for i, w := range weights {
		ds[i] = Dest{
			Addr:   netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i + 1)}),
			Port:   80,
			Weight: w,
			Counts: new(Counts),
		}
	}
	return ds
}

func mustNew(t testing.TB, name string, ds []Dest, flags Flags, opts Options) Scheduler {
	t.Helper()
	s, err := New(name, ds, flags, opts)
	if err != nil {
		t.Fatalf("New(%q): %v", name, err)
	}
	return s
}

// randAddr returns a random IPv4 address, or an IPv6 one one time in four.
func randAddr(r *rand.Rand) netip.Addr {
	if r.IntN(4) == 0 {
		var b [16]byte
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		b[0] = 0x20
		return netip.AddrFrom16(b)
	}
	u := r.Uint32()
	return netip.AddrFrom4([4]byte{byte(u >> 24), byte(u >> 16), byte(u >> 8), byte(u)})
}

func randInput(r *rand.Rand) Input {
	return Input{
		Src: randAddr(r), Dst: randAddr(r),
		SrcPort: uint16(r.Uint32()), DstPort: 80, Proto: 6,
	}
}

// randLoad sets random counts, weights and overload flags on ds: small numbers, so that ties
// in every comparison are common.
func randLoad(r *rand.Rand, ds []Dest) {
	weights := [...]int32{0, 1, 1, 2, 3, 4, 5, 8, 100}
	for i := range ds {
		ds[i].Weight = weights[r.IntN(len(weights))]
		if r.IntN(10) == 0 {
			ds[i].Weight = r.Int32N(1 << 16)
		}
		randCounts(r, ds[i].Counts)
	}
}

func randCounts(r *rand.Rand, c *Counts) {
	c.Active.Store(r.Int32N(6))
	c.Inactive.Store(r.Int32N(4) * 128)
	c.Overloaded.Store(r.IntN(5) == 0)
}

func newRand(t testing.TB) *rand.Rand {
	return rand.New(rand.NewPCG(1, uint64(len(t.Name()))))
}
