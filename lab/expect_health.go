package lab

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/uvs-lb/uvs/conf"
)

// The health bounds of a server expectation, judged on each appliance that checks the host
// (the slowest counts), while it runs (a killed appliance checks nothing):
//   - removed_within: from the host's first event (its failure) to the removal of the last
//     of its real servers the appliance took out (a host serving two virtual servers may
//     fail the checks of one only); none taken out fails; an appliance down at the failure
//     does not count;
//   - restored_within: from its last event (its repair) to the last putting back of one of
//     its real servers, and every one of them alive at the end; an appliance down at the
//     end does not count;
//   - max_removals: how often any of them was taken out, by any appliance.

// hostEvents returns the instants of the events about a host, in time order: those naming
// it (its services, kill, restart), naming one of its links (link_down, link_up, impair),
// and the partitions that cut one of its links, with the heal that follows one.
func (t *Topology) hostEvents(host string) []time.Duration {
	var out []time.Duration
	cut := false // the partition in force cuts one of host's links
	for _, e := range t.Events {
		about := e.Node == host
		switch e.Action {
		case ActLinkDown, ActLinkUp, ActImpair:
			l := t.link(e.Link)
			about = l != nil && (l.A.Node == host || l.B.Node == host)
		case ActPartition:
			group := map[string]int{}
			for i, g := range e.Groups {
				for _, name := range g {
					group[name] = i + 1
				}
			}
			was := cut
			cut = slices.ContainsFunc(t.Links, func(l *Link) bool {
				return (l.A.Node == host || l.B.Node == host) && group[l.A.Node] != group[l.B.Node]
			})
			about = was || cut
		case ActHeal:
			about, cut = cut, false
		}
		if about {
			out = append(out, e.At)
		}
	}
	return out
}

// downAt reports whether the timeline has node killed at at: killed at or before at, and not
// restarted since.
func (t *Topology) downAt(node string, at time.Duration) bool {
	down := false
	for _, e := range t.Events {
		if e.At > at {
			break
		}
		if e.Node == node && (e.Action == ActKill || e.Action == ActRestart) {
			down = e.Action == ActKill
		}
	}
	return down
}

// checksHost reports whether a configuration checks a real server at one of host's
// addresses.
func checksHost(c *conf.Config, host *Node) bool {
	if c == nil {
		return false
	}
	for _, s := range c.Services {
		for j, rs := range s.Servers {
			if j < len(s.ServerHealth) && len(s.ServerHealth[j].Checks) > 0 && hasAddr(host, rs.Addr) {
				return true
			}
		}
	}
	return false
}

// hasAddr reports whether addr is one of n's interface addresses.
func hasAddr(n *Node, addr netip.Addr) bool {
	for _, ifc := range n.Interfaces {
		for _, p := range ifc.Addrs {
			if p.Addr() == addr {
				return true
			}
		}
	}
	return false
}

// checkHealthBounds checks that a server expectation's health bounds can be judged: an
// appliance checks the host, and the timeline has the events they measure from.
func (r *reader) checkHealthBounds(t *Topology, x *Expectation, host *Node) {
	if !x.HasRemoved && !x.HasRestored && !x.HasMaxRemovals {
		return
	}
	checked := false
	for _, n := range t.Nodes {
		// An appliance whose configuration has errors (reported already) may check it.
		checked = checked || n.Kind == KindAppliance && (n.Config == nil || checksHost(n.Config, host))
	}
	for _, e := range t.Events {
		checked = checked || e.Action == ActReload && checksHost(e.Config, host)
	}
	if !checked {
		key := x.key + ".max_removals"
		switch {
		case x.HasRemoved:
			key = x.key + ".removed_within"
		case x.HasRestored:
			key = x.key + ".restored_within"
		}
		r.Errorf(key, "no appliance checks %s: give one of its real servers a tcp_check, http_get, ...", host.Name)
		return
	}
	at := t.hostEvents(host.Name)
	if x.HasRemoved && len(at) == 0 {
		r.Errorf(x.key+".removed_within", "no event is about %s (its node, its services or its links): removed_within counts from the first", host.Name)
	}
	if x.HasRestored && (len(at) == 0 || at[0] == at[len(at)-1]) {
		r.Errorf(x.key+".restored_within", "%s has no event after its first to be restored from: restored_within counts from its last event, after its failure", host.Name)
	}
}

// judgeHealth judges the health bounds of a server expectation. res reports one bound.
func judgeHealth(t *Topology, rep *Report, x *Expectation, res func(bound, subject, what, got, want string, pass bool)) {
	host := x.Server
	var apps []string // the appliances that check host
	for _, a := range rep.Appliances {
		if slices.ContainsFunc(a.Checked, func(c CheckedReport) bool { return c.Server == host }) {
			apps = append(apps, a.Name)
		}
	}
	at := t.hostEvents(host)
	if x.HasRemoved && len(at) > 0 {
		t0 := at[0]
		worst, never := time.Duration(0), []string{}
		for _, a := range apps {
			if t.downAt(a, t0) {
				continue
			}
			// The first removal after t0 of each of its real servers (one per virtual
			// server and port) that the appliance took out: the slowest counts.
			first := map[string]time.Duration{}
			for _, h := range rep.Health {
				k := h.VirtualServer + " " + h.Address
				if _, seen := first[k]; !seen && h.Appliance == a && h.Server == host && !h.Up && h.At >= t0 {
					first[k] = h.At - t0
				}
			}
			if len(first) == 0 {
				never = append(never, a)
			}
			for _, d := range first {
				worst = max(worst, d)
			}
		}
		got := fmt.Sprintf("%v after %v", roundDuration(worst), t0)
		if len(never) > 0 {
			got = "never by " + strings.Join(never, ", ")
		}
		if len(apps) == 0 {
			got = "never: no appliance checked it"
		}
		res("removed_within", host, "taken out", got, "within "+x.RemovedWithin.String(),
			len(apps) > 0 && len(never) == 0 && worst <= x.RemovedWithin)
	}
	if x.HasRestored && len(at) > 0 {
		t1 := at[len(at)-1]
		worst, out := time.Duration(0), []string{}
		for _, a := range rep.Appliances {
			if !slices.Contains(apps, a.Name) || t.downAt(a.Name, t.Duration) {
				continue
			}
			if slices.ContainsFunc(a.Checked, func(c CheckedReport) bool { return c.Server == host && !c.Alive }) {
				out = append(out, a.Name)
				continue
			}
			for _, h := range rep.Health {
				if h.Appliance == a.Name && h.Server == host && h.Up && h.At >= t1 {
					worst = max(worst, h.At-t1)
				}
			}
		}
		got := fmt.Sprintf("%v after %v", roundDuration(worst), t1)
		if len(out) > 0 {
			got = "still out at the end on " + strings.Join(out, ", ")
		}
		if len(apps) == 0 {
			got = "never: no appliance checked it"
		}
		res("restored_within", host, "back in", got, "within "+x.RestoredWithin.String(),
			len(apps) > 0 && len(out) == 0 && worst <= x.RestoredWithin)
	}
	if x.HasMaxRemovals {
		var n uint64
		for _, h := range rep.Health {
			if h.Server == host && !h.Up {
				n++
			}
		}
		res("max_removals", host, "times taken out", fmt.Sprint(n), fmt.Sprintf("≤ %d", x.MaxRemovals), n <= x.MaxRemovals)
	}
}
