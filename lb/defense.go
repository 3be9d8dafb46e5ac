package lb

import (
	"fmt"
	"sync/atomic"
)

// DefenseMode is the value of one of IPVS's flood defenses (sysctls drop_entry,
// drop_packet, secure_tcp).
type DefenseMode uint8

const (
	DefenseOff    DefenseMode = iota // 0: never on
	DefenseAuto                      // 1: on while the table is under pressure
	DefenseAutoOn                    // 2: the same, and on until the next check finds no pressure
	DefenseAlways                    // 3: always on
)

// Defense configures the connection table's size and IPVS's flood defenses. The engine
// checks the table every Maintain (IPVS checks memory once a second, in
// update_defense_level) and turns each defense on or off by its mode.
//
// Pressure is measured in entries, not memory: the table has fixed-size entries (about 125
// bytes a connection), and it is under pressure when fewer than Threshold entries are free.
type Defense struct {
	// Size is the connection table's capacity (connections and templates); 0 keeps it.
	Size int
	// Threshold (amemthresh) is the number of free entries below which the table is under
	// pressure; 0 means Size/8 (of the table's capacity when Size is 0).
	Threshold int
	// DropEntry evicts half-open TCP entries (SYN_RECV, SYNACK; never established ones):
	// at insert when the table is full, and at random across the table, about 1/32 of it a
	// second, as IPVS's ip_vs_random_dropentry.
	DropEntry DefenseMode
	// DropPacket drops one new-connection packet in r: under pressure r is Threshold /
	// (Threshold − free), 1 (all of them) when the table is full; with DefenseAlways, r is
	// DropRate. Dropped packets are counted as DropDefense.
	DropPacket DefenseMode
	// DropRate (am_droprate) is drop_packet's rate in DefenseAlways: one packet in DropRate.
	// 0 means 10, IPVS's default.
	DropRate int
	// SecureTCP switches to IPVS's secure_tcp TCP state tables (a NAT connection is
	// established only when the real server answers the client's ACK) and shortens the
	// half-open timeouts to conntab.SecureHalfOpenTimeout.
	SecureTCP DefenseMode
}

// DefaultDropRate is IPVS's am_droprate default.
const DefaultDropRate = 10

func (d *Defense) validate() error {
	for _, m := range []struct {
		name string
		v    DefenseMode
	}{{"drop_entry", d.DropEntry}, {"drop_packet", d.DropPacket}, {"secure_tcp", d.SecureTCP}} {
		if m.v > DefenseAlways {
			return fmt.Errorf("defense %s: mode %d (0-3)", m.name, m.v)
		}
	}
	if d.Size < 0 || d.Threshold < 0 || d.DropRate < 0 {
		return fmt.Errorf("defense: negative size, threshold or drop rate")
	}
	return nil
}

// DefenseState is what the defenses are doing (Engine.DefenseState).
type DefenseState struct {
	Capacity  int  // the table's capacity
	Free      int  // entries free at the last check
	Threshold int  // the pressure threshold in force
	Pressure  bool // fewer than Threshold entries free at the last check
	DropEntry bool // drop_entry is on
	// DropRate is drop_packet's rate: one new-connection packet in DropRate is dropped;
	// 0 when drop_packet is off.
	DropRate  int
	SecureTCP bool   // secure_tcp is on
	Evicted   uint64 // half-open entries drop_entry evicted (conntab.Stats.Evicted)
}

// defense is the engine's defense state, under Engine.mu except dropRate, which workers
// read.
type defense struct {
	cfg      Defense
	state    DefenseState
	dropRate atomic.Int32 // 0: drop_packet off
}

// applyDefense takes a new configuration and applies it at once. Caller holds e.mu.
func (e *Engine) applyDefense(d Defense, now int64) {
	if d.Size > 0 {
		e.conns.SetCapacity(d.Size)
	}
	// An explicit 2 ("on now") starts on, as writing 2 to the kernel's sysctl does; the
	// next check without pressure turns it off.
	e.def.cfg = d
	e.updateDefense(now, true)
}

// updateDefense is IPVS's update_defense_level over the connection table, plus drop_entry's
// periodic work. Caller holds e.mu.
func (e *Engine) updateDefense(now int64, applied bool) {
	d := &e.def.cfg
	capacity := e.conns.Capacity()
	thresh := d.Threshold
	if thresh == 0 {
		thresh = capacity / 8
	}
	free := e.conns.Free()
	pressure := free < thresh
	on := func(m DefenseMode) bool {
		switch m {
		case DefenseAuto:
			return pressure
		case DefenseAutoOn:
			return pressure || applied
		case DefenseAlways:
			return true
		}
		return false
	}

	st := &e.def.state
	st.Capacity, st.Free, st.Threshold, st.Pressure = capacity, free, thresh, pressure

	st.DropEntry = on(d.DropEntry)
	e.conns.SetEvictOnFull(st.DropEntry)
	if st.DropEntry && !applied {
		// 1/32 of the table a second, at Maintain's pace (IPVS: every second).
		n := capacity / 32
		if e.opts.MaintainEvery > 0 {
			n = int(int64(n) * int64(e.opts.MaintainEvery) / 1e9)
		}
		e.conns.DropEmbryonic(now, max(n, 256))
	}

	rate := 0
	switch {
	case d.DropPacket == DefenseAlways:
		rate = d.DropRate
		if rate == 0 {
			rate = DefaultDropRate
		}
	case on(d.DropPacket) && pressure:
		rate = thresh / max(thresh-free, 1)
	case on(d.DropPacket): // 2 without pressure: on until the next check, at the gentlest rate
		rate = thresh
	}
	st.DropRate = rate
	e.def.dropRate.Store(int32(min(rate, 1<<30)))

	st.SecureTCP = on(d.SecureTCP)
	e.conns.SetSecureTCP(st.SecureTCP)
	st.Evicted = e.conns.Stats().Evicted
}

// DefenseState returns what the flood defenses did at their last check.
func (e *Engine) DefenseState() DefenseState {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.def.state
}

// todrop is drop_packet's decision for a new-connection packet (IPVS ip_vs_todrop): one in
// rate, counted per worker so workers share no write.
func (w *Worker) todrop() bool {
	r := w.e.def.dropRate.Load()
	if r == 0 {
		return false
	}
	if w.dropCount <= 0 || w.dropCount > r {
		w.dropCount = r
	}
	w.dropCount--
	return w.dropCount == 0
}
