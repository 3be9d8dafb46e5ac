package health_test

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rs/zerolog"

	"github.com/uvs-lb/uvs/health"
	"github.com/uvs-lb/uvs/health/healthtest"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// rig is a Monitor on a fake clock, recording its transitions.
type rig struct {
	t   *testing.T
	clk *healthtest.Clock
	m   *health.Monitor

	mu  sync.Mutex
	trs []health.Transition
	// onChange, if set, runs in OnChange after the transition is recorded.
	onChange func(health.Transition)
}

// inBubble runs f in a synctest bubble with a started Monitor on a fake clock that settles
// with synctest.Wait: every Advance is deterministic. The Monitor is closed after f.
func inBubble(t *testing.T, f func(t *testing.T, r *rig)) {
	t.Helper()
	synctest.Test(t, func(t *testing.T) {
		r := &rig{t: t, clk: healthtest.NewClock(t0)}
		r.clk.Settle = synctest.Wait
		r.m = health.New(health.Options{
			Log:      zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.InfoLevel),
			Clock:    r.clk,
			OnChange: r.record,
		})
		if err := r.m.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		defer r.m.Close()
		f(t, r)
	})
}

func (r *rig) record(tr health.Transition) {
	r.mu.Lock()
	r.trs = append(r.trs, tr)
	f := r.onChange
	r.mu.Unlock()
	if f != nil {
		f(tr)
	}
}

func (r *rig) transitions() []health.Transition {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.trs)
}

// firstCall advances until c's first check and returns its time.
func (r *rig) firstCall(c *healthtest.Checker) time.Time {
	r.t.Helper()
	for range 1000 {
		r.clk.Advance(0) // settle: let the goroutines set their timers
		if calls := c.Calls(); len(calls) > 0 {
			return calls[0]
		}
		next, ok := r.clk.Next()
		if !ok {
			r.t.Fatal("no timer pending and no check yet")
		}
		r.clk.AdvanceTo(next)
	}
	r.t.Fatal("no first check")
	return time.Time{}
}

func ok(w int32) health.Result { return health.Result{OK: true, Weight: w} }

var refused = health.Result{Weight: -1, Reason: "connection refused"}

func sec(n int) time.Duration { return time.Duration(n) * time.Second }

func relTimes(base time.Time, ts []time.Time) []time.Duration {
	var d []time.Duration
	for _, t := range ts {
		d = append(d, t.Sub(base))
	}
	return d
}

