package sched

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
)

// TestConcurrentPicks runs every scheduler from several goroutines while the engine's side
// changes counts and overload flags underneath; run it with -race.
func TestConcurrentPicks(t *testing.T) {
	const workers, picks = 4, 3000
	for _, v := range variants() {
		t.Run(v.name+"/"+v.flags.String(), func(t *testing.T) {
			t.Parallel()
			ds := mkDests(1, 2, 3, 0, 5, 1, 2, 4)
			var clk atomic.Int64
			s := mustNew(t, v.name, ds, v.flags, Options{CacheSize: 64, Now: clk.Load})
			stop := make(chan struct{})
			var engine sync.WaitGroup
			engine.Add(1)
			go func() {
				defer engine.Done()
				r := newRand(t)
				for {
					select {
					case <-stop:
						return
					default:
					}
					randCounts(r, ds[r.IntN(len(ds))].Counts)
					clk.Add(1e9)
				}
			}()
			dsts := randDsts(50) // few destinations, so that lblc/lblcr revisit them
			var wg sync.WaitGroup
			for w := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					r := rand.New(rand.NewPCG(uint64(w), 7))
					for range picks {
						in := randInput(r)
						in.Dst = dsts[r.IntN(len(dsts))]
						if p := s.Pick(&in); p < -1 || p >= len(ds) || p == 3 {
							t.Errorf("picked %d", p)
							return
						}
					}
				}()
			}
			wg.Wait()
			close(stop)
			engine.Wait()
		})
	}
}

// Concurrent picks still share the rr and wrr rotations exactly: after k whole cycles every
// server has had exactly k times its share.
func TestConcurrentRotationExact(t *testing.T) {
	for _, name := range []string{"rr", "wrr"} {
		ws := []int32{3, 1, 0, 2, 6}
		s := mustNew(t, name, mkDests(ws...), 0, Options{})
		cycle := 4 // rr: one pick per usable server
		if name == "wrr" {
			_, _, n := wrrParams(mkDests(ws...))
			cycle = int(n)
		}
		const workers, cycles = 4, 500
		var counts [5]atomic.Int64
		var wg sync.WaitGroup
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range cycles * cycle / workers {
					counts[s.Pick(nil)].Add(1)
				}
			}()
		}
		wg.Wait()
		for i, w := range ws {
			want := int64(cycles)
			if name == "wrr" {
				want *= int64(w)
			} else if w == 0 {
				want = 0
			}
			if got := counts[i].Load(); got != want {
				t.Errorf("%s: server %d (weight %d) picked %d times, want %d", name, i, w, got, want)
			}
		}
	}
}
