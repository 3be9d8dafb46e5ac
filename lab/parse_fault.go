package lab

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/uvs-lb/uvs/conf"
)

// Fault events (issue 11): faults that repeat, and clock jumps.
//
//   - flap: a link (link_down, then link_up), a host's service (service_stop, then
//     service_start) or a node (kill, then restart) goes down and comes back, count times,
//     one every interval, down for down (default: half the interval).
//   - reload and weight take count and interval too: count reloads, one every interval. A
//     reload with no configuration re-applies the one in force (a SIGHUP with the file
//     unchanged); with one, the reloads alternate between it and the configuration in force
//     before the first of them (a change applied and taken back, over and over). A weight
//     with a count alternates between the new weight and the server's weight before.
//   - clock_jump: an appliance's clock jumps by `by` ("30m", "-10s"); see labClock.
//
// A repeated event is expanded when it is read into the events it stands for, each with
// its Repeat, so the rest of the lab (the checks of the timeline, the timeline, the
// expectations that date failures) sees ordinary events.

// The fault actions.
const (
	ActFlap      Action = "flap"       // a link, a service or a node goes down and up, count times
	ActClockJump Action = "clock_jump" // an appliance's clock jumps forward or back
)

// Repeat marks an event that a repeated event was expanded into.
type Repeat struct {
	Of       string        // the repeated event, as the report says it: "flap rs2/http ×10 every 1s"
	Nth, N   int           // this is the Nth event of the N it was expanded into (from 1)
	Count    int           // the repeated event's count
	Interval time.Duration // one every interval
	Down     time.Duration // flap: how long each down lasts

	back bool   // reload, weight: restores what was in force before the first of them
	base *Event // the repeated event (the same for each of its expansion)
}

func init() {
	actionKeys[ActFlap] = []string{"node", "service", "link", "count", "interval", "down"}
	actionKeys[ActClockJump] = []string{"node", "by"}
	actionKeys[ActReload] = append(actionKeys[ActReload], "count", "interval")
	actionKeys[ActWeight] = append(actionKeys[ActWeight], "count", "interval")
}

// maxRepeat bounds a count: a lab runs seconds to minutes.
const maxRepeat = 100000

// faultEvent reads what the fault actions take: a flap's subject and rhythm, a clock jump's
// node and size, a reload's or weight change's count and interval. event calls it for
// every action, before it closes the table.
func (r *reader) faultEvent(t *table, e *Event) {
	switch e.Action {
	case ActFlap:
		link, hasLink := t.Str("link")
		node, hasNode := t.Str("node")
		switch {
		case hasLink && (t.Has("node") || t.Has("service")):
			t.Errorf("link", "a flap takes a link, or a node (and a service of it), not both")
		case hasLink:
			e.Link = link
		case hasNode:
			e.Node = node
			e.Service, _ = t.Str("service")
		case !t.Has("link") && !t.Has("node"):
			t.Errorf("node", "a flap needs what flaps: link, node (killed and restarted), or node and service (stopped and started)")
		}
		if t.Has("service") && !t.Has("node") && !t.Has("link") {
			t.Errorf("service", "a service flaps on its node: add node")
		}
		rp := r.repeat(t, true)
		if rp == nil {
			return
		}
		rp.Down = rp.Interval / 2
		if d, ok := t.Duration("down", time.Millisecond, maxDuration); ok {
			if d >= rp.Interval {
				t.Errorf("down", "%v is not shorter than the interval %v: each flap comes back before the next", d, rp.Interval)
			}
			rp.Down = d
		}
		e.Repeat = rp
	case ActClockJump:
		e.Node = r.required(t, "node", "the appliance whose clock jumps")
		s, ok := t.Str("by")
		if !ok {
			if !t.Has("by") {
				t.Errorf("by", "a clock jump needs its size, like by = \"10m\" (forward) or by = \"-30s\" (back)")
			}
			return
		}
		d, err := time.ParseDuration(s)
		switch {
		case err != nil:
			t.Errorf("by", "%q is not a duration (like \"10m\", or \"-30s\" for a jump back)", s)
		case d == 0 || d > maxDuration || d < -maxDuration:
			t.Errorf("by", "must be between -%v and %v, and not 0, not %v", maxDuration, maxDuration, d)
		default:
			e.By = d
		}
	case ActReload, ActWeight:
		if t.Has("count") || t.Has("interval") {
			e.Repeat = r.repeat(t, false)
		}
	}
}

// repeat reads count and interval; a flap needs both, a reload or weight change both or
// neither.
func (r *reader) repeat(t *table, flap bool) *Repeat {
	count, okCount := t.Integer("count", 1, maxRepeat)
	interval, okInterval := t.Duration("interval", time.Millisecond, maxDuration)
	if !okCount && !t.Has("count") {
		what := "how many times"
		if flap {
			what = "how many times it goes down and comes back"
		}
		t.Errorf("count", "is required: %s", what)
	}
	if !okInterval && !t.Has("interval") {
		t.Errorf("interval", "is required: how long from one to the next, like \"1s\"")
	}
	if !okCount || !okInterval {
		return nil
	}
	return &Repeat{Count: int(count), Interval: interval}
}

