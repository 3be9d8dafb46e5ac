package conntab

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/uvs-lb/uvs/packet"
)

// Insert adds a connection or, with FlagTemplate, a persistence template, and fills c.Self.
//
// A connection's state comes from its first packet: a TCP connection starts in NONE and takes
// the INPUT (or INPUT_ONLY) transition for tcpFlags, as the kernel applies the first packet to
// a new connection; UDP and other protocols are in StateUDP. A connection learned from the
// sync channel may come with c.State already set (not NONE): then it is kept and tcpFlags is
// ignored. A template is in StateTemplate. The timeout is the template's persistence timeout
// (0: Timeouts.Template), or for a connection 0 to take the timeout of its state.
//
// The inbound key is indexed, and unless the entry is input-only or a template the reply key
// too, both in ShardOf(&c.CAddr, c.CPort); for full-NAT, c.LPort must come from LocalPort
// (ErrInvalid otherwise). If the inbound key exists, Insert returns ErrExists and overwrites
// *c with the entry that won. If the reply key is taken, ErrReplyExists. At Capacity, ErrFull.
//
// Counts, as ip_vs_bind_dest: a connection is counted in its server's Active or Inactive by
// its state (FlagInactive tells which), a template in Persist. A connection under a template
// (c.Tmpl) increments the template's control count; if c.Tmpl no longer names a live template
// of the same real server, the connection is inserted without one and c.Tmpl is cleared.
func (t *Table) Insert(c *Conn, tcpFlags uint8, timeout time.Duration, now int64) error {
	if c.Family != packet.FamilyIPv4 && c.Family != packet.FamilyIPv6 {
		return fmt.Errorf("%w: address family %d", ErrInvalid, c.Family)
	}
	isTmpl := c.Flags&FlagTemplate != 0
	in := packet.FlowKey{Src: c.CAddr, Dst: c.VAddr, SrcPort: c.CPort, DstPort: c.VPort, Proto: c.Proto, Family: c.Family}
	si := t.ShardOf(&c.CAddr, c.CPort)
	hasReply := !isTmpl && c.Flags&FlagInputOnly == 0
	var out packet.FlowKey
	if hasReply {
		out = packet.FlowKey{Src: c.DAddr, Dst: c.CAddr, SrcPort: c.DPort, DstPort: c.CPort, Proto: c.Proto, Family: c.Family}
		if c.Flags&FlagFullNAT != 0 {
			if t.ShardOf(&c.LAddr, c.LPort) != si {
				return fmt.Errorf("%w: local port %d is not in the connection's shard", ErrInvalid, c.LPort)
			}
			out.Dst, out.DstPort = c.LAddr, c.LPort
		}
	}
	var tmpl Ref
	if !isTmpl && c.Tmpl != 0 && t.hold(c.Tmpl, c) {
		tmpl = c.Tmpl
	}
	if t.count.Add(1) > t.capacity {
		t.refuse(tmpl)
		return ErrFull
	}
	tick := tickOf(now)
	to := t.timeouts.Load()
	tagIn := tagOf(hashTuple(t.seed, &in))
	var tagOut uint32
	if hasReply {
		tagOut = tagOf(hashTuple(t.seed, &out))
	}

	s := &t.shards[si]
	s.Lock()
	if i := s.findIn(tagIn, &in, isTmpl); i != 0 {
		e := s.at(i)
		if !expired(e.expires, tick) || (isTmpl && e.ctlCount() != 0) {
			e.store(c, t.ref(si, i), tick)
			s.Unlock()
			t.count.Add(-1)
			t.release(tmpl)
			return ErrExists
		}
		t.drop(s, i) // a stale entry under the same key: the new one replaces it
		s.expired++
	}
	if hasReply {
		if i := s.findOut(tagOut, &out); i != 0 {
			if !expired(s.at(i).expires, tick) {
				s.Unlock()
				t.count.Add(-1)
				t.release(tmpl)
				return ErrReplyExists
			}
			t.drop(s, i)
			s.expired++
		}
	}
	i := s.alloc(t.limit)
	if i == 0 {
		s.Unlock()
		t.refuse(tmpl)
		return ErrFull
	}
	e := s.at(i)
	e.load(c)
	e.flags |= FlagInactive // ip_vs_bind_dest: every connection is bound inactive
	var ticks uint32
	switch {
	case isTmpl:
		e.state = StateTemplate
		ticks = toTicks(timeout)
		if timeout <= 0 {
			ticks = to.tmpl
		}
		e.setTmplTimeout(ticks)
		e.flags &^= FlagInactive
		if cn := t.counts(e.dest); cn != nil {
			cn.Persist.Add(1)
		}
		s.templates++
	default:
		e.ctl = uint32(tmpl)
		e.state = StateNone
		if e.proto != packet.ProtoTCP {
			e.state = StateUDP
		}
		if cn := t.counts(e.dest); cn != nil {
			cn.Inactive.Add(1)
		}
		switch {
		case e.proto != packet.ProtoTCP:
		case c.State != StateNone && int(c.State) < numTCPStates:
			t.setState(e, c.State) // synced: keep the master's state
		case c.Flags&FlagInputOnly != 0:
			t.setState(e, tcpTransition(tblInputOnly, StateNone, tcpFlags))
		default:
			t.setState(e, tcpTransition(tblInput, StateNone, tcpFlags))
		}
		ticks = toTicks(timeout)
		if timeout <= 0 {
			ticks = to.of(e.proto, e.state)
		}
	}
	e.expires = uint32(tick) + ticks
	s.put(slotOf(tagIn, i, DirIn))
	if hasReply {
		s.put(slotOf(tagOut, i, DirOut))
	}
	s.live++
	s.inserted++
	e.store(c, t.ref(si, i), tick)
	s.Unlock()
	return nil
}

// hold increments the control count of template r for connection c, after checking under
// the template's lock that r still is a live template of c's real server (it may have expired
// and its slot been reused since the engine looked it up).
func (t *Table) hold(r Ref, c *Conn) bool {
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
	if e.flags&(flagUsed|FlagTemplate|flagDoomed) != flagUsed|FlagTemplate || e.dest != c.Dest || e.daddr != c.DAddr {
		return false
	}
	atomic.AddUint32(&e.ctl, 1)
	return true
}

// release drops the control count of template r that a connection held. It takes no lock: a
// template with a nonzero count is never freed, so its entry is valid.
func (t *Table) release(r Ref) {
	if r == 0 {
		return
	}
	if s, i, ok := t.unref(r); ok {
		if e := s.atShared(i); e != nil {
			atomic.AddUint32(&e.ctl, ^uint32(0))
		}
	}
}

func (t *Table) refuse(tmpl Ref) {
	t.count.Add(-1)
	t.refused.Add(1)
	t.release(tmpl)
}
