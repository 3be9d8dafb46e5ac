package conntab

// Sweep expires entries in the next `shards` shards (a round-robin cursor shared by all
// callers) and returns how many it removed. A template that has expired but still controls
// connections is re-armed with its timeout instead (IPVS n_control); a deleted template is
// freed once it controls none. Sweep takes a shard's lock one chunk of entries at a time, so
// packets of that shard wait at most one chunk's scan.
func (t *Table) Sweep(now int64, shards int) int {
	t.clock.Store(now)
	tick := tickOf(now)
	removed := 0
	for ; shards > 0; shards-- {
		si := (t.sweepNext.Add(1) - 1) & t.mask
		removed += t.sweepShard(&t.shards[si], tick)
	}
	return removed
}

func (t *Table) sweepShard(s *shard, tick int64) int {
	removed := 0
	// secure_tcp: half-open entries armed before it came on get its shorter timeout now.
	to := t.timeouts.Load()
	for base := uint32(1); ; base += chunkSize {
		s.Lock()
		if base > s.hwm {
			s.Unlock()
			return removed
		}
		end := min(base+chunkSize-1, s.hwm)
		for i := base; i <= end; i++ {
			e := s.at(i)
			switch {
			case e.flags&flagUsed == 0:
			case e.flags&flagDoomed != 0:
				if e.ctlCount() == 0 {
					t.drop(s, i) // counted as deleted by Delete
				}
			case !expired(e.expires, tick):
				if to.dos && evictable(e) {
					if exp := uint32(tick) + to.tcp[e.state()]; int32(e.expires-exp) > 0 {
						e.expires = exp
					}
				}
			case e.isTemplate() && e.ctlCount() != 0:
				e.expires = uint32(tick) + e.tmplTimeout()
			default:
				t.drop(s, i)
				s.expired++
				removed++
			}
		}
		s.Unlock()
	}
}

// Len returns the number of entries, connections and templates.
func (t *Table) Len() int { return int(t.count.Load()) }

// Stats are the table's counters.
type Stats struct {
	Inserted    uint64 // entries inserted (connections and templates)
	Expired     uint64 // entries removed by timeout (Sweep, or found expired by Lookup / Insert)
	Deleted     uint64 // entries removed by Delete
	RefusedFull uint64 // Insert calls refused with ErrFull
	Evicted     uint64 // half-open entries evicted by drop_entry (EvictOnFull, DropEmbryonic)
	Current     int    // entries held now
	Templates   int    // of which templates
}

// Stats sums the shards' counters.
func (t *Table) Stats() Stats {
	st := Stats{RefusedFull: t.refused.Load()}
	for i := range t.shards {
		s := &t.shards[i]
		s.Lock()
		st.Inserted += s.inserted
		st.Expired += s.expired
		st.Deleted += s.deleted
		st.Evicted += s.evicted
		st.Current += s.live
		st.Templates += s.templates
		s.Unlock()
	}
	return st
}

// Range calls fn with a copy of every entry until fn returns false. Each shard is copied out
// under its lock and fn runs outside it, so fn may call the Table. Deleted templates that wait
// for their connections are left out. Expires is resolved against the now of the latest Sweep.
func (t *Table) Range(fn func(c *Conn) bool) {
	tick := tickOf(t.clock.Load())
	var buf []Conn
	for si := range t.shards {
		s := &t.shards[si]
		buf = buf[:0]
		s.Lock()
		for i := uint32(1); i <= s.hwm; i++ {
			e := s.at(i)
			if e.flags&(flagUsed|flagDoomed) != flagUsed {
				continue
			}
			buf = append(buf, Conn{})
			e.store(&buf[len(buf)-1], t.ref(si, i), tick)
		}
		s.Unlock()
		for i := range buf {
			if !fn(&buf[i]) {
				return
			}
		}
	}
}
