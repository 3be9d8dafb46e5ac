package sched

import "errors"

// lblcrMaxSet bounds an lblcr server set; IPVS's sets are unbounded lists.
const lblcrMaxSet = 16

// lblcr is IPVS locality-based least-connection with replication: each destination address
// maps to a set of servers. A pick takes the set's least loaded usable member (wlc rule,
// newest member first on ties); when there is none, or it is overloaded by IPVS's lblc rule,
// wlc picks a server from the whole list and it joins the set. A set with more than one
// member that has not changed for Options.CacheExpiration loses its most loaded member.
//
// Deviation: a set holds at most lblcrMaxSet servers; a server joining a full set first
// evicts the most loaded member (the one IPVS's shrinking would drop next). IPVS lets a set
// grow to the whole server list.
type lblcr struct {
	dests []Dest
	now   func() int64
	exp   int64
	cache *cache[serverSet]
}

// serverSet is one address's replication set, newest member first as IPVS's list is.
type serverSet struct {
	lastmod int64
	n       uint8
	members [lblcrMaxSet]uint16
}

func newLBLCR(c *config) (Scheduler, error) {
	if len(c.dests) > 1<<16 {
		return nil, errors.New("more than 65536 servers")
	}
	s := &lblcr{dests: c.dests, now: c.now, exp: int64(c.opts.CacheExpiration)}
	p, _ := c.opts.Prev.(*lblcr)
	switch {
	case p != nil && p.cache.shareable(p.dests, c.dests, c.opts.CacheSize, s.exp):
		s.cache = p.cache
	case p != nil:
		s.cache = newCache[serverSet](c.opts.CacheSize, s.exp)
		m := remapping(p.dests, c.dests)
		p.cache.mu.Lock()
		p.cache.each(s.now(), func(h *slotHead, old *serverSet) {
			var set serverSet
			set.lastmod = old.lastmod
			for _, d := range old.members[:old.n] {
				if j := m[d]; j >= 0 {
					set.members[set.n] = uint16(j)
					set.n++
				}
			}
			if set.n > 0 {
				s.cache.slots[s.cache.insert(h.key, h.lastuse)] = set
			}
		})
		p.cache.mu.Unlock()
	default:
		s.cache = newCache[serverSet](c.opts.CacheSize, s.exp)
	}
	return s, nil
}

func (s *lblcr) Name() string { return "lblcr" }

func (s *lblcr) Pick(in *Input) int {
	k, now := keyOf(in.Dst), s.now()
	c := s.cache
	c.mu.Lock()
	defer c.mu.Unlock()
	i := c.lookup(k, now)
	if i < 0 {
		d := pickWLC(s.dests)
		if d >= 0 {
			c.slots[c.insert(k, now)] = serverSet{lastmod: now, n: 1, members: [lblcrMaxSet]uint16{uint16(d)}}
		}
		return d
	}
	c.heads[i].lastuse = now
	set := &c.slots[i]
	d := set.least(s.dests)
	if set.n > 1 && now-set.lastmod > s.exp {
		if m := set.most(s.dests); m >= 0 {
			set.remove(m, now)
		}
	}
	if d >= 0 && !lblcOverloaded(s.dests, d) {
		return d
	}
	if d = pickWLC(s.dests); d >= 0 {
		set.add(s.dests, d, now)
	}
	return d
}

// least is IPVS's ip_vs_dest_set_min: the wlc rule over the members, in set order.
func (set *serverSet) least(ds []Dest) int {
	least, loh := -1, int64(0)
	for _, m := range set.members[:set.n] {
		d := &ds[m]
		if !d.Usable() {
			continue
		}
		if doh := d.Counts.Overhead(); least < 0 || loh*int64(d.Weight) > doh*int64(ds[least].Weight) {
			least, loh = int(m), doh
		}
	}
	return least
}

// most is IPVS's ip_vs_dest_set_max: the member with the highest overhead/weight among those
// with a weight, overload flag or not; the first wins a tie.
func (set *serverSet) most(ds []Dest) int {
	most, moh := -1, int64(0)
	for _, m := range set.members[:set.n] {
		d := &ds[m]
		if d.Weight <= 0 {
			continue
		}
		if doh := d.Counts.Overhead(); most < 0 || moh*int64(d.Weight) < doh*int64(ds[most].Weight) {
			most, moh = int(m), doh
		}
	}
	return most
}

// add puts d at the front of the set unless it is a member already.
func (set *serverSet) add(ds []Dest, d int, now int64) {
	for _, m := range set.members[:set.n] {
		if int(m) == d {
			return
		}
	}
	if int(set.n) == lblcrMaxSet {
		m := set.most(ds)
		if m < 0 {
			m = int(set.members[set.n-1]) // every member quiesced: drop the oldest
		}
		set.remove(m, now)
	}
	copy(set.members[1:set.n+1], set.members[:set.n])
	set.members[0] = uint16(d)
	set.n++
	set.lastmod = now
}

func (set *serverSet) remove(d int, now int64) {
	for j, m := range set.members[:set.n] {
		if int(m) == d {
			copy(set.members[j:], set.members[j+1:set.n])
			set.n--
			set.lastmod = now
			return
		}
	}
}
