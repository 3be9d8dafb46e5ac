package sched

// lc is IPVS least-connection: the usable server with the smallest overhead
// (active×256 + inactive), ignoring weights beyond 0 = quiesced; the first one wins a tie.
type lc struct{ dests []Dest }

func newLC(c *config) (Scheduler, error) { return &lc{c.dests}, nil }

func (s *lc) Name() string { return "lc" }

func (s *lc) Pick(*Input) int {
	least, loh := -1, int64(0)
	for i := range s.dests {
		d := &s.dests[i]
		if !d.Usable() {
			continue
		}
		if doh := d.Counts.Overhead(); least < 0 || doh < loh {
			least, loh = i, doh
		}
	}
	return least
}
