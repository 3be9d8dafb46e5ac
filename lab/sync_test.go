package lab

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// checkSyncCapture has tshark's IPVS dissector decode the sync messages lb1 sent during the
// run (the captures of its links) and checks the fields: connections to the VIPs, from the
// clients' network, to the real servers, IPVS sync version 1.
func checkSyncCapture(t *testing.T, dir string) {
	t.Helper()
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Log("tshark is not installed: the sync messages are not decoded (make deps installs it)")
		return
	}
	matches, _ := filepath.Glob(filepath.Join(dir, "lb1_*.pcap")) // the sync interface's among them
	if len(matches) == 0 {
		t.Fatalf("no capture of lb1's links in %s", dir)
	}
	var out []byte
	for _, m := range matches {
		o, err := exec.Command(tshark, "-r", m, "-d", "udp.port==8848,ipvs", "-Y", "ipvs",
			"-T", "fields", "-E", "occurrence=f", "-e", "ipvs.version", "-e", "ipvs.syncid", "-e", "ipvs.caddr",
			"-e", "ipvs.vaddr", "-e", "ipvs.daddr").Output()
		if err != nil {
			t.Fatalf("tshark %s: %v", m, err)
		}
		out = append(out, o...)
	}
	// Each line is a message's first record; a resync request has none (empty fields). A
	// firewall-mark template carries the mark in vaddr (0.0.0.MARK), as the kernel's does.
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	good, records := 0, 0
	for _, l := range lines {
		f := strings.Split(l, "\t")
		if len(f) != 5 || f[2] == "" {
			continue
		}
		records++
		if f[0] == "1" && strings.HasPrefix(f[2], "10.0.0.") &&
			(f[3] == "10.0.0.1" || f[3] == "10.0.0.10" || strings.HasPrefix(f[3], "0.0.0.")) && strings.HasPrefix(f[4], "192.168.1.") {
			good++
		}
	}
	if records == 0 || good != records {
		t.Errorf("tshark decoded %d sync messages with records, %d as expected; first: %q", records, good, lines[0])
	}
	t.Logf("tshark's ipvs dissector decoded %d sync messages with records from lb1's links, %d with the expected fields", records, good)
}

// TestSyncFailover is examples/lab/sync-failover.toml: an HA pair that syncs its
// connections loses its MASTER mid-run, and the BACKUP carries every connection on. 200
// long-lived sessions through a NAT service and 30 through a persistent one (three clients,
// ports 7 and 8080 bundled under a firewall mark) keep their connections: none breaks, none
// reconnects, every exchange is answered. The persistent clients stay on their servers:
// lb2 has their templates. Short HTTP requests fail only if they were in flight at the kill.
func TestSyncFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("16 s")
	}
	t.Parallel()
	pcaps := t.TempDir()
	rep := run(t, "../examples/lab/sync-failover.toml", Options{PcapDir: pcaps})
	goldenReport(t, rep)
	checkSyncCapture(t, pcaps)
	checkSyncFailover(t, rep, 8*time.Second, map[string]uint64{"c2/tcp-long": 200, "c4/long": 10, "c5/long": 10, "c6/long": 10}, "c1/http")
	// Each persistent client is on one server, for both its ports, before the takeover and
	// after; the three are on the three servers (rr gave each a template of its own).
	used := map[string]bool{}
	for _, c := range []string{"c4", "c5", "c6"} {
		http, long := client(t, rep, c+"/http").PerServer, client(t, rep, c+"/long").PerServer
		if len(http) != 1 || len(long) != 1 {
			t.Errorf("%s: http answered by %v, long-lived sessions by %v; persistence keeps both on one server", c, http, long)
		}
		for s := range http {
			if long[s] == 0 {
				t.Errorf("%s: http answered by %v, long-lived sessions by %v; persistence keeps both on one server", c, http, long)
			}
			used[s] = true
		}
	}
	if len(used) != 3 {
		t.Errorf("the persistent clients were answered by %v, want the three servers", used)
	}
}

