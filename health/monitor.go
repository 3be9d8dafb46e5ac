package health

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime/debug"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// Defaults of a zero Timing field: keepalived's.
const (
	DefaultDelayLoop        = 60 * time.Second // keepalived's delay_loop
	DefaultConnectTimeout   = 5 * time.Second  // keepalived's connect_timeout
	DefaultDelayBeforeRetry = 1 * time.Second  // keepalived's delay_before_retry (but HTTP_GET's 3 s, DNS_CHECK's delay_loop)

	// maxSpread bounds the random delay of a new target's first check when Timing.Warmup is 0.
	maxSpread = time.Second
)

// WithDefaults returns t with its zero (or negative) fields set to the defaults the Monitor
// uses: DelayLoop 60 s, ConnectTimeout 5 s, DelayBeforeRetry 1 s, Rise and Fall 1, Retry 0.
// Warmup 0 stays 0 (see Monitor for what it means).
func (t Timing) WithDefaults() Timing {
	if t.DelayLoop <= 0 {
		t.DelayLoop = DefaultDelayLoop
	}
	if t.ConnectTimeout <= 0 {
		t.ConnectTimeout = DefaultConnectTimeout
	}
	if t.DelayBeforeRetry <= 0 {
		t.DelayBeforeRetry = DefaultDelayBeforeRetry
	}
	if t.Retry < 0 {
		t.Retry = 0
	}
	if t.Rise < 1 {
		t.Rise = 1
	}
	if t.Fall < 1 {
		t.Fall = 1
	}
	if t.Warmup < 0 {
		t.Warmup = 0
	}
	return t
}

// Options configure a Monitor.
type Options struct {
	Net   Net            // where probes leave from, given to every Check
	Log   zerolog.Logger // transitions at Info, failed attempts and retries at Debug
	Clock Clock          // nil: the real one (RealClock); tests inject a fake to drive time
	// OnChange receives every Transition. It is called from the Monitor's goroutines, one
	// call at a time, with no lock of the Monitor held: it may call State, Stats and Set (not
	// Close, which waits for the goroutine calling it). It should return soon: the target
	// whose transition it is waits for it, and so do the other targets' transitions. A
	// transition of a target that Set is removing at that moment may still arrive: ignore
	// unknown IDs.
	OnChange func(Transition)
}

// Monitor checks Targets and reports their transitions.
//
// Each target has a goroutine of its own, which mostly sleeps on the Clock (1,000 targets cost
// about 1,000 parked goroutines: see TestMonitorThousandTargets for numbers). Its schedule and
// its state follow keepalived, with HAProxy's rise and fall:
//
//   - A new target starts up, or down if Timing.Alpha (keepalived's alpha). Its initial state
//     is not a Transition: State reports it from Set on.
//   - Its first check waits a random delay in [0, Warmup), so that many targets, or several
//     checkers of one server, do not all fire together. keepalived's warmup defaults to
//     delay_loop: the configuration layer sets Warmup = DelayLoop for that. A Warmup of 0
//     (keepalived's "warmup 0", disabled) still spreads first checks over [0, min(DelayLoop,
//     1 s)): an operator cannot tell the difference, and 1,000 targets do not start in one burst.
//   - A check is one attempt or more. Each attempt is one Checker.Check with a context that
//     ends after ConnectTimeout. While the target is up, or before its first check has
//     completed, a failed attempt is retried, after DelayBeforeRetry, up to Retry times
//     (keepalived's retry, nb_get_retry); the check fails when its last attempt fails. A down
//     target is not retried: one failed attempt is a failed check (keepalived does the same).
//     So a dead server that times out is declared down (with Fall 1) exactly
//     (Retry+1)·ConnectTimeout + Retry·DelayBeforeRetry after its check began.
//   - Fall consecutive failed checks take an up target down; Rise consecutive successful
//     checks bring a down target up (HAProxy's fall and rise; 1 and 1 are keepalived's
//     behaviour, and the defaults).
//   - The next check begins DelayLoop after the previous one ended (keepalived's delay_loop:
//     the loop is a delay, not a period; a slow or retried check pushes the schedule back).
//   - A successful check's Result.Weight is the target's weight (-1: the configured one); a
//     change of it while the target is up is a Transition too (keepalived's misc_dynamic). A
//     down target's weight follows its checks silently and comes with its up Transition.
//
// Set replaces the targets at any time: a target whose ID stays keeps its state, its counters
// and its pending schedule, and runs its new Checker and Timing from its next attempt on.
//
// DelayLoop defaults to keepalived's 60 s, so that a keepalived.conf means the same here; a
// configuration written for uvs should rather say what it wants (HAProxy checks every 2 s;
// 5 s with Fall 2 is a reasonable appliance default).
type Monitor struct {
	net      Net
	log      zerolog.Logger
	clock    Clock
	onChange func(Transition)

	notifyMu sync.Mutex // serialises OnChange
	wg       sync.WaitGroup

	mu      sync.Mutex
	ctx     context.Context // set by Start
	cancel  context.CancelFunc
	closed  bool
	targets map[string]*target
	totals  Counters
}

