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
// ignored (Install also refreshes an existing entry). A template is in StateTemplate. The
// timeout is the template's persistence timeout (0: Timeouts.Template), or for a connection 0
// to take the timeout of its state. The packet count (Config.CountPackets) starts at c.Pkts.
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
	_, err := t.insert(c, tcpFlags, timeout, now, false)
	return err
}

// Install inserts or refreshes an entry learned from connection sync (the backup side of
// IPVS's ip_vs_proc_conn). c is as for Insert, with its state set: a TCP connection keeps
// c.State (NONE included), other protocols are in StateUDP, a template in StateTemplate.
// timeout re-arms it as Insert's does (0: the state's timeout; for a template, its
// persistence timeout, 0 keeping the one it has or Timeouts.Template when new); the entry
// expires then unless packets refresh it.
//
// If a live entry has c's inbound key and is the same connection (same real server id and
// address, port, method, flags and local endpoint), it is refreshed in place and updated is
// true: its state moves (with its server's Active / Inactive counts, as ip_vs_proc_conn does),
// its packet count restarts at c.Pkts, and when c.Tmpl names a live template of its server
// the connection is moved under it. Otherwise the entry there is deleted and c inserted as
// by Insert (the master's view wins). c is filled with the entry; errors are Insert's, except
// that ErrExists is never returned.
func (t *Table) Install(c *Conn, timeout time.Duration, now int64) (updated bool, err error) {
	return t.insert(c, 0, timeout, now, true)
}

