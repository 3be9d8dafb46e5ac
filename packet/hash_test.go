package packet

import (
	"math/bits"
	"math/rand/v2"
	"testing"
)

const testSeed = 0x5EED5EED12345678

func TestFlowKeyHashBasics(t *testing.T) {
	k := key4(cli4, vip4, ProtoTCP, 40000, 80)
	k2 := k
	if k.Hash(testSeed) != k2.Hash(testSeed) {
		t.Error("equal keys hash apart")
	}
	if k.Hash(testSeed) == k.Hash(testSeed+1) {
		t.Error("seed does not matter")
	}
	r := k.Reverse()
	if k.Hash(testSeed) == r.Hash(testSeed) {
		t.Error("a key and its reverse collide")
	}
	k6 := key6(cli6, vip6, ProtoTCP, 40000, 80)
	if k6.Hash(testSeed) == k.Hash(testSeed) {
		t.Error("v4 and v6 keys collide")
	}
	a, b := x16(cli4), x16(vip4)
	if HashAddr(testSeed, &a) == HashAddr(testSeed, &b) || HashAddr(testSeed, &a) == HashAddr(testSeed+1, &a) {
		t.Error("HashAddr does not separate addresses or seeds")
	}
}

// chi2 returns the chi-square statistic of counts against a uniform distribution.
func chi2(counts []int, n int) float64 {
	e := float64(n) / float64(len(counts))
	var s float64
	for _, c := range counts {
		d := float64(c) - e
		s += d * d / e
	}
	return s
}

// checkSpread buckets hashes by their low and their high 8 bits; with 255 degrees of freedom
// chi-square averages 255 with a standard deviation near 23, so 400 flags real skew only.
func checkSpread(t *testing.T, what string, hs []uint64) {
	t.Helper()
	lo, hi := make([]int, 256), make([]int, 256)
	for _, h := range hs {
		lo[h&0xFF]++
		hi[h>>56]++
	}
	if c := chi2(lo, len(hs)); c > 400 {
		t.Errorf("%s: low bits chi-square %.0f", what, c)
	}
	if c := chi2(hi, len(hs)); c > 400 {
		t.Errorf("%s: high bits chi-square %.0f", what, c)
	}
}

func TestHashDistribution(t *testing.T) {
	var hs []uint64
	// Clients of one /16 on sequential ports to one VIP: the structured input a table sees.
	for i := 0; i < 1<<16; i++ {
		k := key4([4]byte{10, 0, byte(i >> 8), byte(i)}, vip4, ProtoTCP, uint16(32768+i%512), 443)
		hs = append(hs, k.Hash(testSeed))
	}
	checkSpread(t, "v4 keys", hs)

	hs = hs[:0]
	for i := 0; i < 1<<16; i++ {
		k := key4(cli4, vip4, ProtoUDP, uint16(i), 53) // only the source port varies
		hs = append(hs, k.Hash(testSeed))
	}
	checkSpread(t, "v4 ports", hs)

	hs = hs[:0]
	for i := 0; i < 1<<16; i++ {
		s := cli6
		s[14], s[15] = byte(i>>8), byte(i)
		k := key6(s, vip6, ProtoTCP, 40000, 443)
		hs = append(hs, k.Hash(testSeed))
	}
	checkSpread(t, "v6 keys", hs)

	hs = hs[:0]
	for i := 0; i < 1<<16; i++ {
		a := x16([4]byte{192, 168, byte(i >> 8), byte(i)})
		hs = append(hs, HashAddr(testSeed, &a))
	}
	checkSpread(t, "v4 addresses", hs)

	hs = hs[:0]
	for i := 0; i < 1<<16; i++ {
		a := cli6
		a[8], a[9] = byte(i>>8), byte(i) // the interface identifier's top
		hs = append(hs, HashAddr(testSeed, &a))
	}
	checkSpread(t, "v6 addresses", hs)
}

// TestHashAvalanche flips each input bit and requires about half the output bits to change,
// on average over random keys.
func TestHashAvalanche(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	const keys = 300
	total, samples := 0, 0
	for bit := 0; bit < 16*8*2+32; bit++ {
		flips := 0
		for i := 0; i < keys; i++ {
			var k FlowKey
			fill(r, k.Src[:], k.Dst[:])
			k.SrcPort, k.DstPort, k.Proto, k.Family = uint16(r.Uint32()), uint16(r.Uint32()), ProtoTCP, FamilyIPv6
			k2 := k
			switch {
			case bit < 128:
				k2.Src[bit/8] ^= 1 << (bit % 8)
			case bit < 256:
				k2.Dst[(bit-128)/8] ^= 1 << (bit % 8)
			case bit < 272:
				k2.SrcPort ^= 1 << (bit - 256)
			default:
				k2.DstPort ^= 1 << (bit - 272)
			}
			flips += bits.OnesCount64(k.Hash(testSeed) ^ k2.Hash(testSeed))
		}
		avg := float64(flips) / keys
		if avg < 28 || avg > 36 {
			t.Errorf("input bit %d flips %.1f output bits on average", bit, avg)
		}
		total += flips
		samples += keys
	}
	if avg := float64(total) / float64(samples); avg < 31 || avg > 33 {
		t.Errorf("overall %.2f output bits flip per input bit", avg)
	}
}

func TestHashAllocs(t *testing.T) {
	k := key6(cli6, vip6, ProtoTCP, 1, 2)
	a := cli6
	var sink uint64
	if n := testing.AllocsPerRun(100, func() { sink += k.Hash(testSeed) + HashAddr(testSeed, &a) }); n != 0 {
		t.Errorf("%v allocations", n)
	}
	_ = sink
}
