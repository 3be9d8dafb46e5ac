package conf

import (
	"slices"
	"strings"

	"github.com/uvs-lb/uvs/lb"
	"github.com/uvs-lb/uvs/lb/sched"
)

// scheduler reads lb_algo, sched_flags and mh_table_size and checks them as ipvsadm and the
// engine would: known names, flags of the scheduler in use, a prime Maglev table that fits
// the servers.
func (p *parser) scheduler(t *table, sc *lb.ServiceConfig, nServers int) {
	algo, hasAlgo := t.Str("lb_algo")
	flags, _ := t.StrList("sched_flags")
	mhSize, hasMH := t.Integer("mh_table_size", 2, sched.MaxMHTableSize)

	sc.Scheduler = lb.DefaultScheduler
	known := true // false when lb_algo is bad: flags cannot be judged against it
	if hasAlgo {
		if slices.Contains(sched.Names(), algo) {
			sc.Scheduler = algo
		} else {
			t.Errorf("lb_algo", "unknown scheduler %q (%s)", algo, strings.Join(sched.Names(), ", "))
			known = false
		}
	}
	for _, it := range flags {
		name := it.V.(string)
		f, ok := schedFlag(name)
		if !ok {
			p.Errorf(it.Key, "unknown scheduler flag %q (sh-fallback, sh-port, mh-fallback, mh-port)", name)
			continue
		}
		if owner, _, _ := strings.Cut(name, "-"); known && owner != sc.Scheduler {
			p.Errorf(it.Key, "%s applies to the %s scheduler, not %s", name, owner, sc.Scheduler)
			continue
		}
		sc.SchedFlags |= f
	}

	size := sched.DefaultMHTableSize
	switch {
	case t.Has("mh_table_size") && known && sc.Scheduler != "mh":
		t.Errorf("mh_table_size", "applies to the mh scheduler only, not %s", sc.Scheduler)
		return
	case !hasMH:
	case !isPrime(int(mhSize)):
		t.Errorf("mh_table_size", "%d is not a prime; %d is the next one", mhSize, nextPrime(int(mhSize)))
		return
	default:
		size = int(mhSize)
		sc.MHTableSize = size
	}
	if sc.Scheduler == "mh" && nServers > size {
		k := "lb_algo"
		if hasMH {
			k = "mh_table_size"
		}
		t.Errorf(k, "%d real servers do not fit a Maglev table of %d slots", nServers, size)
	}
}

// schedFlag parses a flag as ipvsadm -b and keepalived spell it.
func schedFlag(name string) (sched.Flags, bool) {
	switch name {
	case "sh-fallback":
		return sched.FlagSHFallback, true
	case "sh-port":
		return sched.FlagSHPort, true
	case "mh-fallback":
		return sched.FlagMHFallback, true
	case "mh-port":
		return sched.FlagMHPort, true
	}
	return 0, false
}
