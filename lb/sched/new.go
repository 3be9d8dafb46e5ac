package sched

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrUnknownScheduler is wrapped by the error New returns for a name it does not know.
var ErrUnknownScheduler = errors.New("unknown scheduler")

// config is what every builder gets: validated, defaulted, with its own copy of the dests.
type config struct {
	dests []Dest
	flags Flags
	opts  Options
	now   func() int64
}

type entry struct {
	name  string
	flags Flags // the flags this scheduler accepts
	build func(*config) (Scheduler, error)
}

// registry is in the order IPVS's documentation lists the schedulers; Names returns it.
var registry = [...]entry{
	{"rr", 0, newRR},
	{"wrr", 0, newWRR},
	{"lc", 0, newLC},
	{"wlc", 0, newWLC},
	{"lblc", 0, newLBLC},
	{"lblcr", 0, newLBLCR},
	{"dh", 0, newDH},
	{"sh", FlagSHFallback | FlagSHPort, newSH},
	{"sed", 0, newSED},
	{"nq", 0, newNQ},
	{"mh", FlagMHFallback | FlagMHPort, newMH},
	{"fo", 0, newFO},
	{"ovf", 0, newOVF},
	{"twos", 0, newTwos},
}

// Names returns the IPVS names of every scheduler New knows.
func Names() []string {
	names := make([]string, len(registry))
	for i := range registry {
		names[i] = registry[i].name
	}
	return names
}

// New builds the named scheduler for dests. Flags must belong to that scheduler (sh-* to sh,
// mh-* to mh), as ipvsadm insists. An empty dests is legal: Pick then returns -1. New copies
// dests; the Counts they point to stay shared with the caller.
func New(name string, dests []Dest, flags Flags, opts Options) (Scheduler, error) {
	var e *entry
	for i := range registry {
		if registry[i].name == name {
			e = &registry[i]
			break
		}
	}
	if e == nil {
		return nil, fmt.Errorf("sched: %w %q (valid: %s)", ErrUnknownScheduler, name,
			strings.Join(Names(), ", "))
	}
	if bad := flags &^ e.flags; bad != 0 {
		return nil, fmt.Errorf("sched: flag %v does not apply to scheduler %s", bad, name)
	}
	for i := range dests {
		if dests[i].Counts == nil {
			return nil, fmt.Errorf("sched: server %d (%v port %d) has nil Counts",
				i, dests[i].Addr, dests[i].Port)
		}
	}
	if opts.CacheSize < 0 || opts.CacheSize > MaxCacheSize || opts.CacheExpiration < 0 {
		return nil, fmt.Errorf("sched: cache size %d or expiration %v out of range",
			opts.CacheSize, opts.CacheExpiration)
	}
	c := &config{dests: append([]Dest(nil), dests...), flags: flags, opts: opts, now: opts.Now}
	if c.now == nil {
		c.now = monoNow
	}
	if c.opts.CacheSize == 0 {
		c.opts.CacheSize = DefaultCacheSize
	}
	if c.opts.CacheExpiration == 0 {
		c.opts.CacheExpiration = DefaultCacheExpiration
	}
	s, err := e.build(c)
	if err != nil {
		return nil, fmt.Errorf("sched: %s: %w", name, err)
	}
	return s, nil
}

// monoEpoch anchors monoNow; time.Since reads the monotonic clock, so wall-clock steps
// (NTP, manual changes) cannot expire or revive cache entries.
var monoEpoch = time.Now()

func monoNow() int64 { return int64(time.Since(monoEpoch)) }

var flagNames = [...]string{"sh-fallback", "sh-port", "mh-fallback", "mh-port"}

// String returns the ipvsadm spelling of f, e.g. "sh-fallback,sh-port".
func (f Flags) String() string {
	var parts []string
	for i, n := range flagNames {
		if f&(1<<i) != 0 {
			parts = append(parts, n)
			f &^= 1 << i
		}
	}
	if f != 0 {
		parts = append(parts, fmt.Sprintf("%#x", uint32(f)))
	}
	return strings.Join(parts, ",")
}
