package sched

import (
	"encoding/binary"
	"math/bits"
	"net/netip"
)

// fold32 is IPVS's addr_fold: an IPv4 address as a host-order integer, an IPv6 address as the
// XOR of its four 32-bit words. IPVS hashes this rather than the full address, so doing the
// same keeps dh/sh/mh picks identical to a kernel director's.
func fold32(a netip.Addr) uint32 {
	if a.Is4() {
		b := a.As4()
		return binary.BigEndian.Uint32(b[:])
	}
	b := a.As16() // the zero Addr folds to 0
	return binary.BigEndian.Uint32(b[0:]) ^ binary.BigEndian.Uint32(b[4:]) ^
		binary.BigEndian.Uint32(b[8:]) ^ binary.BigEndian.Uint32(b[12:])
}

// hash32 is the kernel's hash_32: multiply by the 32-bit golden ratio, keep the top bits.
func hash32(v uint32, bits uint) uint32 { return v * 0x61C88647 >> (32 - bits) }

// hashPort is the port IPVS mixes into the sh/mh hash: the source port when the service asks
// for it and the protocol has ports (TCP, UDP, SCTP), else 0.
func hashPort(in *Input, enabled bool) uint32 {
	if !enabled {
		return 0
	}
	switch in.Proto {
	case 6, 17, 132:
		return uint32(in.SrcPort)
	}
	return 0
}

// hsiphash32 is the kernel's hsiphash of one 4-byte little-endian word on 64-bit machines:
// SipHash-1-3 truncated to 32 bits. mh uses it with fixed keys, so tables do not depend on
// the process.
func hsiphash32(v uint32, k0, k1 uint64) uint32 {
	v0 := k0 ^ 0x736f6d6570736575
	v1 := k1 ^ 0x646f72616e646f6d
	v2 := k0 ^ 0x6c7967656e657261
	v3 := k1 ^ 0x7465646279746573
	b := uint64(4)<<56 | uint64(v)
	v3 ^= b
	v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
	v0 ^= b
	v2 ^= 0xff
	v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
	v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
	v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
	return uint32(v0 ^ v1 ^ v2 ^ v3)
}

func sipRound(v0, v1, v2, v3 uint64) (uint64, uint64, uint64, uint64) {
	v0 += v1
	v1 = bits.RotateLeft64(v1, 13)
	v1 ^= v0
	v0 = bits.RotateLeft64(v0, 32)
	v2 += v3
	v3 = bits.RotateLeft64(v3, 16)
	v3 ^= v2
	v0 += v3
	v3 = bits.RotateLeft64(v3, 21)
	v3 ^= v0
	v2 += v1
	v1 = bits.RotateLeft64(v1, 17)
	v1 ^= v2
	v2 = bits.RotateLeft64(v2, 32)
	return v0, v1, v2, v3
}

// mix64 is the splitmix64 finalizer: a cheap, well-spread bijection of 64-bit words.
func mix64(z uint64) uint64 {
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

func gcd(a, b int64) int64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// isPrime is trial division; table sizes are small and checked once per build.
func isPrime(n int) bool {
	if n < 2 {
		return false
	}
	for d := 2; d*d <= n; d++ {
		if n%d == 0 {
			return false
		}
	}
	return true
}

// anyUsable reports whether some dest may take a connection. Hash schedulers call it before a
// fallback scan, which can then give up at once instead of walking the whole table.
func anyUsable(ds []Dest) bool {
	for i := range ds {
		if ds[i].Usable() {
			return true
		}
	}
	return false
}
