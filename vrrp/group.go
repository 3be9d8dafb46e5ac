package vrrp

import (
	"errors"
	"time"
)

// Group is a sync group (keepalived's vrrp_sync_group): virtual routers that change state
// together, so that one box holds all of them (both sides of a NAT, say). Its rules are
// keepalived's:
//
//   - MASTER: the group goes MASTER only when every member wants to (its master-down timer
//     ran out, or it is master); a member whose timer runs out first waits in BACKUP,
//     re-arming its timer, for the others ("prefer backup to avoid thrashing"). When the
//     last one goes MASTER the others go with it, at once.
//   - BACKUP: a member that leaves MASTER (a higher-priority advert) takes the others from
//     MASTER to BACKUP with it, sending nothing.
//   - FAULT: a member's fault puts every member in FAULT (masters send priority 0); they
//     leave FAULT, to BACKUP, together once no member has a fault.
//   - At Start the group is MASTER only if every member is an address owner (255); an owner
//     in a group with others starts as BACKUP (keepalived warns "this won't work").
//
// Members are driven through their own methods as before (Receive, Tick, SetFault,
// SetPriorityDelta): any such call may act on other members too, and returns their actions
// with its own (Action.Router says whose), so a caller that keeps timers re-reads every
// member's Deadline after each call. Start and Shutdown on a member start and stop the
// whole group; the Group's own methods are shorthands over all members.
type Group struct {
	name    string
	members []*Router
	state   State
	acts    []Action
}

// NewGroup puts routers in a sync group named name. A router may be in one group only, and
// must not have been started.
func NewGroup(name string, members ...*Router) (*Group, error) {
	if len(members) == 0 {
		return nil, errors.New("vrrp: sync group " + name + " has no members")
	}
	for i, m := range members {
		switch {
		case m.group != nil:
			return nil, errors.New("vrrp: sync group " + name + ": " + m.cfg.Name + " is in a sync group already")
		case m.state != StateInit:
			return nil, errors.New("vrrp: sync group " + name + ": " + m.cfg.Name + " is running")
		}
		for _, o := range members[:i] {
			if o == m {
				return nil, errors.New("vrrp: sync group " + name + ": " + m.cfg.Name + " twice")
			}
		}
	}
	g := &Group{name: name, members: append([]*Router(nil), members...)}
	for _, m := range members {
		m.group = g
	}
	return g, nil
}

// Name returns the group's name.
func (g *Group) Name() string { return g.name }

// Members returns the group's routers.
func (g *Group) Members() []*Router { return append([]*Router(nil), g.members...) }

// State returns the group's state: INIT before Start and after Shutdown.
func (g *Group) State() State { return g.state }

// Start starts every member (see Router.Start).
func (g *Group) Start(now time.Time) []Action { return g.members[0].Start(now) }

// Shutdown stops every member (see Router.Shutdown).
func (g *Group) Shutdown(now time.Time) []Action { return g.members[0].Shutdown(now) }

// Tick runs every member's timer that is due.
func (g *Group) Tick(now time.Time) []Action {
	g.acts = g.acts[:0]
	for _, m := range g.members {
		m.tick(now)
	}
	if len(g.acts) == 0 {
		return nil
	}
	return g.acts
}

// Deadline returns the earliest of the members' deadlines (zero if none has one).
func (g *Group) Deadline() time.Time {
	var d time.Time
	for _, m := range g.members {
		if md := m.deadline; !md.IsZero() && (d.IsZero() || md.Before(d)) {
			d = md
		}
	}
	return d
}

func (g *Group) start(now time.Time) {
	if g.state != StateInit {
		return
	}
	fault, owners := false, true
	for _, m := range g.members {
		fault = fault || m.fault
		owners = owners && m.cfg.Priority == 255
	}
	switch {
	case fault:
		g.state = StateFault
		for _, m := range g.members {
			reason := ReasonSync
			if m.fault {
				reason = ReasonFault
			}
			m.deadline, m.want = time.Time{}, StateFault
			m.transition(StateFault, reason)
		}
	case owners:
		g.state = StateMaster
		for _, m := range g.members {
			m.gotoMaster(now, ReasonOwner)
		}
	default:
		g.state = StateBackup
		for _, m := range g.members {
			m.enterBackup(now, ReasonInit)
		}
	}
}

func (g *Group) shutdown(time.Time) {
	for _, m := range g.members {
		m.shutdown()
	}
	g.state = StateInit
}

// canGoMaster is keepalived's vrrp_sync_can_goto_master.
func (g *Group) canGoMaster(r *Router) bool {
	if g.state == StateMaster {
		return true
	}
	for _, m := range g.members {
		if m != r && m.want != StateMaster {
			return false
		}
	}
	return true
}

// syncMaster takes the other members to MASTER with r.
func (g *Group) syncMaster(now time.Time, r *Router) {
	if g.state == StateMaster {
		return
	}
	g.state = StateMaster
	for _, m := range g.members {
		if m != r && m.state == StateBackup {
			m.gotoMaster(now, ReasonSync)
		}
	}
}

// syncBackup takes the other members from MASTER to BACKUP with r.
func (g *Group) syncBackup(now time.Time, r *Router) {
	if g.state == StateBackup {
		return
	}
	g.state = StateBackup
	for _, m := range g.members {
		if m != r && m.state == StateMaster {
			m.leaveMaster(now, StateBackup, ReasonSync)
		}
	}
}

// syncFault takes the other members to FAULT with r.
func (g *Group) syncFault(now time.Time, r *Router) {
	if g.state == StateFault {
		return
	}
	g.state = StateFault
	for _, m := range g.members {
		if m != r && m.state != StateInit {
			m.enterFault(now, ReasonSync)
		}
	}
}

// leaveFault takes every member out of FAULT once none has a fault; r's was just cleared.
func (g *Group) leaveFault(now time.Time, r *Router) {
	for _, m := range g.members {
		if m.fault {
			return
		}
	}
	g.state = StateBackup
	r.enterBackup(now, ReasonFaultCleared)
	for _, m := range g.members {
		if m != r && m.state == StateFault {
			m.enterBackup(now, ReasonSync)
		}
	}
}
