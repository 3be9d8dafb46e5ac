package conntab

import (
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/uvs-lb/uvs/packet"
)

// shardState is one shard: a lock, the index and the entries it indexes, and counters.
// Everything in it is guarded by the mutex except dir, which other shards read without it.
type shardState struct {
	sync.Mutex

	// slots is the open-addressing index: tag<<32 | entry<<1 | dir, 0 = empty.
	slots []uint64
	used  int // occupied slots

	chunks []*chunk
	// dir publishes chunks so a connection in another shard can reach its template's control
	// word without this shard's lock: chunks never move, so an entry's address, once
	// published, stays valid.
	dir  atomic.Pointer[[]*chunk]
	free uint32 // head of the free list (0 = empty)
	hwm  uint32 // highest entry index ever allocated; entry 0 is never used

	live      int // allocated entries (doomed templates included)
	templates int
	inserted  uint64
	expired   uint64
	deleted   uint64
	evicted   uint64
}

// cacheLine is two 64-byte lines: adjacent-line prefetch makes 128 the unit of false sharing.
const cacheLine = 128

// shard pads shardState so two shards' locks never share a cache line.
type shard struct {
	shardState
	_ [cacheLine - unsafe.Sizeof(shardState{})%cacheLine]byte
}

const minSlots = 64

func (s *shard) init() {
	s.slots = make([]uint64, minSlots)
}

// at returns entry i (1 ≤ i ≤ hwm). Caller holds the lock.
func (s *shard) at(i uint32) *entry {
	return &s.chunks[i/chunkSize][i%chunkSize]
}

// atShared returns entry i without the lock, for atomic access to its control word only.
func (s *shard) atShared(i uint32) *entry {
	d := s.dir.Load()
	if d == nil || int(i/chunkSize) >= len(*d) {
		return nil
	}
	return &(*d)[i/chunkSize][i%chunkSize]
}

// alloc takes an entry off the free list or from the high-water mark; 0 when the shard has
// reached limit entries.
func (s *shard) alloc(limit uint32) uint32 {
	if i := s.free; i != 0 {
		s.free = s.at(i).dest
		return i
	}
	if s.hwm >= limit {
		return 0
	}
	s.hwm++
	i := s.hwm
	if int(i/chunkSize) == len(s.chunks) {
		// append writes past the length readers of dir know, or copies to a new array:
		// either way no published element changes, so readers need no lock.
		s.chunks = append(s.chunks, new(chunk))
		d := s.chunks
		s.dir.Store(&d)
	}
	return i
}

// release puts entry i back on the free list.
func (s *shard) release(i uint32) {
	e := s.at(i)
	*e = entry{dest: s.free}
	s.free = i
}

func slotOf(tag, i uint32, dir Dir) uint64 {
	return uint64(tag)<<32 | uint64(i)<<1 | uint64(dir)
}

// findIn returns the entry whose inbound tuple is k — a template when tmpl, else a
// connection — or 0.
func (s *shard) findIn(tag uint32, k *packet.FlowKey, tmpl bool) uint32 {
	mask := uint32(len(s.slots) - 1)
	for p := tag & mask; ; p = (p + 1) & mask {
		v := s.slots[p]
		if v == 0 {
			return 0
		}
		if uint32(v>>32) != tag || v&1 != uint64(DirIn) {
			continue
		}
		i := uint32(v) >> 1
		if e := s.at(i); e.matchIn(k) && e.isTemplate() == tmpl {
			return i
		}
	}
}

// findOut returns the connection whose reply tuple is k, or 0.
func (s *shard) findOut(tag uint32, k *packet.FlowKey) uint32 {
	mask := uint32(len(s.slots) - 1)
	for p := tag & mask; ; p = (p + 1) & mask {
		v := s.slots[p]
		if v == 0 {
			return 0
		}
		if uint32(v>>32) != tag || v&1 != uint64(DirOut) {
			continue
		}
		i := uint32(v) >> 1
		if s.at(i).matchOut(k) {
			return i
		}
	}
}

// put adds a slot, growing the index first when it would pass 80 % load.
func (s *shard) put(slot uint64) {
	if (s.used+1)*5 > len(s.slots)*4 {
		s.resize(len(s.slots) * 2)
	}
	s.place(s.slots, slot)
	s.used++
}

// place stores slot at the first empty position of its probe run in slots.
func (s *shard) place(slots []uint64, slot uint64) {
	mask := uint32(len(slots) - 1)
	p := uint32(slot>>32) & mask
	for slots[p] != 0 {
		p = (p + 1) & mask
	}
	slots[p] = slot
}

// resize rebuilds the index with n slots. Tags give the home positions, so entries are not read.
func (s *shard) resize(n int) {
	old := s.slots
	s.slots = make([]uint64, n)
	for _, v := range old {
		if v != 0 {
			s.place(s.slots, v)
		}
	}
}

// remove deletes slot from the index (it must be there) by backward shift: every slot after
// it in the probe run that may move closer to its home position does, so no tombstones are
// left and probe runs stay as short as the load allows.
func (s *shard) remove(slot uint64) {
	mask := uint32(len(s.slots) - 1)
	p := uint32(slot>>32) & mask
	for s.slots[p] != slot {
		p = (p + 1) & mask
	}
	hole := p
	for {
		p = (p + 1) & mask
		v := s.slots[p]
		if v == 0 {
			break
		}
		home := uint32(v>>32) & mask
		// v may fill the hole if its home is not in the cyclic interval (hole, p].
		if (p-home)&mask >= (p-hole)&mask {
			s.slots[hole] = v
			hole = p
		}
	}
	s.slots[hole] = 0
	s.used--
}