func TestRiseFallAlpha(t *testing.T) {
	inBubble(t, func(t *testing.T, r *rig) {
		c := healthtest.NewChecker("c", r.clk, ok(-1))
		r.m.Set([]health.Target{{ID: "a", Checker: c, Timing: health.Timing{
			DelayLoop: sec(10), Warmup: sec(5), Rise: 3, Fall: 2, Alpha: true}}})
		if up, w, known := r.m.State("a"); up || w != -1 || !known {
			t.Fatalf("alpha target at start: up %v weight %d known %v, want down, -1, known", up, w, known)
		}
		c1 := r.firstCall(c)
		if d := c1.Sub(t0); d < 0 || d >= sec(5) {
			t.Fatalf("first check %v after start, want within the 5 s warmup", d)
		}
		// Rise 3: up at the third success, 20 s after the first.
		r.clk.AdvanceTo(c1.Add(sec(20) - 1))
		if len(r.transitions()) != 0 {
			t.Fatalf("up before the third success: %+v", r.transitions())
		}
		r.clk.AdvanceTo(c1.Add(sec(20)))
		want := []health.Transition{{ID: "a", Up: true, Weight: -1, At: c1.Add(sec(20))}}
		if got := r.transitions(); !slices.Equal(got, want) {
			t.Fatalf("transitions %+v, want %+v", got, want)
		}
		// Fall 2: the failures at +30 and +40 take it down at +40.
		c.Set(refused)
		r.clk.AdvanceTo(c1.Add(sec(30)))
		if up, _, _ := r.m.State("a"); !up {
			t.Fatal("down after one failure with fall 2")
		}
		r.clk.AdvanceTo(c1.Add(sec(40)))
		want = append(want, health.Transition{ID: "a", Up: false, Weight: -1, Reason: "connection refused", At: c1.Add(sec(40))})
		if got := r.transitions(); !slices.Equal(got, want) {
			t.Fatalf("transitions %+v, want %+v", got, want)
		}
		// A failure in the middle of a rise starts it again: +50 ok, +60 fails, +70 +80 +90 ok.
		c.Set(ok(-1))
		r.clk.AdvanceTo(c1.Add(sec(50)))
		c.Set(refused)
		r.clk.AdvanceTo(c1.Add(sec(60)))
		c.Set(ok(-1))
		r.clk.AdvanceTo(c1.Add(sec(90) - 1))
		if len(r.transitions()) != 2 {
			t.Fatalf("up again too soon: %+v", r.transitions())
		}
		r.clk.AdvanceTo(c1.Add(sec(90)))
		want = append(want, health.Transition{ID: "a", Up: true, Weight: -1, At: c1.Add(sec(90))})
		if got := r.transitions(); !slices.Equal(got, want) {
			t.Fatalf("transitions %+v, want %+v", got, want)
		}
		wantCalls := []time.Duration{0, sec(10), sec(20), sec(30), sec(40), sec(50), sec(60), sec(70), sec(80), sec(90)}
		if got := relTimes(c1, c.Calls()); !slices.Equal(got, wantCalls) {
			t.Fatalf("checks at %v, want %v", got, wantCalls)
		}
		st := r.m.Stats()
		if st.Checks != 10 || st.Failed != 3 || st.Ups != 2 || st.Downs != 1 || st.Retries != 0 || st.Up != 1 || st.Targets != 1 {
			t.Fatalf("stats %+v", st)
		}
	})
}

func TestNoAlphaStartsUp(t *testing.T) {
	inBubble(t, func(t *testing.T, r *rig) {
		c := healthtest.NewChecker("c", r.clk, refused)
		r.m.Set([]health.Target{{ID: "a", Checker: c, Timing: health.Timing{DelayLoop: sec(10), Warmup: sec(1)}}})
		if up, _, _ := r.m.State("a"); !up {
			t.Fatal("target without alpha starts down")
		}
		c1 := r.firstCall(c)
		want := []health.Transition{{ID: "a", Up: false, Weight: -1, Reason: "connection refused", At: c1}}
		if got := r.transitions(); !slices.Equal(got, want) {
			t.Fatalf("transitions %+v, want %+v", got, want)
		}
	})
}

