package lab

import (
	"cmp"
	"context"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/uvs-lb/uvs/appliance"
)

// The health watch follows the appliances' health checks through the run: it reads each
// appliance's checked servers (appliance.CheckedServers) every healthPoll and turns each
// change of a server's aliveness into a HealthTransition, dated by the check that made it
// (a checker's last check until its next one, delay_loop later, so the date is exact while
// the poll is quicker than the checks) and explained by that checker's reason.

// healthPoll is how often the watch reads the appliances: well below any delay_loop a lab
// would use, and cheap (a lock and a copy of the checkers' states per appliance).
const healthPoll = 50 * time.Millisecond

// healthWatch is the run's view of the appliances' health checks.
type healthWatch struct {
	r     *runner
	start time.Time
	hosts map[netip.Addr]string // the hosts' interface addresses

	mu          sync.Mutex
	transitions []HealthTransition
	last        map[string]*watched // by appliance
}

// watched is what the watch last saw of one appliance.
type watched struct {
	inc     *appliance.Appliance // the incarnation
	servers map[string]appliance.CheckedServer
	order   []string // keys of servers, in the appliance's order
}

func newHealthWatch(r *runner) *healthWatch {
	w := &healthWatch{r: r, hosts: map[netip.Addr]string{}, last: map[string]*watched{}}
	for _, n := range r.t.Nodes {
		if n.Kind != KindHost {
			continue
		}
		for _, ifc := range n.Interfaces {
			for _, p := range ifc.Addrs {
				w.hosts[p.Addr()] = n.Name
			}
		}
	}
	return w
}

// run polls from start until ctx ends.
func (w *healthWatch) run(ctx context.Context, start time.Time) {
	w.mu.Lock()
	w.start = start
	w.mu.Unlock()
	tick := time.NewTicker(healthPoll)
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

// poll reads every running appliance once.
func (w *healthWatch) poll() {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := time.Now()
	for _, n := range w.r.t.Nodes {
		an := w.r.appliances[n.Name]
		if an == nil {
			continue
		}
		a := an.current()
		if a == nil {
			continue // killed: its servers are in no table, and its last view stays
		}
		w.observe(n.Name, a, a.CheckedServers(), now)
	}
}

// observe compares an appliance's checked servers with the last view and records what
// changed.
func (w *healthWatch) observe(name string, a *appliance.Appliance, servers []appliance.CheckedServer, now time.Time) {
	prev := w.last[name]
	cur := &watched{inc: a, servers: map[string]appliance.CheckedServer{}}
	for _, s := range servers {
		k := s.VirtualServer + " " + s.Addr.String()
		cur.servers[k] = s
		cur.order = append(cur.order, k)
		if prev == nil {
			continue // its state at the start (down only with alpha) is not a transition
		}
		old, ok := prev.servers[k]
		switch {
		case !ok: // a reload added it: it starts as its timing says, not a transition
		case prev.inc != a && old.Alive != s.Alive:
			// A restarted appliance checks from scratch: its servers start alive (or down
			// with alpha) whatever the last incarnation thought.
			w.record(name, s, s.Alive, cause{at: now, why: "appliance restarted"}, now)
		case prev.inc != a:
		case old.Alive && !s.Alive:
			w.record(name, s, false, downCause(s, old.Checks), now)
		case !old.Alive && s.Alive:
			w.record(name, s, true, upCause(s, old.Checks), now)
		}
	}
	w.last[name] = cur
}

// cause is when a transition happened and what made it.
type cause struct {
	at         time.Time
	check, why string
}

// downCause finds the checker that took s down: of those down now that were up or have gone
// down since (Downs), the first to have done so.
func downCause(s appliance.CheckedServer, before []appliance.CheckState) cause {
	var c cause
	for i, ck := range s.Checks {
		if ck.Up {
			continue
		}
		if i < len(before) && !before[i].Up && before[i].Downs == ck.Downs {
			continue // down already, and not since
		}
		if c.check == "" || ck.LastCheck.Before(c.at) {
			c = cause{at: ck.LastCheck, check: ck.Check, why: ck.LastReason}
		}
	}
	return c
}

// upCause finds the checker that brought s back: of those that were down, the last to pass.
func upCause(s appliance.CheckedServer, before []appliance.CheckState) cause {
	var c cause
	for i, ck := range s.Checks {
		if i < len(before) && before[i].Up && before[i].Ups == ck.Ups {
			continue // it was not down
		}
		if c.check == "" || ck.LastCheck.After(c.at) {
			c = cause{at: ck.LastCheck, check: ck.Check, why: "succeeded"}
		}
	}
	return c
}

// record adds a transition. Its date is the check's (the poll's when there is none), within
// the run.
func (w *healthWatch) record(app string, s appliance.CheckedServer, up bool, c cause, now time.Time) {
	at := c.at
	if at.IsZero() || at.After(now) {
		at = now
	}
	tr := HealthTransition{
		At: max(at.Sub(w.start), 0), Appliance: app, VirtualServer: serviceName(s.Service),
		Server: w.hosts[s.Addr.Addr()], Address: serverName(s.Addr), Up: up, Check: c.check, Reason: c.why,
	}
	if tr.Reason == "" && !up {
		tr.Reason = "failed"
	}
	w.transitions = append(w.transitions, tr)
}

// serviceName prints an ipvsadm service name as the lab's events write one: "10.0.0.1:80"
// for TCP, "UDP 10.0.0.1:53", "FWM 80".
func serviceName(ipvsadm string) string { return strings.TrimPrefix(ipvsadm, "TCP ") }

// results returns the transitions in time order, and each appliance's checked servers as
// last seen.
func (w *healthWatch) results() ([]HealthTransition, map[string][]CheckedReport) {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := append([]HealthTransition(nil), w.transitions...)
	sortTransitions(out)
	final := map[string][]CheckedReport{}
	for name, v := range w.last {
		for _, k := range v.order {
			s := v.servers[k]
			cr := CheckedReport{VirtualServer: serviceName(s.Service), Server: w.hosts[s.Addr.Addr()],
				Address: serverName(s.Addr), Alive: s.Alive}
			for _, ck := range s.Checks {
				cr.Checks += ck.Checks
				cr.Failed += ck.Failed
			}
			final[name] = append(final[name], cr)
		}
	}
	return out, final
}

// sortTransitions orders transitions by time, keeping the order they were seen in for equal
// times.
func sortTransitions(ts []HealthTransition) {
	slices.SortStableFunc(ts, func(a, b HealthTransition) int { return cmp.Compare(a.At, b.At) })
}
