package metrics

import (
	"sync"
	"time"

	"github.com/uvs-lb/uvs/control"
)

// ipvsTotals derives IPVS's global counters (/proc/net/ip_vs_stats, node_exporter's
// node_ipvs_connections_total and co.) from the per-service ones, which are all a Snapshot
// has. The kernel's global counters keep what deleted services counted; a plain sum over
// the current services would fall whenever one is deleted or zeroed (ipvsadm -Z), and
// Prometheus reads any fall of a counter as a reset to zero, so rate() would see the whole
// remaining sum counted again. So a service's last counts are kept as retired when it goes,
// or when one of its counters goes back, and the totals only grow until the appliance
// restarts. What a service counted between the last scrape and its deletion is not seen:
// the totals can lag the truth, never overstate it.
type ipvsTotals struct {
	mu      sync.Mutex
	started time.Time                // the appliance's start the state below belongs to
	at      time.Time                // the Snapshot last accounted
	last    map[string]control.Stats // per-service counts then, by service labels
	retired control.Stats            // what services gone or reset had counted
	total   control.Stats            // the totals then
}

// update accounts a Snapshot's per-service counts and returns the totals.
func (t *ipvsTotals) update(started, at time.Time, cur map[string]control.Stats) control.Stats {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !started.Equal(t.started) {
		// The appliance restarted: its counters did too, and so do the totals.
		t.started, t.at, t.last, t.retired, t.total = started, time.Time{}, nil, control.Stats{}, control.Stats{}
	}
	if at.Before(t.at) {
		// Concurrent scrapes can finish out of order: a Snapshot older than one already
		// accounted would look like resets of every counter that moved since.
		return t.total
	}
	for k, prev := range t.last {
		now, ok := cur[k]
		if !ok {
			addStats(&t.retired, &prev)
			continue
		}
		// Field by field: a counter that went back restarted (the service was zeroed or
		// deleted and added again); one that did not is taken to have carried on.
		retire(&t.retired.Conns, prev.Conns, now.Conns)
		retire(&t.retired.InPkts, prev.InPkts, now.InPkts)
		retire(&t.retired.OutPkts, prev.OutPkts, now.OutPkts)
		retire(&t.retired.InBytes, prev.InBytes, now.InBytes)
		retire(&t.retired.OutBytes, prev.OutBytes, now.OutBytes)
	}
	t.last, t.at = cur, at
	t.total = t.retired
	for _, s := range cur {
		addStats(&t.total, &s)
	}
	return t.total
}

// retire keeps a counter's previous value when it went back.
func retire(retired *uint64, prev, now uint64) {
	if now < prev {
		*retired += prev
	}
}
