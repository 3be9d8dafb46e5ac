package packet

import (
	"encoding/binary"
	"math/bits"
)

// Hashing for the connection table. The seed is meant to be random per process (or per
// table), so that whoever sends the packets cannot aim many flows at one bucket. The mixing
// step is a 64×64→128-bit multiply folded by xor: every input bit reaches every output bit
// in one multiply, and neither operand can be steered to zero without knowing the seed.

// Odd constants with evenly spread bits (from the golden ratio and common 64-bit mixers),
// so that zero inputs still multiply into something.
const (
	hashK0 = 0x9E3779B97F4A7C15
	hashK1 = 0xBF58476D1CE4E5B9
	hashK2 = 0x94D049BB133111EB
	hashK3 = 0xC2B2AE3D27D4EB4F
	hashK4 = 0x165667B19E3779F9
	hashK5 = 0xD6E8FEB86659FD93
)

func hashMix(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

// Hash returns a 64-bit hash of the key, seeded by seed. It reads the addresses as 64-bit words
// and does not allocate. Equal keys hash equal under one seed; field order matters, so k and
// k.Reverse() have unrelated hashes.
func (k *FlowKey) Hash(seed uint64) uint64 {
	s0 := binary.LittleEndian.Uint64(k.Src[0:8])
	s1 := binary.LittleEndian.Uint64(k.Src[8:16])
	d0 := binary.LittleEndian.Uint64(k.Dst[0:8])
	d1 := binary.LittleEndian.Uint64(k.Dst[8:16])
	x := uint64(k.SrcPort)<<48 | uint64(k.DstPort)<<32 | uint64(k.Proto)<<8 | uint64(k.Family)
	h := hashMix(s0^seed^hashK0, s1^seed^hashK1)
	h = hashMix(d0^h^hashK2, d1^seed^hashK3)
	return hashMix(x^h^hashK4, (seed^hashK5)|1) // |1: never a zero multiplier
}

// HashAddr returns a 64-bit hash of an address in FlowKey's array form, seeded by seed: the
// connection table shards by endpoint.
func HashAddr(seed uint64, a *[16]byte) uint64 {
	a0 := binary.LittleEndian.Uint64(a[0:8])
	a1 := binary.LittleEndian.Uint64(a[8:16])
	h := hashMix(a0^seed^hashK0, a1^seed^hashK1)
	return hashMix(h^hashK2, (seed^hashK3)|1)
}
