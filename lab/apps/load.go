package apps

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"time"
)

// Dialer is what a host gives the clients to connect with: netstack.Host satisfies it on a
// lab host, and net.Dialer on the machine's own stack.
type Dialer interface {
	DialContext(ctx context.Context, network, address string) (net.Conn, error)
}

// errorPause is how long a client that runs as fast as it can (a closed-loop HTTP worker)
// waits after a failure before its next try: a refused connection fails in microseconds,
// and without a pause the worker would spin, starving the simulated network it measures.
const errorPause = 10 * time.Millisecond

const defaultTimeout = 2 * time.Second

// pace calls fn with each due time start, start+period, start+2·period… until ctx ends. Due
// times are computed from start, not from the previous call, so the schedule does not drift;
// when pace falls behind (a slow fn, a descheduled goroutine), it calls fn at once for every
// due time already past, keeping the schedule's count rather than its spacing.
func pace(ctx context.Context, start time.Time, period time.Duration, fn func(due time.Time)) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for i := int64(0); ; i++ {
		due := start.Add(time.Duration(i) * period)
		if wait := time.Until(due); wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				return
			case <-timer.C:
			}
		} else if ctx.Err() != nil {
			return
		}
		fn(due)
	}
}

// periodOf returns the interval between events at rate per second.
func periodOf(rate float64) time.Duration {
	return time.Duration(float64(time.Second) / rate)
}

// checkTarget checks that target is host:port and that rate (events per second) is zero or
// a rate that pace can keep: positive, with a period of at least a nanosecond and at most
// what a time.Duration holds.
func checkTarget(target string, rate float64) error {
	if _, _, err := net.SplitHostPort(target); err != nil {
		return fmt.Errorf("apps: target %q: %w", target, err)
	}
	if rate == 0 {
		return nil
	}
	if p := float64(time.Second) / rate; !(p >= 1 && p < math.MaxInt64) { // false for NaN too
		return fmt.Errorf("apps: rate %v per second cannot be paced", rate)
	}
	return nil
}

// errNegative reports a negative count or duration in a client's configuration.
var errNegative = errors.New("apps: negative count or duration")
