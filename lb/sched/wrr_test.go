package sched

import (
	"slices"
	"testing"
)

func wrrPicks(s Scheduler, n int) []int {
	picks := make([]int, n)
	for i := range picks {
		picks[i] = s.Pick(nil)
	}
	return picks
}

// The interleaved order IPVS produces, worked out by hand from its passes.
func TestWRRSequence(t *testing.T) {
	for _, tc := range []struct {
		weights []int32
		want    []int
	}{
		// cw = 4: A; 3: A B; 2: A B C; 1: A B C.
		{[]int32{4, 3, 2}, []int{0, 0, 1, 0, 1, 2, 0, 1, 2}},
		// gcd 2, start 4−1 = 3: A; then 1: A B.
		{[]int32{4, 2}, []int{0, 0, 1}},
		// Quiesced servers never appear.
		{[]int32{0, 2, 0, 1}, []int{1, 1, 3}},
		{[]int32{5, 5, 5}, []int{0, 1, 2}},
	} {
		s := mustNew(t, "wrr", mkDests(tc.weights...), 0, Options{})
		got := wrrPicks(s, 2*len(tc.want))
		if want := slices.Concat(tc.want, tc.want); !slices.Equal(got, want) {
			t.Errorf("weights %v: picks %v, want %v", tc.weights, got, want)
		}
	}
}

// Over one full cycle of Σweight/gcd picks every server gets exactly weight/gcd.
func TestWRRCycleRatiosExact(t *testing.T) {
	r := newRand(t)
	for range 500 {
		ws := make([]int32, 1+r.IntN(12))
		for i := range ws {
			ws[i] = int32(r.IntN(4)) * int32(1+r.IntN(60)) // zeros, and shared factors
		}
		g, _, length := wrrParams(mkDests(ws...))
		if length == 0 {
			continue
		}
		s := mustNew(t, "wrr", mkDests(ws...), 0, Options{})
		count := make([]int64, len(ws))
		for _, p := range wrrPicks(s, int(length)) {
			count[p]++
		}
		for i, w := range ws {
			if want := int64(max(w, 0)) / g; count[i] != want {
				t.Fatalf("weights %v: server %d got %d picks per cycle, want %d", ws, i, count[i], want)
			}
		}
	}
}

// The precomputed cycle and IPVS's incremental walk (used for huge cycles) pick the same
// servers, overloaded ones coming and going included.
func TestWRRWalkMatchesCycle(t *testing.T) {
	r := newRand(t)
	for range 300 {
		ws := make([]int32, 1+r.IntN(8))
		for i := range ws {
			ws[i] = int32(r.IntN(3)) * int32(1+r.IntN(20))
		}
		ds := mkDests(ws...)
		cycle, walk := buildWRR(ds, maxWRRCycle), buildWRR(ds, 0)
		if _, ok := walk.(*wrrWalk); !ok && anyUsable(ds) {
			t.Fatalf("limit 0 built %T", walk)
		}
		for step := range 400 {
			if r.IntN(3) == 0 {
				d := ds[r.IntN(len(ds))].Counts
				d.Overloaded.Store(!d.Overloaded.Load())
			}
			if a, b := cycle.Pick(nil), walk.Pick(nil); a != b {
				t.Fatalf("weights %v step %d: cycle picked %d, walk %d\n%s", ws, step, a, b, dump(ds))
			}
		}
	}
}

// With weights whose cycle is far too long to precompute or to walk pass by pass, the walk
// still answers at once when the heavy server is overloaded.
func TestWRRHugeWeights(t *testing.T) {
	ds := mkDests(1<<30, 1, 0)
	s := mustNew(t, "wrr", ds, 0, Options{})
	if _, ok := s.(*wrrWalk); !ok {
		t.Fatalf("built %T, want the incremental walk", s)
	}
	if got := wrrPicks(s, 3); !slices.Equal(got, []int{0, 0, 0}) {
		t.Fatalf("picks %v", got)
	}
	ds[0].Counts.Overloaded.Store(true)
	if got := wrrPicks(s, 3); !slices.Equal(got, []int{1, 1, 1}) {
		t.Fatalf("picks with the heavy server overloaded: %v", got)
	}
	ds[1].Counts.Overloaded.Store(true)
	if got := s.Pick(nil); got != -1 {
		t.Fatalf("everyone overloaded: picked %d", got)
	}
}

// A new wrr resumes at the head of the list with the previous threshold, as IPVS does when a
// weight changes, rounding it onto the new weight step.
func TestWRRPrev(t *testing.T) {
	for _, limit := range []int64{maxWRRCycle, 0} { // cycle and walk forms alike
		old := buildWRR(mkDests(4, 3, 2), limit)
		if got := wrrPicks(old, 4); !slices.Equal(got, []int{0, 0, 1, 0}) {
			t.Fatalf("setup picks %v", got)
		}
		// The last pick was in the pass with cw = 2: the new scheduler restarts that pass.
		cur := buildWRR(mkDests(4, 3, 2), limit)
		cur.resume(old.threshold())
		if got := wrrPicks(cur, 6); !slices.Equal(got, []int{0, 1, 2, 0, 1, 2}) {
			t.Errorf("limit %d: resumed picks %v, want [0 1 2 0 1 2]", limit, got)
		}
		if cw := cur.threshold(); cw != 1 {
			t.Errorf("limit %d: threshold %d after the last pass, want 1", limit, cw)
		}
		// Weights doubled: g = 2, start 7; passes 7: A; 5: A B; 3: A B C; 1: A B C.
		// A previous threshold of 2 rounds to 3.
		next := buildWRR(mkDests(8, 6, 4), limit)
		next.resume(2)
		if got := wrrPicks(next, 7); !slices.Equal(got, []int{0, 1, 2, 0, 1, 2, 0}) {
			t.Errorf("limit %d: picks after doubling %v", limit, got)
		}
	}
	// Through New: Prev of another kind is ignored, a fresh wrr starts at the top.
	s := mustNew(t, "wrr", mkDests(4, 3, 2), 0, Options{Prev: mustNew(t, "rr", mkDests(1), 0, Options{})})
	if got := wrrPicks(s, 2); !slices.Equal(got, []int{0, 0}) {
		t.Errorf("picks %v", got)
	}
}
