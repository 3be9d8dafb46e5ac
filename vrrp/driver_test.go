package vrrp_test

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/uvs-lb/uvs/vrrp"
)

// fakeClock is a vrrp.Clock whose time moves only in advance, which runs the timers that come
// due in order, each with Now reading its time.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	seq    int
	timers []*fakeTimer
}

type fakeTimer struct {
	c    *fakeClock
	when time.Time
	seq  int
	f    func()
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) vrrp.Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	t := &fakeTimer{c, c.now.Add(max(d, 0)), c.seq, f}
	c.timers = append(c.timers, t)
	return t
}

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	for i, x := range t.c.timers {
		if x == t {
			t.c.timers = append(t.c.timers[:i], t.c.timers[i+1:]...)
			return true
		}
	}
	return false
}

func (c *fakeClock) pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// advance runs the timers due by end, calling settle after each, and moves to end.
func (c *fakeClock) advance(end time.Time, settle func()) {
	for {
		c.mu.Lock()
		var next *fakeTimer
		for _, t := range c.timers {
			if next == nil || t.when.Before(next.when) || t.when.Equal(next.when) && t.seq < next.seq {
				next = t
			}
		}
		if next == nil || next.when.After(end) {
			c.now = end
			c.mu.Unlock()
			return
		}
		for i, x := range c.timers {
			if x == next {
				c.timers = append(c.timers[:i], c.timers[i+1:]...)
				break
			}
		}
		c.now = next.when
		c.mu.Unlock()
		next.f()
		settle()
	}
}

// lan carries adverts between drivers: Conn.Send queues them (it is called on the sending
// driver's lock), pump delivers them through Parse and Input.
type lan struct {
	t      *testing.T
	mu     sync.Mutex
	queue  [][]byte
	from   []netip.Addr
	ports  []port
	events []string
}

type port struct {
	d *vrrp.Driver
	r *vrrp.Router
}

type lanConn struct {
	l *lan
	r *vrrp.Router
}

func (c lanConn) Send(a *vrrp.Advert) error {
	buf := make([]byte, 1500)
	n, err := vrrp.Marshal(buf, a, c.r.Config().Primary, vrrp.GroupIPv4)
	if err != nil {
		return err
	}
	c.l.mu.Lock()
	defer c.l.mu.Unlock()
	c.l.queue = append(c.l.queue, buf[:n])
	c.l.from = append(c.l.from, c.r.Config().Primary)
	return nil
}

func (l *lan) pump() {
	for {
		l.mu.Lock()
		if len(l.queue) == 0 {
			l.mu.Unlock()
			return
		}
		b, src := l.queue[0], l.from[0]
		l.queue, l.from = l.queue[1:], l.from[1:]
		l.mu.Unlock()
		for _, p := range l.ports {
			if p.r.Config().Primary == src {
				continue
			}
			var a vrrp.Advert
			if err := vrrp.Parse(b, src, vrrp.GroupIPv4, 255, &a); err != nil {
				l.t.Fatal(err)
			}
			if a.VRID != p.r.Config().VRID {
				continue
			}
			if err := p.d.Input(p.r, src, &a); err != nil {
				l.t.Errorf("Input: %v", err)
			}
		}
	}
}

func (l *lan) record(clock *fakeClock) func(vrrp.Action) {
	return func(a vrrp.Action) {
		l.mu.Lock()
		defer l.mu.Unlock()
		e := ev(clock.Now().Sub(t0), a.Router.Config().Name, a.From, a.To, a.Reason)
		l.events = append(l.events, e.String())
	}
}

func (l *lan) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.events
	l.events = nil
	return e
}

