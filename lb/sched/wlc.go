package sched

// wlc is IPVS weighted least-connection: the usable server with the smallest
// overhead/weight, compared as overhead×weight products; the first one wins a tie.
type wlc struct{ dests []Dest }

func newWLC(c *config) (Scheduler, error) { return &wlc{c.dests}, nil }

func (s *wlc) Name() string { return "wlc" }

func (s *wlc) Pick(*Input) int { return pickWLC(s.dests) }

// pickWLC is the weighted least-connection rule that wlc, lblc and lblcr share. As in IPVS
// the first usable server is the initial candidate and a later one replaces it only when
// strictly less loaded.
func pickWLC(ds []Dest) int {
	least, loh := -1, int64(0)
	for i := range ds {
		d := &ds[i]
		if least < 0 {
			if d.Usable() {
				least, loh = i, d.Counts.Overhead()
			}
			continue
		}
		// IPVS checks only the overload flag here and relies on a zero weight making the
		// product lose; testing Usable is the same for non-negative counts and stays right
		// if a counter briefly underflows.
		if !d.Usable() {
			continue
		}
		if doh := d.Counts.Overhead(); loh*int64(d.Weight) > doh*int64(ds[least].Weight) {
			least, loh = i, doh
		}
	}
	return least
}
