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
	_                                         [128 - 40]byte
}

// Counters are the per-service and per-real-server totals IPVS keeps: connections, packets
// and bytes in each direction. Written by workers without locks, read at any time.
type Counters struct {
	_     [128 - 40]byte // nor does the first slot share one with the fields before it
	lines [counterShards]counterLine
}

// Stats is a snapshot of Counters.
type Stats struct {
	Conns, InPkts, OutPkts, InBytes, OutBytes uint64
}

// packet counts one packet. A worker that owns its line (the first counterShards workers)
// is its only writer and needs no locked instruction: a load and a store, each atomic so
// readers never see torn values. Later workers share lines and add atomically.
func (c *Counters) packet(slot int, owned bool, dir Dir, bytes int) {
	l := &c.lines[slot&(counterShards-1)]
	pkts, byts := &l.inPkts, &l.inBytes
	if dir != DirIn {
		pkts, byts = &l.outPkts, &l.outBytes
	}
	if owned {
		pkts.Store(pkts.Load() + 1)
		byts.Store(byts.Load() + uint64(bytes))
		return
	}
	pkts.Add(1)
	byts.Add(uint64(bytes))
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
