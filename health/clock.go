package health

import (
	"context"
	"errors"
	"time"
)

// Clock is the Monitor's time: when checks are due, and how long an attempt may last. The
// real one is the time package; tests pass a fake one (healthtest.Clock) to run hours of
// schedule in milliseconds, deterministically.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f once d has passed (in a goroutine of its own, or in the caller of a
	// fake clock's Advance). f must not block.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a pending AfterFunc.
type Timer interface {
	// Stop prevents the call if it has not happened yet, and reports whether it did so.
	Stop() bool
}

// RealClock is the time package's clock.
type RealClock struct{}

// Now is time.Now.
func (RealClock) Now() time.Time { return time.Now() }

// AfterFunc is time.AfterFunc.
func (RealClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

// withTimeout is context.WithTimeout on clock c: the context's Deadline is in c's time and
// c's timer ends it, with Err (and Cause) context.DeadlineExceeded, as context.WithTimeout's.
func withTimeout(c Clock, parent context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if _, ok := c.(RealClock); ok {
		return context.WithTimeout(parent, d)
	}
	ctx, cancel := context.WithCancelCause(parent)
	deadline := c.Now().Add(d)
	if pd, ok := parent.Deadline(); ok && pd.Before(deadline) {
		deadline = pd
	}
	t := c.AfterFunc(d, func() { cancel(context.DeadlineExceeded) })
	return clockCtx{Context: ctx, deadline: deadline}, func() {
		t.Stop()
		cancel(context.Canceled)
	}
}

// clockCtx reports its clock's deadline, and DeadlineExceeded when that deadline ended it.
type clockCtx struct {
	context.Context
	deadline time.Time
}

func (c clockCtx) Deadline() (time.Time, bool) { return c.deadline, true }

func (c clockCtx) Err() error {
	err := c.Context.Err()
	if err != nil && errors.Is(context.Cause(c.Context), context.DeadlineExceeded) {
		return context.DeadlineExceeded
	}
	return err
}
