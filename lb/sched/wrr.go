package sched

import (
	"slices"
	"sync"
	"sync/atomic"
)

// wrr is IPVS weighted round-robin. IPVS walks the list in passes with a falling threshold
// cw = max−(g−1), max−(g−1)−g, …, down to 1 (g is the gcd of the weights), picking each server
// whose weight is at least cw. Over one cycle of Σweight/g picks every server gets exactly
// weight/g of them, interleaved rather than in bursts. Overloaded servers are skipped in
// place, the rest of the cycle unchanged.
//
// That cycle depends only on the weights, so it is precomputed and a pick is an atomic cursor
// moved by compare-and-swap to the next entry whose server is not overloaded: exactly IPVS's
// (position, cw) walk. A cycle longer than maxWRRCycle (weights with a small gcd and a huge
// sum) falls back to IPVS's incremental walk under a per-scheduler mutex.
//
// With Options.Prev, a new wrr does what IPVS does when weights or servers change: it
// restarts at the head of the list but keeps the current threshold (rounded onto the new
// weight step), so frequent rebuilds do not keep favouring the heaviest servers.
type wrr struct {
	dests     []Dest
	g, mw     int64
	cycle     []int32      // server index for each position of one cycle
	passStart []int32      // position where each pass starts; pass k has threshold mw − k·g
	pos       atomic.Int64 // position picked last; −1 before the first pick
}

// wrrScheduler is what both wrr forms offer to the next scheduler of their service.
type wrrScheduler interface {
	Scheduler
	threshold() int64 // IPVS's cw: the threshold of the pass of the last pick
	resume(cw int64)  // start at the head of the list with the previous threshold cw
}

// maxWRRCycle bounds the precomputed cycle to 128 KiB.
const maxWRRCycle = 1 << 15

func newWRR(c *config) (Scheduler, error) {
	s := buildWRR(c.dests, maxWRRCycle)
	if p, ok := c.opts.Prev.(wrrScheduler); ok {
		s.resume(p.threshold())
	}
	return s, nil
}

// wrrParams returns IPVS's weight step g (the gcd of the positive weights, 0 if there are
// none), its starting threshold mw and the cycle length.
func wrrParams(ds []Dest) (g, mw, length int64) {
	var maxw int64
	for i := range ds {
		if w := int64(ds[i].Weight); w > 0 {
			g = gcd(g, w)
			maxw = max(maxw, w)
		}
	}
	if g == 0 {
		return 0, 0, 0
	}
	for i := range ds {
		if w := int64(ds[i].Weight); w > 0 {
			length += w / g
		}
	}
	// IPVS lowers the start by g−1 so that the last pass has cw = 1.
	return g, maxw - (g - 1), length
}

// resumeThreshold is IPVS's ip_vs_wrr_dest_changed: the previous threshold cw, rounded onto
// the new step g, or the new start mw when it is out of range.
func resumeThreshold(cw, g, mw int64) int64 {
	switch {
	case cw > mw || cw <= 0:
		return mw
	case g > 1:
		return cw/g*g + 1
	}
	return cw
}

func buildWRR(ds []Dest, limit int64) wrrScheduler {
	g, mw, length := wrrParams(ds)
	if length > limit {
		return &wrrWalk{dests: ds, g: g, mw: mw, cw: mw, cl: -1}
	}
	s := &wrr{dests: ds, g: g, mw: mw, cycle: make([]int32, 0, length)}
	for cw := mw; cw > 0; cw -= g {
		s.passStart = append(s.passStart, int32(len(s.cycle)))
		for i := range ds {
			if int64(ds[i].Weight) >= cw {
				s.cycle = append(s.cycle, int32(i))
			}
		}
	}
	s.pos.Store(-1)
	return s
}

func (s *wrr) threshold() int64 {
	p := s.pos.Load()
	if p < 0 {
		return s.mw
	}
	k, found := slices.BinarySearch(s.passStart, int32(p))
	if !found {
		k-- // p is inside pass k−1
	}
	return s.mw - int64(k)*s.g
}

func (s *wrr) resume(cw int64) {
	if s.g == 0 {
		return
	}
	k := (s.mw - resumeThreshold(cw, s.g, s.mw)) / s.g
	s.pos.Store(int64(s.passStart[k]) - 1) // the next pick starts pass k
}

func (s *wrr) Name() string { return "wrr" }

func (s *wrr) Pick(*Input) int {
	for {
		last := s.pos.Load()
		p := s.next(last)
		if p < 0 {
			return -1
		}
		if s.pos.CompareAndSwap(last, p) {
			return int(s.cycle[p])
		}
	}
}

// next returns the first cycle position after last whose server is not overloaded, or -1.
// Weights are positive for every entry by construction, so overload is the only check left.
func (s *wrr) next(last int64) int64 {
	n := int64(len(s.cycle))
	p := last
	for k := range n {
		if p++; p >= n {
			p = 0
		}
		if !s.dests[s.cycle[p]].Counts.Overloaded.Load() {
			return p
		}
		// A long run of overloaded entries: stop early if every server is overloaded.
		if k == int64(len(s.dests)) && !anyUsable(s.dests) {
			return -1
		}
	}
	return -1
}

// wrrWalk is IPVS's incremental wrr for cycles too long to precompute: the state is the
// last position cl (−1 is the list head) and the current threshold cw.
type wrrWalk struct {
	dests []Dest
	g, mw int64

	mu sync.Mutex
	cl int
	cw int64
}

func (s *wrrWalk) Name() string { return "wrr" }

func (s *wrrWalk) threshold() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cw
}

func (s *wrrWalk) resume(cw int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.g > 0 {
		s.cl, s.cw = -1, resumeThreshold(cw, s.g, s.mw)
	}
}

func (s *wrrWalk) Pick(*Input) int {
	if !anyUsable(s.dests) {
		return -1 // also guarantees the walk below finds someone
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		s.cl++
		if s.cl < len(s.dests) {
			d := &s.dests[s.cl]
			if int64(d.Weight) >= s.cw && !d.Counts.Overloaded.Load() {
				return s.cl
			}
			continue
		}
		// End of a pass: lower the threshold, wrapping to the top after the last pass.
		s.cl = -1
		if s.cw -= s.g; s.cw <= 0 {
			s.cw = s.mw
		}
		// Skip whole passes whose threshold no available server reaches: IPVS would walk
		// them (up to max weight/g passes) and find nobody, so the outcome is the same.
		var top int64
		for i := range s.dests {
			if d := &s.dests[i]; d.Weight > 0 && !d.Counts.Overloaded.Load() {
				top = max(top, int64(d.Weight))
			}
		}
		if top == 0 {
			return -1 // everyone became overloaded while we walked
		}
		if s.cw > top {
			// Weights are multiples of g and cw ≡ 1 (mod g), so this stays ≥ 1.
			s.cw -= (s.cw - top + s.g - 1) / s.g * s.g
		}
	}
}
