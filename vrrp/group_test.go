package vrrp_test

import (
	"testing"

	"github.com/uvs-lb/uvs/vrrp"
)

// twoNodes: node A runs VRIDs 1 and 2 at priority 150 in sync group GA, node B the same at
// 100 in GB.
func twoNodes(t *testing.T) (s *sim, a1, a2, b1, b2 *vrrp.Router, ga, gb *vrrp.Group) {
	mk := func(name, addr string, vrid, prio uint8) *vrrp.Router {
		c := v2(name, addr, prio)
		c.VRID = vrid
		return newRouter(t, c)
	}
	a1, a2 = mk("A1", "10.0.0.1", 1, 150), mk("A2", "10.0.0.1", 2, 150)
	b1, b2 = mk("B1", "10.0.0.2", 1, 100), mk("B2", "10.0.0.2", 2, 100)
	var err error
	if ga, err = vrrp.NewGroup("GA", a1, a2); err != nil {
		t.Fatal(err)
	}
	if gb, err = vrrp.NewGroup("GB", b1, b2); err != nil {
		t.Fatal(err)
	}
	return newSim(t, a1, a2, b1, b2), a1, a2, b1, b2, ga, gb
}

func TestSyncGroup(t *testing.T) {
	s, a1, a2, b1, b2, ga, gb := twoNodes(t)
	s.start(a1, a2, b1, b2) // a member's Start starts its group; the second is a no-op
	downA := 3*sec + skew(150, sec)
	s.run(10 * sec)
	// A1's timer runs out first (it ticks first) but A2 does not want MASTER yet: A1 waits.
	// A2's runs out at the same time and it goes, taking A1 with it.
	s.expect(ev(0, "A1", init_, backup, vrrp.ReasonInit), ev(0, "A2", init_, backup, vrrp.ReasonInit),
		ev(0, "B1", init_, backup, vrrp.ReasonInit), ev(0, "B2", init_, backup, vrrp.ReasonInit),
		ev(downA, "A2", backup, master, vrrp.ReasonMasterDown),
		ev(downA, "A1", backup, master, vrrp.ReasonSync))
	if ga.State() != master || gb.State() != backup {
		t.Fatalf("groups %v %v", ga.State(), gb.State())
	}

	// A1's interface fails: all of A goes to FAULT, each master sending priority 0; B's
	// members both want MASTER after their skew time and go together.
	s.at(20 * sec)
	s.do(a1.SetFault(s.now, true))
	s.run(25 * sec)
	s.expect(ev(20*sec, "A1", master, fault, vrrp.ReasonFault),
		ev(20*sec, "A2", master, fault, vrrp.ReasonSync),
		ev(20*sec+skew(100, sec), "B2", backup, master, vrrp.ReasonPriorityZero),
		ev(20*sec+skew(100, sec), "B1", backup, master, vrrp.ReasonSync))
	if ga.State() != fault || gb.State() != master {
		t.Fatalf("groups %v %v", ga.State(), gb.State())
	}
	for _, r := range []*vrrp.Router{a1, a2} {
		if x := s.sent[r][len(s.sent[r])-1]; x != (sent{20 * sec, 0}) {
			t.Errorf("%s's last advert %+v", r.Config().Name, x)
		}
	}

	// A second fault in A, then the first cleared: A stays in FAULT until both are.
	s.do(a2.SetFault(s.now, true))
	s.at(30 * sec)
	s.do(a1.SetFault(s.now, false))
	s.at(31 * sec)
	s.expect()
	s.do(a2.SetFault(s.now, false))
	s.run(40 * sec)
	up := 31*sec + downA // A's members discard B's lower adverts and preempt together
	s.expect(ev(31*sec, "A2", fault, backup, vrrp.ReasonFaultCleared),
		ev(31*sec, "A1", fault, backup, vrrp.ReasonSync),
		ev(up, "A2", backup, master, vrrp.ReasonPreempt),
		ev(up, "A1", backup, master, vrrp.ReasonSync),
		// B2 hears A2's higher priority and takes B1 down with it.
		ev(up, "B2", master, backup, vrrp.ReasonHigherPriority),
		ev(up, "B1", master, backup, vrrp.ReasonSync))
	if ga.State() != master || gb.State() != backup {
		t.Fatalf("groups %v %v", ga.State(), gb.State())
	}

	// Shutting down a member stops its group: both masters send priority 0; B's go master
	// together after their skew time.
	s.do(a2.Shutdown(s.now))
	s.run(50 * sec)
	s.expect(ev(40*sec, "A1", master, init_, vrrp.ReasonShutdown),
		ev(40*sec, "A2", master, init_, vrrp.ReasonShutdown),
		ev(40*sec+skew(100, sec), "B2", backup, master, vrrp.ReasonPriorityZero),
		ev(40*sec+skew(100, sec), "B1", backup, master, vrrp.ReasonSync))
	if ga.State() != init_ {
		t.Errorf("GA %v", ga.State())
	}
}

