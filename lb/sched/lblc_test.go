package sched

import (
	"net/netip"
	"testing"
	"time"
)

// refOverloaded is IPVS's is_overloaded for lblc/lblcr in words: more active connections
// than weight, while some server is below half of its weight.
func refOverloaded(ds []Dest, d int) bool {
	if ds[d].Counts.Active.Load() <= ds[d].Weight {
		return false
	}
	for i := range ds {
		if float64(ds[i].Counts.Active.Load()) < float64(ds[i].Weight)/2 {
			return true
		}
	}
	return false
}

// refLBLC is IPVS's lblc with an unbounded map and exact expiry.
type refLBLC struct {
	m   map[netip.Addr]refLBLCEntry
	exp int64
}

type refLBLCEntry struct {
	dest    int
	lastuse int64
}

func (r *refLBLC) pick(ds []Dest, dst netip.Addr, now int64) int {
	if e, ok := r.m[dst]; ok && now-e.lastuse < r.exp {
		r.m[dst] = refLBLCEntry{e.dest, now}
		if ds[e.dest].Weight > 0 && !refOverloaded(ds, e.dest) {
			return e.dest
		}
	}
	d := refWLC(ds)
	if d >= 0 {
		r.m[dst] = refLBLCEntry{d, now}
	}
	return d
}

// clock is a manual time source for Options.Now.
type clock struct{ t int64 }

func (c *clock) now() int64 { return c.t }

func (c *clock) add(d time.Duration) { c.t += int64(d) }

func randDsts(n int) []netip.Addr {
	a := make([]netip.Addr, n)
	for i := range a {
		a[i] = netip.AddrFrom4([4]byte{192, 0, 2, byte(i)})
	}
	return a
}

func TestLBLCMatchesReference(t *testing.T) {
	r := newRand(t)
	const exp = time.Minute
	dsts := randDsts(40)
	for range 200 {
		ds := mkDests(make([]int32, 1+r.IntN(6))...)
		randLoad(r, ds)
		clk := &clock{t: 1}
		s := mustNew(t, "lblc", ds, 0, Options{Now: clk.now, CacheExpiration: exp})
		ref := &refLBLC{m: map[netip.Addr]refLBLCEntry{}, exp: int64(exp)}
		for step := range 300 {
			if r.IntN(3) == 0 {
				randCounts(r, ds[r.IntN(len(ds))].Counts)
			}
			clk.add(time.Duration(r.Int64N(int64(exp / 4))))
			if r.IntN(50) == 0 {
				clk.add(exp)
			}
			dst := dsts[r.IntN(len(dsts))]
			if got, want := s.Pick(&Input{Dst: dst}), ref.pick(ds, dst, clk.t); got != want {
				t.Fatalf("step %d, %v: lblc picked %d, reference %d\n%s", step, dst, got, want, dump(ds))
			}
		}
	}
}

