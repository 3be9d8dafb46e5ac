package lab

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/uvs-lb/uvs/netstack/port"
)

// TestRunStopsEverything: once Run returns, no goroutine of the lab, the appliances, the
// hosts or gVisor is left. It runs alone (not in parallel), so the goroutines it looks at
// are its run's.
func TestRunStopsEverything(t *testing.T) {
	rep := run(t, "testdata/tiny.toml", Options{})
	if len(rep.Failed()) > 0 {
		t.Errorf("expectations failed: %v", rep.Failed())
	}
	if c := client(t, rep, "c1/http"); c.Requests < 80 || c.Errors > 0 {
		t.Errorf("c1: %d requests, %d errors", c.Requests, c.Errors)
	}
	var left []string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if left = labGoroutines(); len(left) == 0 {
			return
		}
	}
	t.Fatalf("%d goroutines outlived Run:\n%s", len(left), strings.Join(left, "\n\n"))
}

// TestRunCancel: a cancelled run stops at once and reports what it saw.
func TestRunCancel(t *testing.T) {
	t.Parallel()
	topo, err := Load("testdata/tiny.toml")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	start := time.Now()
	rep, err := Run(ctx, topo, Options{})
	if !errors.Is(err, context.DeadlineExceeded) || rep == nil {
		t.Fatalf("Run = %v, %v; want a report and the context's error", rep, err)
	}
	if took := time.Since(start); took > 1500*time.Millisecond {
		t.Errorf("a run cancelled at 1 s took %v", took)
	}
	if c := client(t, rep, "c1/http"); c.Requests < 25 || c.Requests > 55 {
		t.Errorf("%d requests in 1 s at 50/s", c.Requests)
	}
}

// TestRequiresRefusedUntilFeaturesLand: the seed deployments that need DR, health checks,
// VRRP or sync are refused, naming what they need, until uvs has it; then they run and must
// meet their expectations. Switching a feature on in features.go switches them on here. An
// example with a scenario test of its own runs there, not twice.
func TestRequiresRefusedUntilFeaturesLand(t *testing.T) {
	ownTest := map[string]string{"demo.toml": "TestDemo", "piranha-nat.toml": "TestPiranhaPersistence", "sync-failover.toml": "TestSyncFailover"}
	files, _ := filepath.Glob("../examples/lab/*.toml")
	seen := 0
	for _, f := range files {
		topo, err := Load(f)
		if err != nil {
			t.Fatal(err)
		}
		if len(topo.Requires) == 0 {
			continue
		}
		seen++
		t.Run(filepath.Base(f), func(t *testing.T) {
			t.Parallel()
			missing := topo.missingFeatures()
			if name := ownTest[filepath.Base(f)]; name != "" && len(missing) == 0 {
				t.Skipf("it runs in %s", name)
			}
			rep, err := Run(context.Background(), topo, Options{})
			var unsupported *UnsupportedError
			if len(missing) > 0 {
				if !errors.As(err, &unsupported) || !slices.Equal(unsupported.Missing, missing) || rep != nil {
					t.Fatalf("Run = %v, %v; want a refusal naming %v", rep, err, missing)
				}
				for _, m := range missing {
					if !strings.Contains(err.Error(), m) {
						t.Errorf("%q does not name %s", err, m)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, x := range rep.Failed() {
				t.Errorf("expectation failed: %v", x.Error())
			}
		})
	}
	if seen < 3 {
		t.Errorf("%d examples require features; the seed deployments have at least 3", seen)
	}
}

// TestUnsupportedRefused: a topology that requires a feature uvs lacks is refused, naming
// it, and nothing runs. Every feature is there now, so the test takes one away for a moment;
// it is not parallel, so no other test runs meanwhile.
func TestUnsupportedRefused(t *testing.T) {
	i := slices.IndexFunc(features, func(f labFeature) bool { return f.name == "sync" })
	features[i].have = false
	defer func() { features[i].have = true }()
	topo, err := Parse("sync-pair.toml", []byte("duration = \"1s\"\nrequires = [\"vrrp\", \"sync\"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Run(context.Background(), topo, Options{})
	var unsupported *UnsupportedError
	if !errors.As(err, &unsupported) || !slices.Equal(unsupported.Missing, []string{"sync"}) || rep != nil {
		t.Fatalf("Run = %v, %v; want a refusal naming sync", rep, err)
	}
	if want := "sync-pair.toml: requires sync (connection sync), which uvs does not have yet"; err.Error() != want {
		t.Errorf("%q, want %q", err, want)
	}
}

// TestJackReplug: a jack keeps its link through a node's death and rebirth: reads wait while
// nothing is plugged in, frames for a dead node are lost without error, and frames flow
// again through the new pipe.
func TestJackReplug(t *testing.T) {
	j := newJack("j", net.HardwareAddr{6, 0, 0, 0, 0, 1}, 1500, 0)
	node := port.MemConfig{Name: "eth0", MAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}}
	first := j.connect(node)
	bufs, sizes := [][]byte{make([]byte, 1600)}, []int{0}
	send := func(p port.Port, s string) {
		b := []byte(s)
		if _, err := p.Write([][]byte{b}, []int{len(b)}, 0); err != nil {
			t.Fatalf("write %q: %v", s, err)
		}
	}
	read := make(chan string)
	go func() {
		for {
			n, err := j.Read(bufs, sizes, 0)
			if err != nil {
				close(read)
				return
			}
			for i := range n {
				read <- string(bufs[i][:sizes[i]])
			}
		}
	}()
	send(first, "one")
	if got := <-read; got != "one" {
		t.Fatalf("read %q", got)
	}
	first.Close() // the node dies
	if n, err := j.Write([][]byte{[]byte("lost")}, []int{4}, 0); n != 1 || err != nil {
		t.Errorf("write to a dead node: %d, %v; want it lost quietly", n, err)
	}
	select {
	case got := <-read:
		t.Fatalf("read %q from a dead node", got)
	case <-time.After(50 * time.Millisecond):
	}
	second := j.connect(node) // and comes back
	send(second, "two")
	if got := <-read; got != "two" {
		t.Fatalf("read %q after the restart", got)
	}
	j.Write([][]byte{[]byte("to the node")}, []int{11}, 0)
	nb, ns := [][]byte{make([]byte, 1600)}, []int{0}
	n, err := second.Read(nb, ns, 0)
	if err != nil || n != 1 || string(nb[0][:ns[0]]) != "to the node" {
		t.Fatalf("node read %d %v %q", n, err, nb[0][:ns[0]])
	}
	j.Close()
	if _, ok := <-read; ok {
		t.Fatal("read after Close")
	}
}
