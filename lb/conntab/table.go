package conntab

import (
	"math/bits"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/uvs-lb/uvs/lb/sched"
	"github.com/uvs-lb/uvs/packet"
)

// Defaults for Config.
const (
	DefaultShards = 256
	// DefaultCapacity bounds the table at 2 Mi entries, about 256 MB at ~125 bytes per
	// connection: enough for a busy appliance, small enough that a SYN flood cannot take the
	// machine's memory. IPVS itself has no bound; operators size this to their RAM.
	DefaultCapacity = 1 << 21
	maxShards       = 1 << 16
)

// Config configures a Table.
type Config struct {
	// Shards is the number of shards, a power of two (rounded up; at most 65536). 0 means 256.
	Shards int
	// Capacity is the hard maximum number of entries, templates included. 0 means
	// DefaultCapacity.
	Capacity int
	// Timeouts are the state timeouts. The zero value means DefaultTimeouts.
	Timeouts Timeouts
	// Dests gives the counts to keep; nil means nothing is counted.
	Dests Dests
	// Seed keys the hashes; 0 means a random seed. Two tables place a full-NAT connection's
	// local port in the same shard only if they share Seed and Shards (connection sync).
	Seed uint64
	// CountPackets makes Lookup count each connection's inbound packets in Conn.Pkts, for
	// connection sync's threshold rule. It writes the entry on every inbound packet; off,
	// Pkts stays 0.
	CountPackets bool
	// PacketPeriod wraps the count: Pkts is the number of inbound packets modulo
	// PacketPeriod (1–256). 0 means the count stops at 255.
	PacketPeriod int
}

// Table is the sharded connection table. All methods are safe for concurrent use.
type Table struct {
	shards    []shard
	mask      uint64 // shards-1
	refShift  uint   // Ref = shard<<refShift | entry
	entryMask uint32
	limit     uint32 // entries per shard (index and Ref bits)
	capacity  atomic.Int64
	seed      uint64
	dests     Dests
	timeouts  atomic.Pointer[compiledTimeouts]
	tmu       sync.Mutex // orders SetTimeouts and SetSecureTCP
	base      Timeouts   // as configured (under tmu)
	secure    bool       // secure_tcp is on (under tmu)
	evictFull atomic.Bool
	sweepNext atomic.Uint64
	clock     atomic.Int64 // now of the latest Sweep, to resolve Range's expiries
	countPkts bool
	pktPeriod uint16 // 0: the count saturates at 255

	// The counters every insert writes live on a line of their own: a SYN flood's
	// inserts and refusals must not take from other cores the line holding the seed,
	// shards and timeouts that every lookup of an established connection reads.
	_       [cacheLine]byte
	count   atomic.Int64  // entries held: Capacity is enforced here
	refused atomic.Uint64 // Insert calls refused with ErrFull
	_       [cacheLine - 16]byte
}

// New returns an empty table. It starts nothing.
func New(cfg Config) *Table {
	n := cfg.Shards
	switch {
	case n <= 0:
		n = DefaultShards
	case n > maxShards:
		n = maxShards
	}
	n = 1 << bits.Len(uint(n-1))
	shardBits := uint(bits.TrailingZeros(uint(n)))
	t := &Table{
		shards:    make([]shard, n),
		mask:      uint64(n - 1),
		refShift:  32 - shardBits,
		entryMask: uint32(uint64(1)<<(32-shardBits) - 1),
		seed:      cfg.Seed,
		dests:     cfg.Dests,
		countPkts: cfg.CountPackets,
		pktPeriod: uint16(min(max(cfg.PacketPeriod, 0), 256)),
	}
	// An entry index must fit a Ref (32 bits less the shard bits) and an index slot (31 bits).
	t.limit = min(t.entryMask, 1<<31-1)
	t.SetCapacity(cfg.Capacity)
	if t.seed == 0 {
		t.seed = rand.Uint64() | 1
	}
	if cfg.Timeouts == (Timeouts{}) {
		cfg.Timeouts = DefaultTimeouts()
	}
	t.base = cfg.Timeouts
	t.timeouts.Store(compile(cfg.Timeouts, false))
	for i := range t.shards {
		t.shards[i].init()
	}
	return t
}

