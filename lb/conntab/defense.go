package conntab

import (
	"math/rand/v2"

	"github.com/uvs-lb/uvs/packet"
)

// Flood defenses: the table's side of IPVS's drop_entry and secure_tcp (the engine decides
// when they are on; see lb.Defense).
//
//   - Capacity bounds the table (SetCapacity changes it live). At capacity Insert fails with
//     ErrFull, unless SetEvictOnFull is on: then it evicts a half-open entry of its shard
//     (SYN_RECV or SYNACK, never an established one) found within evictProbe entries of a
//     random position, and inserts in its place.
//   - DropEmbryonic evicts half-open entries from random positions over the whole table, a
//     bounded number of entries per call, as IPVS's ip_vs_random_dropentry scans 1/32 of its
//     hash table every second.
//   - SetSecureTCP switches the TCP state tables to IPVS's secure_tcp ones and shortens the
//     half-open timeouts to SecureHalfOpenTimeout. Entries already half-open take the short
//     timeout at their next packet or at the next Sweep of their shard, whichever is first.
//
// The positions are random (math/rand/v2's per-thread generator), so a client cannot
// predict which entries go.

// evictProbe bounds the entries Insert looks at to make room.
const evictProbe = 32

// SetCapacity changes the maximum number of entries; n ≤ 0 means DefaultCapacity. Lowering
// it below Len removes nothing: inserts are refused until enough entries have gone.
func (t *Table) SetCapacity(n int) {
	if n <= 0 {
		n = DefaultCapacity
	}
	t.capacity.Store(int64(n))
}

// Capacity returns the maximum number of entries.
func (t *Table) Capacity() int { return int(t.capacity.Load()) }

// Free returns how many more entries the table takes before it is full.
func (t *Table) Free() int { return max(int(t.capacity.Load()-t.count.Load()), 0) }

// SetEvictOnFull makes Insert at capacity evict a half-open entry rather than fail.
func (t *Table) SetEvictOnFull(on bool) { t.evictFull.Store(on) }

// SetSecureTCP turns secure_tcp on or off: IPVS's secure_tcp state tables, and the half-open
// states' timeouts cut to SecureHalfOpenTimeout.
func (t *Table) SetSecureTCP(on bool) {
	t.tmu.Lock()
	defer t.tmu.Unlock()
	if t.secure == on {
		return
	}
	t.secure = on
	t.timeouts.Store(compile(t.base, on))
}

// SecureTCP reports whether secure_tcp is on.
func (t *Table) SecureTCP() bool { return t.timeouts.Load().dos }

// evictable reports whether entry e may be evicted to make room: a live TCP connection that
// is half-open (never a template, never an established connection).
func evictable(e *entry) bool {
	return e.flags&(flagUsed|flagDoomed|FlagTemplate) == flagUsed && e.proto == packet.ProtoTCP && e.state().halfOpen()
}

// evictOne evicts one half-open entry of s, looking at up to evictProbe entries from a random
// one. Caller holds s's lock.
func (t *Table) evictOne(s *shard, tick int64) bool {
	if s.hwm == 0 {
		return false
	}
	i := 1 + rand.Uint32N(s.hwm)
	for range min(evictProbe, s.hwm) {
		if e := s.at(i); evictable(e) {
			if expired(e.expires, tick) {
				s.expired++
			} else {
				s.evicted++
			}
			t.drop(s, i)
			return true
		}
		if i++; i > s.hwm {
			i = 1
		}
	}
	return false
}

// makeRoom evicts a half-open entry for an insert into s at capacity: one of s's, or else of
// another shard taken at random if its lock is free (TryLock: holding s's, waiting for
// another could deadlock). Caller holds s's lock.
func (t *Table) makeRoom(s *shard, tick int64) bool {
	if t.evictOne(s, tick) {
		return true
	}
	for range 4 {
		o := &t.shards[rand.Uint64()&t.mask]
		if o == s || !o.TryLock() {
			continue
		}
		ok := t.evictOne(o, tick)
		o.Unlock()
		if ok {
			return true
		}
	}
	return false
}

// DropEmbryonic looks at about n entries, in runs of up to one chunk from random positions
// of random shards, and evicts the half-open ones; it returns how many it evicted. Each run
// holds one shard's lock.
func (t *Table) DropEmbryonic(now int64, n int) int {
	tick := tickOf(now)
	evicted := 0
	for n > 0 {
		s := &t.shards[rand.Uint64()&t.mask]
		run := min(n, int(chunkSize))
		n -= run
		s.Lock()
		if s.hwm == 0 {
			s.Unlock()
			continue
		}
		i := 1 + rand.Uint32N(s.hwm)
		for range min(run, int(s.hwm)) {
			if e := s.at(i); evictable(e) {
				if expired(e.expires, tick) {
					s.expired++
				} else {
					s.evicted++
					evicted++
				}
				t.drop(s, i)
			}
			if i++; i > s.hwm {
				i = 1
			}
		}
		s.Unlock()
	}
	return evicted
}