func (t *Table) insert(c *Conn, tcpFlags uint8, timeout time.Duration, now int64, install bool) (bool, error) {
	if c.Family != packet.FamilyIPv4 && c.Family != packet.FamilyIPv6 {
		return false, fmt.Errorf("%w: address family %d", ErrInvalid, c.Family)
	}
	if c.Method > maxMethod {
		return false, fmt.Errorf("%w: method %d", ErrInvalid, c.Method)
	}
	isTmpl := c.Flags&FlagTemplate != 0
	if install && !isTmpl && c.Proto == packet.ProtoTCP && int(c.State) >= numTCPStates {
		return false, fmt.Errorf("%w: TCP state %d", ErrInvalid, c.State)
	}
	in := packet.FlowKey{Src: c.CAddr, Dst: c.VAddr, SrcPort: c.CPort, DstPort: c.VPort, Proto: c.Proto, Family: c.Family}
	si := t.ShardOf(&c.CAddr, c.CPort)
	hasReply := !isTmpl && c.Flags&FlagInputOnly == 0
	var out packet.FlowKey
	if hasReply {
		out = packet.FlowKey{Src: c.DAddr, Dst: c.CAddr, SrcPort: c.DPort, DstPort: c.CPort, Proto: c.Proto, Family: c.Family}
		if c.Flags&FlagFullNAT != 0 {
			if t.ShardOf(&c.LAddr, c.LPort) != si {
				return false, fmt.Errorf("%w: local port %d is not in the connection's shard", ErrInvalid, c.LPort)
			}
			out.Dst, out.DstPort = c.LAddr, c.LPort
		}
	}
	var tmpl Ref
	if !isTmpl && c.Tmpl != 0 && t.hold(c.Tmpl, c) {
		tmpl = c.Tmpl
	}
	// At capacity, drop_entry (SetEvictOnFull) may make room by evicting a half-open entry
	// of the shard; the count stays raised for this entry meanwhile.
	// A full table is refused on a plain load first: a flood's refused SYNs then write no
	// shared cache line but the refusal count.
	capacity := t.capacity.Load()
	if t.count.Load() >= capacity && (install || !t.evictFull.Load()) {
		t.refused.Add(1)
		t.release(tmpl)
		return false, ErrFull
	}
	full := t.count.Add(1) > capacity
	if full && (install || !t.evictFull.Load()) {
		t.refuse(tmpl)
		return false, ErrFull
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
		live := !expired(e.expires, tick) || (isTmpl && e.ctlCount() != 0)
		switch {
		case live && install && e.same(c):
			t.refresh(e, c, tmpl, timeout, tick, to)
			e.store(c, t.ref(si, i), tick)
			s.Unlock()
			t.count.Add(-1)
			return true, nil
		case live && install: // another connection under this key: the master's replaces it
			t.remove(s, i)
		case live:
			e.store(c, t.ref(si, i), tick)
			s.Unlock()
			t.count.Add(-1)
			t.release(tmpl)
			return false, ErrExists
		default:
			t.drop(s, i) // a stale entry under the same key: the new one replaces it
			s.expired++
		}
	}
	if hasReply {
		if i := s.findOut(tagOut, &out); i != 0 {
			if !expired(s.at(i).expires, tick) {
				s.Unlock()
				t.count.Add(-1)
				t.release(tmpl)
				return false, ErrReplyExists
			}
			t.drop(s, i)
			s.expired++
		}
	}
	if full && !t.makeRoom(s, tick) {
		s.Unlock()
		t.refuse(tmpl)
		return false, ErrFull
	}
	i := s.alloc(t.limit)
	if i == 0 {
		s.Unlock()
		t.refuse(tmpl)
		return false, ErrFull
	}
	e := s.at(i)
	e.load(c)
	e.flags |= FlagInactive // ip_vs_bind_dest: every connection is bound inactive
	var ticks uint32
	switch {
	case isTmpl:
		e.putState(StateTemplate)
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
		e.putState(StateNone)
		if e.proto != packet.ProtoTCP {
			e.putState(StateUDP)
		}
		e.pkts = t.startCount(c.Pkts)
		if cn := t.counts(e.dest); cn != nil {
			cn.Inactive.Add(1)
		}
		switch {
		case e.proto != packet.ProtoTCP:
		case install || (c.State != StateNone && int(c.State) < numTCPStates):
			t.setState(e, c.State) // synced: keep the master's state
		case c.Flags&FlagInputOnly != 0:
			t.setState(e, tcpTransition(to.table(tblInputOnly), StateNone, tcpFlags))
		default:
			t.setState(e, tcpTransition(to.table(tblInput), StateNone, tcpFlags))
		}
		ticks = toTicks(timeout)
		if timeout <= 0 {
			ticks = to.of(e.proto, e.state())
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
	return false, nil
}

// same reports whether entry e is the connection or template c describes: same real server
// (id, address, port), method and kind, and for full-NAT the same local endpoint.
func (e *entry) same(c *Conn) bool {
	const kind = FlagTemplate | FlagInputOnly | FlagFullNAT
	if e.dest != c.Dest || e.daddr != c.DAddr || e.dport != c.DPort || e.method() != c.Method ||
		e.flags&kind != c.Flags&kind {
		return false
	}
	return e.flags&FlagFullNAT == 0 || (e.laddr == c.LAddr && e.lport == c.LPort)
}

// refresh applies a synced copy c of entry e (Install). tmpl is the template c holds (held
// for it), or 0. Caller holds e's shard lock.
func (t *Table) refresh(e *entry, c *Conn, tmpl Ref, timeout time.Duration, tick int64, to *compiledTimeouts) {
	if e.isTemplate() {
		if timeout > 0 {
			e.setTmplTimeout(toTicks(timeout))
		}
		e.expires = uint32(tick) + e.tmplTimeout()
		return
	}
	if e.proto == packet.ProtoTCP {
		t.setState(e, c.State)
	}
	e.pkts = t.startCount(c.Pkts)
	switch old := Ref(e.ctl); {
	case tmpl == 0:
	case tmpl == old:
		t.release(tmpl) // held twice: once is enough
	default:
		e.ctl = uint32(tmpl)
		t.release(old)
	}
	ticks := toTicks(timeout)
	if timeout <= 0 {
		ticks = to.of(e.proto, e.state())
	}
	e.expires = uint32(tick) + ticks
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