// TestSyncGroupHeldBack: keepalived's groups prefer BACKUP: while one member still hears its
// master, a member whose master died waits in BACKUP (re-arming its timer) for ever.
func TestSyncGroupHeldBack(t *testing.T) {
	s, a1, a2, b1, _, _, gb := twoNodes(t)
	s.start(a1, b1)
	s.at(20 * sec)
	s.events = nil
	s.kill(a1)
	s.run(60 * sec)
	s.expect()
	if b1.State() != backup || gb.State() != backup {
		t.Fatalf("B1 %v, GB %v", b1.State(), gb.State())
	}
	// B1's timer did run out (at 23.0234375 s) and keeps being re-armed.
	if dl := b1.Deadline(); dl.Before(t0.Add(60*sec)) || dl.After(t0.Add(60*sec+b1.MasterDown())) {
		t.Fatalf("B1's deadline %v", dl.Sub(t0))
	}
	// When A2 dies too, B2's timer runs out (B1 already wants MASTER) and B goes together.
	s.kill(a2)
	s.run(70 * sec)
	at := 59*sec + skew(150, sec) + 3*sec + skew(100, sec)
	s.expect(ev(at, "B2", backup, master, vrrp.ReasonMasterDown), ev(at, "B1", backup, master, vrrp.ReasonSync))
}

func TestSyncGroupStart(t *testing.T) {
	mk := func(name string, vrid, prio uint8) *vrrp.Router {
		c := v2(name, "10.0.0.1", prio)
		c.VRID = vrid
		return newRouter(t, c)
	}
	// All owners: MASTER at once.
	o1, o2 := mk("O1", 1, 255), mk("O2", 2, 255)
	g, err := vrrp.NewGroup("G", o1, o2)
	if err != nil {
		t.Fatal(err)
	}
	acts := g.Start(t0)
	if len(acts) != 4 || acts[1].To != master || acts[3].To != master || acts[1].Reason != vrrp.ReasonOwner || acts[3].Router != o2 {
		t.Fatalf("owners: %+v", acts)
	}
	// An owner with a non-owner: both BACKUP (keepalived: "this won't work").
	m1, m2 := mk("M1", 1, 255), mk("M2", 2, 100)
	g, _ = vrrp.NewGroup("M", m1, m2)
	if acts := g.Start(t0); len(acts) != 2 || acts[0].To != backup || acts[1].To != backup {
		t.Fatalf("mixed: %+v", acts)
	}
	// A fault before Start: every member starts in FAULT.
	f1, f2 := mk("F1", 1, 100), mk("F2", 2, 100)
	g, _ = vrrp.NewGroup("F", f1, f2)
	f2.SetFault(t0, true)
	acts = f1.Start(t0)
	if len(acts) != 2 || acts[0].To != fault || acts[0].Reason != vrrp.ReasonSync || acts[1].Reason != vrrp.ReasonFault {
		t.Fatalf("fault: %+v", acts)
	}
	if g.State() != fault || !g.Deadline().IsZero() {
		t.Fatalf("group %v, deadline %v", g.State(), g.Deadline())
	}
	acts = f2.SetFault(t0.Add(sec), false)
	if len(acts) != 2 || acts[0].Router != f2 || acts[0].Reason != vrrp.ReasonFaultCleared || acts[1].Router != f1 || acts[1].To != backup {
		t.Fatalf("cleared: %+v", acts)
	}
	// Group.Tick and Deadline run the members' timers.
	if g.Deadline() != t0.Add(sec+3*sec+skew(100, sec)) {
		t.Fatalf("deadline %v", g.Deadline().Sub(t0))
	}
	if acts := g.Tick(g.Deadline().Add(-1)); acts != nil {
		t.Fatalf("early: %+v", acts)
	}
	acts = g.Tick(g.Deadline())
	if len(acts) != 4 || f1.State() != master || f2.State() != master || g.State() != master {
		t.Fatalf("tick: %+v", acts)
	}
	if len(g.Members()) != 2 || g.Name() != "F" || f1.Group() != g {
		t.Fatal("accessors")
	}
	if acts := g.Shutdown(t0.Add(10 * sec)); len(acts) != 4 {
		t.Fatalf("shutdown: %+v", acts)
	}
}

func TestNewGroupErrors(t *testing.T) {
	r1 := newRouter(t, v2("R1", "10.0.0.1", 100))
	r2 := newRouter(t, v2("R2", "10.0.0.1", 100))
	if _, err := vrrp.NewGroup("empty"); err == nil {
		t.Error("empty group")
	}
	if _, err := vrrp.NewGroup("twice", r1, r1); err == nil {
		t.Error("a router twice")
	}
	if _, err := vrrp.NewGroup("g", r1); err != nil {
		t.Fatal(err)
	}
	if _, err := vrrp.NewGroup("h", r2, r1); err == nil {
		t.Error("a router in two groups")
	}
	if r2.Group() != nil {
		t.Error("a failed NewGroup kept a member")
	}
	r2.Start(t0)
	if _, err := vrrp.NewGroup("h", r2); err == nil {
		t.Error("a running router")
	}
}
