package vrrp_test

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/uvs-lb/uvs/vrrp"
)

// v2 returns the configuration of a version 2 router with advert_int 1 s.
func v2(name, addr string, prio uint8) vrrp.Config {
	return vrrp.Config{Name: name, VRID: 51, Version: 2, Priority: prio, Interval: sec,
		Primary: ip(addr), Addrs: ips("10.0.0.100")}
}

// v3 returns the configuration of a version 3 router with advert interval ivl.
func v3(name, addr string, prio uint8, ivl time.Duration) vrrp.Config {
	return vrrp.Config{Name: name, VRID: 51, Version: 3, Priority: prio, Interval: ivl,
		Primary: ip(addr), Addrs: ips("10.0.0.100")}
}

func sentAt(ss []sent) []time.Duration {
	var out []time.Duration
	for _, s := range ss {
		out = append(out, s.at)
	}
	return out
}

func TestElectionAndMasterDown(t *testing.T) {
	a := newRouter(t, v2("A", "10.0.0.1", 150))
	b := newRouter(t, v2("B", "10.0.0.2", 100))
	s := newSim(t, a, b)
	s.start(a, b)
	s.expect(ev(0, "A", init_, backup, vrrp.ReasonInit), ev(0, "B", init_, backup, vrrp.ReasonInit))

	// Master_Down_Interval = 3 × Advertisement_Interval + Skew_Time, Skew_Time = (256 − p)/256 s.
	downA, downB := 3*sec+skew(150, sec), 3*sec+skew(100, sec)
	if downA != 3414062500*time.Nanosecond || downB != 3609375000*time.Nanosecond {
		t.Fatalf("master down %v %v", downA, downB)
	}
	if a.MasterDown() != downA || b.MasterDown() != downB || a.Skew() != 106*sec/256 {
		t.Fatalf("MasterDown %v %v, Skew %v", a.MasterDown(), b.MasterDown(), a.Skew())
	}
	if a.Deadline() != t0.Add(downA) || b.Deadline() != t0.Add(downB) {
		t.Fatalf("deadlines %v %v", a.Deadline().Sub(t0), b.Deadline().Sub(t0))
	}
	s.run(20 * sec)
	s.expect(ev(downA, "A", backup, master, vrrp.ReasonMasterDown))

	// A advertises every second from downA on; B accepts each and never times out.
	var want []time.Duration
	for at := downA; at <= 20*sec; at += sec {
		want = append(want, at)
	}
	if got := sentAt(s.sent[a]); !slices.Equal(got, want) {
		t.Errorf("A sent at %v, want %v", got, want)
	}
	if len(s.sent[b]) != 0 {
		t.Errorf("B sent %v", s.sent[b])
	}
	if addr, prio := b.Master(); addr != ip("10.0.0.1") || prio != 150 {
		t.Errorf("B's master %v %d", addr, prio)
	}
	if st := a.Stats(); st.AdvertSent != 17 || st.BecomeMaster != 1 || st.AdvertRcvd != 0 {
		t.Errorf("A stats %+v", st)
	}
	if st := b.Stats(); st.AdvertRcvd != 17 || st.BecomeMaster != 0 {
		t.Errorf("B stats %+v", st)
	}
	if b.Deadline() != t0.Add(want[len(want)-1]+downB) {
		t.Errorf("B's deadline %v, want the last advert + %v", b.Deadline().Sub(t0), downB)
	}

	// A vanishes: B takes over exactly Master_Down_Interval after A's last advert.
	s.kill(a)
	last := want[len(want)-1] // 19.4140625 s
	s.run(40 * sec)
	s.expect(ev(last+downB, "B", backup, master, vrrp.ReasonMasterDown)) // 23.0234375 s
}

func TestTickExactlyAtDeadline(t *testing.T) {
	b := newRouter(t, v2("B", "10.0.0.2", 100))
	b.Start(t0)
	adv := vrrp.Advert{Version: 2, VRID: 51, Priority: 150, Interval: sec, Addrs: ips("10.0.0.100")}
	if _, err := b.Receive(t0.Add(sec), ip("10.0.0.1"), &adv); err != nil {
		t.Fatal(err)
	}
	dl := t0.Add(sec + 3*sec + skew(100, sec))
	if b.Deadline() != dl {
		t.Fatalf("deadline %v", b.Deadline().Sub(t0))
	}
	if acts := b.Tick(dl.Add(-time.Nanosecond)); acts != nil || b.State() != backup {
		t.Fatalf("early tick: %+v", acts)
	}
	acts := b.Tick(dl)
	if len(acts) != 2 || acts[0].Kind != vrrp.ActSend || acts[0].Advert.Priority != 100 ||
		acts[1].Kind != vrrp.ActTransition || acts[1].To != master || acts[1].Router != b {
		t.Fatalf("tick at the deadline: %+v", acts)
	}
	if b.Deadline() != dl.Add(sec) {
		t.Fatalf("next advert at %v", b.Deadline().Sub(t0))
	}
	if acts := b.Tick(dl.Add(sec)); len(acts) != 1 || acts[0].Kind != vrrp.ActSend {
		t.Fatalf("master tick: %+v", acts)
	}
}

