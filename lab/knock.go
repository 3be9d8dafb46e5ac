package lab

import (
	"context"
	"net/netip"
	"sync"
	"time"
)

// knockTimeout bounds one knock: a refusal comes back in a millisecond or two.
const knockTimeout = 250 * time.Millisecond

// knock makes every host known to its neighbors before the clients start: each host opens a
// TCP connection to a closed port (discard, 9) of each of its gateways and of each appliance
// address on its networks, and takes the refusal. The address resolutions both ways are done
// by then, as a freshly booted server has talked to its gateway before its first client
// comes; without it, an appliance drops the first frames to each real server while it
// resolves its address (no_neighbor), and the first requests of a run time out.
func (r *runner) knock(ctx context.Context, hosts []*hostNode) {
	var wg sync.WaitGroup
	for _, hn := range hosts {
		for _, a := range r.knockTargets(hn.n) {
			wg.Go(func() {
				kctx, cancel := context.WithTimeout(ctx, knockTimeout)
				defer cancel()
				if c, err := hn.DialContext(kctx, "tcp", netip.AddrPortFrom(a, 9).String()); err == nil {
					c.Close()
				}
			})
		}
	}
	wg.Wait()
}

// knockTargets are the next hops of n's routes and the appliance addresses on its networks.
func (r *runner) knockTargets(n *Node) []netip.Addr {
	seen := map[netip.Addr]bool{}
	var out []netip.Addr
	add := func(a netip.Addr) {
		if !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	for _, ifc := range n.Interfaces {
		for _, rt := range ifc.Routes {
			add(rt.Via)
		}
		for _, other := range r.t.Nodes {
			if other.Kind != KindAppliance || other.Config == nil {
				continue
			}
			for _, oi := range other.Config.Interfaces {
				for _, p := range oi.Addresses {
					for _, mine := range ifc.Addrs {
						if mine.Contains(p.Addr()) {
							add(p.Addr())
						}
					}
				}
			}
		}
	}
	return out
}
