package sched

import (
	"net/netip"
	"slices"
	"testing"
)

// refSHTable is IPVS's sh table: servers in list order, each repeated weight times (once if
// its weight is 0), cycled until 256 buckets are full.
func refSHTable(ds []Dest) []int {
	var t []int
	for len(t) < dhTableSize {
		for i := range ds {
			for range max(ds[i].Weight, 1) {
				t = append(t, i)
			}
		}
	}
	return t[:dhTableSize]
}

func TestSHTable(t *testing.T) {
	ds := mkDests(1, 2, 3, 0)
	s := mustNew(t, "sh", ds, 0, Options{}).(*sh)
	ref := refSHTable(ds)
	count := make([]int, len(ds))
	for b, i := range s.table {
		if int(i) != ref[b] {
			t.Fatalf("bucket %d holds %d, want %d", b, i, ref[b])
		}
		count[i]++
	}
	// 256 = 36 rounds of 7 buckets + 4 more (0, 1, 1, 2).
	if want := []int{37, 74, 109, 36}; !slices.Equal(count, want) {
		t.Fatalf("buckets per server %v, want %v", count, want)
	}
}

func TestSHPicksIPVSBucket(t *testing.T) {
	r := newRand(t)
	ds := mkDests(3, 1, 4, 1, 5)
	ref := refSHTable(ds)
	plain := mustNew(t, "sh", ds, 0, Options{})
	port := mustNew(t, "sh", ds, FlagSHPort, Options{})
	for range 10000 {
		in := randInput(r)
		if got, want := plain.Pick(&in), ref[hash32(fold32(in.Src), 8)]; got != want {
			t.Fatalf("sh picked %d for %v, want %d", got, in.Src, want)
		}
		if got, want := port.Pick(&in), ref[hash32(uint32(in.SrcPort)+fold32(in.Src), 8)]; got != want {
			t.Fatalf("sh-port picked %d for %v:%d, want %d", got, in.Src, in.SrcPort, want)
		}
		// Only TCP, UDP and SCTP have ports to hash.
		in.Proto = 1
		if got, want := port.Pick(&in), plain.Pick(&in); got != want {
			t.Fatalf("sh-port hashed an ICMP port: %d vs %d", got, want)
		}
	}
}

func TestSHFallback(t *testing.T) {
	r := newRand(t)
	ds := mkDests(1, 1, 1, 1, 1)
	plain := mustNew(t, "sh", ds, 0, Options{})
	fb := mustNew(t, "sh", ds, FlagSHFallback, Options{})
	moved := map[int]int{}
	for range 2000 {
		in := randInput(r)
		home := plain.Pick(&in)
		if got := fb.Pick(&in); got != home {
			t.Fatalf("fallback changed a usable pick: %d vs %d", got, home)
		}
		ds[home].Counts.Overloaded.Store(true)
		if got := plain.Pick(&in); got != -1 {
			t.Fatalf("without fallback, an overloaded server was picked (%d)", got)
		}
		alt := fb.Pick(&in)
		if alt < 0 || alt == home || !ds[alt].Usable() {
			t.Fatalf("fallback picked %d with %d overloaded", alt, home)
		}
		if again := fb.Pick(&in); again != alt {
			t.Fatalf("fallback not deterministic: %d then %d", alt, again)
		}
		moved[alt]++
		ds[home].Counts.Overloaded.Store(false)
	}
	// The displaced clients spread over the other servers rather than piling onto one.
	if len(moved) != len(ds) {
		t.Errorf("fallback targets %v", moved)
	}
	for i := range ds {
		ds[i].Counts.Overloaded.Store(true)
	}
	in := randInput(r)
	if got := fb.Pick(&in); got != -1 {
		t.Fatalf("all overloaded: fallback picked %d", got)
	}
}

func TestDH(t *testing.T) {
	r := newRand(t)
	ds := mkDests(1, 9, 1) // weights do not matter to dh
	s := mustNew(t, "dh", ds, 0, Options{})
	for range 10000 {
		in := randInput(r)
		want := int(fold32(in.Dst) * 2654435761 % 256 % 3)
		if got := s.Pick(&in); got != want {
			t.Fatalf("dh picked %d for %v, want %d", got, in.Dst, want)
		}
	}
	in := Input{Dst: netip.MustParseAddr("192.0.2.7")}
	home := s.Pick(&in)
	ds[home].Counts.Overloaded.Store(true)
	if got := s.Pick(&in); got != -1 {
		t.Fatalf("dh picked %d when the hashed server is overloaded", got)
	}
}
