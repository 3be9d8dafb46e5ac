package main

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRunHealthChecksWithLinuxPeers is the privileged end-to-end test of health checking:
// `uvs run` (NAT, the topology of TestRunNATWithLinuxPeers) checks two nginx real servers in
// namespaces with an http_get (its url's digest computed by `uvs genhash` in the server's
// namespace) and a tcp_check each, every 0.5 s. rs1 fails twice, once answering 500 (its
// http_get fails, its tcp_check still passes) and once stopped (both fail): each time uvs
// takes it out within delay_loop + (retry+1)·connect_timeout + retry·delay_before_retry
// (plus a margin), logs it as keepalived does ("Removing service [10.77.2.11]:tcp:8080 from
// VS [10.77.1.100]:tcp:80"), runs its notify_down, and every request through the VIP goes to
// rs2; when rs1 serves again, uvs puts it back ("Adding service ..."), runs its notify_up,
// and the two servers alternate again. Needs root, iproute2, nginx and curl (make deps
// installs them).
func TestRunHealthChecksWithLinuxPeers(t *testing.T) {
	needRoot(t, "network namespaces, AF_PACKET", "ip", "nginx", "curl", "touch")
	touch, _ := exec.LookPath("touch")
	start := time.Now()
	dir := t.TempDir()
	bin := buildUVS(t, dir)
	n := newNATTopo(t)
	addrs := []string{"10.77.2.11", "10.77.2.12"}
	digests := make([]string, len(n.rs))
	for i, r := range n.rs {
		startNginx(t, dir, r, i+1)
		// The digest of what each server answers, as an operator gets it: genhash run
		// where the server is reachable (here, its own namespace).
		digests[i] = genhashIn(t, bin, r, addrs[i], 8080, "/")
		body := fmt.Sprintf("rs%d\n", i+1)
		if sum := md5.Sum([]byte(body)); digests[i] != hex.EncodeToString(sum[:]) {
			t.Fatalf("uvs genhash gave %s for rs%d, whose body %q has MD5 %x", digests[i], i+1, body, sum)
		}
	}
	t.Logf("digests of the servers' pages by uvs genhash: %v", digests)

	// The timing of every check: a server that is up goes down at most
	// delay_loop + (retry+1)·connect_timeout + retry·delay_before_retry after it failed,
	// and a server that is down comes back at most delay_loop (plus one check) after it
	// serves again.
	const (
		delayLoop        = 500 * time.Millisecond
		connectTimeout   = 500 * time.Millisecond
		retry            = 1
		delayBeforeRetry = 500 * time.Millisecond
		margin           = 3 * time.Second // scheduling, nginx reloading, the log polled
	)
	downBound := delayLoop + (retry+1)*connectTimeout + retry*delayBeforeRetry
	upBound := delayLoop + connectTimeout
	var servers strings.Builder
	for i, a := range addrs {
		fmt.Fprintf(&servers, `
  [[virtual_server.real_server]]
  address = "%[1]s:8080"
  notify_up = "%[2]s %[3]s/rs%[4]d.up"
  notify_down = "%[2]s %[3]s/rs%[4]d.down"
    [[virtual_server.real_server.tcp_check]]
    [[virtual_server.real_server.http_get]]
      [[virtual_server.real_server.http_get.url]]
      path = "/"
      digest = "%[5]s"
`, a, touch, dir, i+1, digests[i])
	}
	cfgPath := filepath.Join(dir, "uvs.toml")
	os.WriteFile(cfgPath, []byte(fmt.Sprintf(natInterfaces+`
[[virtual_server]]
address = "10.77.1.100:80"
protocol = "tcp"
lb_algo = "rr"
lb_kind = "NAT"
delay_loop = %g
connect_timeout = %g
retry = %d
delay_before_retry = %g
%s
[log]
format = "json"
`, delayLoop.Seconds(), connectTimeout.Seconds(), retry, delayBeforeRetry.Seconds(), servers.String())), 0o644)
	uvs := startUVS(t, dir, "ip", "netns", "exec", n.lb, bin, "run", "-c", cfgPath)

	curl := func() (string, error) { return curlIn(n.cli, "http://10.77.1.100/") }
	waitFor(t, uvs, 20*time.Second, curl)
	checkRR(t, 4, curl)
	// Let a few rounds of checks pass: no transition, no script (a server's first state is
	// not a transition).
	time.Sleep(3 * delayLoop)
	if err := uvs.running(); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"rs1.up", "rs1.down", "rs2.up", "rs2.down"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			t.Fatalf("%s exists before any transition", f)
		}
	}

	const (
		removed = "Removing service [10.77.2.11]:tcp:8080 from VS [10.77.1.100]:tcp:80"
		added   = "Adding service [10.77.2.11]:tcp:8080 to VS [10.77.1.100]:tcp:80"
	)
	// onlyRS2 checks that rs1 left the table: every request goes to rs2.
	onlyRS2 := func(what string) {
		t.Helper()
		time.Sleep(100 * time.Millisecond) // the table is published just after the log line
		var got []string
		for i := 0; i < 6; i++ {
			out, err := curl()
			if err != nil {
				t.Fatalf("%s: request %d: %v", what, i, err)
			}
			got = append(got, out)
		}
		t.Logf("%s, through the VIP: %v", what, got)
		for _, g := range got {
			if g != "rs2" {
				t.Fatalf("%s: through the VIP %v, want rs2 only", what, got)
			}
		}
	}
	// backInRR waits until rs1 answers through the VIP again, then checks that the two
	// alternate.
	backInRR := func(what string) {
		t.Helper()
		deadline := time.Now().Add(2 * time.Second)
		for {
			if out, err := curl(); err == nil && out == "rs1" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: rs1 logged as added but not answering through the VIP", what)
			}
			time.Sleep(50 * time.Millisecond)
		}
		checkRR(t, 4, curl)
	}
	// script waits for a notify script's file (the scripts run in the background), then
	// removes it for the next transition.
	script := func(name string) {
		t.Helper()
		f := filepath.Join(dir, name)
		deadline := time.Now().Add(5 * time.Second)
		for {
			if _, err := os.Stat(f); err == nil {
				os.Remove(f)
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("the notify script did not make %s within 5 s", name)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	withinBound := func(what string, took, bound time.Duration) {
		t.Helper()
		t.Logf("%s after %v (bound %v + margin %v)", what, took.Round(time.Millisecond), bound, margin)
		if took > bound+margin {
			t.Errorf("%s after %v: more than %v + %v", what, took.Round(time.Millisecond), bound, margin)
		}
	}

	// 1. rs1 answers 500: its http_get fails (its tcp_check still passes), and it goes.
	setNginxStatus(t, dir, 1, 500)
	withinBound("rs1 answering 500: removed", waitLoggedTimes(t, uvs, removed, 1, downBound+margin+2*time.Second), downBound)
	onlyRS2("rs1 answering 500")
	script("rs1.down")
	waitLogged(t, uvs, "HTTP_GET on service [10.77.2.11]:tcp:8080 failed: HTTP status 500", margin) // why

	// 2. rs1 answers 200 again: it comes back.
	setNginxStatus(t, dir, 1, 200)
	withinBound("rs1 answering 200: added", waitLoggedTimes(t, uvs, added, 1, upBound+margin+2*time.Second), upBound)
	script("rs1.up")
	backInRR("rs1 answering 200")

	// 3. nginx on rs1 stops: both checks fail (connection refused), and it goes.
	stopNginx(t, dir, 1)
	withinBound("rs1 stopped: removed", waitLoggedTimes(t, uvs, removed, 2, downBound+margin+2*time.Second), downBound)
	onlyRS2("rs1 stopped")
	script("rs1.down")
	waitLogged(t, uvs, "TCP_CHECK on service [10.77.2.11]:tcp:8080 failed", downBound+margin) // its tcp_check too

	// 4. nginx on rs1 starts again: it comes back once it listens.
	startNginx(t, dir, n.rs[0], 1)
	genhashIn(t, bin, n.rs[0], addrs[0], 8080, "/") // answering
	withinBound("rs1 restarted: added", waitLoggedTimes(t, uvs, added, 2, upBound+margin+2*time.Second), upBound)
	script("rs1.up")
	backInRR("rs1 restarted")

	// rs2 never failed: no script of its ran.
	for _, f := range []string{"rs2.up", "rs2.down"} {
		if _, err := os.Stat(filepath.Join(dir, f)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: %v, want no such file (rs2 never changed)", f, err)
		}
	}
	if err := uvs.stop(); err != nil {
		t.Errorf("uvs stop: %v", err)
	}
	var said []string // what uvs logged about rs1, as keepalived words it
	for _, l := range strings.Split(uvs.logged(), "\n") {
		var e struct{ Message string }
		if json.Unmarshal([]byte(l), &e) == nil && strings.Contains(e.Message, "[10.77.2.11]:tcp:8080") {
			said = append(said, e.Message)
		}
	}
	t.Logf("uvs's log about rs1:\n\t%s", strings.Join(said, "\n\t"))
	t.Logf("took %v", time.Since(start).Round(time.Millisecond))
}