// A dead server (a check that hangs until its context ends) goes down exactly when its
// attempts, each bounded by ConnectTimeout, and the delays between them say.
func TestDeadTargetTiming(t *testing.T) {
	for _, tc := range []struct {
		name   string
		timing health.Timing
		down   time.Duration   // after the first attempt began
		calls  []time.Duration // attempts, after the first
		checks uint64
	}{
		{"keepalived defaults", health.Timing{}, sec(5), []time.Duration{0}, 1},
		{"retry 1", health.Timing{Retry: 1}, sec(5 + 1 + 5), []time.Duration{0, sec(6)}, 1},
		{"retry 2 delay 3s timeout 2s", health.Timing{Retry: 2, DelayBeforeRetry: sec(3), ConnectTimeout: sec(2)},
			sec(2 + 3 + 2 + 3 + 2), []time.Duration{0, sec(5), sec(10)}, 1},
		// Fall 2: the first check fails at 17 s, the next begins 60 s later and fails 17 s after.
		{"retry 2 fall 2", health.Timing{Retry: 2, Fall: 2, DelayLoop: sec(60)}, sec(17 + 60 + 17),
			[]time.Duration{0, sec(6), sec(12), sec(77), sec(83), sec(89)}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inBubble(t, func(t *testing.T, r *rig) {
				c := healthtest.NewChecker("dead", r.clk, ok(-1))
				c.Hang()
				tm := tc.timing
				tm.Warmup = sec(1)
				r.m.Set([]health.Target{{ID: "d", Checker: c, Timing: tm}})
				c1 := r.firstCall(c)
				r.clk.AdvanceTo(c1.Add(tc.down - 1))
				if len(r.transitions()) != 0 {
					t.Fatalf("down too soon: %+v", r.transitions())
				}
				r.clk.AdvanceTo(c1.Add(tc.down))
				want := []health.Transition{{ID: "d", Up: false, Weight: -1, Reason: "timeout", At: c1.Add(tc.down)}}
				if got := r.transitions(); !slices.Equal(got, want) {
					t.Fatalf("transitions %+v, want %+v", got, want)
				}
				if got := relTimes(c1, c.Calls()); !slices.Equal(got, tc.calls) {
					t.Fatalf("attempts at %v, want %v", got, tc.calls)
				}
				st := r.m.Stats()
				retries := uint64(len(tc.calls)) - tc.checks
				if st.Checks != tc.checks || st.Failed != tc.checks || st.Retries != retries || st.Attempts != uint64(len(tc.calls)) {
					t.Fatalf("stats %+v, want %d checks failed, %d retries", st.Counters, tc.checks, retries)
				}
				// Down, it is checked once per delay loop, without retries: each attempt
				// lasts ConnectTimeout, and the next begins DelayLoop after.
				full := tm.WithDefaults()
				n := len(c.Calls())
				r.clk.Advance(3 * (full.DelayLoop + full.ConnectTimeout))
				calls := relTimes(c1, c.Calls())[n:]
				var wantDown []time.Duration
				for i := 1; i <= 3; i++ {
					wantDown = append(wantDown, tc.down+time.Duration(i)*full.DelayLoop+time.Duration(i-1)*full.ConnectTimeout)
				}
				if !slices.Equal(calls, wantDown) {
					t.Fatalf("attempts while down at %v, want %v", calls, wantDown)
				}
			})
		})
	}
}

// The same on the real clock (time, context.WithTimeout), in synctest's fake time.
func TestDeadTargetRealClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var got []health.Transition
		m := health.New(health.Options{OnChange: func(tr health.Transition) {
			mu.Lock()
			defer mu.Unlock()
			got = append(got, tr)
		}})
		c := healthtest.NewChecker("dead", nil, ok(-1))
		c.Hang()
		m.Set([]health.Target{{ID: "d", Checker: c, Timing: health.Timing{
			DelayLoop: sec(30), ConnectTimeout: sec(2), Retry: 1, DelayBeforeRetry: sec(1), Warmup: sec(1)}}})
		if err := m.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		time.Sleep(sec(10))
		mu.Lock()
		defer mu.Unlock()
		calls := c.Calls()
		if len(calls) != 2 || calls[1].Sub(calls[0]) != sec(3) {
			t.Fatalf("attempts at %v, want two 3 s apart", calls)
		}
		if len(got) != 1 || got[0].Up || got[0].Reason != "timeout" || got[0].At.Sub(calls[0]) != sec(5) {
			t.Fatalf("transitions %+v, want down by timeout 5 s after %v", got, calls[0])
		}
	})
}

