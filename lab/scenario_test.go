package lab

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// Scenario tests run whole topologies and check their reports two ways: a golden report
// with everything that depends on timing redacted (the rows, the timeline and each event's
// outcome, each expectation's verdict), and bounds on the counts that vary from run to run.
// They run in parallel: each is mostly waiting for its duration.

func goldenReport(t *testing.T, rep *Report) {
	t.Helper()
	t.Cleanup(func() { explain(t, rep) })
	name := strings.TrimSuffix(filepath.Base(rep.File), ".toml")
	const note = "# The report with timing redacted: counts, latencies and shares are zeroed, and what\n" +
		"# the expectations measured is \"…\"; their verdicts and the timeline are kept.\n"
	golden(t, filepath.Join("testdata", "golden", name+".txt"), note+redact(rep).Text())
	for _, x := range rep.Failed() {
		t.Errorf("expectation failed: %v", x.Error())
	}
}

// explain logs the whole report of a failed scenario, its series too: what failed is often
// clearer from when it happened.
func explain(t *testing.T, rep *Report) {
	if !t.Failed() {
		return
	}
	t.Log("\n" + rep.Text())
	for _, p := range rep.Series {
		t.Logf("%6v errors %3d answered %v", p.Start, p.Errors, p.PerServer)
	}
}

// TestDemo is `make demo`: rs2 stops at 8 s and the health checks of both appliances take
// it out; the MASTER lb1 dies at 14 s and lb2 takes over, with the connections lb1 synced to
// it; rs2 starts again at 16 s and lb2's checks put it back.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("24 s")
	}
	t.Parallel()
	rep := run(t, "../examples/lab/demo.toml", Options{})
	goldenReport(t, rep)
	if c := client(t, rep, "c1/http"); c.Requests < 2200 || c.Requests > 2500 {
		t.Errorf("c1 sent %d requests in 24 s at 100/s", c.Requests)
	}
	// A few errors are allowed where none are expected: a test machine busy with other work
	// can starve a run for longer than a client's timeout.
	if n := errorsIn(rep, 0, 8*time.Second); n > 20 {
		t.Errorf("%d errors before the failure", n)
	}
	if n := answeredIn(rep, "rs2", 9*time.Second, 16*time.Second); n != 0 {
		t.Errorf("rs2 answered %d requests while stopped", n)
	}
	if n := answeredIn(rep, "rs2", 17*time.Second, 24*time.Second); n < 200 {
		t.Errorf("rs2 answered only %d requests after its return", n)
	}
	if n := errorsIn(rep, 10*time.Second, 14*time.Second) + errorsIn(rep, 15*time.Second, 24*time.Second); n > 20 {
		t.Errorf("%d errors once rs2 was taken out, but for the takeover", n)
	}
	// c2's 12 long-lived sessions, 4 a server: the 4 on rs2 break when its echo service
	// stops, and reconnect to rs1 and rs3. The takeover breaks none: lb1 synced them to lb2,
	// which carries them on. The HTTP requests lb1 lost are sent again a second later, to lb2.
	if c := client(t, rep, "c2/tcp-long"); c.Conns != 12 || c.Broken != 4 || c.Reconnects != 4 || c.Kept != 8 {
		t.Errorf("c2: %d sessions, %d kept, %d broken, %d reconnected, errors %v; want 12, 8 kept, the 4 on rs2 broken by its stop and reconnected, none broken by the takeover",
			c.Conns, c.Kept, c.Broken, c.Reconnects, c.ErrorKinds)
	}
	if n := errorsIn(rep, 14*time.Second, 15*time.Second); n > 5 {
		t.Errorf("%d errors in the second of the takeover", n)
	}
	// lb2 refuses the records of connections to rs2 that reach it after its own checks took
	// rs2 out (the two appliances' checks do not fire at the same instant): a few, never
	// more than a small share.
	if lb2 := applianceReport(t, rep, "lb2"); lb2.Sync == nil || lb2.Sync.Installed == 0 || lb2.Sync.InstallFailed > lb2.Sync.ConnsRecv/10 {
		t.Errorf("lb2's sync: %+v", lb2.Sync)
	}
	// rs2 leaves both services on both appliances, and comes back on lb2 (lb1 is dead by
	// then); nothing else moves.
	var moves []string
	for _, h := range rep.Health {
		moves = append(moves, fmt.Sprintf("%s %s %s %v", h.Appliance, h.Server, h.VirtualServer, h.Up))
	}
	slices.Sort(moves)
	want := []string{"lb1 rs2 10.0.0.1:7 false", "lb1 rs2 10.0.0.1:80 false",
		"lb2 rs2 10.0.0.1:7 false", "lb2 rs2 10.0.0.1:7 true", "lb2 rs2 10.0.0.1:80 false", "lb2 rs2 10.0.0.1:80 true"}
	if !slices.Equal(moves, want) {
		t.Errorf("health transitions %q, want %q", moves, want)
	}
	// lb1 goes DOWN at 14 s, and lb2 MASTER of both instances within its master-down
	// interval (0.36 s) and the watch's dating.
	var vrrp []string
	for _, v := range rep.VRRP {
		vrrp = append(vrrp, fmt.Sprintf("%s %s %s→%s", v.Appliance, v.Instance, v.From, v.To))
		if v.To == "MASTER" && (v.At < 14*time.Second || v.At > 14400*time.Millisecond) {
			t.Errorf("%s became MASTER of %s at %v; lb1 died at 14 s", v.Appliance, v.Instance, v.At)
		}
	}
	slices.Sort(vrrp)
	wantVRRP := []string{"lb1 VI_BACK MASTER→DOWN", "lb1 VI_FRONT MASTER→DOWN", "lb2 VI_BACK BACKUP→MASTER", "lb2 VI_FRONT BACKUP→MASTER"}
	if !slices.Equal(vrrp, wantVRRP) {
		t.Errorf("VRRP transitions %q, want %q", vrrp, wantVRRP)
	}
}

