package lab

import (
	"cmp"
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/uvs-lb/uvs/appliance"
	"github.com/uvs-lb/uvs/conf"
)

// The VRRP watch follows the appliances' VRRP instances through the run: it reads each
// appliance's instances (appliance.VRRPDetails) every vrrpPoll and turns each change of an
// instance's state into a VRRPTransition, dated at the middle of the poll that saw it (so
// within vrrpPoll/2) and explained by what the instance's counters and the master it heard
// say (see appliance/vrrp_events.go). A killed appliance's instances go DOWN when it is
// killed, and a restarted one's come back from DOWN.
//
// Before the clients start, build waits for the election (settleVRRP): each virtual router
// has its MASTER by then, as a pair in production has long before its first client comes.

// vrrpPoll is how often the watch reads the appliances: a transition is dated to within
// half of it. Reading is a lock and a copy per instance.
const vrrpPoll = 10 * time.Millisecond

// stateDown is the state of the instances of an appliance that is not running.
const stateDown = "DOWN"

// vrrpWatch is the run's view of the appliances' VRRP instances.
type vrrpWatch struct {
	r     *runner
	names map[netip.Addr]string // the appliances' interface addresses → node

	mu          sync.Mutex
	start, prev time.Time // the run's start, and the last poll
	transitions []VRRPTransition
	last        map[string]*vrrpSeen // by appliance
	first       map[string][]appliance.VRRPDetail
}

// vrrpSeen is what the watch last saw of one appliance.
type vrrpSeen struct {
	inc   *appliance.Appliance // the incarnation; nil while killed
	insts []appliance.VRRPDetail
	heard []time.Time // per instance: the poll that saw its adverts received go up last
}

// hasVRRP reports whether an appliance of t runs VRRP instances.
func (t *Topology) hasVRRP() bool {
	return slices.ContainsFunc(t.Nodes, func(n *Node) bool {
		return n.Kind == KindAppliance && n.Config != nil && len(n.Config.VRRPInstances) > 0
	})
}

func newVRRPWatch(r *runner) *vrrpWatch {
	w := &vrrpWatch{r: r, names: map[netip.Addr]string{}, last: map[string]*vrrpSeen{}, first: map[string][]appliance.VRRPDetail{}}
	for _, n := range r.t.Nodes {
		if n.Kind == KindAppliance && n.Config != nil {
			for _, ifc := range n.Config.Interfaces {
				for _, p := range ifc.Addresses {
					w.names[p.Addr()] = n.Name
				}
			}
		}
	}
	return w
}

