package sched

import (
	"slices"
	"testing"
)

// refRR is IPVS's rr as a plain loop: the first usable server after the last pick.
type refRR struct{ last int }

func (r *refRR) pick(ds []Dest) int {
	for k := 1; k <= len(ds); k++ {
		if i := (r.last + k) % len(ds); refUsable(&ds[i]) {
			r.last = i
			return i
		}
	}
	return -1
}

func TestRRMatchesReference(t *testing.T) {
	r := newRand(t)
	for range 200 {
		ds := mkDests(make([]int32, 1+r.IntN(10))...)
		randLoad(r, ds)
		s := mustNew(t, "rr", ds, 0, Options{})
		ref := &refRR{last: -1}
		for step := range 200 {
			if r.IntN(4) == 0 {
				randCounts(r, ds[r.IntN(len(ds))].Counts)
			}
			if got, want := s.Pick(nil), ref.pick(ds); got != want {
				t.Fatalf("step %d: rr picked %d, reference %d\n%s", step, got, want, dump(ds))
			}
		}
	}
}

func TestRRSkipsUnusable(t *testing.T) {
	ds := mkDests(1, 0, 1, 1)
	ds[2].Counts.Overloaded.Store(true)
	s := mustNew(t, "rr", ds, 0, Options{})
	var got []int
	for range 6 {
		got = append(got, s.Pick(nil))
	}
	// Server 3 follows 0 and is not picked twice in a row for the skipped ones.
	if want := []int{0, 3, 0, 3, 0, 3}; !slices.Equal(got, want) {
		t.Fatalf("picks %v, want %v", got, want)
	}
}

// A new rr continues after the server the previous one picked last, wherever it now sits.
func TestRRPrev(t *testing.T) {
	ds := mkDests(1, 1, 1, 1)
	old := mustNew(t, "rr", ds, 0, Options{})
	old.Pick(nil)
	old.Pick(nil) // last pick: server 1 (10.0.0.2)
	cur := []Dest{ds[3], ds[1], ds[0]}
	s := mustNew(t, "rr", cur, 0, Options{Prev: old})
	if got := s.Pick(nil); got != 2 {
		t.Fatalf("picked %d, want 2 (the server after 10.0.0.2 in the new list)", got)
	}
	// The previous server is gone: continue after its predecessor, as IPVS does.
	s = mustNew(t, "rr", []Dest{ds[0], ds[2], ds[3]}, 0, Options{Prev: old})
	if got := s.Pick(nil); got != 1 {
		t.Fatalf("picked %d, want 1 (10.0.0.3, which followed the removed 10.0.0.2)", got)
	}
}
