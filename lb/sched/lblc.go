package sched

// lblc is IPVS locality-based least-connection, for cache clusters: each destination address
// sticks to one server, chosen by wlc when the address is first seen and again whenever the
// cached server is quiesced or overloaded by IPVS's rule (more active connections than its
// weight while some server has fewer than half of its own).
//
// As in IPVS, the cached server is kept while the engine's overload flag (thresholds) is set
// on it: only weight 0 and the rule above send the address elsewhere. Entries unused for
// Options.CacheExpiration are forgotten; see cache for how the fixed-size cache differs from
// IPVS's growable table.
type lblc struct {
	dests []Dest
	now   func() int64
	cache *cache[int32] // destination address → server index
}

func newLBLC(c *config) (Scheduler, error) {
	s := &lblc{dests: c.dests, now: c.now}
	exp := int64(c.opts.CacheExpiration)
	p, _ := c.opts.Prev.(*lblc)
	switch {
	case p != nil && p.cache.shareable(p.dests, c.dests, c.opts.CacheSize, exp):
		s.cache = p.cache // same indices: keep using the one cache
	case p != nil:
		s.cache = newCache[int32](c.opts.CacheSize, exp)
		m := remapping(p.dests, c.dests)
		p.cache.mu.Lock()
		p.cache.each(s.now(), func(h *slotHead, d *int32) {
			if j := m[*d]; j >= 0 {
				s.cache.slots[s.cache.insert(h.key, h.lastuse)] = int32(j)
			}
		})
		p.cache.mu.Unlock()
	default:
		s.cache = newCache[int32](c.opts.CacheSize, exp)
	}
	return s, nil
}

func (s *lblc) Name() string { return "lblc" }

func (s *lblc) Pick(in *Input) int {
	k, now := keyOf(in.Dst), s.now()
	c := s.cache
	c.mu.Lock()
	defer c.mu.Unlock()
	if i := c.lookup(k, now); i >= 0 {
		c.heads[i].lastuse = now
		if d := int(c.slots[i]); s.dests[d].Weight > 0 && !lblcOverloaded(s.dests, d) {
			return d
		}
	}
	d := pickWLC(s.dests)
	if d >= 0 {
		c.slots[c.insert(k, now)] = int32(d)
	}
	return d
}
