//go:build soak

package lab

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestSoak is `make soak` (not part of `make test`): the fault scenarios of
// examples/lab/faults, mixed traffic (short HTTP requests, long-lived sessions) under every
// fault, played in turn, round after round, for SOAK_DURATION (default 9m). After each run
// (everything it started stopped, a GC) it samples the process: the Go heap in use
// (runtime.MemStats.HeapInuse), the resident set (/proc/self/statm) and the goroutines.
// The first round is the warm-up; after it, the samples must stay flat: the last round's
// no more than 25% (and 8 MiB) above the warm-up's for the heap, 25% (and 32 MiB) for the
// RSS, and the goroutines back to the warm-up's count (± 5) after every run. It prints the
// table docs/hardening.md quotes.
func TestSoak(t *testing.T) {
	budget := 9 * time.Minute
	if s := os.Getenv("SOAK_DURATION"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			t.Fatalf("SOAK_DURATION: %v", err)
		}
		budget = d
	}
	files, _ := filepath.Glob("../examples/lab/faults/*.toml")
	if len(files) == 0 {
		t.Fatal("no fault scenarios")
	}
	type sample struct {
		round              int
		at                 time.Duration
		name, verdict      string
		heap, rss, peakRSS uint64
		goroutines         int
	}
	var samples []sample
	began := time.Now()
	failed := 0
	var peak uint64
	for round := 1; round == 1 || time.Since(began) < budget; round++ {
		for _, f := range files {
			if round > 1 && time.Since(began) >= budget {
				break
			}
			topo, err := Load(f)
			if err != nil {
				t.Fatal(err)
			}
			// Sample the RSS while it runs too: the peak of the round.
			done := make(chan struct{})
			go func() {
				tick := time.NewTicker(time.Second)
				defer tick.Stop()
				for {
					select {
					case <-done:
						return
					case <-tick.C:
						peak = max(peak, rss())
					}
				}
			}()
			ctx, cancel := context.WithTimeout(context.Background(), topo.Duration+time.Minute)
			rep, err := Run(ctx, topo, Options{})
			cancel()
			close(done)
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			verdict := fmt.Sprintf("%d/%d ok", len(rep.Expectations)-len(rep.Failed()), len(rep.Expectations))
			for _, x := range rep.Failed() {
				failed++
				t.Logf("round %d: %s", round, x.Error())
			}
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			samples = append(samples, sample{round: round, at: time.Since(began), name: topo.Name, verdict: verdict,
				heap: ms.HeapInuse, rss: rss(), peakRSS: peak, goroutines: runtime.NumGoroutine()})
			peak = 0
		}
	}
	const mib = 1 << 20
	var b strings.Builder
	fmt.Fprintf(&b, "| round | at | scenario | expectations | heap in use | RSS | peak RSS in run | goroutines |\n|---|---|---|---|---|---|---|---|\n")
	for _, s := range samples {
		fmt.Fprintf(&b, "| %d | %v | %s | %s | %.1f MiB | %.1f MiB | %.1f MiB | %d |\n", s.round, s.at.Round(time.Second), s.name, s.verdict,
			float64(s.heap)/mib, float64(s.rss)/mib, float64(s.peakRSS)/mib, s.goroutines)
	}
	t.Logf("soak: %v, %d runs, %d expectations failed\n%s", time.Since(began).Round(time.Second), len(samples), failed, b.String())
	if failed > 0 {
		t.Errorf("%d expectations failed during the soak", failed)
	}
	// The warm-up is the first round; the last round is compared with it, and the
	// goroutines after every run.
	var warm, last []sample
	rounds := samples[len(samples)-1].round
	for _, s := range samples {
		if s.round == 1 {
			warm = append(warm, s)
		}
		if s.round == rounds {
			last = append(last, s)
		}
	}
	if rounds < 3 {
		t.Errorf("only %d rounds in %v: too few to see growth (SOAK_DURATION)", rounds, budget)
	}
	maxOf := func(ss []sample, f func(sample) uint64) uint64 {
		m := uint64(0)
		for _, s := range ss {
			m = max(m, f(s))
		}
		return m
	}
	heap := func(s sample) uint64 { return s.heap }
	res := func(s sample) uint64 { return s.rss }
	wh, lh := maxOf(warm, heap), maxOf(last, heap)
	wr, lr := maxOf(warm, res), maxOf(last, res)
	t.Logf("heap in use: warm-up max %.1f MiB, last round max %.1f MiB; RSS: %.1f MiB, %.1f MiB", float64(wh)/mib, float64(lh)/mib, float64(wr)/mib, float64(lr)/mib)
	if lh > wh+wh/4+8*mib {
		t.Errorf("the heap grew: %.1f MiB after warm-up, %.1f MiB in the last round", float64(wh)/mib, float64(lh)/mib)
	}
	if lr > wr+wr/4+32*mib {
		t.Errorf("the RSS grew: %.1f MiB after warm-up, %.1f MiB in the last round", float64(wr)/mib, float64(lr)/mib)
	}
	g0 := warm[len(warm)-1].goroutines
	for _, s := range samples[len(warm):] {
		if s.goroutines > g0+5 {
			t.Errorf("round %d, %s: %d goroutines after the run, %d after the warm-up", s.round, s.name, s.goroutines, g0)
		}
	}
}

// rss is the process's resident set in bytes, from /proc/self/statm (0 where there is none).
func rss() uint64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseUint(f[1], 10, 64)
	return pages * uint64(os.Getpagesize())
}
