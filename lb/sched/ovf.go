package sched

// ovf is IPVS overflow-connection: the usable server with the highest weight among those
// whose active connections do not exceed their weight; the first one wins a tie. Traffic
// stays on the top server until it holds more than weight active connections, then
// overflows to the next. (IPVS skips a server when active > weight, so one at exactly its
// weight still gets the next connection.)
type ovf struct{ dests []Dest }

func newOVF(c *config) (Scheduler, error) { return &ovf{c.dests}, nil }

func (s *ovf) Name() string { return "ovf" }

func (s *ovf) Pick(*Input) int {
	best, hw := -1, int32(0)
	for i := range s.dests {
		d := &s.dests[i]
		if !d.Usable() || d.Counts.Active.Load() > d.Weight {
			continue
		}
		if best < 0 || d.Weight > hw {
			best, hw = i, d.Weight
		}
	}
	return best
}
