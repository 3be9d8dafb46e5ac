package vrrp

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"time"
)

// DriverConfig configures a Driver.
type DriverConfig struct {
	// Clock is the time the routers run on; nil is RealClock.
	Clock Clock
	// OnTransition is called with each ActTransition, in order, on the Driver's lock: it may
	// take or release addresses and announce them, and must not call the Driver.
	OnTransition func(Action)
	// OnSendError, if set, is called (on the lock) when a Conn fails to send an advert.
	OnSendError func(r *Router, err error)
}

// Driver runs Routers (and so their sync Groups) on a Clock, the way keepalived's VRRP
// scheduler does: one lock, one timer for the earliest Deadline, adverts sent through each
// router's Conn, transitions handed to OnTransition. The receive path gives it parsed adverts
// (Input) and parse errors (InputError); tracking gives it faults and priority deltas.
// New starts nothing; Start starts the routers and Close (or the end of Start's context)
// stops them, masters sending priority 0.
type Driver struct {
	cfg DriverConfig

	mu      sync.Mutex
	routers []*Router
	conns   map[*Router]Conn
	timer   Timer
	armed   time.Time // the deadline timer is set for
	gen     uint64    // bumped at every rearm: a timer that fires late after a rearm is stale
	started bool
	closed  bool
	stop    func() bool
}

// NewDriver returns a Driver with no routers.
func NewDriver(cfg DriverConfig) *Driver {
	if cfg.Clock == nil {
		cfg.Clock = RealClock{}
	}
	return &Driver{cfg: cfg, conns: make(map[*Router]Conn)}
}

// ErrNotAdded is returned for a router the Driver does not run.
var ErrNotAdded = errors.New("vrrp: router not added to the driver")

// Add makes the Driver run r, sending its adverts through c. Routers are added before
// Start; every member of a sync group must be added.
func (d *Driver) Add(r *Router, c Conn) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.started {
		return errors.New("vrrp: driver already started")
	}
	if _, ok := d.conns[r]; ok {
		return errors.New("vrrp: router added twice")
	}
	d.routers = append(d.routers, r)
	d.conns[r] = c
	return nil
}

// Start starts every router and arms the timer. When ctx ends, the Driver closes.
func (d *Driver) Start(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.started {
		return errors.New("vrrp: driver already started")
	}
	for _, r := range d.routers {
		if g := r.group; g != nil {
			for _, m := range g.members {
				if _, ok := d.conns[m]; !ok {
					return errors.New("vrrp: sync group " + g.name + ": a member is not added")
				}
			}
		}
	}
	d.started = true
	now := d.cfg.Clock.Now()
	for _, r := range d.routers {
		d.run(r.Start(now))
	}
	d.rearm(now)
	d.stop = context.AfterFunc(ctx, func() { d.Close() })
	return nil
}

// Close stops every router (a master sends priority 0, and every router reports its
// transition to INIT) and the timer. Once it returns, the Driver calls nothing any more.
func (d *Driver) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil
	}
	d.closed = true
	if d.stop != nil {
		d.stop()
	}
	if d.started {
		now := d.cfg.Clock.Now()
		for _, r := range d.routers {
			d.run(r.Shutdown(now))
		}
	}
	if d.timer != nil {
		d.timer.Stop()
		d.timer = nil
	}
	return nil
}

// Input gives r an advert that Parse accepted, from src; it returns Receive's error (the
// advert was dropped, and counted).
func (d *Driver) Input(r *Router, src netip.Addr, a *Advert) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.conns[r]; !ok {
		return ErrNotAdded
	}
	if !d.live() {
		return nil
	}
	now := d.cfg.Clock.Now()
	acts, err := r.Receive(now, src, a)
	d.run(acts)
	d.rearm(now)
	return err
}

// InputError counts a Parse error against r.
func (d *Driver) InputError(r *Router, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.conns[r]; ok {
		r.CountError(err)
	}
}

// SetFault sets or clears r's fault (see Router.SetFault).
func (d *Driver) SetFault(r *Router, fault bool) error {
	return d.do(r, func(now time.Time) []Action { return r.SetFault(now, fault) })
}

// SetPriorityDelta sets r's tracking delta (see Router.SetPriorityDelta).
func (d *Driver) SetPriorityDelta(r *Router, delta int) error {
	return d.do(r, func(time.Time) []Action { r.SetPriorityDelta(delta); return nil })
}

// Inspect calls f with r on the Driver's lock, to read its state or counters.
func (d *Driver) Inspect(r *Router, f func(*Router)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	f(r)
}

func (d *Driver) do(r *Router, f func(now time.Time) []Action) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.conns[r]; !ok {
		return ErrNotAdded
	}
	now := d.cfg.Clock.Now()
	if d.closed {
		return nil
	}
	d.run(f(now))
	if d.started {
		d.rearm(now)
	}
	return nil
}

func (d *Driver) live() bool { return d.started && !d.closed }

// run carries out actions.
func (d *Driver) run(acts []Action) {
	for i := range acts {
		a := &acts[i]
		switch a.Kind {
		case ActSend:
			if err := d.conns[a.Router].Send(&a.Advert); err != nil && d.cfg.OnSendError != nil {
				d.cfg.OnSendError(a.Router, err)
			}
		case ActTransition:
			if d.cfg.OnTransition != nil {
				d.cfg.OnTransition(*a)
			}
		}
	}
}

// fire runs the timers that are due and re-arms. gen is the rearm that set the timer.
func (d *Driver) fire(gen uint64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.live() || gen != d.gen {
		return // stopped, or replaced by a later rearm whose own timer will fire
	}
	now := d.cfg.Clock.Now()
	if back := d.armed.Sub(now); back > 0 {
		// The timer has waited its whole duration, yet the clock has not reached the
		// deadline it was set for: the clock went back. Every deadline moves back as much,
		// or a MASTER would stop advertising and a BACKUP stop counting down to master
		// down for that long. (A kernel's monotonic clock never steps back; a clock a VM
		// or the lab steps may.)
		for _, r := range d.routers {
			r.shiftTimes(-back)
		}
	}
	d.armed = time.Time{}
	for range len(d.routers) + 1 { // a tick never leaves its own router due again
		due := false
		for _, r := range d.routers {
			if dl := r.deadline; !dl.IsZero() && !now.Before(dl) {
				due = true
				d.run(r.Tick(now))
			}
		}
		if !due {
			break
		}
	}
	d.rearm(now)
}

// rearm sets the timer for the earliest deadline.
func (d *Driver) rearm(now time.Time) {
	var next time.Time
	for _, r := range d.routers {
		if dl := r.deadline; !dl.IsZero() && (next.IsZero() || dl.Before(next)) {
			next = dl
		}
	}
	if next.Equal(d.armed) && d.timer != nil {
		return
	}
	if d.timer != nil {
		d.timer.Stop()
		d.timer = nil
	}
	d.armed = next
	d.gen++
	if next.IsZero() || !d.live() {
		return
	}
	gen := d.gen
	d.timer = d.cfg.Clock.AfterFunc(max(next.Sub(now), 0), func() { d.fire(gen) })
}