// preemptSetup: B (100) is master alone from 3.609375 s, advertising at x.609375 s; A (150),
// configured by f, starts at 10 s.
func preemptSetup(t *testing.T, f func(*vrrp.Config)) (*sim, *vrrp.Router, *vrrp.Router) {
	ca := v2("A", "10.0.0.1", 150)
	f(&ca)
	a := newRouter(t, ca)
	b := newRouter(t, v2("B", "10.0.0.2", 100))
	s := newSim(t, a, b)
	s.start(b)
	s.at(10 * sec)
	s.start(a)
	s.expect(ev(0, "B", init_, backup, vrrp.ReasonInit),
		ev(3*sec+skew(100, sec), "B", backup, master, vrrp.ReasonMasterDown),
		ev(10*sec, "A", init_, backup, vrrp.ReasonInit))
	return s, a, b
}

func TestPreempt(t *testing.T) {
	s, a, _ := preemptSetup(t, func(*vrrp.Config) {})
	// A discards B's lower-priority adverts, so its master-down timer, started at 10 s, runs out.
	s.run(60 * sec)
	at := 10*sec + 3*sec + skew(150, sec) // 13.4140625 s
	s.expect(ev(at, "A", backup, master, vrrp.ReasonPreempt),
		ev(at, "B", master, backup, vrrp.ReasonHigherPriority))
	if a.Stats().AdvertRcvd != 3 { // 10.609375, 11.609375, 12.609375: counted, discarded
		t.Errorf("A received %d", a.Stats().AdvertRcvd)
	}
}

func TestNoPreempt(t *testing.T) {
	s, a, b := preemptSetup(t, func(c *vrrp.Config) { c.NoPreempt = true })
	s.run(60 * sec)
	s.expect()
	if a.State() != backup {
		t.Fatalf("A is %v", a.State())
	}
	// Only when B goes does A take over: a master-down interval after B's last advert.
	s.kill(b)
	s.run(70 * sec)
	s.expect(ev(59*sec+skew(100, sec)+3*sec+skew(150, sec), "A", backup, master, vrrp.ReasonMasterDown))
}

func TestPreemptDelay(t *testing.T) {
	s, _, _ := preemptSetup(t, func(c *vrrp.Config) { c.PreemptDelay = 5 * sec })
	// A accepts B's adverts from the first one (10.609375 s) until 5 s later; it discards the
	// one at 15.609375 s and after, and takes over a master-down interval after the last one
	// it accepted, 14.609375 s.
	s.run(60 * sec)
	at := 14*sec + skew(100, sec) + 3*sec + skew(150, sec) // 18.0234375 s
	s.expect(ev(at, "A", backup, master, vrrp.ReasonPreempt),
		ev(at, "B", master, backup, vrrp.ReasonHigherPriority))
}

func TestStartMasterIsAHint(t *testing.T) {
	c := v2("A", "10.0.0.1", 150)
	c.StartMaster, c.NoPreempt, c.PreemptDelay = true, true, 5*sec
	a := newRouter(t, c)
	if got := a.Config(); got.NoPreempt || got.PreemptDelay != 0 {
		t.Errorf("StartMaster keeps nopreempt / preempt_delay: %+v", got)
	}
	// keepalived 2.x: state MASTER below 255 starts as BACKUP and waits a master-down interval.
	if acts := a.Start(t0); len(acts) != 1 || acts[0].To != backup || a.Deadline() != t0.Add(3*sec+skew(150, sec)) {
		t.Fatalf("start: %+v", acts)
	}
	c = v2("O", "10.0.0.1", 0)
	c.StartMaster = true
	if o := newRouter(t, c); o.Config().Priority != 255 {
		t.Errorf("state MASTER with no priority: %d, want 255", o.Config().Priority)
	}
	if o := newRouter(t, v2("D", "10.0.0.1", 0)); o.Config().Priority != 100 {
		t.Errorf("default priority %d", o.Config().Priority)
	}
}

