package lb

import (
	"sync/atomic"
	"time"
)

// counterShards spreads per-packet counter updates over cache lines, one per worker slot, so
// two port loops on two cores never write the same line.
const counterShards = 8

// counterLine is one worker slot's counters, padded to 128 bytes (adjacent-line prefetch
// makes two 64-byte lines the unit of false sharing): wherever a Counters starts, two slots'
// 40 bytes never share a line.
type counterLine struct {
	conns, inPkts, outPkts, inBytes, outBytes atomic.Uint64
	_                                         [falseSharingPad - 40]byte
}

// Counters are the per-service and per-real-server totals IPVS keeps: connections, packets
// and bytes in each direction. Written by workers without locks, read at any time.
type Counters struct {
	_     [falseSharingPad - 40]byte // nor does the first slot share one with the fields before it
	lines [counterShards]counterLine
}

// Stats is a snapshot of Counters.
type Stats struct {
	Conns, InPkts, OutPkts, InBytes, OutBytes uint64
}

// add adds packets and bytes in each direction to the worker slot's line. A worker that
// owns its line (the first counterShards workers) is its only writer and needs no read-modify-
// write: a load and a store, each atomic so readers never see torn values. Later workers
// share lines and add atomically. Either way each store is a locked instruction on amd64,
// so workers call this once per batch and counter (see pendingCounts), not per packet.
func (c *Counters) add(slot int, owned bool, inPkts, inBytes, outPkts, outBytes uint64) {
	l := &c.lines[slot&(counterShards-1)]
	for _, f := range [...]struct {
		ctr *atomic.Uint64
		n   uint64
	}{{&l.inPkts, inPkts}, {&l.inBytes, inBytes}, {&l.outPkts, outPkts}, {&l.outBytes, outBytes}} {
		switch {
		case f.n == 0:
		case owned:
			f.ctr.Store(f.ctr.Load() + f.n)
		default:
			f.ctr.Add(f.n)
		}
	}
}

// pendingCounts gathers a batch's packet counts per Counters, so that a batch of 64 packets
// of a few services costs a few counter writes instead of four atomic stores a packet.
type pendingCounts struct {
	n     int
	items [8]pendingCount
}

type pendingCount struct {
	c                                  *Counters
	inPkts, inBytes, outPkts, outBytes uint64
}

// packet counts one packet for c, writing out the batch's counts first when c is a ninth
// distinct Counters.
func (p *pendingCounts) packet(c *Counters, dir Dir, bytes int, slot int, owned bool) {
	var it *pendingCount
	for i := range p.n {
		if p.items[i].c == c {
			it = &p.items[i]
			break
		}
	}
	if it == nil {
		if p.n == len(p.items) {
			p.flush(slot, owned)
		}
		it = &p.items[p.n]
		*it = pendingCount{c: c}
		p.n++
	}
	if dir == DirIn {
		it.inPkts++
		it.inBytes += uint64(bytes)
	} else {
		it.outPkts++
		it.outBytes += uint64(bytes)
	}
}

// flush writes the gathered counts out.
func (p *pendingCounts) flush(slot int, owned bool) {
	for i := range p.n {
		it := &p.items[i]
		it.c.add(slot, owned, it.inPkts, it.inBytes, it.outPkts, it.outBytes)
		it.c = nil // keep no server alive past the batch
	}
	p.n = 0
}

func (c *Counters) conn(slot int, owned bool) {
	l := &c.lines[slot&(counterShards-1)].conns
	if owned {
		l.Store(l.Load() + 1)
		return
	}
	l.Add(1)
}

// Snapshot sums the shards.
func (c *Counters) Snapshot() Stats {
	var s Stats
	for i := range c.lines {
		l := &c.lines[i]
		s.Conns += l.conns.Load()
		s.InPkts += l.inPkts.Load()
		s.OutPkts += l.outPkts.Load()
		s.InBytes += l.inBytes.Load()
		s.OutBytes += l.outBytes.Load()
	}
	return s
}

// Rates are per-second averages with IPVS's estimator semantics (ip_vs_est): a sample every
// EstimatorInterval, folded into a moving average with weight 1/4.
type Rates struct {
	CPS, InPPS, OutPPS, InBPS, OutBPS float64
}

// EstimatorInterval is IPVS's rate-sampling period.
const EstimatorInterval = 2 * time.Second

// estimator turns successive Stats snapshots into Rates. Owned by the engine's maintenance
// (under Engine.mu); readers go through the engine.
type estimator struct {
	last   Stats
	lastAt int64
	avg    Rates
	primed bool
}

func (e *estimator) sample(s Stats, now int64) {
	if !e.primed {
		e.last, e.lastAt, e.primed = s, now, true
		return
	}
	dt := float64(now-e.lastAt) / float64(time.Second)
	if dt <= 0 {
		return
	}
	fold := func(avg *float64, cur, last uint64) {
		rate := float64(cur-last) / dt
		*avg += (rate - *avg) / 4
	}
	fold(&e.avg.CPS, s.Conns, e.last.Conns)
	fold(&e.avg.InPPS, s.InPkts, e.last.InPkts)
	fold(&e.avg.OutPPS, s.OutPkts, e.last.OutPkts)
	fold(&e.avg.InBPS, s.InBytes, e.last.InBytes)
	fold(&e.avg.OutBPS, s.OutBytes, e.last.OutBytes)
	e.last, e.lastAt = s, now
}
