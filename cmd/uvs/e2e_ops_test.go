package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/uvs-lb/uvs/status/chromiumtest"
)

// TestOperatorSession is what an LVS operator does with a running uvs, end to end: `uvs run`
// in its namespace in front of two nginx real servers with TCP checks; traffic from a Linux
// client; `uvs adm -Ln` / `--stats` / `-Lnc` in ipvsadm's formats; /metrics scraped with curl;
// the status page loaded in headless Chromium, showing a real server that stopped as down;
// a real server added and a weight changed live with `uvs adm`, kept by `uvs conf export`.
// Needs root, iproute2, nginx and curl; the page's part needs chromium-headless-shell (make
// deps installs them all).
func TestOperatorSession(t *testing.T) {
	needRoot(t, "network namespaces, AF_PACKET", "ip", "nginx", "curl")
	dir := t.TempDir()
	bin := buildUVS(t, dir)
	n := newNATTopo(t)
	n.in(n.lb, "ip", "link", "set", "lo", "up") // the metrics listener is on the kernel's loopback
	for i, r := range n.rs {
		startNginx(t, dir, r, i+1)
	}
	cfgPath := filepath.Join(dir, "uvs.toml")
	os.WriteFile(cfgPath, []byte(natInterfaces+`
[[virtual_server]]
address = "10.77.1.100:80"
protocol = "tcp"
lb_algo = "rr"
lb_kind = "NAT"
delay_loop = 0.5
connect_timeout = 0.5
retry = 0
  [[virtual_server.real_server]]
  address = "10.77.2.11:8080"
    [[virtual_server.real_server.tcp_check]]
  [[virtual_server.real_server]]
  address = "10.77.2.12:8080"
    [[virtual_server.real_server.tcp_check]]

[metrics]
listen = "127.0.0.1:19182"
refresh = "1s"

[log]
format = "json"
`), 0o644)
	uvs := startUVS(t, dir, "ip", "netns", "exec", n.lb, bin, "run", "-c", cfgPath)
	sock := filepath.Join(dir, "uvs.sock")
	adm := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(bin, append([]string{"adm", "--socket", sock}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("uvs adm %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	curl := func() (string, error) { return curlIn(n.cli, "http://10.77.1.100/") }
	waitFor(t, uvs, 20*time.Second, curl)
	for range 10 {
		if _, err := curl(); err != nil {
			t.Fatal(err)
		}
	}

	// ipvsadm -Ln, byte for byte in its format.
	list := adm("-Ln")
	t.Logf("uvs adm -Ln:\n%s", list)
	for _, line := range []string{
		"IP Virtual Server version 1.2.1 (size=",
		"Prot LocalAddress:Port Scheduler Flags\n",
		"  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n",
		"TCP  10.77.1.100:80 rr\n",
		"  -> 10.77.2.11:8080              Masq    1      ",
		"  -> 10.77.2.12:8080              Masq    1      ",
	} {
		if !strings.Contains(list, line) {
			t.Errorf("uvs adm -Ln lacks %q", line)
		}
	}
	// --stats: the service line counts the connections made (curl: one each).
	stats := adm("-Ln", "--stats")
	m := regexp.MustCompile(`(?m)^TCP  10\.77\.1\.100:80\s+(\d+)\s+(\d+)\s+(\d+)`).FindStringSubmatch(stats)
	if m == nil {
		t.Fatalf("no service line in --stats:\n%s", stats)
	}
	if conns, _ := strconv.Atoi(m[1]); conns < 11 {
		t.Errorf("--stats counts %d connections, want at least 11:\n%s", conns, stats)
	}
	if conns := adm("-Lnc"); !strings.Contains(conns, "IPVS connection entries\npro expire state       source             virtual            destination\n") ||
		!strings.Contains(conns, "10.77.1.100:80") {
		t.Errorf("uvs adm -Lnc:\n%s", conns)
	}

	// Prometheus, from inside the appliance's namespace.
	scrape := func() string {
		t.Helper()
		out, err := exec.Command("ip", "netns", "exec", n.lb, "curl", "-sf", "http://127.0.0.1:19182/metrics").Output()
		if err != nil {
			t.Fatalf("scrape: %v", err)
		}
		return string(out)
	}
	metrics := scrape()
	for _, want := range []string{
		`uvs_ipvs_backend_weight{local_address="10.77.1.100",local_mark="",local_port="80",proto="TCP",remote_address="10.77.2.12",remote_port="8080"} 1`,
		`uvs_up 1`,
		"uvs_build_info{",
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	// The status page, as a browser shows it, before and after rs2 stops.
	browser, berr := chromiumtest.Lookup()
	if berr == nil {
		browser.Prefix = []string{"ip", "netns", "exec", n.lb}
	} else {
		t.Logf("the status page is not loaded in a browser: %v", berr)
	}
	rowState := func(budget time.Duration) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		dom := browser.DumpDOM(ctx, t, "http://127.0.0.1:19182/", budget)
		rows := chromiumtest.Tags(dom, "data-server", "10.77.2.12:8080")
		if len(rows) != 1 {
			t.Fatalf("%d rows for rs2 in the page:\n%s", len(rows), dom)
		}
		return rows[0].Attrs["data-state"]
	}
	if berr == nil {
		if st := rowState(0); st != "up" {
			t.Errorf("rs2 is %q on the page, want up", st)
		}
	}
	stopNginx(t, dir, 2)
	deadline := time.Now().Add(10 * time.Second)
	for strings.Contains(adm("-Ln"), "10.77.2.12:8080") {
		if time.Now().After(deadline) {
			t.Fatalf("rs2 still in the table 10 s after it stopped:\n%s", adm("-Ln"))
		}
		time.Sleep(100 * time.Millisecond)
	}
	if checks := adm("--checks"); !strings.Contains(checks, "10.77.2.12") {
		t.Errorf("uvs adm --checks does not show rs2:\n%s", checks)
	}
	if berr == nil {
		// One refresh (1 s) of virtual time: the page shows rs2 down.
		if st := rowState(1500 * time.Millisecond); st != "down" {
			t.Errorf("rs2 is %q on the page after it stopped, want down", st)
		}
	}
	if metrics := scrape(); !strings.Contains(metrics, `uvs_real_server_up{local_address="10.77.1.100",local_mark="",local_port="80",proto="TCP",remote_address="10.77.2.12",remote_port="8080"} 0`) {
		t.Errorf("/metrics does not show rs2 down:\n%s", grepLines(metrics, "uvs_real_server_up"))
	}

	// Live changes, as ipvsadm makes them, kept by conf export.
	adm("-a", "-t", "10.77.1.100:80", "-r", "10.77.2.13:8080", "-m", "-w", "2")
	adm("-e", "-t", "10.77.1.100:80", "-r", "10.77.2.11:8080", "-m", "-w", "3")
	list = adm("-Ln")
	for _, line := range []string{
		"  -> 10.77.2.11:8080              Masq    3      ",
		"  -> 10.77.2.13:8080              Masq    2      ",
	} {
		if !strings.Contains(list, line) {
			t.Errorf("after -a/-e, uvs adm -Ln lacks %q:\n%s", line, list)
		}
	}
	export, err := exec.Command(bin, "conf", "export", "--socket", sock).Output()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(export), `address = "10.77.2.13:8080"`) || !strings.Contains(string(export), "weight = 3") {
		t.Errorf("conf export lost the live changes:\n%s", export)
	}
	exported := filepath.Join(dir, "exported.toml")
	os.WriteFile(exported, export, 0o644)
	if out, err := exec.Command(bin, "conf", "check", exported).CombinedOutput(); err != nil {
		t.Errorf("the exported configuration does not check: %v\n%s", err, out)
	}

	// keepalived's SIGUSR1 data dump.
	os.Remove("/tmp/uvs.data")
	uvs.cmd.Process.Signal(syscall.SIGUSR1)
	deadline = time.Now().Add(5 * time.Second)
	for !strings.Contains(uvs.logged(), "dump written") && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	data, err := os.ReadFile("/tmp/uvs.data")
	if err != nil || !strings.Contains(string(data), "[10.77.1.100]:tcp:80") || !strings.Contains(string(data), "RIP = 10.77.2.13") {
		t.Errorf("SIGUSR1 dump: %v\n%s", err, data)
	}
	os.Remove("/tmp/uvs.data")
	if err := uvs.running(); err != nil {
		t.Fatal(err)
	}
}

func grepLines(text, prefix string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