// target is the state of one Target. Its fields after id are guarded by Monitor.mu.
type target struct {
	id     string
	cancel context.CancelFunc // nil until launched

	checker Checker
	timing  Timing // WithDefaults applied
	up      bool
	hasRun  bool
	weight  int32
	rises   int // consecutive successes while down
	falls   int // consecutive failures while up
	st      TargetStats
}

// Counters count a Monitor's (or one target's) work.
type Counters struct {
	Checks        uint64 // checks completed (an attempt and its retries)
	Failed        uint64 // checks that failed, after their retries
	Attempts      uint64 // Checker.Check calls completed, retries included
	Retries       uint64 // attempts that were retries
	Ups, Downs    uint64 // transitions
	WeightChanges uint64 // weight transitions while up
}

func (c *Counters) add(o Counters) {
	c.Checks += o.Checks
	c.Failed += o.Failed
	c.Attempts += o.Attempts
	c.Retries += o.Retries
	c.Ups += o.Ups
	c.Downs += o.Downs
	c.WeightChanges += o.WeightChanges
}

// Stats is a snapshot of a Monitor's counters and states.
type Stats struct {
	Counters      // since New, removed targets included
	Targets   int // targets now
	Up        int // of which up
	PerTarget map[string]TargetStats
}

// TargetStats is one target's state and counters (since it was added).
type TargetStats struct {
	Counters
	Up         bool
	Weight     int32
	LastCheck  time.Time // when its last check ended; zero before the first
	LastReason string    // of its last failed check
}

// New returns a Monitor with no targets. It starts nothing.
func New(o Options) *Monitor {
	c := o.Clock
	if c == nil {
		c = RealClock{}
	}
	return &Monitor{net: o.Net, log: o.Log, clock: c, onChange: o.OnChange, targets: map[string]*target{}}
}

// Start starts checking the targets (those Set before, and those Set after). The checks stop
// when ctx ends or Close is called; Close must be called in any case.
func (m *Monitor) Start(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return errors.New("health: monitor closed")
	}
	if m.ctx != nil {
		return errors.New("health: monitor already started")
	}
	m.ctx, m.cancel = context.WithCancel(ctx)
	for _, t := range m.targets {
		m.launch(t)
	}
	return nil
}

// Close stops every check and waits for the Monitor's goroutines to end. No OnChange call
// happens after it returns.
func (m *Monitor) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	cancel := m.cancel
	m.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	m.wg.Wait()
	return nil
}