func TestWarmupSpread(t *testing.T) {
	for _, tc := range []struct {
		name   string
		timing health.Timing
		span   time.Duration
	}{
		{"warmup 10s", health.Timing{Warmup: sec(10), DelayLoop: sec(60)}, sec(10)},
		{"warmup 0 delay_loop 60s", health.Timing{DelayLoop: sec(60)}, sec(1)},
		{"warmup 0 delay_loop 200ms", health.Timing{DelayLoop: 200 * time.Millisecond}, 200 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inBubble(t, func(t *testing.T, r *rig) {
				const n = 1000
				var targets []health.Target
				c := healthtest.NewChecker("c", r.clk, ok(-1))
				for i := range n {
					targets = append(targets, health.Target{ID: strconv.Itoa(i), Checker: c, Timing: tc.timing})
				}
				r.m.Set(targets)
				r.clk.Advance(tc.span)
				calls := c.Calls()
				if len(calls) != n {
					t.Fatalf("%d first checks within %v, want %d", len(calls), tc.span, n)
				}
				const buckets = 10
				var hist [buckets]int
				for _, at := range calls {
					d := at.Sub(t0)
					if d < 0 || d >= tc.span {
						t.Fatalf("first check %v after start, want within [0, %v)", d, tc.span)
					}
					hist[d*buckets/tc.span]++
				}
				for i, h := range hist { // 100 expected in each: 40 is 6 standard deviations off
					if h < 40 {
						t.Fatalf("first checks not spread over %v: %d in bucket %d (%v)", tc.span, h, i, hist)
					}
				}
				if len(r.transitions()) != 0 || r.m.Stats().Up != n {
					t.Fatalf("transitions %d, up %d", len(r.transitions()), r.m.Stats().Up)
				}
			})
		})
	}
}

// A reload (Set with the same IDs) keeps state and schedule; new targets start, removed ones stop.
func TestSetKeepsStateAndSchedule(t *testing.T) {
	inBubble(t, func(t *testing.T, r *rig) {
		tm := health.Timing{DelayLoop: sec(10), Warmup: sec(1)}
		a := healthtest.NewChecker("a", r.clk, refused)
		b := healthtest.NewChecker("b", r.clk, ok(-1))
		r.m.Set([]health.Target{{ID: "a", Checker: a, Timing: tm}, {ID: "b", Checker: b, Timing: tm}})
		a1 := r.firstCall(a)
		r.clk.Advance(sec(1))
		if up, _, _ := r.m.State("a"); up {
			t.Fatal("a still up")
		}
		// Reloads every second for 25 s keep a's schedule: checks at a1+10, +20.
		for range 25 {
			r.m.Set([]health.Target{{ID: "a", Checker: a, Timing: tm}, {ID: "b", Checker: b, Timing: tm}})
			r.clk.Advance(sec(1))
		}
		if got, want := relTimes(a1, a.Calls()), []time.Duration{0, sec(10), sec(20)}; !slices.Equal(got, want) {
			t.Fatalf("a checked at %v across reloads, want %v", got, want)
		}
		// Now a takes a new checker that passes, b goes, c comes (alpha).
		a2 := healthtest.NewChecker("a2", r.clk, ok(-1))
		c := healthtest.NewChecker("c", r.clk, ok(-1))
		r.m.Set([]health.Target{
			{ID: "a", Checker: a2, Timing: tm},
			{ID: "c", Checker: c, Timing: health.Timing{DelayLoop: sec(10), Warmup: sec(1), Alpha: true}},
		})
		if up, _, _ := r.m.State("a"); up {
			t.Fatal("a lost its state (down) in the reload")
		}
		if _, _, known := r.m.State("b"); known {
			t.Fatal("b still known after its removal")
		}
		if up, _, known := r.m.State("c"); up || !known {
			t.Fatal("new alpha target c not down")
		}
		nb := len(b.Calls())
		r.clk.AdvanceTo(a1.Add(sec(30) - 1))
		if len(a2.Calls()) != 0 {
			t.Fatal("the reload reset a's schedule")
		}
		r.clk.AdvanceTo(a1.Add(sec(30)))
		if len(a2.Calls()) != 1 || len(a.Calls()) != 3 {
			t.Fatalf("a's new checker not run at a's next check: old %d new %d", len(a.Calls()), len(a2.Calls()))
		}
		r.clk.Advance(time.Hour)
		if len(b.Calls()) != nb {
			t.Fatal("removed target b still checked")
		}
		want := map[string]bool{"a": true, "c": true}
		for _, tr := range r.transitions() {
			if tr.ID == "b" {
				t.Fatalf("transition of removed b: %+v", tr)
			}
			if tr.Up {
				delete(want, tr.ID)
			}
		}
		if len(want) != 0 {
			t.Fatalf("no up transition for %v: %+v", want, r.transitions())
		}
		if st := r.m.Stats(); st.Targets != 2 || st.Up != 2 || len(st.PerTarget) != 2 {
			t.Fatalf("stats %+v", st)
		}
	})
}

