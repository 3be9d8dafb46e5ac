package sched

// sed is IPVS shortest expected delay: the usable server with the smallest
// (active+1)/weight — inactive connections do not count — compared as products; the first
// one wins a tie.
type sed struct{ dests []Dest }

func newSED(c *config) (Scheduler, error) { return &sed{c.dests}, nil }

func (s *sed) Name() string { return "sed" }

func (s *sed) Pick(*Input) int { return pickSED(s.dests, false) }

// pickSED is the rule sed and nq share. With idleFirst (nq) a usable server with no active
// connection is taken at once, before the delay comparison looks any further.
func pickSED(ds []Dest, idleFirst bool) int {
	least, loh := -1, int64(0)
	for i := range ds {
		d := &ds[i]
		if !d.Usable() {
			continue
		}
		active := int64(d.Counts.Active.Load())
		if idleFirst && active == 0 {
			return i
		}
		if doh := active + 1; least < 0 || loh*int64(d.Weight) > doh*int64(ds[least].Weight) {
			least, loh = i, doh
		}
	}
	return least
}
