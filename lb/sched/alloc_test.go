package sched

import "testing"

// variant is one scheduler with one combination of its flags.
type variant struct {
	name  string
	flags Flags
}

// variants lists every scheduler with every combination of its flags.
func variants() []variant {
	var v []variant
	for _, e := range registry {
		for f := Flags(0); f <= e.flags; f++ {
			if f&^e.flags == 0 {
				v = append(v, variant{e.name, f})
			}
		}
	}
	return v
}

// Pick never allocates, for any scheduler, on any path: cache misses and inserts, fallback
// scans, overloaded servers.
func TestPickDoesNotAllocate(t *testing.T) {
	r := newRand(t)
	inputs := make([]Input, 512)
	for i := range inputs {
		inputs[i] = randInput(r)
	}
	for _, v := range variants() {
		ds := mkDests(1, 2, 3, 4, 0, 5, 1, 2)
		ds[2].Counts.Overloaded.Store(true)
		ds[5].Counts.Active.Store(7)
		s := mustNew(t, v.name, ds, v.flags, Options{CacheSize: 64})
		i := 0
		if n := testing.AllocsPerRun(2000, func() {
			s.Pick(&inputs[i%len(inputs)])
			i++
		}); n != 0 {
			t.Errorf("%s %v: %.1f allocations per pick", v.name, v.flags, n)
		}
	}
	walk := buildWRR(mkDests(1<<30, 3, 1), maxWRRCycle)
	if n := testing.AllocsPerRun(1000, func() { walk.Pick(nil) }); n != 0 {
		t.Errorf("wrr walk: %.1f allocations per pick", n)
	}
}
