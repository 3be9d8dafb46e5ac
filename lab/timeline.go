package lab

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/uvs-lb/uvs/lab/wire"
)

// timeline plays the events at their offsets from start, one after the other, until runCtx
// ends. Nodes live on ctx (the whole Run), not runCtx: a node restarted by the timeline
// must outlast the loads, for the report.
func (r *runner) timeline(ctx, runCtx context.Context, start time.Time) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for _, e := range r.t.Events {
		if wait := time.Until(start.Add(e.At)); wait > 0 {
			timer.Reset(wait)
			select {
			case <-runCtx.Done():
				return
			case <-timer.C:
			}
		}
		rep := EventReport{At: e.At, Action: e.Action, Subject: subject(e)}
		if e.Repeat != nil {
			rep.Repeat, rep.Nth, rep.N = e.Repeat.Of, e.Repeat.Nth, e.Repeat.N
		}
		if err := r.apply(ctx, e); err != nil {
			rep.Error = err.Error()
			r.log.Warn().Err(err).Str("event", rep.Subject).Msg(string(e.Action))
		}
		r.events = append(r.events, rep)
	}
}

// apply makes one event happen. The topology was checked, so what it names exists and is
// in the state the event needs.
func (r *runner) apply(ctx context.Context, e *Event) error {
	switch e.Action {
	case ActLinkDown, ActLinkUp:
		r.cableOf(e.Link).setDown(downPulled, e.Action == ActLinkDown)
	case ActImpair:
		r.cableOf(e.Link).w.SetImpairment(e.AtoB, e.BtoA)
	case ActPartition:
		r.partition(e.Groups)
	case ActHeal:
		for _, c := range r.cables {
			c.setDown(downPartition, false)
		}
	case ActKill:
		// Carrier first, as a machine that loses power drops off the wire at once.
		for _, c := range r.cables {
			if c.touches(e.Node) {
				c.setDown(downKilled+e.Node, true)
			}
		}
		if an := r.appliances[e.Node]; an != nil {
			an.kill()
		} else {
			r.hosts[e.Node].kill()
		}
	case ActRestart:
		var err error
		if an := r.appliances[e.Node]; an != nil {
			err = an.boot(ctx)
		} else {
			err = r.hosts[e.Node].boot(ctx)
		}
		if err != nil {
			return err
		}
		for _, c := range r.cables {
			if c.touches(e.Node) {
				c.setDown(downKilled+e.Node, false)
			}
		}
		if hn := r.hosts[e.Node]; hn != nil {
			r.knock(ctx, []*hostNode{hn})
		}
	case ActServiceStop, ActServiceStart:
		return r.hosts[e.Node].setStopped(ctx, e.Service, e.Action == ActServiceStop)
	case ActServiceFail, ActServiceRecover:
		r.hosts[e.Node].service(e.Service).http.SetFailing(e.Action == ActServiceFail)
	case ActReload:
		return r.appliances[e.Node].reload(e.Config)
	case ActWeight:
		an := r.appliances[e.Node]
		next, _ := withWeight(an.cfg, e.Server, e.Virtual, e.Weight)
		return an.reload(next)
	case ActClockJump:
		r.appliances[e.Node].clock.jump(e.By)
	default:
		return fmt.Errorf("unknown action %q", e.Action)
	}
	return nil
}

// partition cuts every link between nodes of different groups; the nodes no group names are
// one more group. It replaces the previous partition.
func (r *runner) partition(groups [][]string) {
	group := map[string]int{}
	for i, g := range groups {
		for _, name := range g {
			group[name] = i + 1
		}
	}
	for _, c := range r.cables {
		c.setDown(downPartition, group[c.l.A.Node] != group[c.l.B.Node])
	}
}

func (r *runner) cableOf(name string) *cable {
	l := r.t.link(name)
	for _, c := range r.cables {
		if c.l == l {
			return c
		}
	}
	panic("lab: no cable for checked link " + name)
}

// subject says what an event acts on, for the report.
func subject(e *Event) string {
	switch e.Action {
	case ActLinkDown, ActLinkUp:
		return e.Link
	case ActImpair:
		return e.Link + ": " + impairmentText(e.AtoB, e.BtoA)
	case ActPartition:
		var gs []string
		for _, g := range e.Groups {
			gs = append(gs, strings.Join(g, ","))
		}
		return strings.Join(gs, " | ") + " | the rest"
	case ActHeal:
		return "every link"
	case ActClockJump:
		return clockJumpSubject(e)
	case ActServiceStop, ActServiceStart, ActServiceFail, ActServiceRecover:
		return e.Node + "/" + e.Service
	case ActReload:
		if e.ConfigFile != "" {
			return e.Node + " from " + filepath.Base(e.ConfigFile)
		}
		return e.Node
	case ActWeight:
		s := fmt.Sprintf("%s %s weight %d", e.Node, serverName(e.Server), e.Weight)
		if e.Virtual != "" {
			s += " in " + e.Virtual
		}
		return s
	}
	return e.Node
}

// impairmentText describes the impairments of a link's two directions.
func impairmentText(atob, btoa wire.Impairment) string {
	a, b := oneImpairment(atob), oneImpairment(btoa)
	if a == b {
		return a
	}
	return "a→b " + a + "; b→a " + b
}

func oneImpairment(im wire.Impairment) string {
	var parts []string
	if im.Delay > 0 {
		parts = append(parts, "delay "+im.Delay.String())
	}
	if im.Jitter > 0 {
		parts = append(parts, "jitter "+im.Jitter.String())
	}
	for _, p := range []struct {
		name string
		v    float64
	}{{"loss", im.Loss}, {"duplicate", im.Duplicate}, {"reorder", im.Reorder}, {"corrupt", im.Corrupt}} {
		if p.v > 0 {
			parts = append(parts, fmt.Sprintf("%s %g%%", p.name, p.v))
		}
	}
	if im.Rate > 0 {
		parts = append(parts, "rate "+rateText(im.Rate))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, " ")
}

// rateText prints a bit rate with tc's units.
func rateText(bits uint64) string {
	for _, u := range []struct {
		unit string
		div  uint64
	}{{"gbit", 1e9}, {"mbit", 1e6}, {"kbit", 1e3}} {
		if bits >= u.div && bits%u.div == 0 {
			return fmt.Sprintf("%d%s", bits/u.div, u.unit)
		}
	}
	return fmt.Sprintf("%dbit", bits)
}
