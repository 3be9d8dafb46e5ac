package sched

import (
	"math/big"
	"net/netip"
	"slices"
	"testing"
	"time"
)

// refLBLCR is IPVS's lblcr with an unbounded map of unbounded server sets (newest first).
type refLBLCR struct {
	m   map[netip.Addr]*refServerSet
	exp int64
}

type refServerSet struct {
	members          []int
	lastuse, lastmod int64
}

func refSetPick(ds []Dest, members []int, candidate func(*Dest) bool, less bool) int {
	sub := make([]Dest, len(members))
	for i, m := range members {
		sub[i] = ds[m]
	}
	score := func(d *Dest) *big.Rat { return ratio(d.Counts.Overhead(), int64(d.Weight)) }
	if i := refFirstBest(sub, candidate, score, less); i >= 0 {
		return members[i]
	}
	return -1
}

func (r *refLBLCR) pick(ds []Dest, dst netip.Addr, now int64) int {
	e := r.m[dst]
	if e != nil && now-e.lastuse >= r.exp {
		e = nil
	}
	if e == nil {
		d := refWLC(ds)
		if d >= 0 {
			r.m[dst] = &refServerSet{members: []int{d}, lastuse: now, lastmod: now}
		}
		return d
	}
	e.lastuse = now
	d := refSetPick(ds, e.members, refUsable, true)
	if len(e.members) > 1 && now-e.lastmod > r.exp {
		hasWeight := func(d *Dest) bool { return d.Weight > 0 }
		if m := refSetPick(ds, e.members, hasWeight, false); m >= 0 {
			e.members = slices.DeleteFunc(e.members, func(x int) bool { return x == m })
			e.lastmod = now
		}
	}
	if d >= 0 && !refOverloaded(ds, d) {
		return d
	}
	if d = refWLC(ds); d >= 0 && !slices.Contains(e.members, d) {
		e.members = slices.Insert(e.members, 0, d)
		e.lastmod = now
	}
	return d
}

func TestLBLCRMatchesReference(t *testing.T) {
	r := newRand(t)
	const exp = time.Minute
	dsts := randDsts(20)
	for range 200 {
		ds := mkDests(make([]int32, 1+r.IntN(8))...)
		randLoad(r, ds)
		clk := &clock{t: 1}
		s := mustNew(t, "lblcr", ds, 0, Options{Now: clk.now, CacheExpiration: exp})
		ref := &refLBLCR{m: map[netip.Addr]*refServerSet{}, exp: int64(exp)}
		for step := range 400 {
			for range r.IntN(3) {
				randCounts(r, ds[r.IntN(len(ds))].Counts)
			}
			clk.add(time.Duration(r.Int64N(int64(exp / 3))))
			if r.IntN(80) == 0 {
				clk.add(exp)
			}
			dst := dsts[r.IntN(len(dsts))]
			if got, want := s.Pick(&Input{Dst: dst}), ref.pick(ds, dst, clk.t); got != want {
				t.Fatalf("step %d, %v: lblcr picked %d, reference %d\n%s", step, dst, got, want, dump(ds))
			}
		}
	}
}

func lblcrSet(t *testing.T, s Scheduler, dst netip.Addr, now int64) []uint16 {
	t.Helper()
	c := s.(*lblcr).cache
	i := c.lookup(keyOf(dst), now)
	if i < 0 {
		t.Fatalf("no entry for %v", dst)
	}
	return c.slots[i].members[:c.slots[i].n]
}

// A set grows when its members are overloaded and shrinks, most loaded first, once it has
// not changed for the expiration time.
func TestLBLCRGrowShrink(t *testing.T) {
	clk := &clock{t: 1}
	ds := mkDests(1, 1, 1)
	s := mustNew(t, "lblcr", ds, 0, Options{Now: clk.now, CacheExpiration: time.Minute})
	dst := netip.MustParseAddr("192.0.2.1")
	in := &Input{Dst: dst}
	s.Pick(in)
	ds[0].Counts.Active.Store(2) // over its weight, with 1 and 2 idle: replicate
	if got := s.Pick(in); got != 1 {
		t.Fatalf("picked %d, want 1", got)
	}
	ds[1].Counts.Active.Store(1)
	if got := s.Pick(in); got != 1 {
		t.Fatalf("picked %d, want the set's least loaded 1", got)
	}
	if got := lblcrSet(t, s, dst, clk.t); !slices.Equal(got, []uint16{1, 0}) {
		t.Fatalf("set %v, want [1 0]", got)
	}
	// Keep the entry in use; after a minute without change the most loaded member (0) goes.
	for range 4 {
		clk.add(20 * time.Second)
		s.Pick(in)
	}
	if got := lblcrSet(t, s, dst, clk.t); !slices.Equal(got, []uint16{1}) {
		t.Fatalf("set %v, want [1]", got)
	}
}

// A full set makes room by dropping its most loaded member.
func TestLBLCRSetBound(t *testing.T) {
	clk := &clock{t: 1}
	ds := mkDests(slices.Repeat([]int32{1}, 2*lblcrMaxSet)...)
	s := mustNew(t, "lblcr", ds, 0, Options{Now: clk.now})
	dst := netip.MustParseAddr("192.0.2.1")
	for i := range lblcrMaxSet + 3 {
		if got := s.Pick(&Input{Dst: dst}); got != i {
			t.Fatalf("pick %d: %d", i, got)
		}
		ds[i].Counts.Overloaded.Store(true) // the whole set is unusable: add another server
		ds[i].Counts.Inactive.Store(int32(i % 5))
	}
	set := lblcrSet(t, s, dst, clk.t)
	if len(set) != lblcrMaxSet || set[0] != lblcrMaxSet+2 {
		t.Fatalf("set %v", set)
	}
	// Servers 4, 9 and 14 were the most loaded (inactive 4) when room was needed.
	for _, gone := range []uint16{4, 9, 14} {
		if slices.Contains(set, gone) {
			t.Errorf("set %v still holds %d", set, gone)
		}
	}
}

func TestLBLCRPrev(t *testing.T) {
	clk := &clock{t: 1}
	ds := mkDests(1, 1, 1)
	s := mustNew(t, "lblcr", ds, 0, Options{Now: clk.now})
	dst := netip.MustParseAddr("192.0.2.1")
	in := &Input{Dst: dst}
	s.Pick(in)
	ds[0].Counts.Overloaded.Store(true)
	s.Pick(in) // set {1, 0}
	ds[0].Counts.Overloaded.Store(false)
	s2 := mustNew(t, "lblcr", []Dest{ds[2], ds[1]}, 0, Options{Now: clk.now, Prev: s})
	if got := lblcrSet(t, s2, dst, clk.t); !slices.Equal(got, []uint16{1}) {
		t.Fatalf("carried-over set %v, want [1] (server 1, server 0 gone)", got)
	}
}