func TestDriver(t *testing.T) {
	clock := &fakeClock{now: t0}
	l := &lan{t: t}
	a := newRouter(t, v2("A", "10.0.0.1", 150))
	b := newRouter(t, v2("B", "10.0.0.2", 100))
	var sendErrs int
	da := vrrp.NewDriver(vrrp.DriverConfig{Clock: clock, OnTransition: l.record(clock)})
	db := vrrp.NewDriver(vrrp.DriverConfig{Clock: clock, OnTransition: l.record(clock),
		OnSendError: func(*vrrp.Router, error) { sendErrs++ }})
	if err := da.Add(a, lanConn{l, a}); err != nil {
		t.Fatal(err)
	}
	if err := db.Add(b, lanConn{l, b}); err != nil {
		t.Fatal(err)
	}
	if err := da.Add(a, lanConn{l, a}); err == nil {
		t.Error("added twice")
	}
	l.ports = []port{{da, a}, {db, b}}
	ctxB, cancelB := context.WithCancel(context.Background())
	defer cancelB()
	if err := da.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := db.Start(ctxB); err != nil {
		t.Fatal(err)
	}
	if err := da.Start(context.Background()); err == nil {
		t.Error("started twice")
	}
	if err := da.Add(newRouter(t, v2("C", "10.0.0.3", 1)), nil); err == nil {
		t.Error("added after Start")
	}

	clock.advance(t0.Add(10*sec), l.pump)
	downA := 3*sec + skew(150, sec)
	want := []string{
		ev(0, "A", init_, backup, vrrp.ReasonInit).String(),
		ev(0, "B", init_, backup, vrrp.ReasonInit).String(),
		ev(downA, "A", backup, master, vrrp.ReasonMasterDown).String(),
	}
	if got := l.take(); !equalStrings(got, want) {
		t.Fatalf("transitions:\n got %q\nwant %q", got, want)
	}
	if clock.pending() != 2 {
		t.Errorf("%d timers pending, want one per driver", clock.pending())
	}
	var st vrrp.Stats
	db.Inspect(b, func(r *vrrp.Router) { st = r.Stats() })
	if st.AdvertRcvd != 7 { // 3.4140625 … 9.4140625 s
		t.Errorf("B received %d", st.AdvertRcvd)
	}

	// Errors from the receive path are counted against the router.
	db.InputError(b, vrrp.ErrChecksum)
	if err := db.Input(b, ip("10.0.0.9"), &vrrp.Advert{Version: 2, VRID: 9, Interval: sec}); err != vrrp.ErrVRID {
		t.Errorf("Input of another VRID: %v", err)
	}
	db.Inspect(b, func(r *vrrp.Router) { st = r.Stats() })
	if st.ChkErr != 1 || st.VRIDErr != 1 {
		t.Errorf("B stats %+v", st)
	}
	if err := db.Input(a, ip("10.0.0.1"), &vrrp.Advert{}); err != vrrp.ErrNotAdded {
		t.Errorf("Input for a router of another driver: %v", err)
	}
	if err := da.SetFault(b, true); err != vrrp.ErrNotAdded {
		t.Errorf("SetFault for a router of another driver: %v", err)
	}

	// Tracking lowers A below B: B preempts a master-down interval after A's last 150.
	if err := da.SetPriorityDelta(a, -60); err != nil {
		t.Fatal(err)
	}
	clock.advance(t0.Add(20*sec), l.pump)
	at := 9*sec + skew(150, sec) + 3*sec + skew(100, sec) // 13.0234375 s
	want = []string{
		ev(at, "B", backup, master, vrrp.ReasonPreempt).String(),
		ev(at, "A", master, backup, vrrp.ReasonHigherPriority).String(),
	}
	if got := l.take(); !equalStrings(got, want) {
		t.Fatalf("transitions:\n got %q\nwant %q", got, want)
	}
	if err := da.SetPriorityDelta(a, 0); err != nil {
		t.Fatal(err)
	}
	clock.advance(t0.Add(30*sec), l.pump)
	l.take()

	// A fault on A (now master again) hands over in B's skew time.
	if err := da.SetFault(a, true); err != nil {
		t.Fatal(err)
	}
	l.pump()
	now := clock.Now().Sub(t0)
	clock.advance(t0.Add(40*sec), l.pump)
	want = []string{
		ev(now, "A", master, fault, vrrp.ReasonFault).String(),
		ev(now+skew(100, sec), "B", backup, master, vrrp.ReasonPriorityZero).String(),
	}
	if got := l.take(); !equalStrings(got, want) {
		t.Fatalf("transitions:\n got %q\nwant %q", got, want)
	}
	if err := da.SetFault(a, false); err != nil {
		t.Fatal(err)
	}
	clock.advance(t0.Add(50*sec), l.pump)
	l.take()

	// Close: A, master, sends priority 0 and B takes over after its skew time.
	if err := da.Close(); err != nil {
		t.Fatal(err)
	}
	if err := da.Close(); err != nil {
		t.Fatal(err)
	}
	l.pump()
	clock.advance(t0.Add(60*sec), l.pump)
	want = []string{
		ev(50*sec, "A", master, init_, vrrp.ReasonShutdown).String(),
		ev(50*sec+skew(100, sec), "B", backup, master, vrrp.ReasonPriorityZero).String(),
	}
	if got := l.take(); !equalStrings(got, want) {
		t.Fatalf("transitions:\n got %q\nwant %q", got, want)
	}
	if clock.pending() != 1 {
		t.Errorf("%d timers pending, want B's only", clock.pending())
	}
	if err := da.Input(a, ip("10.0.0.2"), &vrrp.Advert{}); err != nil {
		t.Errorf("Input after Close: %v", err)
	}

	// The end of B's context closes B's driver.
	cancelB()
	deadline := time.Now().Add(10 * time.Second)
	for clock.pending() != 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if clock.pending() != 0 {
		t.Fatal("B's driver did not close with its context")
	}
	if got := l.take(); len(got) != 1 {
		t.Errorf("transitions at close: %q", got)
	}
	if sendErrs != 0 {
		t.Errorf("%d send errors", sendErrs)
	}
}

