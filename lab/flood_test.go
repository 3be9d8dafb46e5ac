package lab

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestSYNFlood runs examples/lab/syn-flood.toml: a spoofed SYN flood against the VIP while
// bulk connections stream through it. Every expectation of the file must hold (goodput
// during and after the flood against before it, no bulk connection broken, the table
// bounded); the test checks that the flood really ran at its rate and pressed the table.
//
// The lab is one process, and what it measures is only worth its CPU: on a machine whose
// other jobs keep the lab's threads waiting for a CPU longer than twice the time they run,
// the port loops fall behind, rings overflow and TCP backs off, whatever uvs does (measured:
// docs/hardening.md, "SYN flood in the lab"). The test says so and skips when it failed on
// such a machine; it fails when it failed on one that let the lab run.
func TestSYNFlood(t *testing.T) {
	if testing.Short() {
		t.Skip("a lab run of seconds")
	}
	ran0, waited0 := schedStat()
	rep := run(t, "../examples/lab/syn-flood.toml", Options{})
	ran, waited := schedStat()
	// The lab is one process on a machine other jobs may share: how long its threads ran,
	// and how long they were ready to run but waited for a CPU, says whether a failure is
	// the flood's or the machine's (docs/hardening.md, "SYN flood in the lab").
	t.Logf("the lab's threads ran %v and waited %v for a CPU", (ran - ran0).Round(time.Millisecond), (waited - waited0).Round(time.Millisecond))
	t.Cleanup(func() { explain(t, rep) })
	// The flood, the bulk sessions and their writers, and the table watch stop with the run
	// (the test runs alone: the goroutines left would be its run's).
	var left []string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if left = labGoroutines(); len(left) == 0 {
			break
		}
	}
	if len(left) > 0 {
		t.Errorf("%d goroutines outlived Run:\n%s", len(left), strings.Join(left, "\n\n"))
	}
	for _, x := range rep.Expectations {
		t.Logf("%s: %s", map[bool]string{true: "ok", false: "FAIL"}[x.Pass], x.Sentence())
	}
	if failed := rep.Failed(); len(failed) > 0 && waited-waited0 > 2*(ran-ran0) {
		for _, x := range failed {
			t.Log(x.Error())
		}
		t.Skipf("the machine was too busy to judge: the lab's threads waited %v for a CPU and ran %v", (waited - waited0).Round(time.Millisecond), (ran - ran0).Round(time.Millisecond))
	}
	for _, x := range rep.Failed() {
		t.Error(x.Error())
	}
	if len(rep.Expectations) == 0 {
		t.Error("no expectation judged")
	}
	topo, err := Load("../examples/lab/syn-flood.toml")
	if err != nil {
		t.Fatal(err)
	}
	var g *Generator
	for _, n := range topo.Nodes {
		for _, l := range n.Loads {
			if l.Type == LoadSYNFlood {
				g = l
			}
		}
	}
	f := client(t, rep, "c2/syn-flood")
	want := g.Rate * (g.Stop - g.Start).Seconds()
	if float64(f.Sent) < 0.95*want || float64(f.Sent) > want+64 {
		t.Errorf("the flood sent %d SYNs in %v at %v/s, want %.0f", f.Sent, g.Stop-g.Start, g.Rate, want)
	}
	for i, n := range f.SentSeries {
		if at := time.Duration(i) * rep.Bucket; (at < g.Start || at >= g.Stop) && n != 0 {
			t.Errorf("the flood sent %d SYNs at %v, outside %v–%v", n, at, g.Start, g.Stop)
		}
	}
	b := client(t, rep, "c1/bulk")
	if b.Bytes == 0 || b.Conns == 0 || b.Kept != b.Conns {
		t.Errorf("bulk: %d bytes, %d of %d connections kept", b.Bytes, b.Kept, b.Conns)
	}
	// The flood pressed the table: it reached the pressure threshold (amemthresh, size/8
	// free), so the defenses had work to do. The count may read over the capacity by an
	// insert in flight per port loop (2), no more.
	for _, a := range rep.Appliances {
		if a.Capacity == 0 || a.PeakInTable > a.Capacity+2 || a.PeakInTable < a.Capacity*7/8 {
			t.Errorf("%s: at most %d entries in a table of %d: the flood did not press it, or it overflowed", a.Name, a.PeakInTable, a.Capacity)
		}
	}
}

// schedStat sums the CPU time of the process's threads and the time they waited on a run
// queue (Linux: /proc/self/task/*/schedstat); zero where there is no such file.
func schedStat() (ran, waited time.Duration) {
	files, _ := filepath.Glob("/proc/self/task/*/schedstat")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // the thread ended
		}
		fs := strings.Fields(string(b))
		if len(fs) < 2 {
			continue
		}
		r, _ := strconv.ParseInt(fs[0], 10, 64)
		w, _ := strconv.ParseInt(fs[1], 10, 64)
		ran, waited = ran+time.Duration(r), waited+time.Duration(w)
	}
	return ran, waited
}