func TestPriorityZeroHandover(t *testing.T) {
	a := newRouter(t, v2("A", "10.0.0.1", 150))
	b := newRouter(t, v2("B", "10.0.0.2", 100))
	s := newSim(t, a, b)
	s.start(a, b)
	s.at(20 * sec)
	s.events = nil
	s.do(a.Shutdown(s.now))
	s.run(40 * sec)
	// B takes over its skew time after A's priority 0 advert, not a master-down interval.
	s.expect(ev(20*sec, "A", master, init_, vrrp.ReasonShutdown),
		ev(20*sec+skew(100, sec), "B", backup, master, vrrp.ReasonPriorityZero))
	if n := len(s.sent[a]); s.sent[a][n-1] != (sent{20 * sec, 0}) {
		t.Errorf("A's last advert %+v", s.sent[a][n-1])
	}
	for _, x := range s.sent[a][:len(s.sent[a])-1] {
		if x.prio != 150 {
			t.Errorf("A sent %+v", x)
		}
	}
	if a.Stats().PriZeroSent != 1 || b.Stats().PriZeroRcvd != 1 {
		t.Errorf("pri_zero_sent %d, pri_zero_rcvd %d", a.Stats().PriZeroSent, b.Stats().PriZeroRcvd)
	}
	if !a.Deadline().IsZero() || a.State() != init_ {
		t.Errorf("A after shutdown: %v, deadline %v", a.State(), a.Deadline())
	}
	// Stopped, A hears nothing; started again, it is a backup that preempts B.
	if a.Stats().AdvertRcvd != 0 {
		t.Errorf("A counted adverts while stopped: %d", a.Stats().AdvertRcvd)
	}
	s.start(a)
	s.run(60 * sec)
	s.expect(ev(40*sec, "A", init_, backup, vrrp.ReasonInit),
		ev(40*sec+3*sec+skew(150, sec), "A", backup, master, vrrp.ReasonPreempt),
		ev(40*sec+3*sec+skew(150, sec), "B", master, backup, vrrp.ReasonHigherPriority))
}

func TestShutdownBackupSendsNothing(t *testing.T) {
	b := newRouter(t, v2("B", "10.0.0.2", 100))
	b.Start(t0)
	acts := b.Shutdown(t0.Add(sec))
	if len(acts) != 1 || acts[0].Kind != vrrp.ActTransition || acts[0].From != backup || acts[0].To != init_ {
		t.Fatalf("shutdown: %+v", acts)
	}
	if acts := b.Shutdown(t0.Add(2 * sec)); acts != nil {
		t.Fatalf("second shutdown: %+v", acts)
	}
	if b.Stats().PriZeroSent != 0 || b.Stats().AdvertSent != 0 {
		t.Errorf("stats %+v", b.Stats())
	}
}

func TestV3Centiseconds(t *testing.T) {
	a := newRouter(t, v3("A", "10.0.0.1", 150, 100*ms))
	b := newRouter(t, v3("B", "10.0.0.2", 100, 100*ms))
	s := newSim(t, a, b)
	s.start(a, b)
	// Skew_Time = (256 − p) × Master_Adver_Interval / 256 (RFC 5798 6.1).
	downA := 300*ms + skew(150, 100*ms) // 341.40625 ms
	downB := 300*ms + skew(100, 100*ms) // 360.9375 ms
	if downA != 341406250*time.Nanosecond || downB != 360937500*time.Nanosecond || b.MasterDown() != downB {
		t.Fatalf("master down %v %v", downA, downB)
	}
	s.run(sec)
	s.kill(a)
	s.run(2 * sec)
	last := downA + 6*100*ms // 941.40625 ms, A's last advert before it died at 1 s
	failover := last + downB // 1.30234375 s
	s.expect(ev(0, "A", init_, backup, vrrp.ReasonInit), ev(0, "B", init_, backup, vrrp.ReasonInit),
		ev(downA, "A", backup, master, vrrp.ReasonMasterDown),
		ev(failover, "B", backup, master, vrrp.ReasonMasterDown))
	if failover-sec > 500*ms || downB > 500*ms {
		t.Errorf("failover %v after the master died (at most %v)", failover-sec, downB)
	}
	// B advertises every 100 ms.
	if got := sentAt(s.sent[b]); len(got) < 2 || got[1]-got[0] != 100*ms {
		t.Errorf("B sent at %v", got)
	}
}

