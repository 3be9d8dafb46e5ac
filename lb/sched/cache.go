package sched

import (
	"encoding/binary"
	"math/bits"
	"net/netip"
	"sync"
)

// cacheWays is the associativity of the lblc/lblcr caches: an address lives in one set of
// this many slots, so a lookup reads a few cache lines and never chains.
const cacheWays = 8

// addrKey is an address as two words; IPv4 uses its IPv4-mapped IPv6 form, which a
// single-family service cannot confuse with anything else.
type addrKey struct{ hi, lo uint64 }

func keyOf(a netip.Addr) addrKey {
	b := a.As16()
	return addrKey{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}
}

// slotHead is the bookkeeping part of a cache slot, kept apart from the payload so that a
// lookup scans only keys and times.
type slotHead struct {
	key     addrKey
	lastuse int64
	used    bool
}

// cache is the fixed-size, set-associative map from destination address to E behind lblc and
// lblcr. IPVS allocates an entry per address and trims the table from a timer; here every slot
// is allocated up front, so Pick never allocates, and expiry is lazy: an entry unused for
// exp is treated as absent and its slot reused. When all eight slots of an address's set are
// live, the least recently used is evicted, where IPVS would keep the entry (its collector
// trims only entries idle for 6 minutes, and only above max_size). The two agree while the
// live addresses stay well below the cache size: at half full, about 1 set in 50 has more
// addresses than slots.
//
// The mutex serialises every access; schedulers take it for the whole pick. It lives here,
// not in the scheduler, because successive schedulers of one service may share a cache.
type cache[E any] struct {
	mu    sync.Mutex
	heads []slotHead
	slots []E
	mask  uint64 // sets − 1
	exp   int64  // entry lifetime in ns
}

// cacheSlots is the number of slots a cache of size entries gets: a power-of-two number of
// sets, at least one.
func cacheSlots(size int) int {
	n := cacheWays
	for n < size {
		n <<= 1
	}
	return n
}

func newCache[E any](size int, exp int64) *cache[E] {
	n := cacheSlots(size)
	return &cache[E]{
		heads: make([]slotHead, n),
		slots: make([]E, n),
		mask:  uint64(n/cacheWays - 1),
		exp:   exp,
	}
}

// shareable reports whether a new scheduler with servers cur and these cache settings can
// keep using c, which was built for servers old: only if indices mean the same servers.
func (c *cache[E]) shareable(old, cur []Dest, size int, exp int64) bool {
	return sameServers(old, cur) && len(c.heads) == cacheSlots(size) && c.exp == exp
}

func (c *cache[E]) set(k addrKey) int {
	return int(mix64(k.hi^bits.RotateLeft64(k.lo, 29))&c.mask) * cacheWays
}

func (c *cache[E]) live(h *slotHead, now int64) bool { return h.used && now-h.lastuse < c.exp }

// lookup returns the slot holding a live entry for k, or -1.
func (c *cache[E]) lookup(k addrKey, now int64) int {
	base := c.set(k)
	for i := base; i < base+cacheWays; i++ {
		if h := &c.heads[i]; h.used && h.key == k {
			if c.live(h, now) {
				return i
			}
			return -1
		}
	}
	return -1
}

// insert claims a slot for k, used now, and returns it; the caller sets the payload. It takes
// k's own slot if k is there, else a free or expired one, else the least recently used.
func (c *cache[E]) insert(k addrKey, now int64) int {
	base := c.set(k)
	slot := -1
	for i := base; i < base+cacheWays; i++ {
		if h := &c.heads[i]; h.used && h.key == k {
			slot = i
			break
		}
	}
	if slot < 0 {
		lru := base
		for i := base; i < base+cacheWays; i++ {
			h := &c.heads[i]
			if !c.live(h, now) {
				slot = i
				break
			}
			if h.lastuse < c.heads[lru].lastuse {
				lru = i
			}
		}
		if slot < 0 {
			slot = lru
		}
	}
	c.heads[slot] = slotHead{key: k, lastuse: now, used: true}
	return slot
}

// each calls f for every live entry; used to carry entries over to a new scheduler.
func (c *cache[E]) each(now int64, f func(h *slotHead, e *E)) {
	for i := range c.heads {
		if c.live(&c.heads[i], now) {
			f(&c.heads[i], &c.slots[i])
		}
	}
}

// sameServers reports whether a and b list the same servers in the same order, so that
// indices into one mean the same servers in the other.
func sameServers(a, b []Dest) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Addr != b[i].Addr || a[i].Port != b[i].Port {
			return false
		}
	}
	return true
}

// remapping maps each index of old to the index of the same server in cur, or -1.
func remapping(old, cur []Dest) []int {
	type id struct {
		addr netip.Addr
		port uint16
	}
	at := make(map[id]int, len(cur))
	for i := range cur {
		at[id{cur[i].Addr, cur[i].Port}] = i
	}
	m := make([]int, len(old))
	for i := range old {
		j, ok := at[id{old[i].Addr, old[i].Port}]
		if !ok {
			j = -1
		}
		m[i] = j
	}
	return m
}

// lblcOverloaded is IPVS's is_overloaded for lblc and lblcr: the server has more active
// connections than its weight while some server (any, even a flagged one) has fewer than
// half of its own.
func lblcOverloaded(ds []Dest, d int) bool {
	if ds[d].Counts.Active.Load() <= ds[d].Weight {
		return false
	}
	for i := range ds {
		if 2*int64(ds[i].Counts.Active.Load()) < int64(ds[i].Weight) {
			return true
		}
	}
	return false
}
