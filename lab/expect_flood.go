package lab

import (
	"fmt"
	"slices"
	"time"
)

// The flood bounds (issue 11), beside the others:
//   - min_goodput_ratio (clients, with before and during): the goodput of the bulk loads
//     (the bytes they read back a second) in the window during, over their goodput in the
//     window before, must be at least this: 0.9 says established connections keep 90 % of
//     their goodput while, say, a SYN flood runs. Each window is [from, to], durations from
//     the start of the clients, on the report's buckets.
//   - max_in_table (appliance): the most entries its connection table held during the run
//     (read every 10 ms): a flood must leave it bounded.

func init() {
	for _, s := range []string{"", "client"} {
		expectBounds[s] = append(expectBounds[s], "min_goodput_ratio")
	}
	expectBounds["appliance"] = append(expectBounds["appliance"], "max_in_table")
	allBounds = append(allBounds, "min_goodput_ratio", "max_in_table")
}

// floodBounds reads the flood bounds that apply to x, and the windows min_goodput_ratio
// compares; expectation calls it before it closes the table.
func (r *reader) floodBounds(t *table, x *Expectation, applies map[string]bool) {
	if f, ok := t.Number("min_goodput_ratio", 0, 10); ok && applies["min_goodput_ratio"] {
		x.MinGoodputRatio, x.HasGoodput = f, true
	}
	if n, ok := t.Integer("max_in_table", 0, 1<<31); ok && applies["max_in_table"] {
		x.MaxInTable, x.HasMaxInTable = uint64(n), true
	}
	for _, w := range []struct {
		key string
		win *[2]time.Duration
	}{{"before", &x.Before}, {"during", &x.During}} {
		if !t.Has(w.key) {
			if t.Has("min_goodput_ratio") {
				t.Errorf("min_goodput_ratio", "needs the windows it compares: before = [from, to] and during = [from, to] (like [\"1s\", \"5s\"])")
			}
			continue
		}
		if !t.Has("min_goodput_ratio") {
			t.Allow(w.key)
			t.Errorf(w.key, "is a window of min_goodput_ratio, which this expectation does not have")
			continue
		}
		*w.win = r.window(t, w.key)
	}
}

// window reads a window: [from, to], two durations with from before to.
func (r *reader) window(t *table, key string) [2]time.Duration {
	items, ok := t.List(key)
	if !ok {
		return [2]time.Duration{}
	}
	if len(items) != 2 {
		t.Errorf(key, "is a window: [from, to], like [\"1s\", \"5s\"]")
		return [2]time.Duration{}
	}
	var w [2]time.Duration
	for i, it := range items {
		s, isStr := it.V.(string)
		d, err := time.ParseDuration(s)
		if !isStr || err != nil || d < 0 {
			r.Errorf(it.Key, "%v is not a duration from the start (like \"5s\")", it.V)
			return [2]time.Duration{}
		}
		w[i] = d
	}
	if w[0] >= w[1] {
		t.Errorf(key, "%v is not before %v", w[0], w[1])
		return [2]time.Duration{}
	}
	return w
}

// checkGoodputBound refuses min_goodput_ratio for clients with no bulk load (those of the
// expectation: client n, its load named load; every client when n is nil), and windows
// that leave the run or do not fall on its buckets.
func (r *reader) checkGoodputBound(t *Topology, x *Expectation, n *Node, load string) {
	if !x.HasGoodput {
		return
	}
	bulk := func(n *Node) bool {
		return slices.ContainsFunc(n.Loads, func(l *Generator) bool { return l.Type == LoadBulk && (load == "" || l.Name == load) })
	}
	if n != nil && !bulk(n) || n == nil && !slices.ContainsFunc(t.Nodes, func(n *Node) bool { return n.Kind == KindClient && bulk(n) }) {
		what := "no client has a bulk load"
		if n != nil {
			what = x.Client + " has no bulk load"
		}
		r.Errorf(x.key+".min_goodput_ratio", "%s: it compares the goodput of bulk loads", what)
	}
	for _, w := range []struct {
		key string
		win [2]time.Duration
	}{{"before", x.Before}, {"during", x.During}} {
		switch {
		case w.win[1] == 0:
			// refused already
		case w.win[1] > t.Duration:
			r.Errorf(x.key+"."+w.key, "ends at %v, after the run's duration %v", w.win[1], t.Duration)
		case w.win[0]%t.Bucket != 0 || w.win[1]%t.Bucket != 0:
			r.Errorf(x.key+"."+w.key, "[%v, %v] does not fall on the buckets of %v: goodput is counted per bucket", w.win[0], w.win[1], t.Bucket)
		}
	}
}

// judgeGoodput judges min_goodput_ratio over the bulk loads of sel.
func judgeGoodput(rep *Report, x *Expectation, subject string, sel []ClientReport, res func(bound, subject, what, got, want string, pass bool)) {
	if !x.HasGoodput {
		return
	}
	before, during := goodput(rep, sel, x.Before), goodput(rep, sel, x.During)
	ratio := 0.0
	if before > 0 {
		ratio = during / before
	}
	what := fmt.Sprintf("goodput %v–%v over %v–%v", x.During[0], x.During[1], x.Before[0], x.Before[1])
	got := fmt.Sprintf("%.1f%% (%s / %s)", 100*ratio, byteRate(during), byteRate(before))
	res("min_goodput_ratio", subject, what, got, fmt.Sprintf("≥ %g%%", 100*x.MinGoodputRatio), before > 0 && ratio >= x.MinGoodputRatio)
}

// goodput returns the bytes a second the bulk loads of sel read back in window w.
func goodput(rep *Report, sel []ClientReport, w [2]time.Duration) float64 {
	var bytes uint64
	for _, c := range sel {
		for i, n := range c.BytesSeries {
			if at := time.Duration(i) * rep.Bucket; at >= w[0] && at < w[1] {
				bytes += n
			}
		}
	}
	return float64(bytes) / (w[1] - w[0]).Seconds()
}

// byteRate prints bytes a second in decimal megabytes a second.
func byteRate(bps float64) string { return fmt.Sprintf("%.1f MB/s", bps/1e6) }

// judgeTable judges max_in_table.
func judgeTable(a ApplianceReport, x *Expectation, res func(bound, subject, what, got, want string, pass bool)) {
	if !x.HasMaxInTable {
		return
	}
	got := fmt.Sprint(a.PeakInTable)
	if a.Capacity > 0 {
		got += fmt.Sprintf(" (capacity %d)", a.Capacity)
	}
	res("max_in_table", a.Name, "most entries in the connection table", got, fmt.Sprintf("≤ %d", x.MaxInTable), uint64(a.PeakInTable) <= x.MaxInTable)
}
