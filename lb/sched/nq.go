package sched

// nq is IPVS never queue: the first usable server with no active connection if there is one,
// otherwise the sed choice (smallest (active+1)/weight, first wins a tie).
type nq struct{ dests []Dest }

func newNQ(c *config) (Scheduler, error) { return &nq{c.dests}, nil }

func (s *nq) Name() string { return "nq" }

func (s *nq) Pick(*Input) int { return pickSED(s.dests, true) }
