package sched

import (
	"math"
	"testing"
)

func shares(s Scheduler, n, picks int) []float64 {
	count := make([]float64, n)
	for range picks {
		count[s.Pick(nil)]++
	}
	for i := range count {
		count[i] /= float64(picks)
	}
	return count
}

// With no load anywhere the first draw always wins, so picks follow the weights — with IPVS's
// extra share for the first server, as draws range over [0, Σweight].
func TestTwosWeights(t *testing.T) {
	ds := mkDests(1, 2, 0, 3, 4)
	got := shares(mustNew(t, "twos", ds, 0, Options{}), len(ds), 200000)
	want := []float64{2.0 / 11, 2.0 / 11, 0, 3.0 / 11, 4.0 / 11}
	for i := range want {
		if math.Abs(got[i]-want[i]) > 0.01 {
			t.Errorf("server %d: share %.3f, want %.3f ± 0.01", i, got[i], want[i])
		}
	}
}

// A loaded server is picked only when both draws land on it.
func TestTwosPrefersLessLoaded(t *testing.T) {
	ds := mkDests(1, 1, 1, 1)
	ds[0].Counts.Active.Store(10)
	got := shares(mustNew(t, "twos", ds, 0, Options{}), len(ds), 200000)
	// Server 0 is drawn with probability 2/5 (it owns r = 0 and r = 1).
	if want := 0.4 * 0.4; math.Abs(got[0]-want) > 0.01 {
		t.Errorf("loaded server's share %.3f, want %.3f ± 0.01", got[0], want)
	}
	ds[1].Counts.Overloaded.Store(true)
	for range 1000 {
		if mustNew(t, "twos", ds, 0, Options{}).Pick(nil) == 1 {
			t.Fatal("picked the overloaded server")
		}
	}
}
