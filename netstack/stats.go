package netstack

import (
	"sync/atomic"

	"github.com/uvs-lb/uvs/lb"
	"github.com/uvs-lb/uvs/netstack/port"
)

// Drop is what a port loop counts on its own account besides lb.DropReason: the frames it
// never offers the engine or cannot hand a forwarder, and the ICMP errors it does not send.
type Drop uint8

const (
	DropNotForUs       Drop = iota // destination MAC is neither the port's, broadcast nor multicast
	DropNoForwarder                // no Forwarder for the verdict's method
	DropICMPSuppressed             // an ICMP error not sent (rate limit, or one the RFCs forbid); not a frame drop
	NumDrops
)

var dropNames = [NumDrops]string{"not_for_us", "no_forwarder", "icmp_suppressed"}

func (d Drop) String() string {
	if d < NumDrops {
		return dropNames[d]
	}
	return "unknown"
}

// Stats are a Dataplane's counters, summed over its port loops.
type Stats struct {
	Ports []PortStats // by NIC index
	// Drops counts dropped frames by reason: the engine's verdicts (rejected frames too,
	// under no_server), the forwarders' refusals (ttl_exceeded, ...), and the loops' routing
	// (no_route, no_neighbor, too_big).
	Drops [lb.NumDropReasons]uint64
	// LoopDrops counts what the loops count on their own account (see Drop).
	LoopDrops [NumDrops]uint64
}

// PortStats are the counters of one port. The fate counters (Forwarded, Passed, Rejected,
// Dropped) are of frames received on the port; the Tx counters are of frames the loops sent
// out of it, the host's own traffic not included.
type PortStats struct {
	Name     string
	RxFrames uint64 // frames read
	RxErrors uint64 // failed reads
	// RxDropped counts the frames the port dropped before the loop could read them (a full
	// receive ring or queue), where the port can tell (port.RxDropper; 0 otherwise).
	RxDropped uint64
	// RxSYNDropped is the part of RxDropped that were TCP connection openings dropped at a
	// full SYN ring (port.SYNDropper; 0 otherwise).
	RxSYNDropped uint64
	Forwarded    uint64 // sent on, out of whichever port
	Passed       uint64 // handed to the host
	Rejected     uint64 // answered with an ICMP error instead
	Dropped      uint64 // dropped, for any reason in Stats.Drops or Stats.LoopDrops
	// Segmented counts the GSO super-frames received here that the loop cut into segments in
	// software (for a tunnel, or an egress port without virtio-net headers).
	Segmented uint64
	TxFrames  uint64 // forwarded frames and ICMP errors sent
	TxDropped uint64 // frames the port refused (queue full, write error)
}

// loopCounters are one loop's counters: written by the loop alone, once per batch, and read
// by Stats at any time.
type loopCounters struct {
	rx, rxErrors, forwarded, passed, rejected, dropped atomic.Uint64
	segmented                                          atomic.Uint64
	drops                                              [lb.NumDropReasons]atomic.Uint64
	loopDrops                                          [NumDrops]atomic.Uint64
	tx, txDropped                                      []atomic.Uint64 // by egress NIC
}

// batchCounts accumulate one batch's counts in plain integers, so a frame costs no atomic
// operation; publish adds them to the loop's counters.
type batchCounts struct {
	rx, forwarded, passed, rejected, dropped uint64
	segmented                                uint64
	drops                                    [lb.NumDropReasons]uint64
	loopDrops                                [NumDrops]uint64
	tx, txDropped                            []uint64 // by egress NIC
}

// drop counts a dropped frame.
func (c *batchCounts) drop(r lb.DropReason) {
	c.count(r)
	c.dropped++
}

// count counts a reason without a dropped frame (a rejected one is counted as rejected).
func (c *batchCounts) count(r lb.DropReason) {
	if r < lb.NumDropReasons {
		c.drops[r]++
	}
}

// icmpSuppressed counts an ICMP error not sent: the frame that caused it is counted already.
func (c *batchCounts) icmpSuppressed() { c.loopDrops[DropICMPSuppressed]++ }

// loopDrop counts a frame the loop dropped on its own account.
func (c *batchCounts) loopDrop(d Drop) {
	c.loopDrops[d]++
	c.dropped++
}

// publish adds c to lc and resets c.
func (c *batchCounts) publish(lc *loopCounters) {
	add := func(a *atomic.Uint64, v uint64) {
		if v != 0 {
			a.Add(v)
		}
	}
	add(&lc.rx, c.rx)
	add(&lc.forwarded, c.forwarded)
	add(&lc.passed, c.passed)
	add(&lc.rejected, c.rejected)
	add(&lc.dropped, c.dropped)
	add(&lc.segmented, c.segmented)
	for i, v := range c.drops {
		add(&lc.drops[i], v)
	}
	for i, v := range c.loopDrops {
		add(&lc.loopDrops[i], v)
	}
	for i := range c.tx {
		add(&lc.tx[i], c.tx[i])
		add(&lc.txDropped[i], c.txDropped[i])
	}
	tx, txDropped := c.tx, c.txDropped
	clear(tx)
	clear(txDropped)
	*c = batchCounts{tx: tx, txDropped: txDropped}
}

// Stats returns the dataplane's counters.
func (d *Dataplane) Stats() Stats {
	s := Stats{Ports: make([]PortStats, len(d.ports))}
	for i := range s.Ports {
		s.Ports[i].Name = d.ports[i].port.Name()
		switch p := d.ports[i].port.(type) {
		case port.SYNDropper:
			s.Ports[i].RxDropped, s.Ports[i].RxSYNDropped = p.RxSYNDropped()
		case port.RxDropper:
			s.Ports[i].RxDropped = p.RxDropped()
		}
	}
	for _, l := range d.loops {
		c := &l.ctr
		ps := &s.Ports[l.nic]
		ps.RxFrames += c.rx.Load()
		ps.RxErrors += c.rxErrors.Load()
		ps.Forwarded += c.forwarded.Load()
		ps.Passed += c.passed.Load()
		ps.Rejected += c.rejected.Load()
		ps.Dropped += c.dropped.Load()
		ps.Segmented += c.segmented.Load()
		for i := range c.drops {
			s.Drops[i] += c.drops[i].Load()
		}
		for i := range c.loopDrops {
			s.LoopDrops[i] += c.loopDrops[i].Load()
		}
		for e := range c.tx {
			s.Ports[e].TxFrames += c.tx[e].Load()
			s.Ports[e].TxDropped += c.txDropped[e].Load()
		}
	}
	return s
}
