package sched

// fo is IPVS weighted fail-over: the usable server with the highest weight; the first one
// wins a tie. Load plays no part.
type fo struct{ dests []Dest }

func newFO(c *config) (Scheduler, error) { return &fo{c.dests}, nil }

func (s *fo) Name() string { return "fo" }

func (s *fo) Pick(*Input) int {
	best, hw := -1, int32(0)
	for i := range s.dests {
		if d := &s.dests[i]; d.Weight > hw && !d.Counts.Overloaded.Load() {
			best, hw = i, d.Weight
		}
	}
	return best
}