func TestV3IntervalLearning(t *testing.T) {
	a := newRouter(t, v3("A", "10.0.0.1", 150, 200*ms))
	b := newRouter(t, v3("B", "10.0.0.2", 100, 100*ms))
	s := newSim(t, a, b)
	s.start(a, b)
	s.run(2 * sec)
	// B, faster, is master first; A preempts at its own master-down time; B learns 200 ms.
	downB := 300*ms + skew(100, 100*ms) // 360.9375 ms
	downA := 600*ms + skew(150, 200*ms) // 682.8125 ms
	s.expect(ev(0, "A", init_, backup, vrrp.ReasonInit), ev(0, "B", init_, backup, vrrp.ReasonInit),
		ev(downB, "B", backup, master, vrrp.ReasonMasterDown),
		ev(downA, "A", backup, master, vrrp.ReasonPreempt),
		ev(downA, "B", master, backup, vrrp.ReasonHigherPriority))
	if b.MasterInterval() != 200*ms {
		t.Fatalf("B's Master_Adver_Interval %v", b.MasterInterval())
	}
	learned := 600*ms + skew(100, 200*ms) // 721.875 ms
	if b.MasterDown() != learned {
		t.Fatalf("B's master down %v, want %v", b.MasterDown(), learned)
	}
	s.kill(a)
	s.run(4 * sec)
	last := downA + 6*200*ms // 1.8828125 s
	s.expect(ev(last+learned, "B", backup, master, vrrp.ReasonMasterDown))
	// As master B goes back to its own interval.
	if b.MasterInterval() != 100*ms {
		t.Errorf("B's interval as master %v", b.MasterInterval())
	}
	got := sentAt(s.sent[b])
	if n := len(got); got[n-1]-got[n-2] != 100*ms {
		t.Errorf("B advertises every %v", got[n-1]-got[n-2])
	}
}

func TestV2IntervalMismatch(t *testing.T) {
	ca := v2("A", "10.0.0.1", 150)
	ca.Interval = 2 * sec
	a := newRouter(t, ca)
	b := newRouter(t, v2("B", "10.0.0.2", 100))
	s := newSim(t, a, b)
	s.start(a, b)
	s.run(30 * sec)
	// keepalived drops v2 adverts of another interval ("to prevent concurrent VRID
	// running"): each side counts them and is master, and nothing flaps.
	s.expect(ev(0, "A", init_, backup, vrrp.ReasonInit), ev(0, "B", init_, backup, vrrp.ReasonInit),
		ev(3*sec+skew(100, sec), "B", backup, master, vrrp.ReasonMasterDown),
		ev(6*sec+skew(150, sec), "A", backup, master, vrrp.ReasonMasterDown))
	if a.Stats().AdvertIntervalErr == 0 || b.Stats().AdvertIntervalErr == 0 || a.Stats().AdvertRcvd != 0 {
		t.Errorf("A %+v\nB %+v", a.Stats(), b.Stats())
	}
	for _, err := range append(s.errs[a], s.errs[b]...) {
		if err != vrrp.ErrInterval {
			t.Fatalf("error %v", err)
		}
	}
}

func TestAddressOwner(t *testing.T) {
	ca := v2("A", "10.0.0.1", 255)
	ca.NoPreempt = true
	a := newRouter(t, ca)
	if a.Config().NoPreempt {
		t.Error("owner keeps nopreempt")
	}
	b := newRouter(t, v2("B", "10.0.0.2", 100))
	s := newSim(t, a, b)
	s.start(b)
	s.at(10 * sec)
	s.start(a)
	// The owner is master at once, and the backup yields to its first advert.
	s.run(30 * sec)
	s.expect(ev(0, "B", init_, backup, vrrp.ReasonInit),
		ev(3*sec+skew(100, sec), "B", backup, master, vrrp.ReasonMasterDown),
		ev(10*sec, "A", init_, master, vrrp.ReasonOwner),
		ev(10*sec, "B", master, backup, vrrp.ReasonHigherPriority))
	if s.sent[a][0] != (sent{10 * sec, 255}) {
		t.Errorf("owner's first advert %+v", s.sent[a][0])
	}
	// Tracking does not move an owner.
	a.SetPriorityDelta(-100)
	if a.Priority() != 255 {
		t.Errorf("owner priority %d", a.Priority())
	}
	if a.Skew() != sec/256 {
		t.Errorf("owner skew %v", a.Skew())
	}
}