type failConn struct{}

func (failConn) Send(*vrrp.Advert) error { return errors.New("no route") }

func TestDriverGroupAndSendErrors(t *testing.T) {
	clock := &fakeClock{now: t0}
	mk := func(name string, vrid uint8) *vrrp.Router {
		c := v2(name, "10.0.0.1", 255)
		c.VRID = vrid
		return newRouter(t, c)
	}
	r1, r2 := mk("R1", 1), mk("R2", 2)
	if _, err := vrrp.NewGroup("G", r1, r2); err != nil {
		t.Fatal(err)
	}
	var failed []string
	d := vrrp.NewDriver(vrrp.DriverConfig{Clock: clock,
		OnSendError: func(r *vrrp.Router, err error) { failed = append(failed, r.Config().Name) }})
	if err := d.Add(r1, failConn{}); err != nil {
		t.Fatal(err)
	}
	if err := d.Start(context.Background()); err == nil {
		t.Fatal("started with a group member missing")
	}
	d = vrrp.NewDriver(vrrp.DriverConfig{Clock: clock,
		OnSendError: func(r *vrrp.Router, err error) { failed = append(failed, r.Config().Name) }})
	d.Add(r1, failConn{})
	d.Add(r2, failConn{})
	if err := d.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	clock.advance(t0.Add(1500*ms), func() {})
	// Two owners: MASTER at once, an advert each at 0 and at 1 s; every send failed.
	if len(failed) != 4 || r1.State() != master || r2.State() != master {
		t.Fatalf("failed sends %v, states %v %v", failed, r1.State(), r2.State())
	}
	d.Close()
	if len(failed) != 6 || clock.pending() != 0 {
		t.Fatalf("close: failed sends %v, %d timers", failed, clock.pending())
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// jump steps the clock by d while its timers keep waiting their durations, as a stepped
// clock does to timers that count real time.
func (c *fakeClock) jump(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	for _, t := range c.timers {
		t.when = t.when.Add(d)
	}
}

// TestDriverClockBack steps a driver's clock back an hour: a MASTER goes on advertising every
// interval, and a BACKUP whose master has gone silent still takes over one master-down
// interval later, instead of both waiting for their clock to catch up with deadlines an hour
// ahead.
func TestDriverClockBack(t *testing.T) {
	clock := &fakeClock{now: t0}
	l := &lan{t: t}
	a := newRouter(t, v2("A", "10.0.0.1", 150))
	b := newRouter(t, v2("B", "10.0.0.2", 100))
	da := vrrp.NewDriver(vrrp.DriverConfig{Clock: clock, OnTransition: l.record(clock)})
	db := vrrp.NewDriver(vrrp.DriverConfig{Clock: clock, OnTransition: l.record(clock)})
	if err := da.Add(a, lanConn{l, a}); err != nil {
		t.Fatal(err)
	}
	if err := db.Add(b, lanConn{l, b}); err != nil {
		t.Fatal(err)
	}
	l.ports = []port{{da, a}, {db, b}}
	for _, d := range []*vrrp.Driver{da, db} {
		if err := d.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		defer d.Close()
	}
	clock.advance(t0.Add(10*sec), l.pump)
	l.take() // A is MASTER (TestDriver checks how)
	sent := func() uint64 {
		var st vrrp.Stats
		db.Inspect(b, func(r *vrrp.Router) { st = r.Stats() })
		return st.AdvertRcvd
	}

	clock.jump(-time.Hour)
	before := sent()
	clock.advance(clock.Now().Add(10*sec), l.pump)
	if n := sent() - before; n < 9 {
		t.Fatalf("A sent %d adverts in the 10 s after its clock went back an hour, want 10", n)
	}
	if got := l.take(); len(got) != 0 {
		t.Fatalf("transitions after the jump: %q", got)
	}

	// A goes silent (a crash: its adverts no longer reach B) as the clock goes back an hour
	// again: B still declares A down within a master-down interval (3.6 s) of A's last
	// advert (at most one interval before the jump).
	clock.jump(-time.Hour)
	clock.advance(clock.Now().Add(5*sec), func() { dropFrom(l, "10.0.0.1") })
	var st vrrp.State
	db.Inspect(b, func(r *vrrp.Router) { st = r.State() })
	if st != vrrp.StateMaster {
		t.Fatalf("B is %v 5 s after A went silent across its clock's jump back, want MASTER (transitions %q)", st, l.take())
	}
}

// dropFrom discards the queued adverts of src (a crashed router whose timers still run).
func dropFrom(l *lan, src string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	q, f := l.queue[:0], l.from[:0]
	for i := range l.queue {
		if l.from[i].String() != src {
			q, f = append(q, l.queue[i]), append(f, l.from[i])
		}
	}
	l.queue, l.from = q, f
}
