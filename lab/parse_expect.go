package lab

import (
	"math"
	"slices"
	"time"
)

// expectBounds lists which bounds go with which subject of an [[expect]]: "" is the clients
// (every client, or the one named by client).
var expectBounds = map[string][]string{
	"":          {"max_errors", "min_requests", "max_p99", "failover", "max_broken", "max_reconnects"},
	"client":    {"max_errors", "min_requests", "max_p99", "failover", "max_broken", "max_reconnects"},
	"server":    {"share", "min_requests", "removed_within", "restored_within", "max_removals"},
	"appliance": {"max_drops"},
	"vrrp":      {"takeover_within", "master"},
}

// allBounds lists every bound, in the order they are read.
var allBounds = []string{"max_errors", "min_requests", "max_p99", "failover", "max_broken", "max_reconnects", "share", "max_drops",
	"removed_within", "restored_within", "max_removals", "takeover_within", "master"}

// expectation reads one [[expect]] entry: a subject (client, server, appliance or vrrp; none
// is every client) and one or more bounds on it. Each bound is judged, and reported, on its own.
func (r *reader) expectation(t *table) *Expectation {
	x := &Expectation{key: t.Path()}
	subject := ""
	for _, k := range []string{"client", "server", "appliance", "vrrp"} {
		s, ok := t.Str(k)
		if !ok {
			continue
		}
		if subject != "" {
			t.Errorf(k, "an expectation is about one subject; this one already names a %s", subject)
			continue
		}
		subject = k
		switch k {
		case "client":
			x.Client = s
		case "server":
			x.Server = s
		case "appliance":
			x.Appliance = s
		case "vrrp":
			x.VRRP = s
		}
	}
	bounds, applies := 0, map[string]bool{}
	for _, k := range allBounds {
		if !t.Has(k) {
			continue
		}
		bounds++
		if applies[k] = slices.Contains(expectBounds[subject], k); !applies[k] {
			t.Allow(k)
			t.Errorf(k, "does not apply to %s (only %s)", subjectName(subject), joinOr(expectBounds[subject]))
		}
	}
	if bounds == 0 {
		r.Errorf(t.Path(), "an expectation needs a bound: %s", joinOr(allBounds))
	}
	// Only the bounds that apply are read: the others were reported.
	if n, ok := t.Integer("max_errors", 0, math.MaxInt64); ok && applies["max_errors"] {
		x.MaxErrors, x.HasMaxErrors = uint64(n), true
	}
	if n, ok := t.Integer("min_requests", 0, math.MaxInt64); ok && applies["min_requests"] {
		x.MinRequests, x.HasMinRequests = uint64(n), true
	}
	if n, ok := t.Integer("max_broken", 0, math.MaxInt64); ok && applies["max_broken"] {
		x.MaxBroken, x.HasMaxBroken = uint64(n), true
	}
	if n, ok := t.Integer("max_reconnects", 0, math.MaxInt64); ok && applies["max_reconnects"] {
		x.MaxReconnects, x.HasMaxReconnects = uint64(n), true
	}
	if n, ok := t.Integer("max_drops", 0, math.MaxInt64); ok && applies["max_drops"] {
		x.MaxDrops, x.HasMaxDrops = uint64(n), true
	}
	if d, ok := t.Duration("max_p99", time.Microsecond, time.Hour); ok && applies["max_p99"] {
		x.MaxP99 = d
	}
	if d, ok := t.Duration("failover", 0, maxDuration); ok && applies["failover"] {
		x.Failover, x.HasFailover = d, true
	}
	if d, ok := t.Duration("removed_within", 0, maxDuration); ok && applies["removed_within"] {
		x.RemovedWithin, x.HasRemoved = d, true
	}
	if d, ok := t.Duration("restored_within", 0, maxDuration); ok && applies["restored_within"] {
		x.RestoredWithin, x.HasRestored = d, true
	}
	if n, ok := t.Integer("max_removals", 0, math.MaxInt64); ok && applies["max_removals"] {
		x.MaxRemovals, x.HasMaxRemovals = uint64(n), true
	}
	if d, ok := t.Duration("takeover_within", 0, maxDuration); ok && applies["takeover_within"] {
		x.TakeoverWithin, x.HasTakeover = d, true
	}
	if s, ok := t.Str("master"); ok && applies["master"] {
		x.Master = s
	}
	if applies["share"] {
		x.Share, x.HasShare = r.share(t)
	}
	r.faultBounds(t, x, applies)
	r.floodBounds(t, x, applies)
	t.Done()
	return x
}

// share reads a share bound: [low, high] in percent.
func (r *reader) share(t *table) ([2]float64, bool) {
	items, ok := t.List("share")
	if !ok {
		return [2]float64{}, false
	}
	if len(items) != 2 {
		t.Errorf("share", "is a range in percent: [low, high], like [25, 40]")
		return [2]float64{}, false
	}
	lo, ok1 := r.Number(items[0].Key, items[0].V, 0, 100)
	hi, ok2 := r.Number(items[1].Key, items[1].V, 0, 100)
	if ok1 && ok2 && lo > hi {
		t.Errorf("share", "the low end %v is above the high end %v", lo, hi)
		return [2]float64{}, false
	}
	return [2]float64{lo, hi}, ok1 && ok2
}

func subjectName(subject string) string {
	switch subject {
	case "":
		return "the clients"
	case "appliance":
		return "an appliance"
	case "vrrp":
		return "a VRRP instance"
	}
	return "a " + subject
}

// joinOr joins words as "a, b or c".
func joinOr(words []string) string {
	switch len(words) {
	case 0:
		return ""
	case 1:
		return words[0]
	}
	s := words[0]
	for _, w := range words[1 : len(words)-1] {
		s += ", " + w
	}
	return s + " or " + words[len(words)-1]
}
