package lab

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The fault scenarios of issue 11, examples/lab/faults/*.toml, one a fault, each 8-16 s:
// every expectation of the file must hold, every event must take effect, and each test
// checks what the file cannot say.

// runFault runs one fault scenario and checks its verdicts and events.
func runFault(t *testing.T, name string) *Report {
	t.Helper()
	if testing.Short() {
		t.Skip("a lab run of seconds")
	}
	rep := run(t, filepath.Join("../examples/lab/faults", name+".toml"), Options{})
	t.Cleanup(func() { explain(t, rep) })
	for _, e := range rep.Events {
		if e.Error != "" {
			t.Errorf("%v %s %s: %s", e.At, e.Action, e.Subject, e.Error)
		}
	}
	for _, x := range rep.Failed() {
		t.Error(x.Error())
	}
	if len(rep.Expectations) == 0 {
		t.Error("no expectation judged")
	}
	return rep
}

func TestFaultRealServerFlap(t *testing.T) {
	rep := runFault(t, "rs-flap")
	// Each of the three downs took rs2 out and each start put it back, on both appliances.
	outs, ins := 0, 0
	for _, h := range rep.Health {
		if h.Appliance == "lb1" && strings.HasSuffix(h.Address, ":8080") && strings.HasPrefix(h.Server, "rs2") {
			if h.Up {
				ins++
			} else {
				outs++
			}
		}
	}
	if outs < 3 || ins < 3 {
		t.Errorf("lb1 took rs2 out %d times and back %d times, want 3 and 3", outs, ins)
	}
}

func TestFaultLinkFlap(t *testing.T) {
	rep := runFault(t, "link-flap")
	if n := len(rep.Events); n != 16 {
		t.Errorf("%d events, want 16 (two flaps of 4)", n)
	}
	if len(rep.VRRP) != 0 {
		t.Errorf("VRRP moved during 150 ms outages: %+v", rep.VRRP)
	}
}

func TestFaultPartition(t *testing.T) {
	rep := runFault(t, "partition")
	// The partition made two MASTERs (lb2 took over on its side): the heal is what is judged.
	split := false
	for _, v := range rep.VRRP {
		if v.Appliance == "lb2" && v.To == "MASTER" && v.At >= 3*time.Second && v.At < 8*time.Second {
			split = true
		}
	}
	if !split {
		t.Error("lb2 did not become MASTER during the partition: nothing was split")
	}
}

func TestFaultKillRestartSync(t *testing.T) {
	rep := runFault(t, "kill-restart-sync")
	c := client(t, rep, "c2/tcp-long")
	if c.Kept != c.Conns || c.Conns == 0 {
		t.Errorf("kept %d of %d long-lived connections", c.Kept, c.Conns)
	}
}

func TestFaultReloads(t *testing.T) {
	rep := runFault(t, "reloads")
	if n := len(rep.Events); n != 100 {
		t.Errorf("%d reloads, want 100", n)
	}
}

func TestFaultClockJump(t *testing.T) {
	runFault(t, "clock-jump")
}

// TestFaultClockJumpFar: a forward jump past the established timeout breaks no long-lived
// session through the MASTER: the engine absorbs the jump (lb.Options.ClockStep), and its
// connections, whose packets kept flowing, keep their entries.
func TestFaultClockJumpFar(t *testing.T) {
	rep := runFault(t, "clock-jump-far")
	c := client(t, rep, "c2/tcp-long")
	if c.Conns == 0 || c.Kept != c.Conns || c.Broken != 0 {
		t.Errorf("kept %d of %d sessions (%d broke) through an hour's jump forward; want all (docs/hardening.md)", c.Kept, c.Conns, c.Broken)
	}
}

// TestFaultScenariosParse reads every fault scenario strictly.
func TestFaultScenariosParse(t *testing.T) {
	files, _ := filepath.Glob("../examples/lab/faults/*.toml")
	if len(files) < 7 {
		t.Fatalf("%d fault scenarios", len(files))
	}
	for _, f := range files {
		if _, err := Load(f); err != nil {
			t.Error(err)
		}
	}
	if _, err := os.Stat("../docs/hardening.md"); err != nil {
		t.Error(err)
	}
}
