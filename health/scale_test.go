package health_test

import (
	"context"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/uvs-lb/uvs/health"
)

type trivial struct{}

func (trivial) Check(context.Context, health.Net) health.Result {
	return health.Result{OK: true, Weight: -1}
}
func (trivial) String() string { return "TRIVIAL_CHECK" }

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestMonitorThousandTargets runs 1,000 targets with a trivial checker on the real clock for
// 2 s and reports what they cost: goroutines, heap in use, CPU per second. It measures; it
// asserts nothing about time (go test -v -run ThousandTargets to see the numbers).
func TestMonitorThousandTargets(t *testing.T) {
	if testing.Short() {
		t.Skip("a 2 s measurement per delay loop")
	}
	const n = 1000
	for _, loop := range []time.Duration{time.Second, 100 * time.Millisecond} {
		t.Run("delay_loop "+loop.String(), func(t *testing.T) {
			var ms runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&ms)
			g0, heap0 := runtime.NumGoroutine(), ms.HeapInuse

			m := health.New(health.Options{})
			targets := make([]health.Target, n)
			for i := range targets {
				targets[i] = health.Target{ID: "rs" + strconv.Itoa(i), Checker: trivial{},
					Timing: health.Timing{DelayLoop: loop, Warmup: loop}}
			}
			m.Set(targets)
			if err := m.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			time.Sleep(loop + 200*time.Millisecond) // every target past its warmup

			st0, cpu0, wall0 := m.Stats(), cpuTime(), time.Now()
			time.Sleep(2 * time.Second)
			st1, cpu1, wall := m.Stats(), cpuTime(), time.Since(wall0)
			g1 := runtime.NumGoroutine()
			runtime.ReadMemStats(&ms)
			heapLive := ms.HeapInuse
			runtime.GC()
			runtime.ReadMemStats(&ms)

			checks := float64(st1.Checks-st0.Checks) / wall.Seconds()
			cpu := (cpu1 - cpu0).Seconds() / wall.Seconds()
			t.Logf("%d targets, delay_loop %v: %d goroutines (+%d), heap in use %.1f MiB (+%.1f MiB after GC, %.0f B/target), "+
				"%.0f checks/s, CPU %.1f ms/s (%.2f µs/check), %d up",
				n, loop, g1, g1-g0, float64(heapLive)/(1<<20), float64(int64(ms.HeapInuse)-int64(heap0))/(1<<20),
				float64(int64(ms.HeapInuse)-int64(heap0))/n, checks, cpu*1000, cpu*1e6/checks, st1.Up)
			if st1.Up != n || st1.Checks == st0.Checks {
				t.Fatalf("stats %+v", st1.Counters)
			}
		})
	}
}