// TestSyncFailoverFullNAT is testdata/sync/sync-fnat.toml: the same failover with full-NAT
// services, whose local address moves with the VRRP instance of the servers' side
// (virtual_ipaddress_excluded), as docs/config.md's [sync] says a pair with full-NAT must.
func TestSyncFailoverFullNAT(t *testing.T) {
	if testing.Short() {
		t.Skip("12 s")
	}
	t.Parallel()
	const file = "testdata/sync/sync-fnat.toml"
	rep := run(t, file, Options{})
	for _, x := range rep.Failed() {
		t.Errorf("expectation failed: %v", x.Error())
	}
	t.Cleanup(func() { explain(t, rep) })
	checkSyncFailover(t, rep, 6*time.Second, map[string]uint64{"c2/tcp-long": 100}, "c1/http")
}

// checkSyncFailover checks a run in which lb1, the MASTER of an HA pair that syncs its
// connections (VI_FRONT and VI_BACK, [sync] on both), is killed at kill: lb2 took over and
// had lb1's connections; each long-lived load (by "client/load", with its sessions) kept
// every connection; the short requests of load short failed only around the takeover.
func checkSyncFailover(t *testing.T, rep *Report, kill time.Duration, long map[string]uint64, short string) {
	t.Helper()
	takeover := takeoverTime(t, rep, "VI_FRONT", "lb2", kill)
	if back := takeoverTime(t, rep, "VI_BACK", "lb2", kill); back-takeover > 2*vrrpPoll {
		t.Errorf("VI_BACK followed VI_FRONT %v later; a sync group moves together", back-takeover)
	}
	var sessions, kept uint64
	for name, n := range long {
		c := client(t, rep, name)
		sessions, kept = sessions+c.Conns, kept+c.Kept
		t.Logf("%s: %d sessions, %d kept, %d broken, %d reconnected; %d exchanges, errors %v; echo p99 %v, slowest %v",
			name, c.Conns, c.Kept, c.Broken, c.Reconnects, c.Requests, c.ErrorKinds, c.P99, c.Max)
		if c.Conns != n || c.Kept != n || c.Broken != 0 || c.Reconnects != 0 || c.Errors != 0 {
			t.Errorf("%s: %d of %d sessions kept, %d broken, %d reconnected, errors %v; want all %d kept through the takeover",
				name, c.Kept, c.Conns, c.Broken, c.Reconnects, c.ErrorKinds, n)
		}
	}
	s := client(t, rep, short)
	around := errorsIn(rep, kill, kill+2*time.Second)
	t.Logf("lb2 took over %v after the kill; long-lived connections kept %d of %d (%.1f%%); %s: %d requests, %d failed (%v), %d errors from %v to %v; p99 %v",
		takeover, kept, sessions, 100*float64(kept)/float64(max(sessions, 1)), short, s.Requests, s.Errors, s.ErrorKinds, around, kill, kill+2*time.Second, s.P99)
	// A few errors are allowed where none are expected: a test machine busy with other work
	// can starve a run for longer than a client's timeout.
	if n := errorsIn(rep, 0, kill) + errorsIn(rep, kill+2*time.Second, rep.Duration); n > 2 {
		t.Errorf("%d errors away from the takeover", n)
	}
	lb1, lb2 := applianceReport(t, rep, "lb1").Sync, applianceReport(t, rep, "lb2").Sync
	if lb1 == nil || lb2 == nil {
		t.Fatalf("no sync in the report: lb1 %v, lb2 %v", lb1, lb2)
	}
	t.Logf("sync: lb1 %+v; lb2 %+v", *lb1, *lb2)
	// lb1 sent every long-lived connection (and more: the short ones, templates, state
	// changes); lb2 received every message but perhaps the last (which may die with lb1),
	// and installed every connection in them.
	if lb1.Role != "DOWN" || lb1.ConnsSent < sessions || lb1.SendFailures != 0 || lb1.QueueDrops != 0 {
		t.Errorf("lb1's sync: %+v; want it to have sent at least the %d long-lived connections", *lb1, sessions)
	}
	if lb2.Role != "master" || lb2.MessagesRecv+1 < lb1.MessagesSent || lb2.Installed != lb2.ConnsRecv ||
		lb2.InstallFailed != 0 || lb2.BadMessages != 0 {
		t.Errorf("lb2's sync: %+v; want master at the end, what lb1 sent received and installed", *lb2)
	}
}
