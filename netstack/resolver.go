package netstack

import (
	"context"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
)

// resolver starts the link-address resolutions Neighbors.Resolve asks for, at most one per
// address per interval. It runs in its own goroutine so that a port loop never waits for
// the stack's neighbor cache or for the port write of an ARP request or neighbor
// solicitation.
type resolver struct {
	s        *stack.Stack
	n        *Neighbors
	interval time.Duration
	last     map[neighborRequest]time.Time
}

// pruneAt is the number of remembered requests at which old ones are forgotten.
const pruneAt = 4096

func (r *resolver) run(ctx context.Context) {
	r.last = make(map[neighborRequest]time.Time)
	for {
		select {
		case <-ctx.Done():
			return
		case req := <-r.n.requests:
			r.resolve(req, time.Now())
		}
	}
}

func (r *resolver) resolve(req neighborRequest, now time.Time) {
	if !r.due(req, now) {
		return
	}
	// The NUD dispatcher publishes the result too; setting it from the callback as well
	// covers an entry that was already resolved, for which the stack reports no change.
	// The stack refuses requests for NICs it does not have, and ErrWouldBlock only says that
	// resolution is under way: nothing to do about either here.
	_ = r.s.GetLinkAddress(nicID(req.nic), toTCPIP(req.ip), tcpip.Address{}, protocolOf(req.ip),
		func(res stack.LinkResolutionResult) {
			if res.Err == nil && len(res.LinkAddress) == 6 {
				r.n.set(req.nic, req.ip, [6]byte([]byte(res.LinkAddress)))
			}
		})
}

// due reports whether req may start a resolution at now, and if so remembers it.
func (r *resolver) due(req neighborRequest, now time.Time) bool {
	if t, ok := r.last[req]; ok && now.Sub(t) < r.interval {
		return false
	}
	if len(r.last) >= pruneAt {
		for k, t := range r.last {
			if now.Sub(t) >= r.interval {
				delete(r.last, k)
			}
		}
	}
	r.last[req] = now
	return true
}
