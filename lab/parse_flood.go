package lab

import (
	"net/netip"
	"time"
)

// Floods (issue 11): a syn-flood load, the bulk load that measures goodput beside it, when
// a load runs (start, duration), and the bounds that judge them (expect_flood.go).

func init() {
	loadTypeKeys["start"] = []string{"http", "tcp-long", "udp-flows", "bulk", "syn-flood"}
	loadTypeKeys["duration"] = loadTypeKeys["start"]
}

// floodKeys reads what a syn-flood takes, its sources and a rate it must have, and a bulk
// load's bit rate.
func (r *reader) floodKeys(t *table, l *Generator) {
	if s, ok := t.Str("sources"); ok {
		p, err := netip.ParsePrefix(s)
		switch {
		case err != nil || p.Addr().Zone() != "":
			t.Errorf("sources", "%q is not a prefix (like \"198.18.0.0/15\")", s)
		case !p.Addr().Is4():
			t.Errorf("sources", "%s is not IPv4: the flood sends IPv4 SYNs", p)
		default:
			l.Sources = p.Masked()
		}
	}
	if l.Type == LoadBulk {
		if v, ok := t.Get("rate"); ok {
			if bits, ok := r.rate(t.Key("rate"), v); ok {
				l.BitRate = bits
			}
		}
	}
	if l.Type != LoadSYNFlood {
		return
	}
	if !t.Has("sources") {
		t.Errorf("sources", "a syn-flood needs the prefix its spoofed sources are drawn from (like \"198.18.0.0/15\")")
	}
	if !t.Has("rate") {
		t.Errorf("rate", "a syn-flood needs its rate, in SYNs a second")
	} else if v, _ := t.Get("rate"); v == int64(0) || v == 0.0 {
		t.Errorf("rate", "a syn-flood's rate must be above 0")
	}
	if l.Target.IsValid() && !l.Target.Addr().Is4() {
		t.Errorf("target", "%s is not IPv4: the flood sends IPv4 SYNs", l.Target)
	}
}

// loadWindow reads when a load runs: from start (default: the start of the clients) for
// duration (default: to the end of the run); checkLoadWindows checks it against the run.
func (r *reader) loadWindow(t *table, l *Generator) {
	if d, ok := t.Duration("start", 0, maxDuration); ok {
		l.Start = d
	}
	if d, ok := t.Duration("duration", time.Millisecond, maxDuration); ok {
		l.Stop = l.Start + d
	}
}

// checkLoadWindows checks that each load starts, and ends, within the run.
func (r *reader) checkLoadWindows(t *Topology) {
	if t.Duration == 0 {
		return // refused already
	}
	for _, n := range t.Nodes {
		for _, l := range n.Loads {
			switch {
			case l.Start >= t.Duration:
				r.Errorf(l.key+".start", "%v is not within the run's duration %v", l.Start, t.Duration)
			case l.Stop > t.Duration:
				r.Errorf(l.key+".duration", "the load would run to %v, beyond the run's duration %v", l.Stop, t.Duration)
			}
		}
	}
}
