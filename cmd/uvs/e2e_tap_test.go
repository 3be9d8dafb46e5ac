package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestRunNATOverTAP is TestRunNATWithLinuxPeers with a TAP port on the client side: uvs
// creates the TAP device uvstap<id> in its namespace (kind = "tap") and is its far end; the
// test puts the kernel side of the TAP in a bridge with l0, the veth whose peer is the
// client's eth0, so the client's frames reach uvs through the kernel's bridge and TAP driver
// (with virtio-net headers, the default). curl through the VIP gets the two nginx servers in
// rr order, and uvs removes the TAP when it stops. Needs root, /dev/net/tun, iproute2,
// nginx and curl.
func TestRunNATOverTAP(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (network namespaces, TAP devices: /dev/net/tun is root-only here); CI runs it as root")
	}
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Skipf("needs /dev/net/tun to create TAP devices: %v", err)
	}
	unix.Close(fd)
	for _, tool := range []string{"ip", "nginx", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s (make deps installs it)", tool)
		}
	}
	start := time.Now()
	dir := t.TempDir()
	bin := buildUVS(t, dir)
	n := newNATTopo(t)
	for i, r := range n.rs {
		startNginx(t, dir, r, i+1)
	}
	tapName := "uvstap" + n.id
	// The bridge that will join l0 (the client's wire) and the TAP; no address on either.
	n.in(n.lb, "ip", "link", "add", "br0", "type", "bridge")
	n.in(n.lb, "sysctl", "-qw", "net.ipv6.conf.br0.disable_ipv6=1")
	n.in(n.lb, "ip", "link", "set", "l0", "master", "br0")
	n.in(n.lb, "ip", "link", "set", "br0", "up")

	cfgPath := filepath.Join(dir, "uvs.toml")
	os.WriteFile(cfgPath, []byte(fmt.Sprintf(`
[[interface]]
name = "eth0"
kind = "tap"
device = %q
addresses = ["10.77.1.254/24"]

[[interface]]
name = "eth1"
device = "l1"
addresses = ["10.77.2.254/24"]

[[virtual_server]]
address = "10.77.1.100:80"
protocol = "tcp"
lb_algo = "rr"
lb_kind = "NAT"
  [[virtual_server.real_server]]
  address = "10.77.2.11:8080"
  [[virtual_server.real_server]]
  address = "10.77.2.12:8080"

[log]
format = "json"
`, tapName)), 0o644)
	uvs := startUVS(t, dir, "ip", "netns", "exec", n.lb, bin, "run", "-c", cfgPath)

	// uvs creates the TAP as it opens its port; then its kernel side joins the bridge.
	deadline := time.Now().Add(5 * time.Second)
	for exec.Command("ip", "-n", n.lb, "link", "show", "dev", tapName).Run() != nil {
		if err := uvs.running(); err != nil {
			t.Fatalf("no TAP device %s: %v", tapName, err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("uvs did not create the TAP device %s within 5 s", tapName)
		}
		time.Sleep(50 * time.Millisecond)
	}
	n.in(n.lb, "sysctl", "-qw", "net.ipv6.conf."+tapName+".disable_ipv6=1")
	n.in(n.lb, "ip", "link", "set", tapName, "master", "br0")
	n.in(n.lb, "ip", "link", "set", tapName, "up")
	tapInfo, _ := exec.Command("ip", "-n", n.lb, "-d", "link", "show", "dev", tapName).CombinedOutput()
	if !strings.Contains(string(tapInfo), "tun type tap") || !strings.Contains(string(tapInfo), "master br0") {
		t.Fatalf("%s is not a TAP device in br0:\n%s", tapName, tapInfo)
	}

	curl := func() (string, error) { return curlIn(n.cli, "http://10.77.1.100/") }
	waitFor(t, uvs, 10*time.Second, curl)
	checkRR(t, 4, curl)

	// The client's traffic went through the TAP, both ways: the kernel counted it there.
	stats, _ := exec.Command("ip", "-n", n.lb, "-s", "link", "show", "dev", tapName).CombinedOutput()
	if !tapCarried(t, string(stats)) {
		t.Errorf("the TAP's counters show no traffic both ways:\n%s", stats)
	}

	// A TAP that is not persistent lives as long as uvs holds it open.
	if err := uvs.stop(); err != nil {
		t.Errorf("uvs stop: %v", err)
	}
	if exec.Command("ip", "-n", n.lb, "link", "show", "dev", tapName).Run() == nil {
		t.Errorf("the TAP device %s outlived uvs", tapName)
	}
	t.Logf("took %v", time.Since(start).Round(time.Millisecond))
}

// tapCarried reads `ip -s link` output and reports whether RX and TX packet counts are both
// above zero.
func tapCarried(t *testing.T, out string) bool {
	lines := strings.Split(out, "\n")
	var rx, tx int
	defer func() { t.Logf("the TAP's kernel side: RX %d packets (from uvs), TX %d (to uvs)", rx, tx) }()
	for i, l := range lines {
		f := strings.Fields(l)
		if len(f) > 0 && (f[0] == "RX:" || f[0] == "TX:") && i+1 < len(lines) {
			var packets int
			if g := strings.Fields(lines[i+1]); len(g) > 1 {
				fmt.Sscan(g[1], &packets)
			}
			if f[0] == "RX:" {
				rx = packets
			} else {
				tx = packets
			}
		}
	}
	return rx > 0 && tx > 0
}