func TestAuthentication(t *testing.T) {
	pass := func(c vrrp.Config, pw string) vrrp.Config { c.AuthPass = pw; return c }
	a := newRouter(t, pass(v2("A", "10.0.0.1", 150), "secret"))
	b := newRouter(t, pass(v2("B", "10.0.0.2", 100), "secret"))
	c := newRouter(t, pass(v2("C", "10.0.0.3", 254), "wrong"))
	d := newRouter(t, v2("D", "10.0.0.4", 253))
	s := newSim(t, a, b, c, d)
	s.start(a, b)
	s.run(10 * sec)
	s.expect(ev(0, "A", init_, backup, vrrp.ReasonInit), ev(0, "B", init_, backup, vrrp.ReasonInit),
		ev(3*sec+skew(150, sec), "A", backup, master, vrrp.ReasonMasterDown))
	// C (wrong password) and D (none) hear nobody and become masters too; A and B ignore them,
	// counting, and nothing flaps.
	s.start(c, d)
	s.run(60 * sec)
	s.expect(ev(10*sec, "C", init_, backup, vrrp.ReasonInit), ev(10*sec, "D", init_, backup, vrrp.ReasonInit),
		ev(13*sec+skew(254, sec), "C", backup, master, vrrp.ReasonMasterDown),
		ev(13*sec+skew(253, sec), "D", backup, master, vrrp.ReasonMasterDown))
	if st := a.Stats(); st.AuthFailure == 0 || st.AuthtypeMismatch == 0 || st.AdvertRcvd != 0 {
		t.Errorf("A %+v", st)
	}
	if st := c.Stats(); st.AuthFailure == 0 || st.AuthtypeMismatch == 0 {
		t.Errorf("C %+v", st)
	}
	if st := d.Stats(); st.AuthtypeMismatch == 0 || st.AuthFailure != 0 {
		t.Errorf("D %+v", st)
	}
	if a.State() != master || b.State() != backup {
		t.Errorf("A %v, B %v", a.State(), b.State())
	}
	if got := s.sent[a][0]; got.prio != 150 {
		t.Errorf("A sent %+v", got)
	}
}

func TestEqualPriorityTieBreak(t *testing.T) {
	a := newRouter(t, v2("A", "10.0.0.1", 100))
	b := newRouter(t, v2("B", "10.0.0.2", 100))
	s := newSim(t, a, b)
	s.latency = ms // both time out together; their adverts cross on the wire
	s.start(a, b)
	s.run(20 * sec)
	down := 3*sec + skew(100, sec)
	s.expect(ev(0, "A", init_, backup, vrrp.ReasonInit), ev(0, "B", init_, backup, vrrp.ReasonInit),
		ev(down, "A", backup, master, vrrp.ReasonMasterDown),
		ev(down, "B", backup, master, vrrp.ReasonMasterDown),
		// Equal priority: the higher primary address wins.
		ev(down+ms, "A", master, backup, vrrp.ReasonHigherPriority))
	// B answered A's advert with one of its own at once (keepalived's "forcing new election").
	if got := sentAt(s.sent[b]); got[1] != down+ms {
		t.Errorf("B sent at %v", got)
	}
}

