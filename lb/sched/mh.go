package sched

import (
	"errors"
	"fmt"
	"math/bits"
)

// MaxMHTableSize bounds Options.MHTableSize (IPVS's largest choice is 131071).
const MaxMHTableSize = 1 << 22

// IPVS's fixed hsiphash keys for the Maglev offset (and lookup) hash and the skip hash.
const (
	mhKey1 = 2654435761
	mhKey2 = 2654446892
)

// mh is IPVS Maglev hashing: each server gets a pseudo-random permutation of the M table
// slots (offset and skip from two hashes of its address and port) and the servers take turns
// claiming their next free preferred slot until the table is full; the source address (and
// with mh-port the source port) picks the slot. Removing one of N servers moves little more
// than the 1/N of clients that must move (TestMHDisruption measures it: at the default size,
// under 2 points more for pools of up to 20 servers; larger pools want a larger table).
//
// Weights are honoured as IPVS does: each server claims weight/gcd slots per turn, shifted
// right so that the largest takes at most about √M per turn. The table is built from each
// server's last positive weight (Dest.LastWeight), so a quiesced server keeps its slots.
// An unusable server in the slot means no server; with mh-fallback the client is rehashed
// with a series of offsets, as IPVS does, until a slot with a usable server turns up.
type mh struct {
	dests    []Dest
	table    []int32 // server index per slot; all -1 when no server has a weight
	fallback bool
	port     bool
}

func newMH(c *config) (Scheduler, error) {
	size := c.opts.MHTableSize
	if size == 0 {
		size = DefaultMHTableSize
	}
	switch {
	case size < 2 || size > MaxMHTableSize || !isPrime(size):
		return nil, fmt.Errorf("table size %d is not a prime in [2, %d]", size, MaxMHTableSize)
	case len(c.dests) > size:
		return nil, errors.New("more servers than table slots") // IPVS: -EINVAL
	}
	return &mh{
		dests:    c.dests,
		table:    buildMaglev(c.dests, size),
		fallback: c.flags&FlagMHFallback != 0,
		port:     c.flags&FlagMHPort != 0,
	}, nil
}

// mhHash is IPVS's ip_vs_mh_hashkey: hsiphash of offset + port + fold(addr).
func mhHash(fold, port, offset uint32, key uint64) uint32 {
	return hsiphash32(offset+port+fold, key, key)
}

// buildMaglev fills a table of size slots (size prime, at least len(ds)) as IPVS does.
func buildMaglev(ds []Dest, size int) []int32 {
	table := make([]int32, size)
	for i := range table {
		table[i] = -1
	}
	var g, maxw int64
	for i := range ds {
		if w := int64(ds[i].tableWeight()); w > 0 {
			g = gcd(g, w)
			maxw = max(maxw, w)
		}
	}
	if g == 0 {
		return table // no server has a weight: IPVS leaves the table empty
	}
	// Turns per round are weight/gcd, shifted so that the largest has at most about
	// bits(size)/2 significant bits (IPVS's IP_VS_MH_TAB_BITS for its table sizes).
	shift := max(bits.Len64(uint64(maxw/g))-bits.Len(uint(size))/2, 0)

	type setup struct{ perm, skip, turns uint32 }
	st := make([]setup, len(ds))
	m := uint32(size)
	for i := range ds {
		fold, port := fold32(ds[i].Addr), uint32(ds[i].Port)
		offset := mhHash(fold, port, 0, mhKey1) % m
		st[i] = setup{perm: offset, skip: mhHash(fold, port, 0, mhKey2)%(m-1) + 1}
		if lw := int64(ds[i].tableWeight()); lw > 0 {
			st[i].turns = uint32(max((lw/g)>>shift, 1))
		}
	}

	taken := make([]bool, size)
	for n := 0; ; {
		for i := range st {
			s := &st[i]
			for range s.turns { // a server with turns 0 (no weight) claims nothing
				for taken[s.perm] {
					if s.perm += s.skip; s.perm >= m {
						s.perm -= m
					}
				}
				taken[s.perm] = true
				table[s.perm] = int32(i)
				if n++; n == size {
					return table
				}
			}
		}
	}
}

func (s *mh) Name() string { return "mh" }

func (s *mh) Pick(in *Input) int {
	fold, port, m := fold32(in.Src), hashPort(in, s.port), uint32(len(s.table))
	h := mhHash(fold, port, 0, mhKey1) % m
	i := s.table[h]
	switch {
	case i < 0:
		return -1
	case s.dests[i].Usable():
		return int(i)
	case !s.fallback || !anyUsable(s.dests):
		return -1
	}
	for off := range m {
		i = s.table[mhHash(fold, port, (off+h)%m, mhKey1)%m]
		if s.dests[i].Usable() {
			return int(i)
		}
	}
	return -1
}
