package healthtest

import (
	"context"
	"sync"
	"time"

	"github.com/uvs-lb/uvs/health"
)

// Checker is a fake health.Checker whose result the test sets, and which can hang like a
// dead server (until its context ends). It records when it was called.
type Checker struct {
	Name  string       // String returns it
	Clock health.Clock // read at each call for Calls; nil: time.Now

	mu      sync.Mutex
	result  health.Result
	hang    bool
	calls   []time.Time
	entered chan struct{}
}

// NewChecker returns a Checker that reports r.
func NewChecker(name string, clock health.Clock, r health.Result) *Checker {
	return &Checker{Name: name, Clock: clock, result: r}
}

// Set makes the following checks report r (and stop hanging).
func (c *Checker) Set(r health.Result) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.result, c.hang = r, false
}

// Hang makes the following checks block until their context ends, then fail with "timeout",
// as a check of a server that does not answer does.
func (c *Checker) Hang() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.hang = true
}

// Entered returns a channel that receives (without blocking the check) each time a check
// begins.
func (c *Checker) Entered() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entered == nil {
		c.entered = make(chan struct{}, 1)
	}
	return c.entered
}

// Calls returns when each check began.
func (c *Checker) Calls() []time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Time(nil), c.calls...)
}

// Check reports the result set, or hangs.
func (c *Checker) Check(ctx context.Context, _ health.Net) health.Result {
	now := time.Now()
	if c.Clock != nil {
		now = c.Clock.Now()
	}
	c.mu.Lock()
	c.calls = append(c.calls, now)
	r, hang, entered := c.result, c.hang, c.entered
	c.mu.Unlock()
	if entered != nil {
		select {
		case entered <- struct{}{}:
		default:
		}
	}
	if hang {
		<-ctx.Done()
		return health.Result{Weight: -1, Reason: "timeout"}
	}
	return r
}

// String returns Name.
func (c *Checker) String() string { return c.Name }

var _ health.Checker = (*Checker)(nil)
