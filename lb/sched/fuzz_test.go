package sched

import (
	"encoding/binary"
	"net/netip"
	"testing"
)

// FuzzSchedulers builds random schedulers — any name and flags, 0 to 23 servers, random
// (even negative or huge) weights, small Maglev tables — checks the tables they build and
// picks: no panic, every pick in range and allowed to take the connection.
func FuzzSchedulers(f *testing.F) {
	f.Add([]byte{10, 3, 5, 1, 2, 3, 4, 5, 0, 0, 0, 0, 0, 9, 9, 9})
	f.Add([]byte{1, 0, 3, 0x80, 0x81, 0x7f, 1, 2, 3})
	f.Add([]byte{7, 3, 0})
	f.Add([]byte{5, 0, 9, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0xff, 0, 0xff, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		byteAt := func(i int) byte {
			if len(data) == 0 {
				return 0
			}
			return data[i%len(data)]
		}
		e := &registry[int(byteAt(0))%len(registry)]
		flags := Flags(byteAt(1)) & e.flags
		n := int(byteAt(2)) % 24
		ds := mkDests(make([]int32, n)...)
		for i := range ds {
			b := byteAt(3 + i)
			ds[i].Weight = int32(b&0x3f) - 4
			if b&0x40 != 0 {
				ds[i].Weight <<= 20
			}
			ds[i].LastWeight = int32(b >> 6)
			ds[i].Counts.Overloaded.Store(b&0x80 != 0)
		}
		primes := []int{2, 3, 5, 7, 13, 251, DefaultMHTableSize}
		opts := Options{MHTableSize: primes[int(byteAt(4))%len(primes)], CacheSize: int(byteAt(5))}
		s, err := New(e.name, ds, flags, opts)
		if err != nil {
			if e.name == "mh" && n > opts.MHTableSize {
				return
			}
			t.Fatalf("New(%s, %d servers): %v", e.name, n, err)
		}
		checkTables(t, s, ds)
		for k := range 64 {
			seed := binary.LittleEndian.Uint32([]byte{byteAt(k), byteAt(k + 7), byteAt(k + 13), byte(k)})
			addr := netip.AddrFrom4([4]byte{byte(seed), byte(seed >> 8), byte(seed >> 16), byte(seed >> 24)})
			in := Input{Src: addr, Dst: addr, SrcPort: uint16(seed), Proto: byteAt(k + 3)}
			if n > 0 {
				c := ds[int(seed)%n].Counts
				c.Active.Store(int32(seed>>24) % 8)
				c.Overloaded.Store(seed&0x10 != 0)
			}
			p := s.Pick(&in)
			if p < -1 || p >= n {
				t.Fatalf("%s picked %d of %d", e.name, p, n)
			}
			if p < 0 {
				continue
			}
			// lblc keeps a cached server with the overload flag set, as IPVS does.
			if d := &ds[p]; d.Weight <= 0 || (d.Counts.Overloaded.Load() && e.name != "lblc") {
				t.Fatalf("%s picked server %d: weight %d, overloaded %v", e.name, p, d.Weight, d.Counts.Overloaded.Load())
			}
		}
	})
}

// checkTables checks what the table builders made: every slot names a server, and for mh
// one with a weight to build from.
func checkTables(t *testing.T, s Scheduler, ds []Dest) {
	var table []int32
	switch s := s.(type) {
	case *sh:
		table = s.table[:]
	case *dh:
		table = s.table[:]
	case *mh:
		table = s.table
		weighted := false
		for i := range ds {
			weighted = weighted || ds[i].tableWeight() > 0
		}
		for _, i := range table {
			if (i < 0) == weighted || (i >= 0 && ds[i].tableWeight() <= 0) {
				t.Fatalf("mh slot holds %d", i)
			}
		}
	case *wrr:
		for _, i := range s.cycle {
			if ds[i].Weight <= 0 {
				t.Fatalf("wrr cycle holds server %d of weight %d", i, ds[i].Weight)
			}
		}
	}
	for _, i := range table {
		if int(i) >= len(ds) || (i < 0 && len(ds) > 0 && s.Name() != "mh") {
			t.Fatalf("%s slot holds %d of %d servers", s.Name(), i, len(ds))
		}
	}
}