// Set replaces the targets. A target whose ID is in both keeps its state and its schedule and
// takes the new Checker and Timing; a new one starts (up, or down if Alpha) and is first
// checked after its warmup; a removed one stops: its goroutine is cancelled now and ends
// soon after (at once if it sleeps, when its Checker returns if it is checking), and Close
// waits for it. A target with a nil Checker is ignored; of two with one ID, the last counts.
func (m *Monitor) Set(targets []Target) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return
	}
	keep := make(map[string]bool, len(targets))
	for _, nt := range targets {
		if nt.Checker == nil {
			m.log.Error().Str("target", nt.ID).Msg("health: target without a checker ignored")
			continue
		}
		keep[nt.ID] = true
		tm := nt.Timing.WithDefaults()
		if t, ok := m.targets[nt.ID]; ok {
			t.checker, t.timing = nt.Checker, tm
			continue
		}
		t := &target{id: nt.ID, checker: nt.Checker, timing: tm, up: !tm.Alpha, weight: -1}
		t.st.Up, t.st.Weight = t.up, t.weight
		m.targets[nt.ID] = t
		if m.ctx != nil {
			m.launch(t)
		}
	}
	for id, t := range m.targets {
		if !keep[id] {
			delete(m.targets, id)
			if t.cancel != nil {
				t.cancel()
			}
		}
	}
}

// State reports whether the target is up and its weight (-1: the configured one); ok is false
// for an unknown ID.
func (m *Monitor) State(id string) (up bool, weight int32, ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.targets[id]
	if !ok {
		return false, 0, false
	}
	return t.up, t.weight, true
}

// Stats returns the counters, and every target's state and counters.
func (m *Monitor) Stats() Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := Stats{Counters: m.totals, Targets: len(m.targets), PerTarget: make(map[string]TargetStats, len(m.targets))}
	for id, t := range m.targets {
		if t.up {
			s.Up++
		}
		st := t.st
		st.Up, st.Weight = t.up, t.weight
		s.PerTarget[id] = st
	}
	return s
}

// launch starts t's goroutine. m.mu is held and m.ctx set.
func (m *Monitor) launch(t *target) {
	ctx, cancel := context.WithCancel(m.ctx)
	t.cancel = cancel
	first := firstDelay(t.timing)
	m.wg.Add(1)
	go m.run(ctx, t, first)
}

// firstDelay is a random delay in [0, Warmup), or in [0, min(DelayLoop, 1 s)) when Warmup is 0.
func firstDelay(t Timing) time.Duration {
	span := t.Warmup
	if span <= 0 {
		span = min(t.DelayLoop, maxSpread)
	}
	if span <= 0 {
		return 0
	}
	return rand.N(span)
}

// run is t's goroutine: warmup, then check, apply, sleep DelayLoop, until ctx ends.
func (m *Monitor) run(ctx context.Context, t *target, first time.Duration) {
	defer m.wg.Done()
	if !m.sleep(ctx, first) {
		return
	}
	for {
		r, ok := m.check(ctx, t)
		if !ok {
			return
		}
		m.apply(ctx, t, r)
		m.mu.Lock()
		delay := t.timing.DelayLoop
		m.mu.Unlock()
		if !m.sleep(ctx, delay) {
			return
		}
	}
}

// check runs one check of t: an attempt, and its retries while t is up (or before its first
// check). ok is false when ctx ended (t removed, or the Monitor closed).
func (m *Monitor) check(ctx context.Context, t *target) (r Result, ok bool) {
	for n := 0; ; n++ {
		m.mu.Lock()
		c, tm := t.checker, t.timing
		retry := t.up || !t.hasRun
		m.mu.Unlock()

		r = m.attempt(ctx, c, tm.ConnectTimeout)
		if ctx.Err() != nil {
			return r, false
		}
		m.mu.Lock()
		t.st.Attempts++
		m.totals.Attempts++
		if n > 0 {
			t.st.Retries++
			m.totals.Retries++
		}
		m.mu.Unlock()
		if r.OK || !retry || n >= tm.Retry {
			return r, true
		}
		m.log.Debug().Str("target", t.id).Stringer("check", c).Str("reason", r.Reason).
			Int("retry", n+1).Int("of", tm.Retry).Dur("in", tm.DelayBeforeRetry).Msg("health: attempt failed, will retry")
		if !m.sleep(ctx, tm.DelayBeforeRetry) {
			return r, false
		}
	}
}

