package conntab

import (
	"time"

	"github.com/uvs-lb/uvs/packet"
)

// Lookup finds the connection a packet with key k belongs to, in either direction, and
// accounts the packet to it.
//
// It first looks for k as an inbound key (client → virtual service) in ShardOf(k.Src,
// k.SrcPort), then as a reply key (real server → client, or → local endpoint for full-NAT) in
// ShardOf(k.Dst, k.DstPort). On a hit it applies IPVS's TCP state transition for the
// direction and tcpFlags (the INPUT table for DirIn, OUTPUT for DirOut, INPUT_ONLY for DirIn
// of an input-only connection), moves the real server between Active and Inactive as the
// kernel does, re-arms the entry with the timeout of its new state, counts an inbound packet
// when the table counts them (Config.CountPackets), and copies the entry into *out (out.Prev
// is the state before this packet, out.Pkts the count with it). Pass tcpFlags 0 for non-TCP packets and for
// ICMP errors about a connection (no transition, the timeout is re-armed). An entry found
// expired is removed and reported as a miss. Templates never match.
func (t *Table) Lookup(k *packet.FlowKey, tcpFlags uint8, now int64, out *Conn) (Dir, bool) {
	h := hashTuple(t.seed, k)
	tag := tagOf(h)
	tick := tickOf(now)
	si := t.ShardOf(&k.Src, k.SrcPort)
	s := &t.shards[si]
	s.Lock()
	if i := s.findIn(tag, k, false); i != 0 {
		ok := t.hit(s, si, i, DirIn, tcpFlags, tick, out)
		s.Unlock()
		return DirIn, ok
	}
	s.Unlock()
	si = t.ShardOf(&k.Dst, k.DstPort)
	s = &t.shards[si]
	s.Lock()
	if i := s.findOut(tag, k); i != 0 {
		ok := t.hit(s, si, i, DirOut, tcpFlags, tick, out)
		s.Unlock()
		return DirOut, ok
	}
	s.Unlock()
	return DirIn, false
}

// LookupInbound is Lookup restricted to inbound keys, for packets the caller knows are not
// replies (their destination is a virtual address, which is never a client's or a local
// endpoint's): it saves the reply-key probe, a cache miss in a large table.
func (t *Table) LookupInbound(k *packet.FlowKey, tcpFlags uint8, now int64, out *Conn) bool {
	h := hashTuple(t.seed, k)
	si := t.ShardOf(&k.Src, k.SrcPort)
	s := &t.shards[si]
	s.Lock()
	defer s.Unlock()
	if i := s.findIn(tagOf(h), k, false); i != 0 {
		return t.hit(s, si, i, DirIn, tcpFlags, tickOf(now), out)
	}
	return false
}

// hit accounts a packet to connection i. Caller holds s's lock.
func (t *Table) hit(s *shard, si int, i uint32, dir Dir, tcpFlags uint8, tick int64, out *Conn) bool {
	e := s.at(i)
	if expired(e.expires, tick) {
		t.drop(s, i)
		s.expired++
		return false
	}
	prev := e.state()
	to := t.timeouts.Load()
	if e.proto == packet.ProtoTCP {
		tbl := tblInput
		if dir == DirOut {
			tbl = tblOutput
		} else if e.flags&FlagInputOnly != 0 {
			tbl = tblInputOnly
		}
		t.setState(e, tcpTransition(to.table(tbl), prev, tcpFlags))
	}
	if t.countPkts && dir == DirIn {
		t.countPacket(e)
	}
	// Write only when the tick moved: an unchanged cache line is not taken from the other
	// cores reading this entry, and at packet rates most packets of a flow share a tick.
	if exp := uint32(tick) + to.of(e.proto, e.state()); e.expires != exp {
		e.expires = exp
	}
	e.store(out, t.ref(si, i), tick)
	out.Prev = prev
	return true
}

// setState moves connection e to state st and keeps its real server's counts in step. These
// are the kernel's rules (set_tcp_state): a connection is bound inactive (ip_vs_bind_dest
// counts it in inactconns, flag INACTIVE); whenever its state changes, it moves to activeconns
// if the new state is active and it was inactive, and back to inactconns if the new state is
// not active and it was active (see State.active for which states are).
func (t *Table) setState(e *entry, st State) {
	if st == e.state() {
		return
	}
	e.putState(st)
	wasInactive := e.flags&FlagInactive != 0
	if wasInactive != st.active() {
		return
	}
	var d int32 = 1 // inactive → active
	if !wasInactive {
		d = -1
	}
	e.flags ^= FlagInactive
	if c := t.counts(e.dest); c != nil {
		c.Active.Add(d)
		c.Inactive.Add(-d)
	}
}

// LookupTemplate finds the persistence template whose key is k: Src the masked client
// address, SrcPort 0, Dst the virtual address (or firewall mark), DstPort the service port
// (or 0), Proto (0 for firewall marks). It changes nothing but removing the template when it
// has expired and controls no connection (a template that still controls connections lives
// on, as in IPVS); re-arming is the engine's choice (Touch).
func (t *Table) LookupTemplate(k *packet.FlowKey, now int64, out *Conn) bool {
	tag := tagOf(hashTuple(t.seed, k))
	tick := tickOf(now)
	si := t.ShardOf(&k.Src, k.SrcPort)
	s := &t.shards[si]
	s.Lock()
	defer s.Unlock()
	i := s.findIn(tag, k, true)
	if i == 0 {
		return false
	}
	e := s.at(i)
	if expired(e.expires, tick) && e.ctlCount() == 0 {
		t.drop(s, i)
		s.expired++
		return false
	}
	e.store(out, t.ref(si, i), tick)
	return true
}

// Get copies the entry r names into *out and returns its timeout: a template's persistence
// timeout, or the timeout of a connection's state. It changes nothing; false when r names
// no live entry (freed, expired, or a deleted template waiting for its connections). The
// engine's sync uses it to send a connection's template along with it.
func (t *Table) Get(r Ref, now int64, out *Conn) (time.Duration, bool) {
	s, i, ok := t.unref(r)
	if !ok {
		return 0, false
	}
	tick := tickOf(now)
	s.Lock()
	defer s.Unlock()
	if i > s.hwm {
		return 0, false
	}
	e := s.at(i)
	if e.flags&(flagUsed|flagDoomed) != flagUsed || (expired(e.expires, tick) && !(e.isTemplate() && e.ctlCount() != 0)) {
		return 0, false
	}
	e.store(out, r, tick)
	if e.isTemplate() {
		return time.Duration(e.tmplTimeout()) * time.Duration(tickNs), true
	}
	return t.StateTimeout(e.proto, e.state()), true
}