// Removing a target whose check hangs ends it; its result is not reported.
func TestRemoveDuringCheck(t *testing.T) {
	inBubble(t, func(t *testing.T, r *rig) {
		c := healthtest.NewChecker("dead", r.clk, ok(-1))
		c.Hang()
		r.m.Set([]health.Target{{ID: "d", Checker: c, Timing: health.Timing{Warmup: sec(1)}}})
		r.firstCall(c)
		r.m.Set(nil)
		r.clk.Advance(time.Hour)
		if len(c.Calls()) != 1 || len(r.transitions()) != 0 || r.clk.Pending() != 0 {
			t.Fatalf("after removal: %d calls, transitions %+v, %d timers", len(c.Calls()), r.transitions(), r.clk.Pending())
		}
		if st := r.m.Stats(); st.Attempts != 0 || st.Targets != 0 {
			t.Fatalf("stats %+v", st)
		}
	})
}

func TestDynamicWeight(t *testing.T) {
	inBubble(t, func(t *testing.T, r *rig) {
		r.onChange = func(tr health.Transition) { // State agrees with the transition, from inside OnChange
			if up, w, _ := r.m.State(tr.ID); up != tr.Up || w != tr.Weight {
				t.Errorf("State in OnChange: %v %d, transition %+v", up, w, tr)
			}
		}
		c := healthtest.NewChecker("misc", r.clk, ok(-1))
		r.m.Set([]health.Target{{ID: "w", Checker: c, Timing: health.Timing{DelayLoop: sec(10), Warmup: sec(1), Rise: 2}}})
		c1 := r.firstCall(c)
		step := func(i int, res health.Result) {
			c.Set(res)
			r.clk.AdvanceTo(c1.Add(sec(10 * i)))
		}
		step(1, ok(5))
		step(2, ok(5)) // no change
		step(3, ok(7))
		step(4, refused)
		step(5, ok(3)) // down: rise 1 of 2, weight follows silently
		if _, w, _ := r.m.State("w"); w != 3 {
			t.Fatalf("weight of the down target %d, want 3", w)
		}
		step(6, ok(3))
		step(7, ok(-1))
		at := func(i int) time.Time { return c1.Add(sec(10 * i)) }
		want := []health.Transition{
			{ID: "w", Up: true, Weight: 5, At: at(1)},
			{ID: "w", Up: true, Weight: 7, At: at(3)},
			{ID: "w", Up: false, Weight: 7, Reason: "connection refused", At: at(4)},
			{ID: "w", Up: true, Weight: 3, At: at(6)},
			{ID: "w", Up: true, Weight: -1, At: at(7)},
		}
		if got := r.transitions(); !slices.Equal(got, want) {
			t.Fatalf("transitions\n%+v\nwant\n%+v", got, want)
		}
		if st := r.m.Stats(); st.WeightChanges != 3 || st.Ups != 1 || st.Downs != 1 {
			t.Fatalf("stats %+v", st.Counters)
		}
	})
}

// OnChange may call Set, even to remove the target whose transition it is.
func TestSetFromOnChange(t *testing.T) {
	inBubble(t, func(t *testing.T, r *rig) {
		r.onChange = func(tr health.Transition) { r.m.Set(nil) }
		c := healthtest.NewChecker("c", r.clk, refused)
		r.m.Set([]health.Target{{ID: "a", Checker: c, Timing: health.Timing{Warmup: sec(1)}}})
		r.clk.Advance(time.Hour)
		if len(r.transitions()) != 1 || r.m.Stats().Targets != 0 {
			t.Fatalf("transitions %+v, stats %+v", r.transitions(), r.m.Stats())
		}
	})
}