// TestPiranhaPersistence: firewall mark 80 bundles ports 80 and 443 under one persistent
// service, so each client's two loads are answered by one server, and the clients spread.
// lvs01 dies at 8 s and lvs-02, which had none of its persistence templates (no sync),
// schedules each client afresh, again one server for both its ports: each client's two
// loads were answered by the same servers, as often.
func TestPiranhaPersistence(t *testing.T) {
	t.Parallel()
	rep := run(t, "../examples/lab/piranha-nat.toml", Options{})
	goldenReport(t, rep)
	used := map[string]bool{}
	for _, c := range []string{"c1", "c2", "c3", "c4"} {
		http, https := client(t, rep, c+"/http").PerServer, client(t, rep, c+"/https").PerServer
		if len(http) == 0 || len(http) > 2 || len(http) != len(https) {
			t.Errorf("%s: http answered by %v, https by %v; persistence keeps both on one server per router", c, http, https)
		}
		for s, n := range http {
			used[s] = true
			if m := https[s]; max(n, m)-min(n, m) > 5 {
				t.Errorf("%s: %s answered %d http and %d https requests; persistence keeps both on it", c, s, n, m)
			}
		}
	}
	if len(used) != 2 {
		t.Errorf("the clients were answered by %v, want both servers", used)
	}
	// lvs-02 takes over 3 × 2 s + its skew time after lvs01's last advert, 4.6 to 6.6 s after
	// the kill: nothing due from 9 to 11 s is answered (a SYN sent again 1 s later still finds
	// no router, and the next comes after the client's 2 s timeout).
	if n := answeredIn(rep, "lvs-03", 9*time.Second, 11*time.Second) + answeredIn(rep, "lvs-04", 9*time.Second, 11*time.Second); n > 0 {
		t.Errorf("%d requests answered while no router held the VIP", n)
	}
	if n := answeredIn(rep, "lvs-03", 15*time.Second, 20*time.Second) + answeredIn(rep, "lvs-04", 15*time.Second, 20*time.Second); n < 300 {
		t.Errorf("only %d requests answered after the takeover", n)
	}
}

// TestSorryServer: with both real servers failing their health checks, new connections go
// to the sorry server, until the checks put them back.
func TestSorryServer(t *testing.T) {
	t.Parallel()
	rep := run(t, "../examples/lab/sorry-server.toml", Options{})
	goldenReport(t, rep)
	// The checks take up to 1.5 s (a check every second, a retry 0.5 s later) each way.
	if n := answeredIn(rep, "sorry", 0, 4*time.Second) + answeredIn(rep, "sorry", 10*time.Second, 12*time.Second); n > 2 {
		t.Errorf("the sorry server answered %d requests while the real servers were in", n)
	}
	if n := answeredIn(rep, "sorry", 6*time.Second, 8*time.Second); n < 80 {
		t.Errorf("the sorry server answered only %d requests while it was alone", n)
	}
}

// TestFaults plays every kind of event on the three kinds of load.
func TestFaults(t *testing.T) {
	t.Parallel()
	rep := run(t, "testdata/faults.toml", Options{})
	goldenReport(t, rep)
	if len(rep.Events) != 15 {
		t.Errorf("%d events ran, want 15", len(rep.Events))
	}
	for _, e := range rep.Events {
		if e.Error != "" {
			t.Errorf("%v %s %s: %s", e.At, e.Action, e.Subject, e.Error)
		}
	}
	if c := client(t, rep, "c1/web"); c.ErrorKinds["status 500"] == 0 {
		t.Errorf("no 500 while rs1's web service failed: %v", c.ErrorKinds)
	}
	if c := client(t, rep, "c3/dns"); c.Errors == 0 || c.Requests-c.Errors < 100 {
		t.Errorf("udp flows: %d requests, %d errors; want answers and the partition's timeouts", c.Requests, c.Errors)
	}
	if c := client(t, rep, "c2/sessions"); c.Requests-c.Errors < 100 {
		t.Errorf("long TCP: %d requests, %d errors", c.Requests, c.Errors)
	}
	// c1's timeout (500 ms) is shorter than a SYN's first retransmission (1 s): nothing due
	// while rs1 is down can be answered by it after its restart.
	if n := answeredIn(rep, "rs1", 6*time.Second, 7*time.Second); n > 2 { // the kill may come a few ms late
		t.Errorf("rs1 answered %d requests while killed", n)
	}
	if n := answeredIn(rep, "rs1", 7500*time.Millisecond, 10*time.Second); n == 0 {
		t.Error("rs1 answered nothing after its restart")
	}
	if n := answeredIn(rep, "rs2", 11*time.Second, 12*time.Second) + answeredIn(rep, "rs1", 11*time.Second, 12*time.Second); n == 0 {
		t.Error("nothing answered after lb1's restart")
	}
	for _, l := range rep.Links {
		if l.Name == "rs2:eth0--back:p2" && l.BtoA.DroppedDown == 0 {
			t.Errorf("link %s dropped nothing while down: %+v", l.Name, l.BtoA)
		}
	}
}
