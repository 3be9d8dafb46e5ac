package vrrp_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/uvs-lb/uvs/vrrp"
)

// t0 is the simulations' time zero; times in them are written as offsets from it.
var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// event is a transition seen in a simulation.
type event struct {
	at     time.Duration
	name   string
	from   vrrp.State
	to     vrrp.State
	reason vrrp.Reason
}

func (e event) String() string {
	return fmt.Sprintf("%v %s %v→%v (%v)", e.at, e.name, e.from, e.to, e.reason)
}

// sent is an advert a router sent.
type sent struct {
	at   time.Duration
	prio uint8
}

type delivery struct {
	at   time.Time
	from *vrrp.Router
	adv  vrrp.Advert
}

// sim is a LAN of virtual routers in virtual time: it runs their timers exactly when due and
// carries every advert, marshalled and parsed, to every live router of the same VRID and
// family after latency (0: at once, in order).
type sim struct {
	t       *testing.T
	now     time.Time
	routers []*vrrp.Router
	dead    map[*vrrp.Router]bool
	latency time.Duration
	queue   []delivery
	busy    bool
	events  []event
	sent    map[*vrrp.Router][]sent
	errs    map[*vrrp.Router][]error
	buf     [2048]byte
}

func newSim(t *testing.T, rs ...*vrrp.Router) *sim {
	return &sim{t: t, now: t0, routers: rs, dead: map[*vrrp.Router]bool{},
		sent: map[*vrrp.Router][]sent{}, errs: map[*vrrp.Router][]error{}}
}

func newRouter(t *testing.T, cfg vrrp.Config) *vrrp.Router {
	t.Helper()
	r, err := vrrp.NewRouter(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// do carries out actions: transitions are logged, adverts queued for delivery.
func (s *sim) do(acts []vrrp.Action) {
	for _, a := range slices.Clone(acts) {
		if a.Router == nil {
			s.t.Fatalf("action without a router: %+v", a)
		}
		switch a.Kind {
		case vrrp.ActTransition:
			s.events = append(s.events, event{s.now.Sub(t0), a.Router.Config().Name, a.From, a.To, a.Reason})
		case vrrp.ActSend:
			if s.dead[a.Router] {
				continue
			}
			s.sent[a.Router] = append(s.sent[a.Router], sent{s.now.Sub(t0), a.Advert.Priority})
			s.queue = append(s.queue, delivery{s.now.Add(s.latency), a.Router, a.Advert})
		default:
			s.t.Fatalf("unknown action %+v", a)
		}
	}
	s.flush()
}

// flush delivers the queued adverts that are due.
func (s *sim) flush() {
	if s.busy {
		return
	}
	s.busy = true
	defer func() { s.busy = false }()
	for len(s.queue) > 0 && !s.queue[0].at.After(s.now) {
		d := s.queue[0]
		s.queue = s.queue[1:]
		s.deliver(d)
	}
}

func (s *sim) deliver(d delivery) {
	src := d.from.Config().Primary
	dst := vrrp.GroupIPv4
	if src.Is6() {
		dst = vrrp.GroupIPv6
	}
	n, err := vrrp.Marshal(s.buf[:], &d.adv, src, dst)
	if err != nil {
		s.t.Fatalf("Marshal %+v: %v", d.adv, err)
	}
	for _, r := range s.routers {
		if r == d.from || s.dead[r] || r.Config().VRID != d.adv.VRID || r.Config().Primary.Is6() != src.Is6() {
			continue
		}
		var a vrrp.Advert
		if err := vrrp.Parse(s.buf[:n], src, dst, 255, &a); err != nil {
			s.t.Fatalf("Parse: %v", err)
		}
		acts, err := r.Receive(s.now, src, &a)
		if err != nil {
			s.errs[r] = append(s.errs[r], err)
		}
		s.do(acts)
	}
}

// start starts routers now.
func (s *sim) start(rs ...*vrrp.Router) {
	for _, r := range rs {
		s.do(r.Start(s.now))
	}
}

// kill makes a router vanish: it neither sends nor hears, and its timers stop.
func (s *sim) kill(r *vrrp.Router) { s.dead[r] = true }

// run runs the LAN until t0+until.
func (s *sim) run(until time.Duration) {
	end := t0.Add(until)
	for {
		var next time.Time
		for _, r := range s.routers {
			if dl := r.Deadline(); !s.dead[r] && !dl.IsZero() && (next.IsZero() || dl.Before(next)) {
				next = dl
			}
		}
		if len(s.queue) > 0 && (next.IsZero() || s.queue[0].at.Before(next)) {
			next = s.queue[0].at
		}
		if next.IsZero() || next.After(end) {
			s.now = end
			return
		}
		if next.Before(s.now) {
			s.t.Fatalf("deadline %v in the past (now %v)", next.Sub(t0), s.now.Sub(t0))
		}
		s.now = next
		s.flush()
		for _, r := range s.routers {
			if dl := r.Deadline(); !s.dead[r] && !dl.IsZero() && !s.now.Before(dl) {
				s.do(r.Tick(s.now))
			}
		}
	}
}

// at moves the simulation to t0+d (running it until then) for the test to act.
func (s *sim) at(d time.Duration) time.Time {
	s.run(d)
	return s.now
}

// expect checks the transitions seen since the last expect.
func (s *sim) expect(want ...event) {
	s.t.Helper()
	got := s.events
	s.events = nil
	if !slices.Equal(got, want) {
		s.t.Errorf("transitions:\n got %s\nwant %s", evs(got), evs(want))
	}
}

func evs(es []event) string {
	var b strings.Builder
	for _, e := range es {
		b.WriteString("\n  " + e.String())
	}
	return b.String()
}

func ev(at time.Duration, name string, from, to vrrp.State, reason vrrp.Reason) event {
	return event{at, name, from, to, reason}
}

// skew returns (256 − prio)/256 of unit: Skew_Time.
func skew(prio int, unit time.Duration) time.Duration { return time.Duration(256-prio) * unit / 256 }

const (
	sec = time.Second
	ms  = time.Millisecond
)

var (
	init_  = vrrp.StateInit
	backup = vrrp.StateBackup
	master = vrrp.StateMaster
	fault  = vrrp.StateFault
)