type panicker struct{}

func (panicker) Check(context.Context, health.Net) health.Result { panic("boom") }
func (panicker) String() string                                  { return "PANIC_CHECK" }

func TestCheckerPanicFails(t *testing.T) {
	inBubble(t, func(t *testing.T, r *rig) {
		r.m.Set([]health.Target{{ID: "p", Checker: panicker{}, Timing: health.Timing{Warmup: sec(1)}}})
		r.clk.Advance(sec(1))
		trs := r.transitions()
		if len(trs) != 1 || trs[0].Up || trs[0].Reason != "checker panicked: boom" {
			t.Fatalf("transitions %+v", trs)
		}
	})
}

// Close while a check hangs: the check's context ends, Close waits for it, nothing is reported.
func TestCloseWithCheckInFlight(t *testing.T) {
	for _, clk := range []struct {
		name string
		c    health.Clock
	}{{"fake clock", healthtest.NewClock(t0)}, {"real clock", nil}} {
		t.Run(clk.name, func(t *testing.T) {
			var reported atomic.Int32
			m := health.New(health.Options{Clock: clk.c, OnChange: func(health.Transition) { reported.Add(1) }})
			c := healthtest.NewChecker("dead", clk.c, ok(-1))
			c.Hang()
			entered := c.Entered()
			m.Set([]health.Target{{ID: "d", Checker: c, Timing: health.Timing{
				Warmup: time.Millisecond, ConnectTimeout: time.Hour, DelayLoop: time.Hour}}})
			if err := m.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			// The fake clock runs no Settle here: advance until the goroutine has set its
			// warmup timer and the check began.
		wait:
			for {
				select {
				case <-entered:
					break wait
				case <-time.After(time.Millisecond):
					if fc, ok := clk.c.(*healthtest.Clock); ok {
						fc.Advance(time.Millisecond)
					}
				}
			}
			start := time.Now()
			if err := m.Close(); err != nil {
				t.Fatal(err)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Fatalf("Close took %v", d)
			}
			if reported.Load() != 0 || m.Stats().Attempts != 0 {
				t.Fatalf("a cancelled check was reported or counted: %d, %+v", reported.Load(), m.Stats().Counters)
			}
			if err := m.Close(); err != nil {
				t.Fatal("second Close:", err)
			}
		})
	}
}

// OnChange calls are serialised, even when many targets change at once: without Settle, the
// fake clock wakes every target back to back and their checks run concurrently.
func TestOnChangeSerialised(t *testing.T) {
	clk := healthtest.NewClock(t0)
	var inFlight, calls atomic.Int32
	var overlap atomic.Bool
	done := make(chan struct{})
	const n = 200
	m := health.New(health.Options{Clock: clk, OnChange: func(health.Transition) {
		if inFlight.Add(1) > 1 {
			overlap.Store(true)
		}
		time.Sleep(100 * time.Microsecond)
		inFlight.Add(-1)
		if calls.Add(1) == n {
			close(done)
		}
	}})
	var targets []health.Target
	for i := range n {
		c := healthtest.NewChecker("c", clk, refused)
		targets = append(targets, health.Target{ID: strconv.Itoa(i), Checker: c, Timing: health.Timing{Warmup: time.Millisecond}})
	}
	m.Set(targets)
	if err := m.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	deadline := time.Now().Add(10 * time.Second)
	for m.Stats().Checks < n && time.Now().Before(deadline) {
		clk.Advance(time.Millisecond)
		time.Sleep(time.Millisecond)
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("%d of %d transitions", calls.Load(), n)
	}
	if overlap.Load() {
		t.Fatal("OnChange calls overlapped")
	}
}