// run polls from start until ctx ends.
func (w *vrrpWatch) run(ctx context.Context, start time.Time) {
	w.mu.Lock()
	w.start, w.prev = start, start
	w.mu.Unlock()
	tick := time.NewTicker(vrrpPoll)
	defer tick.Stop()
	for {
		w.poll()
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// poll reads every appliance once.
func (w *vrrpWatch) poll() {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := time.Now()
	// A change happened between the last poll and this one: date it in the middle.
	at := w.prev.Add(now.Sub(w.prev) / 2)
	w.prev = now
	for _, n := range w.r.t.Nodes {
		an := w.r.appliances[n.Name]
		if an == nil {
			continue
		}
		a, killed := an.running()
		prev := w.last[n.Name]
		if a == nil {
			if prev != nil && prev.inc != nil {
				when := killed
				if when.IsZero() || when.After(now) {
					when = at
				}
				for _, d := range prev.insts {
					if d.State != "INIT" {
						w.record(n.Name, d, d.State, stateDown, "killed", when)
					}
				}
				w.last[n.Name] = &vrrpSeen{insts: prev.insts}
			}
			continue
		}
		cur := a.VRRPDetails()
		if len(cur) == 0 {
			continue
		}
		seen := &vrrpSeen{inc: a, insts: cur, heard: make([]time.Time, len(cur))}
		switch {
		case prev == nil: // the states at the start
			w.first[n.Name] = cur
			for i, d := range cur {
				if d.Stats.AdvertRcvd > 0 {
					seen.heard[i] = now
				}
			}
		case prev.inc != a: // restarted
			for _, d := range cur {
				w.record(n.Name, d, stateDown, d.State, "restarted", at)
			}
		default:
			for i, d := range cur {
				old := prev.insts[i]
				seen.heard[i] = prev.heard[i]
				if d.Stats.AdvertRcvd != old.Stats.AdvertRcvd {
					seen.heard[i] = now
				}
				if d.State != old.State {
					w.record(n.Name, d, old.State, d.State, w.reason(old, d, prev.heard[i], now), at)
				}
			}
		}
		w.last[n.Name] = seen
	}
}

// reason explains a change of an instance's state from old to cur, seen at now; heard is
// when its received adverts last went up before.
func (w *vrrpWatch) reason(old, cur appliance.VRRPDetail, heard, now time.Time) string {
	switch {
	case cur.State == "MASTER":
		// Adverts still arriving (the master's come every MasterInterval): the backup did
		// not wait for a silent master.
		hearing := !heard.IsZero() && now.Sub(heard) < 2*old.MasterInterval+2*vrrpPoll
		switch {
		case cur.Stats.PriZeroRcvd > old.Stats.PriZeroRcvd:
			return "master sent priority 0"
		case old.State != "BACKUP":
			return ""
		case hearing && old.Preempt && old.MasterPriority < old.Priority:
			return fmt.Sprintf("preempt: %s had priority %d", w.name(old.Master), old.MasterPriority)
		case hearing && cur.SyncGroup != "":
			return "sync group " + cur.SyncGroup
		case !old.Master.IsValid():
			return "no master heard"
		}
		return "master down"
	case old.State == "MASTER" && cur.State == "BACKUP":
		if cur.MasterPriority >= cur.Priority && cur.Master.IsValid() {
			return fmt.Sprintf("higher priority advert: %s, priority %d", w.name(cur.Master), cur.MasterPriority)
		}
		if cur.SyncGroup != "" {
			return "sync group " + cur.SyncGroup
		}
		return "higher priority advert"
	case cur.State == "FAULT":
		return "fault"
	case old.State == "FAULT":
		return "fault cleared"
	case cur.State == "INIT":
		return "stopped"
	case old.State == "INIT":
		return "started"
	}
	return ""
}

// name names the appliance with an address, or gives the address.
func (w *vrrpWatch) name(a netip.Addr) string {
	if n := w.names[a]; n != "" {
		return n
	}
	return a.String()
}

// record adds a transition.
func (w *vrrpWatch) record(app string, d appliance.VRRPDetail, from, to, why string, at time.Time) {
	w.transitions = append(w.transitions, VRRPTransition{At: max(at.Sub(w.start), 0), Appliance: app, Instance: d.Name,
		VRID: d.VRID, From: from, To: to, Reason: why, Priority: d.Priority})
}

// results returns the transitions in time order, and each appliance's instances: their
// state at the start and at the end, as the watch saw them.
func (w *vrrpWatch) results() ([]VRRPTransition, map[string][]VRRPInstanceReport) {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := append([]VRRPTransition(nil), w.transitions...)
	slices.SortStableFunc(out, func(a, b VRRPTransition) int { return cmp.Compare(a.At, b.At) })
	insts := map[string][]VRRPInstanceReport{}
	for name, v := range w.last {
		first := w.first[name]
		for i, d := range v.insts {
			ir := VRRPInstanceReport{Instance: d.Name, VRID: d.VRID, Interface: d.Interface, SyncGroup: d.SyncGroup,
				Version: d.Version, AdvertInt: d.Interval, MasterDown: d.MasterDown, Priority: d.Priority, End: d.State}
			if i < len(first) {
				ir.Start, ir.StartPriority = first[i].State, first[i].Priority
			}
			if v.inc == nil {
				ir.End = stateDown
			}
			if d.Master.IsValid() {
				ir.Master = d.Master.String()
				if n := w.names[d.Master]; n != "" {
					ir.Master = n + " " + ir.Master
				}
			}
			insts[name] = append(insts[name], ir)
		}
	}
	return out, insts
}

// settleVRRP waits until every virtual router of the topology has elected its MASTER (one
// instance MASTER, the others BACKUP or FAULT), or for twice the longest master-down
// interval and a second more: what an election takes, the routers starting as BACKUP.
func (r *runner) settleVRRP(ctx context.Context) {
	if !r.t.hasVRRP() {
		return
	}
	start := time.Now()
	limit := time.Second
	tick := time.NewTicker(vrrpPoll)
	defer tick.Stop()
	for {
		routers := map[string][]string{} // by virtual router: the states of its instances
		for _, n := range r.t.Nodes {
			an := r.appliances[n.Name]
			if an == nil {
				continue
			}
			a, _ := an.running()
			if a == nil {
				continue
			}
			for _, d := range a.VRRPDetails() {
				k := r.virtualRouter(n.Name, an.cfg, d)
				routers[k] = append(routers[k], d.State)
				limit = max(limit, 2*d.MasterDown+time.Second)
			}
		}
		settled := true
		for _, states := range routers {
			masters := 0
			for _, s := range states {
				if s == "MASTER" {
					masters++
				}
				settled = settled && s != "INIT"
			}
			settled = settled && masters == 1
		}
		if settled {
			return
		}
		if time.Since(start) > limit {
			var open []string
			for k, states := range routers {
				open = append(open, fmt.Sprintf("%s: %s", k, strings.Join(states, ", ")))
			}
			slices.Sort(open)
			r.log.Warn().Strs("routers", open).Msg("VRRP: no master elected before the clients start")
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// virtualRouter names the virtual router an instance is part of: its VRID and family on
// its interface's segment (the switch the interface is cabled to, or the link).
func (r *runner) virtualRouter(node string, cfg *conf.Config, d appliance.VRRPDetail) string {
	fam := "IPv4"
	for _, in := range cfg.VRRPInstances {
		if in.Name == d.Name && in.SrcIP.Is6() {
			fam = "IPv6"
		}
	}
	return fmt.Sprintf("VRID %d %s on %s", d.VRID, fam, r.segment(Endpoint{node, d.Interface}))
}

// segment names the L2 segment of an endpoint: the switch it is cabled to, or its link.
func (r *runner) segment(ep Endpoint) string {
	for _, l := range r.t.Links {
		other := l.B
		switch ep {
		case l.A:
		case l.B:
			other = l.A
		default:
			continue
		}
		if n := r.t.node(other.Node); n != nil && n.Kind == KindSwitch {
			return other.Node
		}
		return l.Name
	}
	return ep.String()
}
