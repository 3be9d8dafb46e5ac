package sched

import (
	"fmt"
	"math/big"
	"strings"
	"testing"
)

// The references below restate each IPVS rule in the plainest terms — compute every usable
// server's load as an exact fraction, take the minimum (or maximum), break ties by list
// order — independently of the single-pass, cross-multiplying loops the kernel and this
// package use.

func refUsable(d *Dest) bool { return d.Weight > 0 && !d.Counts.Overloaded.Load() }

// refFirstBest returns the first index whose score is best (smallest with less, largest
// otherwise) among the candidates, or -1.
func refFirstBest(ds []Dest, candidate func(*Dest) bool, score func(*Dest) *big.Rat, less bool) int {
	var best *big.Rat
	for i := range ds {
		if !candidate(&ds[i]) {
			continue
		}
		s := score(&ds[i])
		if best == nil || (less && s.Cmp(best) < 0) || (!less && s.Cmp(best) > 0) {
			best = s
		}
	}
	for i := range ds {
		if best != nil && candidate(&ds[i]) && score(&ds[i]).Cmp(best) == 0 {
			return i
		}
	}
	return -1
}

func ratio(num, den int64) *big.Rat { return big.NewRat(num, den) }

func refLC(ds []Dest) int {
	return refFirstBest(ds, refUsable, func(d *Dest) *big.Rat { return ratio(d.Counts.Overhead(), 1) }, true)
}

func refWLC(ds []Dest) int {
	return refFirstBest(ds, refUsable, func(d *Dest) *big.Rat {
		return ratio(d.Counts.Overhead(), int64(d.Weight))
	}, true)
}

func refSED(ds []Dest) int {
	return refFirstBest(ds, refUsable, func(d *Dest) *big.Rat {
		return ratio(int64(d.Counts.Active.Load())+1, int64(d.Weight))
	}, true)
}

func refNQ(ds []Dest) int {
	for i := range ds {
		if refUsable(&ds[i]) && ds[i].Counts.Active.Load() == 0 {
			return i
		}
	}
	return refSED(ds)
}

func refFO(ds []Dest) int {
	return refFirstBest(ds, refUsable, func(d *Dest) *big.Rat { return ratio(int64(d.Weight), 1) }, false)
}

func refOVF(ds []Dest) int {
	notFull := func(d *Dest) bool { return refUsable(d) && d.Counts.Active.Load() <= d.Weight }
	return refFirstBest(ds, notFull, func(d *Dest) *big.Rat { return ratio(int64(d.Weight), 1) }, false)
}

// TestLoadRulesMatchReference compares the stateless load-based schedulers with their
// references over many random server lists, weights, counts and overload flags.
func TestLoadRulesMatchReference(t *testing.T) {
	refs := map[string]func([]Dest) int{
		"lc": refLC, "wlc": refWLC, "sed": refSED, "nq": refNQ, "fo": refFO, "ovf": refOVF,
	}
	r := newRand(t)
	for iter := range 20000 {
		ds := mkDests(make([]int32, 1+r.IntN(12))...)
		randLoad(r, ds)
		for name, ref := range refs {
			s := mustNew(t, name, ds, 0, Options{})
			if got, want := s.Pick(&Input{}), ref(ds); got != want {
				t.Fatalf("iteration %d: %s picked %d, reference %d\n%s", iter, name, got, want, dump(ds))
			}
		}
	}
}

// Hand-made cases for the rules' corners, each checked against what IPVS does.
func TestLoadRulesCorners(t *testing.T) {
	type c struct{ active, inactive int32 }
	for _, tc := range []struct {
		name    string
		weights []int32
		counts  []c
		over    []bool
		want    int
	}{
		// lc ignores weights; overhead 256 = one active = 256 inactive; first wins ties.
		{"lc", []int32{1, 100}, []c{{1, 0}, {0, 256}}, nil, 0},
		{"lc", []int32{0, 1, 1}, []c{{0, 0}, {0, 1}, {0, 1}}, nil, 1},
		// wlc: 512/2 vs 256/1 tie → first; 513/2 > 256/1 → second.
		{"wlc", []int32{2, 1}, []c{{2, 0}, {1, 0}}, nil, 0},
		{"wlc", []int32{2, 1}, []c{{2, 1}, {1, 0}}, nil, 1},
		{"wlc", []int32{5, 1}, []c{{0, 0}, {0, 0}}, []bool{true, false}, 1},
		// sed counts active+1 only: (0+1)/1 vs (1+1)/3 → second, inactive ignored.
		{"sed", []int32{1, 3}, []c{{0, 0}, {1, 9}}, nil, 1},
		// nq: the idle server wins outright even if sed would prefer another.
		{"nq", []int32{100, 1, 1}, []c{{1, 0}, {2, 0}, {0, 50}}, nil, 2},
		{"nq", []int32{100, 1}, []c{{1, 0}, {2, 0}}, nil, 0},
		// fo: highest weight, load ignored, first wins ties; overloaded skipped.
		{"fo", []int32{3, 7, 7}, []c{{0, 0}, {99, 0}, {0, 0}}, nil, 1},
		{"fo", []int32{3, 7, 7}, nil, []bool{false, true, false}, 2},
		// ovf: a server at exactly its weight still qualifies; above it overflows.
		{"ovf", []int32{5, 3}, []c{{5, 0}, {0, 0}}, nil, 0},
		{"ovf", []int32{5, 3}, []c{{6, 0}, {0, 0}}, nil, 1},
		{"ovf", []int32{5, 3}, []c{{6, 0}, {4, 0}}, nil, -1},
	} {
		ds := mkDests(tc.weights...)
		for i := range ds {
			if i < len(tc.counts) {
				ds[i].Counts.Active.Store(tc.counts[i].active)
				ds[i].Counts.Inactive.Store(tc.counts[i].inactive)
			}
			if i < len(tc.over) {
				ds[i].Counts.Overloaded.Store(tc.over[i])
			}
		}
		if got := mustNew(t, tc.name, ds, 0, Options{}).Pick(&Input{}); got != tc.want {
			t.Errorf("%s %v %v: picked %d, want %d", tc.name, tc.weights, tc.counts, got, tc.want)
		}
	}
}

func dump(ds []Dest) string {
	var b strings.Builder
	for i := range ds {
		c := ds[i].Counts
		fmt.Fprintf(&b, "  %d: weight=%d active=%d inactive=%d overloaded=%v\n",
			i, ds[i].Weight, c.Active.Load(), c.Inactive.Load(), c.Overloaded.Load())
	}
	return b.String()
}
