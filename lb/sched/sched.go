// Package sched holds the IPVS schedulers: rr wrr lc wlc lblc lblcr dh sh sed nq mh fo ovf twos.
//
// A Scheduler is built by New for one version of one virtual service's server list and picks
// the server for each new connection. Every scheduler makes the decision the Linux IPVS
// module of the same name makes (net/netfilter/ipvs/ip_vs_<name>.c): the same skip rules for
// quiesced (weight 0) and overloaded servers, the same iteration order and tie-breaking, the
// same table construction. Where uvs deviates, the scheduler's doc comment says so and why.
//
// Concurrency: Pick is called from several goroutines at once and never allocates.
// Precomputed state (Maglev and hash tables, the wrr sequence) is immutable once built; what
// must change per pick uses an atomic cursor (rr, wrr, twos) or a small per-scheduler mutex
// (lblc and lblcr caches, and wrr when its cycle is too long to precompute), never a global
// lock. Nothing runs in the background: cache entries expire lazily when they are looked at.
//
// Live connection counts come from Counts, which the engine updates and which outlive any one
// scheduler. Weights are fixed per scheduler: a weight change builds a new scheduler, and
// Options.Prev lets the new one inherit what IPVS keeps across such edits (the rr position,
// the wrr threshold, the lblc/lblcr caches).
//
// The order of the servers given to New is IPVS's list order: it decides ties, rotations
// and how tables are filled. (The kernel puts each server it adds first in its list; the
// order ipvsadm -Ln prints is the list order.)
//
// Hashing schedulers (dh, sh, mh) use IPVS's own hash functions and constants, with no
// per-process seed, so the same server list picks the same server for the same client after
// a restart and on every uvs instance — and, given the servers in the same order, as a kernel
// IPVS director does.
package sched

import (
	"net/netip"
	"sync/atomic"
	"time"
)

// Counts is the live state of one real server that schedulers read and the engine writes.
// It is shared by every table version in which the server appears.
type Counts struct {
	Active     atomic.Int32 // IPVS activeconns: TCP in ESTABLISHED, SYN_SENT, SYN_RECV or SYNACK (Linux ≥ 4.10)
	Inactive   atomic.Int32 // IPVS inactconns: every other state, and all UDP connections
	Persist    atomic.Int32 // persistence templates pointing at this server
	Overloaded atomic.Bool  // set by the engine from the upper/lower thresholds (IPVS F_OVERLOAD)
}

// Overhead is IPVS's load measure: active×256 + inactive.
func (c *Counts) Overhead() int64 {
	return int64(c.Active.Load())<<8 + int64(c.Inactive.Load())
}

// Dest is one real server as a scheduler sees it.
type Dest struct {
	Addr   netip.Addr
	Port   uint16
	Weight int32 // 0 = quiesced: never picked for new connections
	// LastWeight is the weight a quiesced server had before its weight went to 0 (IPVS
	// last_weight); 0 means the same as Weight. Only mh reads it: IPVS builds the Maglev
	// table from last_weight, so quiescing a server keeps its table slots (keys that hash
	// there find no server, or another one with mh-fallback) instead of moving everyone
	// else's keys. Ignored while Weight > 0.
	LastWeight int32
	Counts     *Counts // never nil
}

// Usable reports whether d may take a new connection: positive weight and not overloaded.
func (d *Dest) Usable() bool { return d.Weight > 0 && !d.Counts.Overloaded.Load() }

// tableWeight is the weight mh builds its table from: IPVS's last_weight.
func (d *Dest) tableWeight() int32 {
	if d.Weight > 0 {
		return d.Weight
	}
	return max(d.LastWeight, 0)
}

// Input is what a scheduler may look at in the first packet of a connection.
type Input struct {
	Src, Dst         netip.Addr
	SrcPort, DstPort uint16
	Proto            uint8
}

// Flags are the IPVS scheduler flags (ipvsadm -b / keepalived lvs_sched flags).
type Flags uint32

const (
	FlagSHFallback Flags = 1 << iota // sh-fallback: next usable server when the hashed one is not
	FlagSHPort                       // sh-port: hash the source port too
	FlagMHFallback                   // mh-fallback: as sh-fallback, for mh
	FlagMHPort                       // mh-port: as sh-port, for mh
)

// Defaults for Options fields left zero.
const (
	// DefaultMHTableSize is IPVS's default Maglev table size (CONFIG_IP_VS_MH_TAB_INDEX=12).
	DefaultMHTableSize = 4093
	// DefaultCacheSize is the number of lblc/lblcr cache entries: IPVS's max_size for those
	// tables (1024 buckets × 16), the size above which its garbage collector trims them.
	DefaultCacheSize = 16384
	// MaxCacheSize bounds Options.CacheSize.
	MaxCacheSize = 1 << 22
	// DefaultCacheExpiration is IPVS's lblc_expiration / lblcr_expiration sysctl default.
	DefaultCacheExpiration = 24 * time.Hour
)

// Options are scheduler settings beyond flags. The zero value means IPVS's defaults.
type Options struct {
	// MHTableSize is the Maglev lookup table size; it must be a prime no smaller than the
	// number of servers. 0 means DefaultMHTableSize. IPVS offers 251, 509, 1021, 2039, 4093,
	// 8191, 16381, 32749, 65521 and 131071; any prime up to MaxMHTableSize is accepted.
	MHTableSize int
	// Now returns a monotonic time in nanoseconds; lblc/lblcr use it to expire their caches.
	// nil means the process's monotonic clock.
	Now func() int64
	// CacheSize is the number of destination addresses an lblc/lblcr cache holds, at most
	// MaxCacheSize; it is allocated when the scheduler is built (36 bytes an entry for lblc,
	// 80 for lblcr). 0 means DefaultCacheSize.
	CacheSize int
	// CacheExpiration is how long an unused lblc/lblcr entry lives, and how often an lblcr
	// server set may shrink. 0 means DefaultCacheExpiration.
	CacheExpiration time.Duration
	// Prev is the scheduler this one replaces for the same service, or nil. What IPVS keeps
	// when servers or weights change carries over: rr continues after the server Prev picked
	// last, wrr keeps its threshold, lblc/lblcr take over Prev's cache (entries whose server
	// left are dropped; with an unchanged server list the cache is shared, not copied).
	// A Prev of another scheduler is ignored. Prev stays usable.
	Prev Scheduler
}

// Scheduler picks a real server for a new connection.
type Scheduler interface {
	// Pick returns an index into the dests the scheduler was built with, or -1 when no server
	// can take the connection. It is called concurrently from several goroutines and must not
	// allocate.
	Pick(in *Input) int
	// Name is the IPVS name of the scheduler ("wlc").
	Name() string
}
