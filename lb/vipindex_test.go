package lb

import (
	"math/rand/v2"
	"testing"

	"github.com/uvs-lb/uvs/packet"
)

// TestVIPIndexAgreesWithMap builds indexes of 0 to 300 random addresses of both families
// (IPv4 ones differing in one byte, as a subnet's VIPs do) and checks every member is found
// and every non-member is not.
func TestVIPIndexAgreesWithMap(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 2, 3, 7, 8, 9, 64, 300} {
		m := map[vipKey]*vipEntry{}
		for len(m) < n {
			var k vipKey
			if r.IntN(2) == 0 {
				k.family = packet.FamilyIPv4
				k.addr = [16]byte{10, 0, 0, byte(r.IntN(256))}
			} else {
				k.family = packet.FamilyIPv6
				for i := range k.addr {
					k.addr[i] = byte(r.IntN(4))
				}
			}
			m[k] = &vipEntry{}
		}
		x := newVIPIndex(m)
		if len(x.slots) < 2*n {
			t.Errorf("%d VIPs in %d slots: more than half full", n, len(x.slots))
		}
		for k, v := range m {
			if got := x.get(k.family, &k.addr); got != v {
				t.Fatalf("%d VIPs: %v not found", n, k)
			}
			// The same address in the other family is another key.
			other := packet.FamilyIPv6
			if k.family == other {
				other = packet.FamilyIPv4
			}
			if _, in := m[vipKey{other, k.addr}]; !in && x.get(other, &k.addr) != nil {
				t.Fatalf("%d VIPs: %v found under the other family", n, k)
			}
		}
		for range 1000 {
			k := vipKey{packet.FamilyIPv4, [16]byte{10, 0, byte(1 + r.IntN(255)), byte(r.IntN(256))}}
			if x.get(k.family, &k.addr) != nil {
				t.Fatalf("%d VIPs: %v found, not a member", n, k)
			}
		}
	}
}

func TestVIPIndexAllocs(t *testing.T) {
	x := newVIPIndex(map[vipKey]*vipEntry{{packet.FamilyIPv4, [16]byte{10, 0, 0, 1}}: {}})
	a := [16]byte{10, 0, 0, 1}
	if n := testing.AllocsPerRun(100, func() { x.get(packet.FamilyIPv4, &a) }); n != 0 {
		t.Errorf("get allocates %v times", n)
	}
}

func BenchmarkVIPIndex(b *testing.B) {
	m := map[vipKey]*vipEntry{}
	for i := range 16 {
		m[vipKey{packet.FamilyIPv4, [16]byte{10, 0, 0, byte(i)}}] = &vipEntry{}
	}
	x := newVIPIndex(m)
	a := [16]byte{10, 0, 0, 7}
	b.ReportAllocs()
	for b.Loop() {
		if x.get(packet.FamilyIPv4, &a) == nil {
			b.Fatal("not found")
		}
	}
}