func TestLBLCRules(t *testing.T) {
	clk := &clock{t: 1}
	ds := mkDests(2, 2, 2)
	s := mustNew(t, "lblc", ds, 0, Options{Now: clk.now})
	a := &Input{Dst: netip.MustParseAddr("192.0.2.1")}
	if got := s.Pick(a); got != 0 {
		t.Fatalf("first pick %d, want 0 (wlc)", got)
	}
	// Locality: the address stays on its server though others are now less loaded.
	ds[0].Counts.Active.Store(2)
	if got := s.Pick(a); got != 0 {
		t.Fatalf("picked %d, want the cached 0", got)
	}
	// The engine's overload flag does not move a cached address (IPVS checks only weight
	// and its own overload rule here); a new address avoids the server.
	ds[0].Counts.Overloaded.Store(true)
	if got := s.Pick(a); got != 0 {
		t.Fatalf("picked %d, want the cached 0 despite the flag", got)
	}
	if got := s.Pick(&Input{Dst: netip.MustParseAddr("192.0.2.2")}); got != 1 {
		t.Fatalf("new address picked %d, want 1", got)
	}
	ds[0].Counts.Overloaded.Store(false)
	// Above its weight, but nobody is below half of theirs: stay.
	ds[0].Counts.Active.Store(3)
	ds[1].Counts.Active.Store(1)
	ds[2].Counts.Active.Store(1)
	if got := s.Pick(a); got != 0 {
		t.Fatalf("picked %d, want 0 (no server below half load)", got)
	}
	// Now server 2 is idle: the address moves to the wlc choice, and stays there.
	ds[2].Counts.Active.Store(0)
	if got := s.Pick(a); got != 2 {
		t.Fatalf("picked %d, want 2", got)
	}
	ds[2].Counts.Active.Store(1)
	if got := s.Pick(a); got != 2 {
		t.Fatalf("picked %d, want the new cached 2", got)
	}
	// Expiry: unused for the expiration time, the entry is gone and wlc decides again.
	clk.add(DefaultCacheExpiration - 1)
	ds[1].Counts.Active.Store(0)
	if got := s.Pick(a); got != 2 {
		t.Fatalf("picked %d just before expiry, want 2", got)
	}
	clk.add(DefaultCacheExpiration)
	if got := s.Pick(a); got != 1 {
		t.Fatalf("picked %d after expiry, want 1", got)
	}
}

// A new lblc takes over its predecessor's cache: quiescing the cached server moves the
// address; removing another server keeps the rest.
func TestLBLCPrev(t *testing.T) {
	clk := &clock{t: 1}
	ds := mkDests(1, 1, 1)
	s := mustNew(t, "lblc", ds, 0, Options{Now: clk.now})
	dsts := randDsts(3)
	for i, d := range dsts {
		if got := s.Pick(&Input{Dst: d}); got != i {
			t.Fatalf("setup: %v picked %d", d, got)
		}
		ds[i].Counts.Active.Store(1)
	}
	// Same servers, server 1 quiesced: the cache is shared.
	q := mkDests(1, 0, 1)
	for i := range q {
		q[i].Counts = ds[i].Counts
	}
	s2 := mustNew(t, "lblc", q, 0, Options{Now: clk.now, Prev: s})
	if s2.(*lblc).cache != s.(*lblc).cache {
		t.Error("same server list: cache not shared")
	}
	if got := s2.Pick(&Input{Dst: dsts[0]}); got != 0 {
		t.Errorf("picked %d, want the cached 0", got)
	}
	if got := s2.Pick(&Input{Dst: dsts[1]}); got == 1 || got < 0 {
		t.Errorf("address of the quiesced server picked %d", got)
	}
	// Server 0 removed: its address is re-scheduled, server 2's stays (now at index 0).
	s3 := mustNew(t, "lblc", []Dest{ds[2], ds[1]}, 0, Options{Now: clk.now, Prev: s2})
	ds[1].Counts.Active.Store(0)
	if got := s3.Pick(&Input{Dst: dsts[2]}); got != 0 {
		t.Errorf("picked %d, want the cached server, now index 0", got)
	}
	if got := s3.Pick(&Input{Dst: dsts[0]}); got != 1 {
		t.Errorf("address of the removed server picked %d, want wlc's 1", got)
	}
}

// With more live addresses than slots, the least recently used one in the set goes.
func TestLBLCEviction(t *testing.T) {
	clk := &clock{t: 1}
	ds := mkDests(1, 1)
	s := mustNew(t, "lblc", ds, 0, Options{Now: clk.now, CacheSize: 1}).(*lblc)
	if n := len(s.cache.heads); n != cacheWays {
		t.Fatalf("cache of %d slots", n)
	}
	dsts := randDsts(cacheWays + 1)
	for _, d := range dsts {
		clk.add(time.Second)
		s.Pick(&Input{Dst: d})
	}
	now := clk.now()
	if s.cache.lookup(keyOf(dsts[0]), now) >= 0 {
		t.Error("the oldest address survived")
	}
	for _, d := range dsts[1:] {
		if s.cache.lookup(keyOf(d), now) < 0 {
			t.Errorf("%v was evicted", d)
		}
	}
}
