package health_test

import (
	"testing"

	"github.com/uvs-lb/uvs/health"
)

func TestQuorumHysteresis(t *testing.T) {
	type step struct {
		alive       int64
		up, changed bool
	}
	for _, tc := range []struct {
		name  string
		q     health.Quorum
		steps []step
	}{
		{"starts up when alive ≥ quorum+hysteresis", health.Quorum{Quorum: 4, Hysteresis: 1}, []step{
			{5, true, false},                   // the start: no change reported
			{4, true, false}, {3, true, false}, // ≥ 4-1: kept
			{2, false, true},                     // < 3: lost
			{3, false, false}, {4, false, false}, // < 4+1: not regained
			{5, true, true},
			{5, true, false},
		}},
		{"starts down below quorum+hysteresis", health.Quorum{Quorum: 4, Hysteresis: 1}, []step{
			{4, false, false}, {5, true, true}, {0, false, true},
		}},
		{"no hysteresis", health.Quorum{Quorum: 3}, []step{
			{3, true, false}, {2, false, true}, {3, true, true}, {2, false, true},
		}},
		{"default quorum 1", health.Quorum{}, []step{
			{0, false, false}, {1, true, true}, {7, true, false}, {0, false, true},
		}},
		{"zero alive loses quorum whatever the thresholds", health.Quorum{Quorum: 1, Hysteresis: 2}, []step{
			{3, true, false}, {1, true, false}, {0, false, true}, {2, false, false}, {3, true, true},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := tc.q
			if q.Up() {
				t.Fatal("up before the first Update")
			}
			for i, s := range tc.steps {
				up, changed := q.Update(s.alive)
				if up != s.up || changed != s.changed || q.Up() != up {
					t.Fatalf("step %d: Update(%d) = %v, %v; want %v, %v", i, s.alive, up, changed, s.up, s.changed)
				}
			}
		})
	}
}

// A reload changes the thresholds and keeps the state.
func TestQuorumReload(t *testing.T) {
	q := health.Quorum{Quorum: 2}
	q.Update(2)
	q.Quorum, q.Hysteresis = 10, 0
	if up, changed := q.Update(2); up || !changed {
		t.Fatalf("after raising the quorum: %v, %v; want lost", up, changed)
	}
	q.Quorum = 1
	if up, changed := q.Update(2); !up || !changed {
		t.Fatalf("after lowering it: %v, %v; want gained", up, changed)
	}
}
