package main

import (
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

// Helpers of the end-to-end tests that run `uvs run` on network namespaces: build the binary,
// make namespaces and veths that are deleted at cleanup, start real servers and uvs, and
// reach the VIP from the client's namespace.

// buildUVS builds the uvs binary into dir and returns its path.
func buildUVS(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "uvs")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// nsEnv makes network namespaces named uvs<name><id>, with id from the pid so concurrent
// runs do not collide, and deletes them at cleanup (with every veth, bridge and TAP in them).
type nsEnv struct {
	t  *testing.T
	id string
}

func newNSEnv(t *testing.T) *nsEnv {
	return &nsEnv{t: t, id: fmt.Sprintf("%d", os.Getpid()%100000)}
}

// sh runs a command and fails the test if it fails.
func (e *nsEnv) sh(args ...string) {
	e.t.Helper()
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		e.t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// in runs a command in namespace ns.
func (e *nsEnv) in(ns string, args ...string) {
	e.t.Helper()
	e.sh(append([]string{"ip", "netns", "exec", ns}, args...)...)
}

// netns adds the namespace uvs<name><id> and returns its name.
func (e *nsEnv) netns(name string) string {
	e.t.Helper()
	n := "uvs" + name + e.id
	e.sh("ip", "netns", "add", n)
	e.t.Cleanup(func() { exec.Command("ip", "netns", "del", n).Run() })
	return n
}

// link joins namespaces a and b with a veth, its ends named an in a and bn in b.
func (e *nsEnv) link(a, an, b, bn string) {
	e.t.Helper()
	e.sh("ip", "link", "add", "name", an+e.id, "netns", a, "type", "veth", "peer", "name", bn+e.id, "netns", b)
	e.in(a, "ip", "link", "set", an+e.id, "name", an)
	e.in(b, "ip", "link", "set", bn+e.id, "name", bn)
}

// natTopo is the topology of the NAT end-to-end tests, with everything but uvs:
//
//	cli eth0 10.77.1.2 ── l0 [lb: uvs] l1 ── s0 [sw: br0] s1 ── eth0 rs1 10.77.2.11
//	                                                      s2 ── eth0 rs2 10.77.2.12
//
// The client's default route is 10.77.1.254 and the servers' 10.77.2.254, uvs's addresses.
// The kernel holds no address on l0 and l1 (uvs takes them whole), and IPv6 is off on them.
type natTopo struct {
	*nsEnv
	cli, lb, sw string
	rs          []string
}

func newNATTopo(t *testing.T) *natTopo {
	t.Helper()
	e := newNSEnv(t)
	n := &natTopo{nsEnv: e, cli: e.netns("c"), lb: e.netns("l"), sw: e.netns("s"), rs: []string{e.netns("r1"), e.netns("r2")}}
	e.link(n.cli, "eth0", n.lb, "l0")
	e.link(n.lb, "l1", n.sw, "s0")
	e.link(n.sw, "s1", n.rs[0], "eth0")
	e.link(n.sw, "s2", n.rs[1], "eth0")
	e.in(n.sw, "ip", "link", "add", "br0", "type", "bridge")
	for _, p := range []string{"s0", "s1", "s2", "br0"} {
		if p != "br0" {
			e.in(n.sw, "ip", "link", "set", p, "master", "br0")
		}
		e.in(n.sw, "ip", "link", "set", p, "up")
	}
	for _, p := range []string{"l0", "l1"} {
		e.in(n.lb, "sysctl", "-qw", "net.ipv6.conf."+p+".disable_ipv6=1")
		e.in(n.lb, "ip", "link", "set", p, "up")
	}
	e.in(n.cli, "ip", "addr", "add", "10.77.1.2/24", "dev", "eth0")
	e.in(n.cli, "ip", "link", "set", "eth0", "up")
	e.in(n.cli, "ip", "route", "add", "default", "via", "10.77.1.254")
	for i, r := range n.rs {
		e.in(r, "ip", "addr", "add", fmt.Sprintf("10.77.2.%d/24", 11+i), "dev", "eth0")
		e.in(r, "ip", "link", "set", "eth0", "up")
		e.in(r, "ip", "link", "set", "lo", "up")
		e.in(r, "ip", "route", "add", "default", "via", "10.77.2.254")
	}
	return n
}

// startNginx runs nginx in namespace ns on :8080, answering "rs<i>\n" to every request. The
// test owns it: in the foreground, stopped and waited for at cleanup.
func startNginx(t *testing.T, dir, ns string, i int) {
	t.Helper()
	nconf := filepath.Join(dir, fmt.Sprintf("rs%d.conf", i))
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
`, dir, i)), 0o644)
	web := exec.Command("ip", "netns", "exec", ns, "nginx", "-c", nconf)
	if err := web.Start(); err != nil {
		t.Fatalf("nginx: %v", err)
	}
	t.Cleanup(func() {
		web.Process.Signal(syscall.SIGQUIT)
		web.Wait()
	})
}

// uvsProc is a running `uvs run`, stopped with SIGTERM at cleanup, its log shown if the test
// failed.
type uvsProc struct {
	cmd     *exec.Cmd
	log     string
	exited  chan error
	stopped bool
}

// startUVS runs argv (which ends in `uvs run -c FILE`), logging to dir/uvs.log.
func startUVS(t *testing.T, dir string, argv ...string) *uvsProc {
	t.Helper()
	p := &uvsProc{log: filepath.Join(dir, "uvs.log"), exited: make(chan error, 1)}
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
			t.Logf("uvs log:\n%s", p.logged())
		}
	})
	return p
}

// stop sends SIGTERM and waits (SIGKILL after 10 s); it returns the exit error.
func (p *uvsProc) stop() error {
	if p.stopped {
		return nil
	}
	p.stopped = true
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.exited:
		return err
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-p.exited
		return fmt.Errorf("uvs did not stop within 10 s of SIGTERM")
	}
}

// running reports an early exit of uvs as an error.
func (p *uvsProc) running() error {
	select {
	case err := <-p.exited:
		p.exited <- err
		return fmt.Errorf("uvs exited: %v", err)
	default:
		return nil
	}
}

func (p *uvsProc) logged() string {
	b, _ := os.ReadFile(p.log)
	return string(b)
}

// curlIn fetches url from namespace ns with curl and returns the body, trimmed.
func curlIn(ns, url string) (string, error) {
	out, err := exec.Command("ip", "netns", "exec", ns, "curl", "-s", "-m", "3", url).Output()
	return strings.TrimSpace(string(out)), err
}

// waitFor calls get until it returns a body starting with "rs" (a real server answered), and
// fails the test after d or when uvs exits.
func waitFor(t *testing.T, p *uvsProc, d time.Duration, get func() (string, error)) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		out, err := get()
		if err == nil && strings.HasPrefix(out, "rs") {
			return
		}
		if err := p.running(); err != nil {
			t.Fatalf("the VIP never answered: %v", err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the VIP never answered within %v (last: %q, %v)", d, out, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// checkRR makes n requests and checks that the two servers alternate, as rr gives them.
func checkRR(t *testing.T, n int, get func() (string, error)) []string {
	t.Helper()
	var got []string
	for i := 0; i < n; i++ {
		out, err := get()
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		got = append(got, out)
	}
	t.Logf("through the VIP: %v", got)
	for i := range got {
		if !strings.HasPrefix(got[i], "rs") || (i > 0 && got[i] == got[i-1]) || (i > 1 && got[i] != got[i-2]) {
			t.Fatalf("through the VIP: %v, want the two servers alternating (rr)", got)
		}
	}
	return got
}

// dialIn opens a TCP connection from inside network namespace name: the socket is made on a
// thread switched into that namespace, and stays there.
func dialIn(t *testing.T, name, addr string) net.Conn {
	t.Helper()
	c, err := dialInNS(context.Background(), name, addr)
	if err != nil {
		t.Fatalf("dial %s in %s: %v", addr, name, err)
	}
	return c
}

func dialInNS(ctx context.Context, name, addr string) (net.Conn, error) {
	var c net.Conn
	err := inNS(name, func() (err error) {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		c, err = (&net.Dialer{}).DialContext(ctx, "tcp", addr)
		return err
	})
	return c, err
}

// listenIn opens a TCP listener inside network namespace name.
func listenIn(name, addr string) (net.Listener, error) {
	var ln net.Listener
	err := inNS(name, func() (err error) {
		ln, err = net.Listen("tcp", addr)
		return err
	})
	return ln, err
}

// inNS runs fn on a fresh thread switched into the namespace /run/netns/name. The thread is
// never given back to the Go runtime: it ends with fn, and its namespace with it.
func inNS(name string, fn func() error) error {
	ch := make(chan error)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with its namespace
		f, err := os.Open("/run/netns/" + name)
		if err != nil {
			ch <- err
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			ch <- fmt.Errorf("setns %s: %w", name, err)
			return
		}
		ch <- fn()
	}()
	return <-ch
}

// copyFile copies src to dst, executable.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
