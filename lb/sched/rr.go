package sched

import "sync/atomic"

// rr is IPVS round-robin: the next usable server after the one picked last, in list order.
//
// The cursor is the index of the last pick, advanced by compare-and-swap, so concurrent picks
// consume the rotation exactly as IPVS's locked cursor does: a server right after an unusable
// one does not get the skipped server's turn as well.
type rr struct {
	dests []Dest
	last  atomic.Int64 // index picked last; -1 before the first pick (IPVS's list head)
}

func newRR(c *config) (Scheduler, error) {
	s := &rr{dests: c.dests}
	s.last.Store(-1)
	if p, ok := c.opts.Prev.(*rr); ok {
		// IPVS keeps its cursor across list edits, stepping back to the previous server when
		// the current one is deleted: continue after the last pick, or after the nearest
		// server before it that is still here.
		for i := min(p.last.Load(), int64(len(p.dests))-1); i >= 0; i-- {
			if j := indexOf(c.dests, &p.dests[i]); j >= 0 {
				s.last.Store(int64(j))
				break
			}
		}
	}
	return s, nil
}

func (s *rr) Name() string { return "rr" }

func (s *rr) Pick(*Input) int {
	for {
		last := s.last.Load()
		i := s.next(last)
		if i < 0 {
			return -1
		}
		// The swap fails if another pick moved the cursor meanwhile: look again from there.
		if s.last.CompareAndSwap(last, i) {
			return int(i)
		}
	}
}

// next returns the first usable server after last, wrapping around, or -1.
func (s *rr) next(last int64) int64 {
	n := int64(len(s.dests))
	i := last
	for range n {
		if i++; i >= n {
			i = 0
		}
		if s.dests[i].Usable() {
			return i
		}
	}
	return -1
}

// indexOf returns the index of the server with d's address and port in ds, or -1.
func indexOf(ds []Dest, d *Dest) int {
	for i := range ds {
		if ds[i].Addr == d.Addr && ds[i].Port == d.Port {
			return i
		}
	}
	return -1
}
