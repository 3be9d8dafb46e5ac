package lab

import (
	"fmt"
	"slices"
	"time"
)

// The fault bounds (issue 11), beside the others:
//   - split_after_heal (vrrp): after each heal of the instance's network (a heal, or a
//     link_up), how long two appliances or more were still MASTER of the instance at once,
//     until the next partition or link_down (or the end); the longest counts. RFC 5798 has
//     the lower priority give way at the first advert it hears from the higher: within one
//     advert interval.

func init() {
	expectBounds["vrrp"] = append(expectBounds["vrrp"], "split_after_heal")
	allBounds = append(allBounds, "split_after_heal")
}

// faultBounds reads the fault bounds that apply to x; expectation calls it before it
// closes the table.
func (r *reader) faultBounds(t *table, x *Expectation, applies map[string]bool) {
	if d, ok := t.Duration("split_after_heal", 0, maxDuration); ok && applies["split_after_heal"] {
		x.SplitAfterHeal, x.HasSplit = d, true
	}
}

// heals reports whether e restores links: a heal, or a link_up.
func heals(e *Event) bool { return e.Action == ActHeal || e.Action == ActLinkUp }

// cuts reports whether e cuts links: a partition, or a link_down.
func cuts(e *Event) bool { return e.Action == ActPartition || e.Action == ActLinkDown }

// checkFaultBounds refuses split_after_heal when nothing heals.
func (r *reader) checkFaultBounds(t *Topology, x *Expectation) {
	if x.HasSplit && !slices.ContainsFunc(t.Events, heals) {
		r.Errorf(x.key+".split_after_heal", "no event heals the network (a heal or a link_up): split_after_heal counts from one")
	}
}

// masterStretches returns the stretches of the run in which two appliances or more were
// MASTER of instance at once, as [from, to) pairs, by the report's VRRP transitions.
func masterStretches(rep *Report, instance string) [][2]time.Duration {
	states := vrrpStates(rep, instance, 0)
	masters := func() int {
		n := 0
		for _, s := range states {
			if s == "MASTER" {
				n++
			}
		}
		return n
	}
	var out [][2]time.Duration
	open, from := masters() >= 2, time.Duration(0)
	for _, v := range rep.VRRP {
		if v.Instance != instance {
			continue
		}
		states[v.Appliance] = v.To
		switch dual := masters() >= 2; {
		case dual && !open:
			open, from = true, v.At
		case !dual && open:
			open = false
			out = append(out, [2]time.Duration{from, v.At})
		}
	}
	if open {
		out = append(out, [2]time.Duration{from, rep.Duration})
	}
	return out
}

// judgeFault judges the fault bounds of a vrrp expectation.
func judgeFault(t *Topology, rep *Report, x *Expectation, res func(bound, subject, what, got, want string, pass bool)) {
	if !x.HasSplit {
		return
	}
	stretches := masterStretches(rep, x.VRRP)
	var worst time.Duration
	got := "none"
	for i, e := range t.Events {
		if !heals(e) {
			continue
		}
		until := rep.Duration
		if j := slices.IndexFunc(t.Events[i+1:], cuts); j >= 0 {
			until = t.Events[i+1+j].At
		}
		for _, s := range stretches {
			from, to := max(s[0], e.At), min(s[1], until)
			if to <= from {
				continue
			}
			if d := to - from; d >= worst {
				worst = d
				got = fmt.Sprintf("%v after the %s at %v", roundDuration(d), e.Action, e.At)
				if s[1] == rep.Duration {
					got += " (to the end)"
				}
			}
		}
	}
	res("split_after_heal", x.VRRP, "two MASTERs", got, "≤ "+x.SplitAfterHeal.String(), worst <= x.SplitAfterHeal)
}
