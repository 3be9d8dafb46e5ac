package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestRunTUNWithLinuxPeers is the privileged end-to-end test of tunnelling (lb_kind = "TUN"):
// a Linux client reaches two nginx real servers through `uvs run` (AF_PACKET on a veth of
// segTopo's segment), which sends the client's packets to rs1 in IPIP and to rs2 in GUE. This
// kernel has no ipip or fou module, so each real server runs `uvs realserver`, which
// terminates the tunnel and hands the inner packets to its kernel through a TUN device; the
// real servers hold the VIP on lo with arp_ignore=1 / arp_announce=2 and answer the client
// directly. curl through the VIP gets both servers in rr order; each `uvs realserver` counts
// the requests it decapsulated on its own socket (IPIP for rs1, GUE for rs2) and drops none.
// Needs root, iproute2, nginx, curl and /dev/net/tun (make deps installs the tools).
func TestRunTUNWithLinuxPeers(t *testing.T) {
	needRoot(t, "network namespaces, AF_PACKET, raw sockets, TUN devices", "ip", "nginx", "curl")
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		t.Skipf("needs /dev/net/tun: %v", err)
	}
	start := time.Now()
	const vip, guePort = "10.77.3.100", 6080
	dir := t.TempDir()
	bin := buildUVS(t, dir)
	n := newSegTopo(t)
	kinds := []string{"ipip", "gue"}
	var rsProcs []*uvsProc
	for i, r := range n.rs {
		n.holdVIP(r, vip)
		startNginxOn(t, dir, r, i+1, 80)
		args := []string{"ip", "netns", "exec", r, bin, "realserver", "--vip", vip, "--tun-type", kinds[i], "--log-format", "json"}
		if kinds[i] == "gue" {
			args = append(args, "--gue-port", strconv.Itoa(guePort))
		}
		p := startProc(t, filepath.Join(dir, fmt.Sprintf("realserver%d.log", i+1)), args...)
		waitLogged(t, p, "receiving tunnelled packets", 20*time.Second)
		rsProcs = append(rsProcs, p)
	}

	cfgPath := filepath.Join(dir, "uvs.toml")
	os.WriteFile(cfgPath, []byte(fmt.Sprintf(`
[[interface]]
name = "eth0"
device = "l0"
addresses = ["10.77.3.254/24"]

[[virtual_server]]
address = "%s:80"
protocol = "tcp"
lb_algo = "rr"
lb_kind = "TUN"
  [[virtual_server.real_server]]
  address = "10.77.3.11"
  tun_type = "ipip"
  [[virtual_server.real_server]]
  address = "10.77.3.12"
  tun_type = "gue"
  tun_port = %d

[log]
format = "json"
`, vip, guePort)), 0o644)
	uvs := startUVS(t, dir, "ip", "netns", "exec", n.lb, bin, "run", "-c", cfgPath)

	curl := func() (string, error) { return curlIn(n.cli, "http://"+vip+"/") }
	waitFor(t, uvs, 20*time.Second, curl)
	checkRR(t, 6, curl) // every request answered, by rs1 and rs2 in turn
	if err := uvs.running(); err != nil {
		t.Fatal(err)
	}
	if err := uvs.stop(); err != nil {
		t.Errorf("uvs stop: %v", err)
	}

	// Each realserver terminated its kind of tunnel, and let everything through.
	for i, p := range rsProcs {
		if err := p.stop(); err != nil {
			t.Errorf("realserver on rs%d: %v", i+1, err)
		}
		log := p.logged()
		sock := map[string]string{"ipip": "received_ip4in4", "gue": "received_gue4"}[kinds[i]]
		written := loggedCount(log, "written")
		t.Logf("rs%d (%s): received %d (%s %d), written %d, dropped %d", i+1, kinds[i], loggedCount(log, "received"),
			sock, loggedCount(log, sock), written, loggedCount(log, "dropped"))
		if loggedCount(log, sock) == 0 || written < 3*2 || loggedCount(log, "dropped") != 0 {
			t.Errorf("rs%d's realserver did not decapsulate the requests (%s):\n%s", i+1, kinds[i], log)
		}
	}
	t.Logf("took %v", time.Since(start).Round(time.Millisecond))
}

// startProc runs argv, its output to logPath, stopped with SIGTERM at cleanup (uvsProc).
func startProc(t *testing.T, logPath string, argv ...string) *uvsProc {
	t.Helper()
	p := &uvsProc{log: logPath, exited: make(chan error, 1)}
	logf, err := os.Create(p.log)
	if err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command(argv[0], argv[1:]...)
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	logf.Close()
	go func() { p.exited <- p.cmd.Wait() }()
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("%s:\n%s", filepath.Base(logPath), p.logged())
		}
	})
	return p
}

// waitLogged waits until p's log has what, and fails the test after d or when p exits.
func waitLogged(t *testing.T, p *uvsProc, what string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !strings.Contains(p.logged(), what) {
		if err := p.running(); err != nil {
			t.Fatalf("%v before logging %q:\n%s", err, what, p.logged())
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %q logged within %v:\n%s", what, d, p.logged())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// loggedCount returns the number field name of the JSON log line "stopped" (0 if absent).
func loggedCount(log, name string) int {
	for _, l := range strings.Split(log, "\n") {
		if !strings.Contains(l, `"message":"stopped"`) {
			continue
		}
		if m := regexp.MustCompile(`"` + regexp.QuoteMeta(name) + `":(\d+)`).FindStringSubmatch(l); m != nil {
			v, _ := strconv.Atoi(m[1])
			return v
		}
	}
	return 0
}