func TestLifecycle(t *testing.T) {
	m := health.New(health.Options{})
	if err := m.Close(); err != nil {
		t.Fatal("Close before Start:", err)
	}
	if err := m.Start(context.Background()); err == nil {
		t.Fatal("Start after Close succeeded")
	}
	m.Set([]health.Target{{ID: "x", Checker: healthtest.NewChecker("x", nil, ok(-1))}}) // ignored
	if _, _, known := m.State("x"); known {
		t.Fatal("Set after Close took effect")
	}

	m = health.New(health.Options{})
	if err := m.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := m.Start(context.Background()); err == nil {
		t.Fatal("second Start succeeded")
	}
	m.Set([]health.Target{{ID: "nil"}}) // no checker: ignored
	if _, _, known := m.State("nil"); known {
		t.Fatal("target without a checker kept")
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
}

// Targets Set before Start begin with Start; a cancelled Start context stops them.
func TestSetBeforeStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := healthtest.NewClock(t0)
		clk.Settle = synctest.Wait
		m := health.New(health.Options{Clock: clk})
		c := healthtest.NewChecker("c", clk, ok(-1))
		m.Set([]health.Target{{ID: "a", Checker: c, Timing: health.Timing{DelayLoop: sec(10), Warmup: sec(1)}}})
		clk.Advance(time.Minute)
		if len(c.Calls()) != 0 {
			t.Fatal("checked before Start")
		}
		ctx, cancel := context.WithCancel(t.Context())
		if err := m.Start(ctx); err != nil {
			t.Fatal(err)
		}
		clk.Advance(sec(21))
		if n := len(c.Calls()); n != 3 {
			t.Fatalf("%d checks in 21 s, want 3", n)
		}
		cancel()
		clk.Advance(time.Hour)
		if n := len(c.Calls()); n != 3 {
			t.Fatalf("checks after the context ended: %d", n)
		}
		m.Close()
	})
}

func TestTimingDefaults(t *testing.T) {
	got := health.Timing{Retry: -1, Rise: -2, Warmup: -1}.WithDefaults()
	want := health.Timing{DelayLoop: sec(60), ConnectTimeout: sec(5), DelayBeforeRetry: sec(1), Rise: 1, Fall: 1}
	if got != want {
		t.Fatalf("%+v, want %+v", got, want)
	}
}

// ctxChecker records what its context says, and fails with no reason when it ends.
type ctxChecker struct {
	clk      health.Clock
	mu       sync.Mutex
	start    time.Time
	deadline time.Time
	err      error
	net      health.Net
}

func (c *ctxChecker) Check(ctx context.Context, n health.Net) health.Result {
	start := c.clk.Now()
	dl, _ := ctx.Deadline()
	<-ctx.Done()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.start, c.deadline, c.err, c.net = start, dl, ctx.Err(), n
	return health.Result{Weight: -1}
}

func (c *ctxChecker) String() string { return "CTX_CHECK" }

type fakeNet struct{ health.Net }

// The attempt's context has its deadline on the Monitor's clock and ends with
// DeadlineExceeded, which the Monitor reports as "timeout"; the Net is the Options'.
func TestAttemptContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := healthtest.NewClock(t0)
		clk.Settle = synctest.Wait
		var got []health.Transition
		n := &fakeNet{}
		m := health.New(health.Options{Net: n, Clock: clk, OnChange: func(tr health.Transition) { got = append(got, tr) }})
		c := &ctxChecker{clk: clk}
		m.Set([]health.Target{{ID: "x", Checker: c, Timing: health.Timing{ConnectTimeout: sec(3), Warmup: sec(1)}}})
		if err := m.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		clk.Advance(sec(4))
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.deadline.Sub(c.start) != sec(3) || c.err != context.DeadlineExceeded || c.net != n {
			t.Fatalf("attempt began %v, deadline %v, err %v, net %v", c.start, c.deadline, c.err, c.net)
		}
		if len(got) != 1 || got[0].Reason != "timeout" || !got[0].At.Equal(c.start.Add(sec(3))) {
			t.Fatalf("transitions %+v", got)
		}
	})
}
