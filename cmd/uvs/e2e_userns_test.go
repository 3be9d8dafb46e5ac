package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

const (
	usernsChildEnv = "UVS_E2E_USERNS_CHILD" // "1" in the re-executed child
	usernsBinEnv   = "UVS_E2E_USERNS_BIN"   // the uvs binary the parent built
)

// TestRunUnprivileged runs `uvs run` as an ordinary user, as in an unprivileged container:
// inside its own user, network and mount namespaces (unshare -Urnm), with no privilege
// outside them. The test binary re-executes itself there; run as root, it first drops to
// user nobody with setpriv, so the child never has real privileges. In the child, uid 0 of
// the user namespace mounts a tmpfs on /run (its own mount namespace) so that `ip netns add`
// can make the client / lb / switch / servers namespaces of TestRunNATWithLinuxPeers inside
// the user namespace; the real servers are Go HTTP servers (nginx wants to switch users,
// which a user namespace with one mapped uid cannot), the client a Go HTTP client; uvs owns
// its veths over AF_PACKET. Requests through the VIP are answered in rr order, and uvs
// stops cleanly on SIGTERM.
func TestRunUnprivileged(t *testing.T) {
	if os.Getenv(usernsChildEnv) == "1" {
		usernsChild(t)
		return
	}
	start := time.Now()
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Skip("needs unshare(1) (util-linux)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs iproute2's ip command")
	}
	testBin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var prefix []string
	var dir string
	if os.Geteuid() == 0 {
		setpriv, err := exec.LookPath("setpriv")
		if err != nil {
			t.Skip("running as root and setpriv(1) is missing: cannot drop to an unprivileged user")
		}
		prefix = []string{setpriv, "--reuid=nobody", "--regid=nogroup", "--clear-groups"}
		// go test keeps its binaries in 0700 directories: build uvs, and copy the test
		// binary, into a directory nobody can read.
		if dir, err = os.MkdirTemp("", "uvs-e2e-userns-"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(dir, "uvs.test")
		if err := copyFile(testBin, dst); err != nil {
			t.Fatal(err)
		}
		testBin = dst
	} else {
		dir = t.TempDir()
	}
	uvsBin := buildUVS(t, dir)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// -Urnm: user, network and mount namespaces. --pid --kill-child --mount-proc: the child
	// is process 1 of its own PID namespace, so whatever it starts (uvs) dies with it, and
	// it dies with unshare, even if the parent is killed.
	flags := []string{"-Urnm", "--pid", "--kill-child", "--mount-proc"}
	probe := append(append(append([]string{}, prefix...), unshare), append(flags, "true")...)
	if out, err := exec.CommandContext(ctx, probe[0], probe[1:]...).CombinedOutput(); err != nil {
		t.Skipf("unprivileged user namespaces are not available here (%s: %v: %s)", strings.Join(probe, " "), err, strings.TrimSpace(string(out)))
	}
	args := append(append(append([]string{}, prefix...), unshare), flags...)
	args = append(args, testBin, "-test.run=^TestRunUnprivileged$", "-test.v", "-test.count=1")
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Env = append(os.Environ(), usernsChildEnv+"=1", usernsBinEnv+"="+uvsBin)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, "e2e_userns_test.go") || strings.Contains(line, "e2e_helpers_test.go") {
			t.Log("child:", strings.TrimSpace(line))
		}
	}
	switch {
	case strings.Contains(string(out), "--- SKIP: TestRunUnprivileged"):
		t.Skipf("the child skipped:\n%s", out)
	case err != nil || !strings.Contains(string(out), "--- PASS: TestRunUnprivileged"):
		t.Fatalf("child (%s): %v\n%s", strings.Join(args, " "), err, out)
	}
	t.Logf("took %v", time.Since(start).Round(time.Millisecond))
}

// usernsChild runs inside `unshare -Urnm` as an unprivileged user: uid 0 in a user namespace
// it owns, which grants CAP_NET_ADMIN, CAP_NET_RAW and CAP_SYS_ADMIN over its own network and
// mount namespaces only.
func usernsChild(t *testing.T) {
	m, _ := os.ReadFile("/proc/self/uid_map")
	t.Logf("uid_map: %s", strings.Join(strings.Fields(string(m)), " "))
	if f := strings.Fields(string(m)); len(f) < 3 || f[1] == "0" {
		t.Fatalf("the child must run as an ordinary user mapped to uid 0, not as root: uid_map %q", m)
	}
	uvsBin := os.Getenv(usernsBinEnv)
	if uvsBin == "" {
		t.Fatal(usernsBinEnv + " is not set")
	}
	// Our own /run, so that `ip netns add` can keep its namespace files under /run/netns.
	// unshare(1) made the mount namespace's mounts private: this one is invisible outside.
	if err := unix.Mount("tmpfs", "/run", "tmpfs", 0, "mode=0755"); err != nil {
		t.Skipf("cannot mount a tmpfs on /run in the user+mount namespace, so no named network namespaces: %v", err)
	}
	if err := os.MkdirAll("/run/netns", 0o755); err != nil {
		t.Fatal(err)
	}
	n := newNATTopo(t)
	t.Logf("namespaces %s %s %s %s %s inside the user namespace", n.cli, n.lb, n.sw, n.rs[0], n.rs[1])

	for i, r := range n.rs {
		ln, err := listenIn(r, ":8080")
		if err != nil {
			t.Fatalf("listen in %s: %v", r, err)
		}
		name := fmt.Sprintf("rs%d", i+1)
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			fmt.Fprintf(w, "%s\n", name)
		})}
		done := make(chan struct{})
		go func() { defer close(done); srv.Serve(ln) }()
		t.Cleanup(func() { srv.Close(); <-done })
	}

	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "uvs.toml")
	os.WriteFile(cfgPath, []byte(natInterfaces+`
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
`), 0o644)
	uvs := startUVS(t, dir, "ip", "netns", "exec", n.lb, uvsBin, "run", "-c", cfgPath)

	// The client: Go's HTTP client with its connections made in the client's namespace.
	client := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
			return dialInNS(ctx, n.cli, addr)
		},
	}}
	defer client.CloseIdleConnections()
	get := func() (string, error) {
		resp, err := client.Get("http://10.77.1.100/")
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			return "", fmt.Errorf("status %s", resp.Status)
		}
		return strings.TrimSpace(string(b)), err
	}
	waitFor(t, uvs, 10*time.Second, get)
	checkRR(t, 4, get)

	if err := uvs.stop(); err != nil {
		t.Errorf("uvs did not stop cleanly on SIGTERM: %v", err)
	}
	if logged := uvs.logged(); !strings.Contains(logged, `"appliance started"`) || !strings.Contains(logged, `"stopped"`) {
		t.Errorf("the log lacks the start or the stop:\n%s", logged)
	}
}
