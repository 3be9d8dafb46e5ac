package lb

import (
	"encoding/binary"
	"math/bits"

	"github.com/uvs-lb/uvs/packet"
)

// vipIndex finds the services of a virtual address: an open-addressing table built once per
// compiled Table and only read after, so a packet pays a multiply of the address's two words
// and one or two compares. (A Go map's aeshash of the 17-byte key was about an eighth of an
// established packet's time.)
type vipIndex struct {
	slots []vipSlot // len a power of two, at most half full; empty slots have v == nil
	shift uint      // 64 - log2(len(slots))
}

type vipSlot struct {
	key vipKey
	v   *vipEntry
}

func newVIPIndex(m map[vipKey]*vipEntry) vipIndex {
	n := 1 << bits.Len(uint(2*len(m))) // > 2×entries, at least 1
	x := vipIndex{slots: make([]vipSlot, n), shift: uint(64 - bits.TrailingZeros(uint(n)))}
	for k, v := range m {
		i := x.home(k.family, &k.addr)
		for x.slots[i].v != nil {
			i = (i + 1) & uint64(n-1)
		}
		x.slots[i] = vipSlot{key: k, v: v}
	}
	return x
}

func (x *vipIndex) home(f packet.Family, a *[16]byte) uint64 {
	lo, hi := binary.LittleEndian.Uint64(a[0:8]), binary.LittleEndian.Uint64(a[8:16])
	h := (lo ^ bits.RotateLeft64(hi, 31) ^ uint64(f)) * 0x9e3779b97f4a7c15
	return h >> x.shift
}

// get returns the services of (f, a), or nil.
func (x *vipIndex) get(f packet.Family, a *[16]byte) *vipEntry {
	if len(x.slots) == 0 {
		return nil
	}
	mask := uint64(len(x.slots) - 1)
	for i := x.home(f, a); ; i = (i + 1) & mask {
		s := &x.slots[i]
		if s.v == nil {
			return nil
		}
		if s.key.family == f && s.key.addr == *a {
			return s.v
		}
	}
}