// expand returns the events a repeated event stands for, in its place; any other event as
// it is. The last of them must come before the end of the run.
func (r *reader) expand(e *Event, duration time.Duration) []*Event {
	if e.Repeat == nil {
		if e.Action == ActFlap {
			return nil // its errors were reported
		}
		return []*Event{e}
	}
	rp := e.Repeat
	last := e.At + time.Duration(rp.Count-1)*rp.Interval
	if e.Action == ActFlap {
		last += rp.Down
	}
	if duration > 0 && last >= duration {
		r.Errorf(e.key+".count", "the last of %d ends at %v, not before the end of the run (duration %v)", rp.Count, last, duration)
		return nil
	}
	var out []*Event
	one := func(at time.Duration, a Action, back bool) {
		c := *e
		c.At, c.Action = at, a
		c.Repeat = &Repeat{Count: rp.Count, Interval: rp.Interval, Down: rp.Down, back: back, base: e}
		out = append(out, &c)
	}
	for i := range rp.Count {
		at := e.At + time.Duration(i)*rp.Interval
		switch {
		case e.Action != ActFlap:
			one(at, e.Action, i%2 == 1 && (e.Action == ActWeight || e.Config != nil))
		case e.Link != "":
			one(at, ActLinkDown, false)
			one(at+rp.Down, ActLinkUp, false)
		case e.Service != "":
			one(at, ActServiceStop, false)
			one(at+rp.Down, ActServiceStart, false)
		default:
			one(at, ActKill, false)
			one(at+rp.Down, ActRestart, false)
		}
	}
	of := fmt.Sprintf("%s %s ×%d every %v", e.Action, repeatSubject(e), rp.Count, rp.Interval)
	if e.Action == ActFlap {
		of += fmt.Sprintf(", down %v", rp.Down)
	}
	for i, x := range out {
		x.Repeat.Nth, x.Repeat.N, x.Repeat.Of = i+1, len(out), of
	}
	return out
}

// repeatSubject names what a repeated event is about.
func repeatSubject(e *Event) string {
	switch {
	case e.Action == ActWeight:
		return fmt.Sprintf("%s %s weight %d", e.Node, serverName(e.Server), e.Weight)
	case e.Link != "":
		return e.Link
	case e.Service != "":
		return e.Node + "/" + e.Service
	}
	return e.Node
}

// resolveRepeats fills in, in time order, what the expanded reloads and weight changes
// apply: a reload without a configuration gets the one in force, one that takes a change
// back the one in force before the first of its repetition, and a weight change that takes
// one back the server's weight before. The topology's checks then see ordinary events.
func resolveRepeats(t *Topology) {
	cur := map[string]*conf.Config{}
	for _, n := range t.Nodes {
		cur[n.Name] = n.Config
	}
	before := map[*Event]*conf.Config{}
	for _, e := range t.Events {
		c := cur[e.Node]
		if c == nil {
			continue
		}
		if e.Repeat != nil && e.Repeat.base != nil && before[e.Repeat.base] == nil {
			before[e.Repeat.base] = c
		}
		switch e.Action {
		case ActReload:
			switch {
			case e.Repeat != nil && e.Repeat.back:
				e.Config, e.ConfigFile = before[e.Repeat.base], ""
			case e.Config == nil:
				e.Config = c
			}
			cur[e.Node] = e.Config
		case ActWeight:
			if e.Repeat != nil && e.Repeat.back {
				if w, ok := weightOf(before[e.Repeat.base], e.Server, e.Virtual); ok {
					e.Weight = w
				}
			}
			if next, changed := withWeight(c, e.Server, e.Virtual, e.Weight); changed > 0 {
				cur[e.Node] = next
			}
		}
	}
}

// weightOf returns the weight of the first entry of server (any port when its port is 0)
// in c, in the virtual server named virtual or in any.
func weightOf(c *conf.Config, server netip.AddrPort, virtual string) (int32, bool) {
	for i := range c.Services {
		s := &c.Services[i]
		if virtual != "" && !namesService(virtual, s) {
			continue
		}
		for _, d := range s.Servers {
			if d.Addr == server.Addr() && (server.Port() == 0 || d.Port == server.Port()) {
				return d.Weight, true
			}
		}
	}
	return 0, false
}

// checkFaultEvents checks what checkEvents does not know of: a clock jumps on an appliance.
func (r *reader) checkFaultEvents(t *Topology) {
	for _, e := range t.Events {
		if e.Action != ActClockJump {
			continue
		}
		if n := t.node(e.Node); n != nil && n.Kind != KindAppliance {
			r.Errorf(e.key+".node", "%s is a %s; clock_jump moves an appliance's clock (the lab's hosts run on the Go runtime's)", n.Name, n.Kind)
		}
	}
}

// clockJumpSubject says what a clock jump does, for the report.
func clockJumpSubject(e *Event) string {
	if e.By < 0 {
		return fmt.Sprintf("%s back %v", e.Node, -e.By)
	}
	return fmt.Sprintf("%s forward %v", e.Node, e.By)
}
