package conntab

import (
	"time"

	"github.com/uvs-lb/uvs/packet"
)

// drop removes entry i: unindexes it, unbinds its counts (ip_vs_unbind_dest), releases its
// template and frees it. Caller holds s's lock and counts the reason.
func (t *Table) drop(s *shard, i uint32) {
	e := s.at(i)
	if e.flags&flagDoomed == 0 {
		t.unindex(s, i, e)
	}
	if cn := t.counts(e.dest); cn != nil {
		switch {
		case e.isTemplate():
			cn.Persist.Add(-1)
		case e.flags&FlagInactive != 0:
			cn.Inactive.Add(-1)
		default:
			cn.Active.Add(-1)
		}
	}
	if e.isTemplate() {
		s.templates--
	} else {
		t.release(Ref(e.ctl))
	}
	s.release(i)
	s.live--
	t.count.Add(-1)
}

// unindex removes entry i's slots from the index.
func (t *Table) unindex(s *shard, i uint32, e *entry) {
	var k packet.FlowKey
	e.inKey(&k)
	s.remove(slotOf(tagOf(hashTuple(t.seed, &k)), i, DirIn))
	if e.hasReply() {
		e.outKey(&k)
		s.remove(slotOf(tagOf(hashTuple(t.seed, &k)), i, DirOut))
	}
}

// Delete removes the entry r names, unbinding its counts and releasing its template; false
// when r names no entry. A template that still controls connections disappears from lookups
// at once but keeps its slot (and its Persist count) until the last of them is gone, as an
// IPVS template cannot be freed while n_control is nonzero; Sweep frees it then.
func (t *Table) Delete(r Ref) bool {
	s, i, ok := t.unref(r)
	if !ok {
		return false
	}
	s.Lock()
	defer s.Unlock()
	if i > s.hwm {
		return false
	}
	e := s.at(i)
	if e.flags&flagUsed == 0 || e.flags&flagDoomed != 0 {
		return false
	}
	t.remove(s, i)
	return true
}

// remove deletes live entry i as Delete does and counts it. Caller holds s's lock.
func (t *Table) remove(s *shard, i uint32) {
	e := s.at(i)
	s.deleted++
	if e.isTemplate() && e.ctlCount() != 0 {
		t.unindex(s, i, e)
		e.flags |= flagDoomed
		return
	}
	t.drop(s, i)
}

// Touch re-arms the entry r names to expire timeout after now. For a template, timeout
// becomes its persistence timeout (0 keeps the one it has): each new connection under a
// template refreshes it, as IPVS does. For a connection, 0 means the timeout of its state.
func (t *Table) Touch(r Ref, timeout time.Duration, now int64) {
	s, i, ok := t.unref(r)
	if !ok {
		return
	}
	s.Lock()
	defer s.Unlock()
	if i > s.hwm {
		return
	}
	e := s.at(i)
	if e.flags&flagUsed == 0 || e.flags&flagDoomed != 0 {
		return
	}
	ticks := toTicks(timeout)
	switch {
	case e.isTemplate() && timeout > 0:
		e.setTmplTimeout(ticks)
	case e.isTemplate():
		ticks = e.tmplTimeout()
	case timeout <= 0:
		ticks = t.timeouts.Load().of(e.proto, e.state())
	}
	e.expires = uint32(tickOf(now)) + ticks
}