func TestMasterAnswers(t *testing.T) {
	c := v2("B", "10.0.0.2", 100)
	b := newRouter(t, c)
	c.Name, c.LowerPrioNoAdvert = "Q", true
	q := newRouter(t, c)
	for _, r := range []*vrrp.Router{b, q} {
		r.Start(t0)
		r.Tick(r.Deadline()) // master
	}
	now := b.Deadline().Add(-500 * ms)
	adv := func(prio uint8) *vrrp.Advert {
		return &vrrp.Advert{Version: 2, VRID: 51, Priority: prio, Interval: sec, Addrs: ips("10.0.0.100")}
	}
	sends := func(acts []vrrp.Action) int {
		n := 0
		for _, a := range acts {
			if a.Kind == vrrp.ActSend {
				n++
			}
		}
		return n
	}
	cases := []struct {
		name    string
		r       *vrrp.Router
		src     string
		prio    uint8
		sends   int
		state   vrrp.State
		resched bool
	}{
		{"lower priority: answered", b, "10.0.0.1", 50, 1, master, true},
		{"equal priority, lower address: answered", b, "10.0.0.1", 100, 1, master, true},
		{"own advert looped back", b, "10.0.0.2", 100, 0, master, false},
		{"priority 0: answered", b, "10.0.0.1", 0, 1, master, true},
		{"priority 0 with lower_prio_no_advert: answered", q, "10.0.0.1", 0, 1, master, true},
		{"lower priority, lower_prio_no_advert: silence", q, "10.0.0.1", 50, 0, master, false},
		{"higher priority: yields", q, "10.0.0.1", 101, 0, backup, false},
		{"equal priority, higher address: yields", b, "10.0.0.3", 100, 0, backup, false},
	}
	for _, tc := range cases {
		before := tc.r.Deadline()
		acts, err := tc.r.Receive(now, ip(tc.src), adv(tc.prio))
		if err != nil || sends(acts) != tc.sends || tc.r.State() != tc.state {
			t.Errorf("%s: %v, %+v, %v", tc.name, err, acts, tc.r.State())
		}
		if tc.resched && tc.r.Deadline() != now.Add(sec) || !tc.resched && tc.state == master && tc.r.Deadline() != before {
			t.Errorf("%s: next advert at %v", tc.name, tc.r.Deadline().Sub(now))
		}
	}
	if b.Deadline() != now.Add(3*sec+skew(100, sec)) {
		t.Errorf("after yielding, master down at %v", b.Deadline().Sub(now))
	}
	if st := b.Stats(); st.ReleaseMaster != 1 || st.PriZeroRcvd != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestTrackingHandover(t *testing.T) {
	a := newRouter(t, v2("A", "10.0.0.1", 150))
	b := newRouter(t, v2("B", "10.0.0.2", 120))
	s := newSim(t, a, b)
	s.start(a, b)
	s.at(20 * sec)
	s.events = nil
	// A's tracked interface goes down, weight −40: A advertises 110, which B discards, so
	// B takes over a master-down interval after the last advert of 150 (19.4140625 s).
	a.SetPriorityDelta(-40)
	if a.Priority() != 110 {
		t.Fatalf("priority %d", a.Priority())
	}
	s.run(30 * sec)
	at := 19*sec + skew(150, sec) + 3*sec + skew(120, sec) // 22.9453125 s
	s.expect(ev(at, "B", backup, master, vrrp.ReasonPreempt), ev(at, "A", master, backup, vrrp.ReasonHigherPriority))
	if !slices.Contains(s.sent[a], sent{20*sec + skew(150, sec), 110}) || !slices.Contains(s.sent[a], sent{19*sec + skew(150, sec), 150}) {
		t.Errorf("A's adverts %+v", s.sent[a])
	}
	// Back up: A (a backup at 110 that accepted B's 120) is at 150 again; its master-down
	// timer moves by the change in its skew time, and it preempts B when it runs out.
	lastB := at + 7*sec // 29.9453125 s
	if a.Deadline() != t0.Add(lastB+3*sec+skew(110, sec)) {
		t.Fatalf("A's deadline %v", a.Deadline().Sub(t0))
	}
	a.SetPriorityDelta(0)
	if a.Deadline() != t0.Add(lastB+3*sec+skew(150, sec)) {
		t.Fatalf("A's deadline after the change %v", a.Deadline().Sub(t0))
	}
	s.run(40 * sec)
	at = lastB + 3*sec + skew(150, sec) // 33.359375 s
	s.expect(ev(at, "A", backup, master, vrrp.ReasonPreempt), ev(at, "B", master, backup, vrrp.ReasonHigherPriority))
}

func TestPriorityClamp(t *testing.T) {
	r := newRouter(t, v2("A", "10.0.0.1", 100))
	for _, tc := range []struct {
		delta int
		want  uint8
	}{{-1000, 1}, {-99, 1}, {-98, 2}, {0, 100}, {154, 254}, {155, 254}, {1000, 254}} {
		r.SetPriorityDelta(tc.delta)
		if r.Priority() != tc.want {
			t.Errorf("delta %d: priority %d, want %d", tc.delta, r.Priority(), tc.want)
		}
	}
}

func TestFaultAndRecovery(t *testing.T) {
	a := newRouter(t, v2("A", "10.0.0.1", 150))
	b := newRouter(t, v2("B", "10.0.0.2", 100))
	s := newSim(t, a, b)
	s.start(a, b)
	s.at(20 * sec)
	s.events = nil
	// A master's fault: it sends priority 0 (keepalived does) and releases; B takes over
	// after its skew time.
	s.do(a.SetFault(s.now, true))
	if a.SetFault(s.now, true) != nil {
		t.Error("setting the fault twice acts")
	}
	if x := s.sent[a][len(s.sent[a])-1]; x != (sent{20 * sec, 0}) {
		t.Errorf("A's last advert %+v", x)
	}
	rcvd := a.Stats().AdvertRcvd
	s.at(30 * sec)
	if a.Stats().AdvertRcvd != rcvd || !a.Deadline().IsZero() || !a.Fault() {
		t.Errorf("A in FAULT heard adverts, or has a timer")
	}
	// Cleared: BACKUP with a fresh master-down timer; it preempts B when that runs out.
	s.do(a.SetFault(s.now, false))
	s.run(40 * sec)
	s.expect(ev(20*sec, "A", master, fault, vrrp.ReasonFault),
		ev(20*sec+skew(100, sec), "B", backup, master, vrrp.ReasonPriorityZero),
		ev(30*sec, "A", fault, backup, vrrp.ReasonFaultCleared),
		ev(30*sec+3*sec+skew(150, sec), "A", backup, master, vrrp.ReasonPreempt),
		ev(30*sec+3*sec+skew(150, sec), "B", master, backup, vrrp.ReasonHigherPriority))
	if st := a.Stats(); st.ReleaseMaster != 1 || st.PriZeroSent != 1 || st.BecomeMaster != 2 {
		t.Errorf("A %+v", st)
	}
	// A backup's fault sends nothing.
	n := len(s.sent[b])
	s.do(b.SetFault(s.now, true))
	s.at(41 * sec)
	s.do(b.SetFault(s.now, false))
	s.run(42 * sec)
	s.expect(ev(40*sec, "B", backup, fault, vrrp.ReasonFault), ev(41*sec, "B", fault, backup, vrrp.ReasonFaultCleared))
	if len(s.sent[b]) != n {
		t.Errorf("B sent %v", s.sent[b][n:])
	}
}

func TestFaultBeforeStart(t *testing.T) {
	r := newRouter(t, v2("A", "10.0.0.1", 255))
	if acts := r.SetFault(t0, true); acts != nil {
		t.Fatalf("fault before start acts: %+v", acts)
	}
	if acts := r.Start(t0); len(acts) != 1 || acts[0].To != fault || acts[0].Reason != vrrp.ReasonFault {
		t.Fatalf("start: %+v", acts)
	}
	if acts := r.Start(t0); acts != nil {
		t.Fatalf("second start: %+v", acts)
	}
	// Leaving FAULT an owner is a backup first, as in keepalived.
	if acts := r.SetFault(t0.Add(sec), false); len(acts) != 1 || acts[0].To != backup {
		t.Fatalf("cleared: %+v", acts)
	}
	if r.Deadline() != t0.Add(sec+3*sec+skew(255, sec)) {
		t.Errorf("deadline %v", r.Deadline().Sub(t0))
	}
}

func TestReceiveDrops(t *testing.T) {
	c := v2("B", "10.0.0.2", 100)
	c.AuthPass = "secret"
	c.Addrs = ips("10.0.0.100", "10.0.0.101")
	b := newRouter(t, c)
	good := func() *vrrp.Advert {
		return &vrrp.Advert{Version: 2, VRID: 51, Priority: 150, Interval: sec, AuthType: vrrp.AuthPass,
			AuthData: [8]byte{'s', 'e', 'c', 'r', 'e', 't'}, Addrs: ips("10.0.0.101", "10.0.0.100")}
	}
	// INIT ignores everything, uncounted.
	if acts, err := b.Receive(t0, ip("10.0.0.1"), good()); acts != nil || err != nil || b.Stats() != (vrrp.Stats{}) {
		t.Fatalf("INIT: %+v %v %+v", acts, err, b.Stats())
	}
	b.Start(t0)
	dl := b.Deadline()
	cases := []struct {
		name string
		src  string
		f    func(*vrrp.Advert)
		err  error
	}{
		{"other VRID", "10.0.0.1", func(a *vrrp.Advert) { a.VRID = 52 }, vrrp.ErrVRID},
		{"version 3", "10.0.0.1", func(a *vrrp.Advert) { a.Version = 3 }, vrrp.ErrVersion},
		{"IPv6 source", "fe80::1", func(*vrrp.Advert) {}, vrrp.ErrAddrFamily},
		{"no auth", "10.0.0.1", func(a *vrrp.Advert) { a.AuthType = vrrp.AuthNone }, vrrp.ErrAuthMismatch},
		{"AH", "10.0.0.1", func(a *vrrp.Advert) { a.AuthType = vrrp.AuthAH }, vrrp.ErrAuthMismatch},
		{"wrong password", "10.0.0.1", func(a *vrrp.Advert) { a.AuthData[0] = 'S' }, vrrp.ErrAuthFailure},
		{"password too long", "10.0.0.1", func(a *vrrp.Advert) { a.AuthData[6] = '!' }, vrrp.ErrAuthFailure},
		{"interval 2 s", "10.0.0.1", func(a *vrrp.Advert) { a.Interval = 2 * sec }, vrrp.ErrInterval},
		{"interval 0", "10.0.0.1", func(a *vrrp.Advert) { a.Interval = 0 }, vrrp.ErrInterval},
	}
	for _, tc := range cases {
		a := good()
		tc.f(a)
		acts, err := b.Receive(t0.Add(sec), ip(tc.src), a)
		if err != tc.err || acts != nil {
			t.Errorf("%s: %v %+v, want %v", tc.name, err, acts, tc.err)
		}
	}
	if b.Deadline() != dl {
		t.Errorf("dropped adverts moved the timer")
	}
	want := vrrp.Stats{VRIDErr: 1, VersErr: 1, AddrListErr: 1, AuthtypeMismatch: 2, AuthFailure: 2, AdvertIntervalErr: 2}
	if b.Stats() != want {
		t.Errorf("stats\n got %+v\nwant %+v", b.Stats(), want)
	}
	// A different address list is counted and used, as keepalived does.
	a := good()
	a.Addrs = ips("10.0.0.100")
	if _, err := b.Receive(t0.Add(sec), ip("10.0.0.1"), a); err != nil || b.Deadline() == dl {
		t.Errorf("address list: %v", err)
	}
	if st := b.Stats(); st.AddrListErr != 2 || st.AdvertRcvd != 1 {
		t.Errorf("stats %+v", st)
	}
	// Parse's errors are counted by kind.
	for _, err := range []error{vrrp.ErrLength, vrrp.ErrTTL, vrrp.ErrType, vrrp.ErrChecksum, vrrp.ErrAuthType, vrrp.ErrTooManyAddrs} {
		b.CountError(err)
	}
	b.CountError(nil)
	if st := b.Stats(); st.PacketLenErr != 2 || st.IPTTLErr != 1 || st.InvalidTypeRcvd != 1 || st.ChkErr != 1 || st.InvalidAuthtype != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestStatsVisit(t *testing.T) {
	var names []string
	st := vrrp.Stats{AdvertRcvd: 1, PriZeroSent: 14}
	var rcvd, zero uint64
	st.Visit(func(name string, v uint64) {
		names = append(names, name)
		switch name {
		case "advert_rcvd":
			rcvd = v
		case "pri_zero_sent":
			zero = v
		}
	})
	want := "advert_rcvd advert_sent become_master release_master packet_len_err advert_interval_err " +
		"ip_ttl_err invalid_type_rcvd addr_list_err invalid_authtype authtype_mismatch auth_failure " +
		"pri_zero_rcvd pri_zero_sent chk_err vers_err vrid_err"
	if strings.Join(names, " ") != want || rcvd != 1 || zero != 14 {
		t.Errorf("Visit: %v", names)
	}
}

func TestConfig(t *testing.T) {
	ok := v2("A", "10.0.0.1", 100)
	cases := []struct {
		name string
		f    func(*vrrp.Config)
		err  string // "" for valid
	}{
		{"valid", func(*vrrp.Config) {}, ""},
		{"VRID 0", func(c *vrrp.Config) { c.VRID = 0 }, "virtual router id"},
		{"no primary", func(c *vrrp.Config) { c.Primary = netip.Addr{} }, "primary"},
		{"version 4", func(c *vrrp.Config) { c.Version = 4 }, "version"},
		{"v2 over IPv6", func(c *vrrp.Config) { c.Primary, c.Addrs = ip("fe80::1"), ips("fe80::7") }, "IPv4 only"},
		{"v2 1.5 s", func(c *vrrp.Config) { c.Interval = 1500 * ms }, "whole seconds"},
		{"v3 15 ms", func(c *vrrp.Config) { c.Version, c.Interval = 3, 15*ms }, "centiseconds"},
		{"v3 41 s", func(c *vrrp.Config) { c.Version, c.Interval = 3, 41*sec }, "centiseconds"},
		{"mixed families", func(c *vrrp.Config) { c.Addrs = ips("10.0.0.100", "fe80::7") }, "family"},
		{"duplicate address", func(c *vrrp.Config) { c.Addrs = ips("10.0.0.100", "10.0.0.100") }, "twice"},
		{"v3 auth", func(c *vrrp.Config) { c.Version, c.AuthPass = 3, "x" }, "version 2 only"},
		{"9-byte password", func(c *vrrp.Config) { c.AuthPass = "123456789" }, "8 bytes"},
		{"negative preempt delay", func(c *vrrp.Config) { c.PreemptDelay = -1 }, "preempt"},
		{"down_timer_adverts 101", func(c *vrrp.Config) { c.DownAdverts = 101 }, "down_timer_adverts"},
	}
	for _, tc := range cases {
		c := ok
		tc.f(&c)
		_, err := vrrp.NewRouter(c)
		if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.err)
		}
	}
	// Defaults.
	r := newRouter(t, vrrp.Config{VRID: 1, Primary: ip("10.0.0.1")})
	if c := r.Config(); c.Version != 2 || c.Priority != 100 || c.Interval != sec || c.DownAdverts != 3 {
		t.Errorf("IPv4 defaults %+v", c)
	}
	r = newRouter(t, vrrp.Config{VRID: 1, Primary: ip("fe80::1"), Interval: 100 * ms})
	if c := r.Config(); c.Version != 3 {
		t.Errorf("IPv6 defaults %+v", c)
	}
	// down_timer_adverts changes the master-down interval.
	c := ok
	c.DownAdverts = 5
	if r := newRouter(t, c); r.MasterDown() != 5*sec+skew(100, sec) {
		t.Errorf("5 adverts: %v", r.MasterDown())
	}
	// The configuration is copied.
	c = ok
	c.Addrs = ips("10.0.0.100")
	r = newRouter(t, c)
	c.Addrs[0] = ip("10.0.0.99")
	if r.Config().Addrs[0] != ip("10.0.0.100") {
		t.Error("Config aliases the caller's addresses")
	}
}
