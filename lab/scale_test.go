package lab

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// scaleTopology writes a topology with 2 appliances, 50 real servers and 10 clients: each
// appliance fronts 25 servers on a network of its own, and 5 clients send to each VIP.
func scaleTopology(duration time.Duration, rate int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "name = \"scale\"\nduration = %q\n\n[nodes.front]\nkind = \"switch\"\n", duration)
	for lb := 1; lb <= 2; lb++ {
		fmt.Fprintf(&b, `
[nodes.lb%[1]d]
kind = "appliance"
config = '''
[[interface]]
name = "eth0"
kind = "memory"
addresses = ["10.0.0.25%[1]d/24"]
[[interface]]
name = "eth1"
kind = "memory"
addresses = ["10.%[1]d.0.254/24"]
[[virtual_server]]
address = "10.0.0.%[1]d:80"
lb_algo = "rr"
`, lb)
		for i := 1; i <= 25; i++ {
			fmt.Fprintf(&b, "  [[virtual_server.real_server]]\n  address = \"10.%d.0.%d:80\"\n", lb, i)
		}
		fmt.Fprintf(&b, "'''\n[nodes.back%d]\nkind = \"switch\"\n", lb)
		fmt.Fprintf(&b, "[[links]]\nendpoints = [\"lb%d:eth0\", \"front:lb%d\"]\n", lb, lb)
		fmt.Fprintf(&b, "[[links]]\nendpoints = [\"lb%d:eth1\", \"back%d:lb\"]\n", lb, lb)
		for i := 1; i <= 25; i++ {
			fmt.Fprintf(&b, `[nodes.rs%[1]d-%[2]d]
kind = "host"
interface = [{ name = "eth0", addresses = ["10.%[1]d.0.%[2]d/24"], gateway = "10.%[1]d.0.254" }]
service = [{ type = "http", port = 80 }]
[[links]]
endpoints = ["rs%[1]d-%[2]d:eth0", "back%[1]d:p%[2]d"]
`, lb, i)
		}
	}
	for c := 1; c <= 10; c++ {
		fmt.Fprintf(&b, `[nodes.c%[1]d]
kind = "client"
interface = [{ name = "eth0", addresses = ["10.0.0.%[2]d/24"], gateway = "10.0.0.25%[3]d" }]
load = [{ type = "http", target = "10.0.0.%[3]d:80", rate = %[4]d }]
[[links]]
endpoints = ["c%[1]d:eth0", "front:c%[1]d"]
`, c, 100+c, 1+c%2, rate)
	}
	return b.String()
}

// TestScale runs 2 appliances, 50 real servers and 10 clients in this process, and reports
// how long they take to start and how much memory the run needs at its peak.
func TestScale(t *testing.T) {
	if testing.Short() {
		t.Skip("a 62-node topology")
	}
	t.Parallel()
	const duration, rate = 5 * time.Second, 20
	topo, err := Parse("scale.toml", []byte(scaleTopology(duration, rate)))
	if err != nil {
		t.Fatal(err)
	}
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	peak := &memPeak{}
	stop := peak.watch(50 * time.Millisecond)
	rep, err := Run(context.Background(), topo, Options{})
	stop()
	if err != nil {
		t.Fatal(err)
	}
	var requests, errors uint64
	for _, c := range rep.Clients {
		requests += c.Requests
		errors += c.Errors
	}
	t.Logf("%d nodes, %d links: setup %v; peak heap %d MiB (%d MiB before), peak from the OS %d MiB, %d goroutines at most; %d requests, %d errors",
		len(topo.Nodes), len(topo.Links), rep.Setup, peak.heap>>20, before.HeapInuse>>20, peak.sys>>20, peak.goroutines, requests, errors)
	if want := uint64(10 * rate * int(duration/time.Second)); requests < want*9/10 {
		t.Errorf("%d requests, want about %d", requests, want)
	}
	if errors > requests/100 {
		t.Errorf("%d errors in %d requests", errors, requests)
	}
	for _, s := range rep.Servers {
		if s.Answered == 0 {
			t.Errorf("%s answered nothing", s.Name)
		}
	}
}

// memPeak samples the memory the process uses while a run goes on.
type memPeak struct {
	mu         sync.Mutex
	heap, sys  uint64
	goroutines int
}

func (m *memPeak) watch(every time.Duration) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			m.mu.Lock()
			m.heap = max(m.heap, ms.HeapInuse+ms.StackInuse)
			m.sys = max(m.sys, ms.Sys)
			m.goroutines = max(m.goroutines, runtime.NumGoroutine())
			m.mu.Unlock()
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	})
	return func() { close(done); wg.Wait() }
}
