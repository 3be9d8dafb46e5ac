package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestRunNATWithLinuxPeers is the privileged end-to-end test: `uvs run` in its own network
// namespace owns two veths over AF_PACKET; a Linux client in another namespace reaches two
// nginx real servers through the VIP, in rr order, and a keep-alive connection survives a
// SIGHUP reload. Needs root, iproute2, nginx and curl (make deps installs them).
func TestRunNATWithLinuxPeers(t *testing.T) {
	needRoot(t, "network namespaces, AF_PACKET", "ip", "nginx", "curl")
	dir := t.TempDir()
	bin := buildUVS(t, dir)
	n := newNATTopo(t)
	for i, r := range n.rs {
		startNginx(t, dir, r, i+1)
	}
	cfgPath := filepath.Join(dir, "uvs.toml")
	writeCfg := func(weight2 int) {
		os.WriteFile(cfgPath, []byte(fmt.Sprintf(natInterfaces+`
[[virtual_server]]
address = "10.77.1.100:80"
protocol = "tcp"
lb_algo = "rr"
lb_kind = "NAT"
  [[virtual_server.real_server]]
  address = "10.77.2.11:8080"
  [[virtual_server.real_server]]
  address = "10.77.2.12:8080"
  weight = %d

[log]
format = "json"
`, weight2)), 0o644)
	}
	writeCfg(1)
	uvs := startUVS(t, dir, "ip", "netns", "exec", n.lb, bin, "run", "-c", cfgPath)

	curl := func() (string, error) { return curlIn(n.cli, "http://10.77.1.100/") }
	waitFor(t, uvs, 20*time.Second, curl)
	checkRR(t, 4, curl)

	// A keep-alive connection from the client namespace lives across SIGHUP.
	conn := dialIn(t, n.cli, "10.77.1.100:80")
	defer conn.Close()
	br := bufio.NewReader(conn)
	ask := func() string {
		t.Helper()
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: vip\r\n\r\n")
		body := ""
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				t.Fatalf("keep-alive request: %v", err)
			}
			if line == "\r\n" {
				b := make([]byte, 4)
				if _, err := io.ReadFull(br, b); err != nil {
					t.Fatalf("body: %v", err)
				}
				body = string(b)
				return strings.TrimSpace(body)
			}
		}
	}
	before := ask()
	writeCfg(3)
	uvs.cmd.Process.Signal(syscall.SIGHUP)
	time.Sleep(500 * time.Millisecond)
	after := ask()
	t.Logf("keep-alive connection: %s before SIGHUP, %s after", before, after)
	if after != before {
		t.Fatalf("keep-alive connection answered by %s after SIGHUP, %s before", after, before)
	}
	if logged := uvs.logged(); !strings.Contains(logged, "configuration reloaded") {
		t.Errorf("no reload in the log:\n%s", logged)
	}
}
