package conntab

import (
	"encoding/binary"
	"math/bits"

	"github.com/uvs-lb/uvs/packet"
)

// The hashes are wyhash-style multiply-folds over the fixed-size key fields: a handful of 64-bit
// loads and three multiplications per key, no allocation, no loop. They are seeded per table
// (Config.Seed, random by default) so that clients cannot aim their ports at one shard or one
// probe run.

const (
	k0 = 0xa0761d6478bd642f
	k1 = 0xe7037ed1a0b428db
	k2 = 0x8ebc6af09c88c6e3
	k3 = 0x589965cc75374cc3
	k4 = 0x1d8e4e27c47d124f
	k5 = 0x9e3779b97f4a7c15
)

// mum multiplies a by b to 128 bits and folds the halves.
func mum(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

func lo64(a *[16]byte) uint64 { return binary.LittleEndian.Uint64(a[:8]) }
func hi64(a *[16]byte) uint64 { return binary.LittleEndian.Uint64(a[8:]) }

// hashAddr hashes an address alone; ShardOf adds the port to it.
func hashAddr(seed uint64, a *[16]byte) uint64 {
	return mum(lo64(a)^seed^k0, hi64(a)^k1)
}

// hashTuple hashes one direction of a flow as it appears in a packet. The inbound key of a
// connection (client → virtual service) and its reply key (real server → client or local
// endpoint) are both tuples, so one hash of the packet's key serves both lookups.
func hashTuple(seed uint64, k *packet.FlowKey) uint64 {
	a := mum(lo64(&k.Src)^seed^k2, hi64(&k.Src)^k3)
	b := mum(lo64(&k.Dst)^seed^k4, hi64(&k.Dst)^k5)
	c := uint64(k.SrcPort) | uint64(k.DstPort)<<16 | uint64(k.Proto)<<32 | uint64(k.Family)<<40
	return mum(a^k0, b^c^k1)
}

// tagOf folds a tuple hash into the 32-bit tag kept in an index slot.
func tagOf(h uint64) uint32 { return uint32(h ^ h>>32) }
