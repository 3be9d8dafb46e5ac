package lb

import (
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// Engine time. The engine does not take its Clock's readings as they come: a clock can step
// (a VM paused and resumed, a stepped clock source), and to the connection table a step
// forward of an hour is an hour without a packet, which expires every connection whose
// packets kept flowing in real time. So the engine keeps its own time, its Clock's reading
// plus an offset, and the maintenance that runs every Options.MaintainEvery disciplines it:
//
//   - Engine time advances by at most Options.ClockStep from one maintenance to the next.
//     A reading further ahead is a discontinuity: the engine advances by ClockStep and the
//     excess goes into the offset, subtracted from every later reading.
//   - Engine time never goes back. A reading behind the last maintenance's is a
//     discontinuity too: the engine stands still and the step back goes into the offset.
//   - Between two maintenances, a reading is clamped to [last maintenance, last maintenance
//     + ClockStep]: a packet that reads a jumped clock before maintenance has absorbed the
//     jump sees at most ClockStep of it, never enough to expire a live connection whose
//     timeout is longer than ClockStep.
//
// Time a stall of maintenance itself longer than ClockStep really lasted is lost the same
// way: entries then live longer than their timeouts by that much, which is harmless (and
// it is counted as a jump: from inside the process a stall and a step look alike).
//
// Readers (Engine.Now, once a batch in the port loops) take two atomic loads and no lock.
// Until the first maintenance (Start) engine time is the Clock's reading, unclamped, so an
// engine that is never started (tests, tools) reads its clock as it is.

// DefaultClockStep is Options.ClockStep's floor when it is 0: the default is 4 ×
// MaintainEvery (1 s with the default 250 ms), and at least this.
const DefaultClockStep = time.Second

// noBase marks engine time that no maintenance has disciplined yet.
const noBase = math.MinInt64

// ClockJump is one discontinuity of the engine's clock that maintenance absorbed.
type ClockJump struct {
	// By is how far the clock's reading moved beyond what engine time took from it:
	// positive for a jump forward (beyond ClockStep), negative for one back.
	By time.Duration
	// At is the engine time at which it was absorbed (Engine.Now's time base).
	At int64
}

// ClockState is what the engine's clock discipline has done (Engine.ClockState).
type ClockState struct {
	Step     time.Duration // the most engine time advances between two maintenances; 0: off
	Jumps    uint64        // discontinuities absorbed, forward and back
	Forward  time.Duration // total of the jumps forward absorbed
	Backward time.Duration // total of the jumps back absorbed (positive)
	// Offset is engine time minus the clock's reading: −(Forward − Backward), give or take
	// the time standing still after jumps back.
	Offset time.Duration
}

// engineClock is the engine's time: raw's reading plus offset, clamped around base.
type engineClock struct {
	raw  Clock
	step int64 // 0: no discipline, engine time is raw's reading

	// base is the engine time of the latest maintenance, noBase before the first. Written
	// after offset, read before it: a reader that sees a new base sees its offset.
	base   atomic.Int64
	offset atomic.Int64

	mu       sync.Mutex // discipline
	jumps    uint64
	forward  int64
	backward int64
}

func (c *engineClock) init(raw Clock, step time.Duration) {
	c.raw, c.step = raw, int64(step)
	c.base.Store(noBase)
}

// now is engine time. Allocation-free, lock-free: the data path's clock.
func (c *engineClock) now() int64 {
	for {
		// The loads are ordered against maintenance, which reads the clock, then stores
		// the offset, then the base. The offset is loaded before the clock is read: an
		// offset that absorbed a jump back, added to a reading from before that jump,
		// would put engine time a step ahead of where the next readings will be.
		b := c.base.Load()
		off := c.offset.Load()
		t := c.raw.Now() + off
		if b == noBase {
			return t
		}
		if c.base.Load() != b {
			// A maintenance moved the base while this reader was between its loads: a stale
			// base with a newer reading would clamp to a time before what other readers
			// already returned. Read again.
			continue
		}
		if t > b+c.step {
			return b + c.step
		}
		return max(t, b)
	}
}

// discipline reads the clock for a maintenance: it absorbs a discontinuity into the offset,
// moves base to the engine time it returns, and reports the jump absorbed (By 0: none).
func (c *engineClock) discipline() (int64, ClockJump) {
	c.mu.Lock()
	defer c.mu.Unlock()
	off := c.offset.Load()
	t := c.raw.Now() + off
	if c.step <= 0 {
		return t, ClockJump{}
	}
	b := c.base.Load()
	if b == noBase {
		c.base.Store(t)
		return t, ClockJump{}
	}
	var by int64
	switch {
	case t-b > c.step:
		by = t - (b + c.step)
		c.forward += by
	case t < b:
		by = t - b
		c.backward -= by
	}
	if by != 0 {
		c.jumps++
		off -= by
		t -= by
		c.offset.Store(off)
	}
	c.base.Store(t)
	return t, ClockJump{By: time.Duration(by), At: t}
}

func (c *engineClock) state() ClockState {
	c.mu.Lock()
	defer c.mu.Unlock()
	return ClockState{Step: time.Duration(c.step), Jumps: c.jumps, Forward: time.Duration(c.forward),
		Backward: time.Duration(c.backward), Offset: time.Duration(c.offset.Load())}
}

// clockStep is Options.ClockStep resolved: 0 is the default, negative is off (0), and a step
// shorter than two maintenance intervals would hold engine time back on every tick.
func clockStep(o *Options) time.Duration {
	switch s := o.ClockStep; {
	case s < 0:
		return 0
	case s == 0:
		return max(DefaultClockStep, 4*o.MaintainEvery)
	default:
		return max(s, 2*o.MaintainEvery)
	}
}

// ClockState returns what the engine's clock discipline has done.
func (e *Engine) ClockState() ClockState { return e.clk.state() }

// maintain is one maintenance on the engine's own clock: it disciplines engine time,
// reports a jump it absorbed, and runs Maintain. Start calls it every MaintainEvery.
func (e *Engine) maintain() {
	now, j := e.clk.discipline()
	if j.By != 0 && e.opts.OnClockJump != nil {
		e.opts.OnClockJump(j)
	}
	e.Maintain(now)
}