// attempt is one Check, bounded by timeout on the Monitor's clock. A Checker that panics
// fails its attempt (and is logged) rather than taking the appliance down.
func (m *Monitor) attempt(ctx context.Context, c Checker, timeout time.Duration) (r Result) {
	actx, cancel := withTimeout(m.clock, ctx, timeout)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			m.log.Error().Stringer("check", c).Str("panic", fmt.Sprint(p)).Bytes("stack", debug.Stack()).Msg("health: checker panicked")
			r = Result{Weight: -1, Reason: fmt.Sprintf("checker panicked: %v", p)}
		}
	}()
	r = c.Check(actx, m.net)
	if !r.OK {
		r.Weight = -1
		if r.Reason == "" {
			r.Reason = "check failed"
			if errors.Is(actx.Err(), context.DeadlineExceeded) {
				r.Reason = "timeout"
			}
		}
	} else if r.Weight < -1 {
		r.Weight = -1
	}
	return r
}

// apply counts a completed check of t and moves t's state, reporting a transition if any.
func (m *Monitor) apply(ctx context.Context, t *target, r Result) {
	now := m.clock.Now()
	var tr *Transition
	m.mu.Lock()
	tm := t.timing
	t.hasRun = true
	t.st.Checks++
	m.totals.Checks++
	t.st.LastCheck = now
	if r.OK {
		t.falls = 0
		switch {
		case t.up && r.Weight != t.weight:
			t.weight = r.Weight
			t.st.WeightChanges++
			m.totals.WeightChanges++
			tr = &Transition{ID: t.id, Up: true, Weight: t.weight, At: now}
		case !t.up:
			t.weight = r.Weight
			t.rises++
			if t.rises >= tm.Rise {
				t.up, t.rises = true, 0
				t.st.Ups++
				m.totals.Ups++
				tr = &Transition{ID: t.id, Up: true, Weight: t.weight, At: now}
			}
		}
	} else {
		t.st.Failed++
		m.totals.Failed++
		t.st.LastReason = r.Reason
		t.rises = 0
		if t.up {
			t.falls++
			if t.falls >= tm.Fall {
				t.up, t.falls = false, 0
				t.st.Downs++
				m.totals.Downs++
				tr = &Transition{ID: t.id, Up: false, Weight: t.weight, Reason: r.Reason, At: now}
			}
		}
	}
	c := t.checker
	m.mu.Unlock()

	if !r.OK && tr == nil {
		m.log.Debug().Str("target", t.id).Stringer("check", c).Str("reason", r.Reason).Msg("health: check failed")
	}
	if tr == nil {
		return
	}
	ev := m.log.Info().Str("target", t.id).Stringer("check", c).Bool("up", tr.Up).Int32("weight", tr.Weight)
	if !tr.Up {
		ev = ev.Str("reason", tr.Reason)
	}
	ev.Msg("health: transition")
	m.notify(ctx, *tr)
}

// notify calls OnChange, one call at a time, unless ctx ended meanwhile.
func (m *Monitor) notify(ctx context.Context, tr Transition) {
	if m.onChange == nil {
		return
	}
	m.notifyMu.Lock()
	defer m.notifyMu.Unlock()
	if ctx.Err() != nil {
		return
	}
	m.onChange(tr)
}

// sleep waits d on the Monitor's clock; it reports false if ctx ended first.
func (m *Monitor) sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	if _, ok := m.clock.(RealClock); ok { // a channel timer: no goroutine per wake-up
		tm := time.NewTimer(d)
		defer tm.Stop()
		select {
		case <-tm.C:
			return ctx.Err() == nil
		case <-ctx.Done():
			return false
		}
	}
	wake := make(chan struct{})
	tm := m.clock.AfterFunc(d, func() { close(wake) })
	select {
	case <-wake:
		return ctx.Err() == nil
	case <-ctx.Done():
		tm.Stop()
		return false
	}
}
