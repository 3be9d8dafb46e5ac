package lab

import (
	"context"
	"sync"
	"time"
)

// The table watch follows the size of each appliance's connection table through the run:
// the most entries it held (max_in_table bounds it), overall and per bucket. A flood that
// fills the table shows as a plateau at its capacity; one the defenses hold off, below it.

// tablePoll is how often the watch reads the tables: an atomic load per appliance.
const tablePoll = 10 * time.Millisecond

type tableWatch struct {
	r *runner

	mu     sync.Mutex
	peak   map[string]int   // by appliance: the most entries seen
	series map[string][]int // by appliance, per bucket: the most entries seen in it
}

func newTableWatch(r *runner) *tableWatch {
	return &tableWatch{r: r, peak: map[string]int{}, series: map[string][]int{}}
}

// run polls from start until ctx ends.
func (w *tableWatch) run(ctx context.Context, start time.Time) {
	tick := time.NewTicker(tablePoll)
	defer tick.Stop()
	for {
		w.poll(time.Since(start))
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// poll reads every running appliance's table once, at offset at into the run.
func (w *tableWatch) poll(at time.Duration) {
	i := max(int(at/w.r.t.Bucket), 0)
	w.mu.Lock()
	defer w.mu.Unlock()
	for name, an := range w.r.appliances {
		a := an.current()
		if a == nil {
			continue
		}
		n := a.Engine().Conns().Len()
		w.peak[name] = max(w.peak[name], n)
		s := w.series[name]
		for len(s) <= i {
			s = append(s, 0)
		}
		s[i] = max(s[i], n)
		w.series[name] = s
	}
}

// results returns an appliance's peak, and its peaks per bucket (buckets of them at most).
func (w *tableWatch) results(name string, buckets int) (int, []int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := w.series[name]
	return w.peak[name], append([]int(nil), s[:min(len(s), buckets)]...)
}