// Shards returns the number of shards.
func (t *Table) Shards() int { return len(t.shards) }

// ShardOf returns the shard of the endpoint (a, port): (hash(a) + port) mod Shards. The port is
// added linearly so LocalPort can solve for a port that lands in a given shard.
func (t *Table) ShardOf(a *[16]byte, port uint16) int {
	return int((hashAddr(t.seed, a) + uint64(port)) & t.mask)
}

// LocalPort returns the n-th (from 0) port p in [lo, hi] for which ShardOf(&c.LAddr, p) ==
// ShardOf(&c.CAddr, c.CPort), i.e. a full-NAT local port whose reply key lands in the
// connection's shard; false when there is no n-th such port. Such ports are Shards apart.
func (t *Table) LocalPort(c *Conn, lo, hi uint16, n int) (uint16, bool) {
	if lo > hi || n < 0 {
		return 0, false
	}
	want := uint64(t.ShardOf(&c.CAddr, c.CPort))
	// Solve hash(LAddr) + p ≡ want (mod Shards) for the first p ≥ lo.
	first := uint64(lo) + (want-hashAddr(t.seed, &c.LAddr)-uint64(lo))&t.mask
	p := first + uint64(n)*(t.mask+1)
	if p > uint64(hi) {
		return 0, false
	}
	return uint16(p), true
}

func (t *Table) ref(shard int, i uint32) Ref { return Ref(uint32(shard)<<t.refShift | i) }

// unref decodes r; ok is false when r cannot name an entry.
func (t *Table) unref(r Ref) (s *shard, i uint32, ok bool) {
	si := uint64(uint32(r) >> t.refShift)
	if t.refShift == 32 {
		si = 0
	}
	i = uint32(r) & t.entryMask
	if r == 0 || i == 0 || si > t.mask {
		return nil, 0, false
	}
	return &t.shards[si], i, true
}

// SetTimeouts replaces the state timeouts. Entries take them on their next packet.
func (t *Table) SetTimeouts(to Timeouts) {
	t.tmu.Lock()
	defer t.tmu.Unlock()
	t.base = to
	t.timeouts.Store(compile(to, t.secure))
}

// Timeouts returns the state timeouts in use.
func (t *Table) Timeouts() Timeouts { return t.timeouts.Load().pub }

// counts returns the counts of real server dest, nil when nothing is to be counted.
func (t *Table) counts(dest uint32) *sched.Counts {
	if t.dests == nil || dest == 0 {
		return nil
	}
	return t.dests.Counts(dest)
}

// countPacket adds one inbound packet to e's count.
func (t *Table) countPacket(e *entry) {
	n := uint16(e.pkts) + 1
	switch {
	case n == t.pktPeriod:
		n = 0
	case n > 255: // no period: the count stops
		n = 255
	}
	e.pkts = uint8(n)
}

// startCount is the count an entry starts with for Conn.Pkts n.
func (t *Table) startCount(n uint8) uint8 {
	switch {
	case !t.countPkts:
		return 0
	case t.pktPeriod != 0:
		return uint8(uint16(n) % t.pktPeriod)
	}
	return n
}

// StateTimeout returns the timeout of a connection of protocol proto in state s (for a
// template, Timeouts.Template): what connection sync sends as the entry's timeout.
func (t *Table) StateTimeout(proto uint8, s State) time.Duration {
	c := t.timeouts.Load()
	to := &c.pub
	switch {
	case c.dos && proto == packet.ProtoTCP && s.halfOpen():
		return time.Duration(c.tcp[s]) * time.Duration(tickNs)
	case s == StateTemplate:
		return to.Template
	case proto == packet.ProtoTCP && int(s) < numTCPStates:
		return to.TCP[s]
	case proto == packet.ProtoUDP:
		return to.UDP
	}
	return to.Other
}
