package sched

import (
	"math/bits"
	"math/rand/v2"
	"sync/atomic"
)

// weyl is the golden-ratio step of splitmix64's Weyl sequence; mix64 turns successive
// multiples of it into independent-looking draws.
const weyl uint64 = 0x9e3779b97f4a7c15

// twos is IPVS power-of-two-choices: draw two servers at random, each with probability
// proportional to its weight, and take the one with the smaller overhead/weight (the first
// draw on a tie).
//
// As in IPVS each draw is r in [0, Σweight] inclusive and picks the first server whose
// running weight sum reaches r, so the first usable server gets one extra share in
// Σweight+1. The random source is a per-scheduler atomic counter fed through a mixer: no
// lock, no allocation.
type twos struct {
	dests []Dest
	rnd   atomic.Uint64
}

func newTwos(c *config) (Scheduler, error) {
	s := &twos{dests: c.dests}
	s.rnd.Store(rand.Uint64())
	return s, nil
}

func (s *twos) Name() string { return "twos" }

func (s *twos) Pick(*Input) int {
	var total int64
	for i := range s.dests {
		if d := &s.dests[i]; d.Usable() {
			total += int64(d.Weight)
		}
	}
	if total == 0 {
		return -1
	}
	// Two draws in [0, total]: IPVS takes a random u32 modulo total+1; the high word of a
	// 64×64-bit product gives the same uniform draw without a division.
	k := s.rnd.Add(2) // two steps of the Weyl sequence k×weyl per pick
	r1, _ := bits.Mul64(mix64(k*weyl), uint64(total+1))
	r2, _ := bits.Mul64(mix64((k-1)*weyl), uint64(total+1))

	c1, c2 := -1, -1
	var w1, w2, oh1, oh2 int64
	rw1, rw2 := int64(r1), int64(r2)
	for i := range s.dests {
		d := &s.dests[i]
		if !d.Usable() {
			continue
		}
		w := int64(d.Weight)
		rw1 -= w
		rw2 -= w
		if rw1 <= 0 && c1 < 0 {
			c1, w1, oh1 = i, w, d.Counts.Overhead()
		}
		if rw2 <= 0 && c2 < 0 {
			c2, w2, oh2 = i, w, d.Counts.Overhead()
		}
		if c1 >= 0 && c2 >= 0 {
			break
		}
	}
	switch {
	case c1 < 0:
		return c2 // servers went overloaded between the two loops; -1 if none is left
	case c2 >= 0 && w2*oh1 > w1*oh2:
		return c2
	}
	return c1
}
