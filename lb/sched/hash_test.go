package sched

import (
	"encoding/binary"
	"net/netip"
	"testing"
)

// sipHash is SipHash-c-d of msg, the textbook algorithm, for checking hsiphash32 and the
// round function against the reference vectors.
func sipHash(k0, k1 uint64, msg []byte, c, d int) uint64 {
	v0, v1 := k0^0x736f6d6570736575, k1^0x646f72616e646f6d
	v2, v3 := k0^0x6c7967656e657261, k1^0x7465646279746573
	total := len(msg)
	for len(msg) >= 8 {
		m := binary.LittleEndian.Uint64(msg)
		v3 ^= m
		for range c {
			v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
		}
		v0 ^= m
		msg = msg[8:]
	}
	var last [8]byte
	copy(last[:], msg)
	b := binary.LittleEndian.Uint64(last[:]) | uint64(total)<<56 // length mod 256 on top
	return sipFinish(v0, v1, v2, v3, b, c, d)
}

func sipFinish(v0, v1, v2, v3, b uint64, c, d int) uint64 {
	v3 ^= b
	for range c {
		v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
	}
	v0 ^= b
	v2 ^= 0xff
	for range d {
		v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
	}
	return v0 ^ v1 ^ v2 ^ v3
}

// Reference vectors (github.com/veorq/SipHash, as the kernel's siphash self-test uses them):
// key 00 01 … 0f, message 00 01 … of the given length.
func TestSipHashVectors(t *testing.T) {
	const k0, k1 = 0x0706050403020100, 0x0f0e0d0c0b0a0908
	msg := make([]byte, 16)
	for i := range msg {
		msg[i] = byte(i)
	}
	for _, v := range []struct {
		n    int
		want uint64
	}{{0, 0x726fdb47dd0e0e31}, {4, 0xcf2794e0277187b7}, {7, 0xab0200f58b01d137}, {15, 0xa129ca6149be45e5}} {
		if got := sipHash(k0, k1, msg[:v.n], 2, 4); got != v.want {
			t.Errorf("SipHash-2-4 of %d bytes = %#x, want %#x", v.n, got, v.want)
		}
	}
	// The kernel's hsiphash on 64-bit machines is SipHash-1-3 truncated to 32 bits.
	for _, v := range []struct {
		n    int
		want uint32
	}{{0, 0x050fc4dc}, {4, 0x88d38328}, {8, 0x8d299a8e}, {15, 0x2a519956}} {
		if got := uint32(sipHash(k0, k1, msg[:v.n], 1, 3)); got != v.want {
			t.Errorf("hsiphash of %d bytes = %#x, want %#x", v.n, got, v.want)
		}
	}
	if got := hsiphash32(0x03020100, k0, k1); got != 0x88d38328 {
		t.Errorf("hsiphash32 = %#x, want 0x88d38328", got)
	}
}

func TestFold32(t *testing.T) {
	for _, tc := range []struct {
		addr string
		want uint32
	}{
		{"10.1.2.3", 0x0a010203},
		{"2001:db8::1", 0x20010db8 ^ 1},
		{"::ffff:10.1.2.3", 0x0000ffff ^ 0x0a010203}, // IPv4-mapped folds as IPv6, as in IPVS
	} {
		if got := fold32(netip.MustParseAddr(tc.addr)); got != tc.want {
			t.Errorf("fold32(%s) = %#x, want %#x", tc.addr, got, tc.want)
		}
	}
	if fold32(netip.Addr{}) != 0 {
		t.Error("zero Addr does not fold to 0")
	}
}

func TestHash32(t *testing.T) {
	// The kernel's hash_32: the top bits of the product modulo 2^32.
	v := uint32(0x0a000001)
	want := uint32(uint64(v) * 0x61c88647 & 0xffffffff >> 24)
	if got := hash32(v, 8); got != want {
		t.Errorf("hash32 = %#x, want %#x", got, want)
	}
}
