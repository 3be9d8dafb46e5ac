package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestRunNATWithLinuxPeers is the privileged end-to-end test: `uvs run` in its own network
// namespace owns two veths over AF_PACKET; a Linux client in another namespace reaches two
// nginx real servers through the VIP, in rr order, and a keep-alive connection survives a
// SIGHUP reload. Needs root, iproute2, nginx and curl (make deps installs them).
func TestRunNATWithLinuxPeers(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (network namespaces, AF_PACKET); CI runs it as root")
	}
	for _, tool := range []string{"ip", "nginx", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s (make deps installs it)", tool)
		}
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "uvs")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	id := fmt.Sprintf("%d", os.Getpid()%100000)
	ns := func(n string) string { return "uvs" + n + id }
	cli, lbns, sw, rs1, rs2 := ns("c"), ns("l"), ns("s"), ns("r1"), ns("r2")
	sh := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	in := func(n string, args ...string) { t.Helper(); sh(append([]string{"ip", "netns", "exec", n}, args...)...) }
	for _, n := range []string{cli, lbns, sw, rs1, rs2} {
		sh("ip", "netns", "add", n)
		n := n
		t.Cleanup(func() { exec.Command("ip", "netns", "del", n).Run() })
	}
	// client — lb: c0/l0; lb — switch: l1/s0; switch — servers: s1/r1, s2/r2 (all "eth0" inside).
	link := func(a, an, b, bn string) {
		sh("ip", "link", "add", "name", an+id, "netns", a, "type", "veth", "peer", "name", bn+id, "netns", b)
		in(a, "ip", "link", "set", an+id, "name", an)
		in(b, "ip", "link", "set", bn+id, "name", bn)
	}
	link(cli, "eth0", lbns, "l0")
	link(lbns, "l1", sw, "s0")
	link(sw, "s1", rs1, "eth0")
	link(sw, "s2", rs2, "eth0")
	in(sw, "ip", "link", "add", "br0", "type", "bridge")
	for _, p := range []string{"s0", "s1", "s2", "br0"} {
		if p != "br0" {
			in(sw, "ip", "link", "set", p, "master", "br0")
		}
		in(sw, "ip", "link", "set", p, "up")
	}
	// uvs owns l0 and l1 whole: no kernel address, no IPv6 autoconfiguration on them.
	for _, p := range []string{"l0", "l1"} {
		in(lbns, "sysctl", "-qw", "net.ipv6.conf."+p+".disable_ipv6=1")
		in(lbns, "ip", "link", "set", p, "up")
	}
	in(cli, "ip", "addr", "add", "10.77.1.2/24", "dev", "eth0")
	in(cli, "ip", "link", "set", "eth0", "up")
	in(cli, "ip", "route", "add", "default", "via", "10.77.1.254")
	for i, n := range []string{rs1, rs2} {
		in(n, "ip", "addr", "add", fmt.Sprintf("10.77.2.%d/24", 11+i), "dev", "eth0")
		in(n, "ip", "link", "set", "eth0", "up")
		in(n, "ip", "link", "set", "lo", "up")
		in(n, "ip", "route", "add", "default", "via", "10.77.2.254")
		nconf := filepath.Join(dir, fmt.Sprintf("rs%d.conf", i+1))
		os.WriteFile(nconf, []byte(fmt.Sprintf(`worker_processes 1;
daemon off;
pid %[1]s/rs%[2]d.pid;
error_log %[1]s/rs%[2]d.err;
events {}
http {
  access_log off;
  keepalive_timeout 120s;
  server { listen 8080; location / { return 200 "rs%[2]d\n"; } }
}
`, dir, i+1)), 0o644)
		// The test owns nginx: in the foreground, stopped and waited for at cleanup.
		web := exec.Command("ip", "netns", "exec", n, "nginx", "-c", nconf)
		if err := web.Start(); err != nil {
			t.Fatalf("nginx: %v", err)
		}
		t.Cleanup(func() {
			web.Process.Signal(syscall.SIGQUIT)
			web.Wait()
		})
	}
	cfgPath := filepath.Join(dir, "uvs.toml")
	writeCfg := func(weight2 int) {
		os.WriteFile(cfgPath, []byte(fmt.Sprintf(`
[[interface]]
name = "eth0"
device = "l0"
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
  weight = %d

[log]
format = "json"
`, weight2)), 0o644)
	}
	writeCfg(1)
	logf, _ := os.Create(filepath.Join(dir, "uvs.log"))
	uvs := exec.Command("ip", "netns", "exec", lbns, bin, "run", "-c", cfgPath)
	uvs.Stdout, uvs.Stderr = logf, logf
	if err := uvs.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- uvs.Wait() }()
	t.Cleanup(func() {
		uvs.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			uvs.Process.Kill()
			<-exited
		}
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("uvs log:\n%s", b)
		}
	})

	curl := func() (string, error) {
		out, err := exec.Command("ip", "netns", "exec", cli, "curl", "-s", "-m", "3", "http://10.77.1.100/").Output()
		return strings.TrimSpace(string(out)), err
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if out, err := curl(); err == nil && strings.HasPrefix(out, "rs") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the VIP never answered")
		}
		time.Sleep(200 * time.Millisecond)
	}
	var got []string
	for i := 0; i < 4; i++ {
		out, err := curl()
		if err != nil {
			t.Fatalf("curl %d: %v", i, err)
		}
		got = append(got, out)
	}
	t.Logf("curl through the VIP: %v", got)
	if got[0] == got[1] || got[0] != got[2] || got[1] != got[3] {
		t.Fatalf("curl through the VIP: %v, want the two servers alternating (rr)", got)
	}

	// A keep-alive connection from the client namespace lives across SIGHUP.
	conn := dialIn(t, cli, "10.77.1.100:80")
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
	uvs.Process.Signal(syscall.SIGHUP)
	time.Sleep(500 * time.Millisecond)
	after := ask()
	t.Logf("keep-alive connection: %s before SIGHUP, %s after", before, after)
	if after != before {
		t.Fatalf("keep-alive connection answered by %s after SIGHUP, %s before", after, before)
	}
	logged, _ := os.ReadFile(logf.Name())
	if !strings.Contains(string(logged), "configuration reloaded") {
		t.Errorf("no reload in the log:\n%s", logged)
	}
}

// dialIn opens a TCP connection from inside network namespace name: the socket is made on a
// thread switched into that namespace, and stays there.
func dialIn(t *testing.T, name, addr string) net.Conn {
	t.Helper()
	type result struct {
		c   net.Conn
		err error
	}
	ch := make(chan result)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with its namespace
		orig, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			ch <- result{err: err}
			return
		}
		defer orig.Close()
		f, err := os.Open("/run/netns/" + name)
		if err != nil {
			ch <- result{err: err}
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			ch <- result{err: err}
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
		ch <- result{c, err}
	}()
	r := <-ch
	if r.err != nil {
		t.Fatalf("dial %s in %s: %v", addr, name, r.err)
	}
	return r.c
}
