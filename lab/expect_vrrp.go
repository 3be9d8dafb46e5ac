package lab

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// The bounds of a vrrp expectation, about one vrrp_instance (by name) on every appliance
// that runs it:
//   - takeover_within: each failure of the instance's MASTER during the run, its node
//     killed, one of its links pulled (link_down) or cut off by a partition, was followed
//     within this long by another appliance becoming MASTER of the instance; the slowest
//     counts, and a failure nobody took over from fails. The MASTER at each failure is the
//     one the report's VRRP transitions say.
//   - master: the appliance that is the instance's only MASTER at the end of the run.

// fails reports whether e is a failure of node: its kill, a link of it pulled, or a
// partition that cuts one of its links.
func (t *Topology) fails(e *Event, node string) bool {
	switch e.Action {
	case ActKill:
		return e.Node == node
	case ActLinkDown:
		l := t.link(e.Link)
		return l != nil && (l.A.Node == node || l.B.Node == node)
	case ActPartition:
		group := map[string]int{}
		for i, g := range e.Groups {
			for _, name := range g {
				group[name] = i + 1
			}
		}
		return slices.ContainsFunc(t.Links, func(l *Link) bool {
			return (l.A.Node == node || l.B.Node == node) && group[l.A.Node] != group[l.B.Node]
		})
	}
	return false
}

// runsVRRP lists the appliances whose configuration has the instance.
func (t *Topology) runsVRRP(instance string) []string {
	var out []string
	for _, n := range t.Nodes {
		if n.Kind != KindAppliance || n.Config == nil {
			continue
		}
		for _, in := range n.Config.VRRPInstances {
			if in.Name == instance {
				out = append(out, n.Name)
			}
		}
	}
	return out
}

// checkVRRPBounds checks that a vrrp expectation can be judged: appliances run the instance,
// master names one of them, and the timeline fails one of them for takeover_within.
func (r *reader) checkVRRPBounds(t *Topology, x *Expectation) {
	apps := t.runsVRRP(x.VRRP)
	if len(apps) == 0 {
		r.Errorf(x.key+".vrrp", "no appliance runs vrrp_instance %s", x.VRRP)
		return
	}
	if x.Master != "" && !slices.Contains(apps, x.Master) {
		verb := "do"
		if len(apps) == 1 {
			verb = "does"
		}
		r.Errorf(x.key+".master", "%s does not run vrrp_instance %s; %s %s", x.Master, x.VRRP, strings.Join(apps, ", "), verb)
	}
	if x.HasTakeover && !slices.ContainsFunc(t.Events, func(e *Event) bool {
		return slices.ContainsFunc(apps, func(a string) bool { return t.fails(e, a) })
	}) {
		r.Errorf(x.key+".takeover_within", "no event fails an appliance that runs %s (a kill, a link_down or a partition): takeover_within counts from one", x.VRRP)
	}
	r.checkFaultBounds(t, x)
}

// vrrpStates returns the state of an instance on each appliance just before at: its state at
// the start, changed by the transitions before at.
func vrrpStates(rep *Report, instance string, at time.Duration) map[string]string {
	states := map[string]string{}
	for _, a := range rep.Appliances {
		for _, v := range a.VRRP {
			if v.Instance == instance {
				states[a.Name] = v.Start
			}
		}
	}
	for _, v := range rep.VRRP {
		if v.Instance == instance && v.At < at {
			states[v.Appliance] = v.To
		}
	}
	return states
}

// judgeVRRP judges the bounds of a vrrp expectation. res reports one bound.
func judgeVRRP(t *Topology, rep *Report, x *Expectation, res func(bound, subject, what, got, want string, pass bool)) {
	if x.HasTakeover {
		var worst time.Duration
		var got string
		failures, missed := 0, ""
		for _, e := range t.Events {
			var down []string // the masters e fails
			for a, s := range vrrpStates(rep, x.VRRP, e.At) {
				if s == "MASTER" && t.fails(e, a) {
					down = append(down, a)
				}
			}
			if len(down) == 0 {
				continue
			}
			failures++
			i := slices.IndexFunc(rep.VRRP, func(v VRRPTransition) bool {
				return v.Instance == x.VRRP && v.To == "MASTER" && v.At >= e.At && !slices.Contains(down, v.Appliance)
			})
			if i < 0 {
				if missed == "" {
					missed = fmt.Sprintf("not taken over after %v", e.At)
				}
				continue
			}
			if d := rep.VRRP[i].At - e.At; d >= worst {
				worst = d
				got = fmt.Sprintf("by %s %v after %v", rep.VRRP[i].Appliance, roundDuration(d), e.At)
			}
		}
		switch {
		case failures == 0:
			got = "never: its MASTER did not fail"
		case missed != "":
			got = missed
		}
		res("takeover_within", x.VRRP, "taken over", got, "within "+x.TakeoverWithin.String(),
			failures > 0 && missed == "" && worst <= x.TakeoverWithin)
	}
	if x.Master != "" {
		var masters []string
		for _, a := range rep.Appliances {
			for _, v := range a.VRRP {
				if v.Instance == x.VRRP && v.End == "MASTER" {
					masters = append(masters, a.Name)
				}
			}
		}
		got := strings.Join(masters, ", ")
		if got == "" {
			got = "none"
		}
		res("master", x.VRRP, "MASTER at the end", got, x.Master, len(masters) == 1 && masters[0] == x.Master)
	}
	judgeFault(t, rep, x, res)
}
