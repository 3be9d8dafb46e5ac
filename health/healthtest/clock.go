// Package healthtest has fakes for testing code that uses package health: a Clock that tests
// drive by hand, and a Checker whose result they set.
package healthtest

import (
	"container/heap"
	"sync"
	"time"

	"github.com/uvs-lb/uvs/health"
)

// Clock is a fake health.Clock. Its time moves only in Advance, which calls the functions of
// the timers that come due, in the order of their times (and of their creation for equal
// times), each with Now reading its time.
//
// A fake clock alone cannot know when the goroutines a timer woke have reacted (run their
// check, set their next timer) and it may move on. Settle, if set, is called before and after
// every timer's function, and must wait until they have: synctest.Wait, for a test running in
// a synctest bubble, is exactly that. Then Advance is deterministic, and runs hours of
// schedule in milliseconds. Without Settle, Advance runs the due timers back to back, and
// the test waits for their effects itself.
type Clock struct {
	Settle func()

	mu     sync.Mutex
	now    time.Time
	seq    uint64
	timers timerHeap
}

// NewClock returns a Clock reading start.
func NewClock(start time.Time) *Clock { return &Clock{now: start} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// AfterFunc calls f from Advance once d has passed; at once (in Advance) if d ≤ 0.
func (c *Clock) AfterFunc(d time.Duration, f func()) health.Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	t := &timer{c: c, when: c.now.Add(max(d, 0)), seq: c.seq, f: f, index: -1}
	heap.Push(&c.timers, t)
	return t
}

// Advance moves the time d forward, running the timers that come due on the way.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	end := c.now.Add(d)
	c.mu.Unlock()
	c.AdvanceTo(end)
}

// AdvanceTo moves the time forward to end (not back), running the timers due by then.
func (c *Clock) AdvanceTo(end time.Time) {
	c.settle()
	for {
		c.mu.Lock()
		if len(c.timers) == 0 || c.timers[0].when.After(end) {
			if end.After(c.now) {
				c.now = end
			}
			c.mu.Unlock()
			return
		}
		t := heap.Pop(&c.timers).(*timer)
		if t.when.After(c.now) {
			c.now = t.when
		}
		c.mu.Unlock()
		t.f()
		c.settle()
	}
}

// Pending returns how many timers have yet to fire.
func (c *Clock) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// Next returns when the next timer fires; ok is false if none is pending.
func (c *Clock) Next() (when time.Time, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.timers) == 0 {
		return time.Time{}, false
	}
	return c.timers[0].when, true
}

func (c *Clock) settle() {
	if c.Settle != nil {
		c.Settle()
	}
}

type timer struct {
	c     *Clock
	when  time.Time
	seq   uint64
	f     func()
	index int // in the heap; -1 once fired or stopped
}

// Stop removes the timer; it reports whether it was pending.
func (t *timer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	if t.index < 0 {
		return false
	}
	heap.Remove(&t.c.timers, t.index)
	return true
}

type timerHeap []*timer

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if !h[i].when.Equal(h[j].when) {
		return h[i].when.Before(h[j].when)
	}
	return h[i].seq < h[j].seq
}
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *timerHeap) Push(x any) {
	t := x.(*timer)
	t.index = len(*h)
	*h = append(*h, t)
}
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	t.index = -1
	return t
}

var _ health.Clock = (*Clock)(nil)
