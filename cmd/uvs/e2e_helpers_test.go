package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
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

// needRoot skips a privileged end-to-end test, saying why, unless it runs as root (for what
// it uses root for) and finds every tool on PATH. CI runs as root with make deps' packages.
func needRoot(t *testing.T, what string, tools ...string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skipf("needs root (%s); CI runs it as root", what)
	}
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s (make deps installs it)", tool)
		}
	}
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
// natInterfaces is the configuration of uvs's two ports in natTopo (l0 toward the client,
// l1 toward the real servers), with which the tests' configurations begin.
const natInterfaces = `
[[interface]]
name = "eth0"
device = "l0"
addresses = ["10.77.1.254/24"]

[[interface]]
name = "eth1"
device = "l1"
addresses = ["10.77.2.254/24"]
`

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
	startNginxOn(t, dir, ns, i, 8080)
}

// startNginxOn is startNginx on another port (DR and TUN cannot map ports: the real servers
// listen on the VIP's).
func startNginxOn(t *testing.T, dir, ns string, i, port int) {
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
  server { listen %[3]d; location / { return 200 "rs%[2]d\n"; } }
}
`, dir, i, port)), 0o644)
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
	argv = withSocket(argv, dir)
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

// withSocket gives a `uvs run` command line a control socket of its own in dir (the default,
// /run/uvs/uvs.sock, is one per machine and tests run several appliances).
func withSocket(argv []string, dir string) []string {
	for i, a := range argv {
		if a == "run" && i > 0 && strings.HasSuffix(argv[i-1], "uvs") {
			return append(argv, "--socket", filepath.Join(dir, "uvs.sock"))
		}
	}
	return argv
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

// segTopo is the topology of the DR and TUN end-to-end tests: one L2 segment, a Linux bridge
// br0 in namespace sw with a veth to each of the client, uvs and the real servers, all in
// 10.77.3.0/24, as direct routing needs (the real servers directly connected to uvs):
//
//	cli eth0 10.77.3.2  ── p-cli ┐
//	lb  l0   (uvs's)    ── p-lb  ├ [sw: br0]
//	rs1 eth0 10.77.3.11 ── p-rs1 │
//	rs2 eth0 10.77.3.12 ── p-rs2 ┘
//
// The kernel holds no address on l0 (uvs takes it whole), and IPv6 is off on it.
type segTopo struct {
	*nsEnv
	cli, lb, sw string
	rs          []string
}

func newSegTopo(t *testing.T) *segTopo {
	t.Helper()
	e := newNSEnv(t)
	n := &segTopo{nsEnv: e, cli: e.netns("c"), lb: e.netns("l"), sw: e.netns("s"), rs: []string{e.netns("r1"), e.netns("r2")}}
	e.in(n.sw, "ip", "link", "add", "br0", "type", "bridge", "forward_delay", "0", "stp_state", "0")
	e.link(n.cli, "eth0", n.sw, "p-cli")
	e.link(n.lb, "l0", n.sw, "p-lb")
	e.link(n.rs[0], "eth0", n.sw, "p-rs1")
	e.link(n.rs[1], "eth0", n.sw, "p-rs2")
	for _, p := range []string{"p-cli", "p-lb", "p-rs1", "p-rs2"} {
		e.in(n.sw, "ip", "link", "set", p, "master", "br0", "up")
	}
	e.in(n.sw, "ip", "link", "set", "br0", "up")
	e.in(n.lb, "sysctl", "-qw", "net.ipv6.conf.l0.disable_ipv6=1")
	e.in(n.lb, "ip", "link", "set", "l0", "up")
	e.in(n.cli, "ip", "addr", "add", "10.77.3.2/24", "dev", "eth0")
	e.in(n.cli, "ip", "link", "set", "eth0", "up")
	for i, r := range n.rs {
		e.in(r, "ip", "addr", "add", fmt.Sprintf("10.77.3.%d/24", 11+i), "dev", "eth0")
		e.in(r, "ip", "link", "set", "eth0", "up")
		e.in(r, "ip", "link", "set", "lo", "up")
	}
	return n
}

// mac returns the MAC address of interface dev in namespace ns.
func (e *nsEnv) mac(ns, dev string) string {
	e.t.Helper()
	out, err := exec.Command("ip", "netns", "exec", ns, "cat", "/sys/class/net/"+dev+"/address").Output()
	if err != nil {
		e.t.Fatalf("MAC of %s in %s: %v", dev, ns, err)
	}
	return strings.TrimSpace(string(out))
}

// holdVIP makes a Linux real server of DR (or TUN) out of namespace ns: the VIP on lo, and
// the ARP sysctls of the LVS-DR howtos, so that it never answers ARP for the VIP
// (arp_ignore=1: only for addresses of the interface asked on) nor uses it as the source of
// its own ARP requests (arp_announce=2).
func (e *nsEnv) holdVIP(ns, vip string) {
	e.t.Helper()
	for _, dev := range []string{"all", "eth0"} {
		e.in(ns, "sysctl", "-qw", "net.ipv4.conf."+dev+".arp_ignore=1", "net.ipv4.conf."+dev+".arp_announce=2")
	}
	e.in(ns, "ip", "addr", "add", vip+"/32", "dev", "lo")
}

// capture is a running dumpcap (Wireshark's capture engine) writing what crosses one
// interface to a pcapng file; read stops it and decodes the file with tshark.
type capture struct {
	t      *testing.T
	cmd    *exec.Cmd
	file   string
	exited chan error
	frames []capFrame
	done   bool
}

// capFrame is one captured TCP frame: its Ethernet addresses, the addresses of its innermost
// IP header and of its outermost (the same but for an encapsulated packet), and its TCP ports.
type capFrame struct {
	ethSrc, ethDst, ipSrc, ipDst string
	outerSrc, outerDst           string
	sport, dport                 int
}

// startCapture captures on dev in namespace ns what the BPF filter takes, for at most two
// minutes, and returns once dumpcap is capturing. It is stopped at cleanup at the latest.
func startCapture(t *testing.T, dir, ns, dev, filter string) *capture {
	t.Helper()
	c := &capture{t: t, file: filepath.Join(dir, ns+"-"+dev+".pcapng"), exited: make(chan error, 1)}
	c.cmd = exec.Command("ip", "netns", "exec", ns, "dumpcap", "-q", "-i", dev, "-f", filter, "-w", c.file, "-a", "duration:120")
	errf, err := os.Create(c.file + ".log")
	if err != nil {
		t.Fatal(err)
	}
	c.cmd.Stdout, c.cmd.Stderr = errf, errf
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("dumpcap: %v", err)
	}
	errf.Close()
	go func() { c.exited <- c.cmd.Wait() }()
	t.Cleanup(func() { c.stop() })
	// dumpcap writes the file's header once the interface is open and filtered
	deadline := time.Now().Add(10 * time.Second)
	for {
		if fi, err := os.Stat(c.file); err == nil && fi.Size() > 0 {
			return c
		}
		select {
		case err := <-c.exited:
			c.exited <- err
			log, _ := os.ReadFile(c.file + ".log")
			t.Fatalf("dumpcap on %s in %s exited: %v\n%s", dev, ns, err, log)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("dumpcap on %s in %s did not start capturing within 10 s", dev, ns)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop ends the capture (SIGINT, as at a terminal; SIGKILL after 5 s).
func (c *capture) stop() {
	if c.done {
		return
	}
	c.done = true
	c.cmd.Process.Signal(syscall.SIGINT)
	select {
	case err := <-c.exited:
		c.exited <- err
	case <-time.After(5 * time.Second):
		c.cmd.Process.Kill()
	}
}

// settle waits until the captures have written nothing for 1.5 s (10 s at most), then stops
// them. libpcap hands dumpcap frames a block at a time, and the kernel closes a block that is
// not full only after a timeout (about 0.7 s here): a capture stopped as soon as the traffic
// ends misses its last frames, often all of them.
func settle(caps ...*capture) {
	size := make([]int64, len(caps))
	quiet := time.Now()
	for deadline := quiet.Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		for i, c := range caps {
			if fi, err := os.Stat(c.file); err == nil && fi.Size() != size[i] {
				size[i], quiet = fi.Size(), time.Now()
			}
		}
		if time.Since(quiet) >= 1500*time.Millisecond {
			break
		}
	}
	for _, c := range caps {
		c.stop()
	}
}

// read stops the capture (settle first, unless it is stopped already) and returns its TCP
// frames.
func (c *capture) read() []capFrame {
	c.t.Helper()
	if !c.done {
		settle(c)
	}
	// tshark joins the values of a field found more than once (the IP headers of an
	// encapsulated packet) with commas, outermost first
	out, err := exec.Command("tshark", "-r", c.file, "-Y", "tcp", "-T", "fields", "-E", "separator=/t",
		"-e", "eth.src", "-e", "eth.dst", "-e", "ip.src", "-e", "ip.dst", "-e", "tcp.srcport", "-e", "tcp.dstport").Output()
	if err != nil {
		c.t.Fatalf("tshark -r %s: %v", c.file, err)
	}
	c.frames = c.frames[:0]
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(l, "\t")
		if len(f) != 6 {
			continue
		}
		src, dst := strings.Split(f[2], ","), strings.Split(f[3], ",")
		fr := capFrame{ethSrc: f[0], ethDst: f[1], outerSrc: src[0], outerDst: dst[0], ipSrc: src[len(src)-1], ipDst: dst[len(dst)-1]}
		fmt.Sscan(f[4], &fr.sport)
		fmt.Sscan(f[5], &fr.dport)
		c.frames = append(c.frames, fr)
	}
	return c.frames
}

// nginxPID returns the pid of the nginx that startNginx (startNginxOn) runs as server i, from
// its pid file, once nginx has written it (10 s at most).
func nginxPID(t *testing.T, dir string, i int) int {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("rs%d.pid", i)))
		var pid int
		if err == nil {
			if _, err = fmt.Sscan(string(b), &pid); err == nil && pid > 0 {
				return pid
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("nginx rs%d wrote no pid file within 10 s: %v", i, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// setNginxStatus makes nginx server i of startNginx answer every request with status code
// (the body stays "rs<i>\n"): it rewrites the return in its configuration and reloads it
// (SIGHUP: the master starts new workers with it and retires the old ones).
func setNginxStatus(t *testing.T, dir string, i, code int) {
	t.Helper()
	nconf := filepath.Join(dir, fmt.Sprintf("rs%d.conf", i))
	b, err := os.ReadFile(nconf)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`return [0-9]{3} `)
	if !re.Match(b) {
		t.Fatalf("%s has no return to change:\n%s", nconf, b)
	}
	if err := os.WriteFile(nconf, re.ReplaceAll(b, []byte(fmt.Sprintf("return %d ", code))), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(nginxPID(t, dir, i), syscall.SIGHUP); err != nil {
		t.Fatalf("reload nginx rs%d: %v", i, err)
	}
}

// stopNginx stops nginx server i of startNginx (SIGQUIT: a graceful stop) and waits until it
// has exited (it removes its pid file last); startNginx starts it again.
func stopNginx(t *testing.T, dir string, i int) {
	t.Helper()
	pid := nginxPID(t, dir, i)
	if err := syscall.Kill(pid, syscall.SIGQUIT); err != nil {
		t.Fatalf("stop nginx rs%d: %v", i, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(dir, fmt.Sprintf("rs%d.pid", i))); errors.Is(err, os.ErrNotExist) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nginx rs%d (pid %d) did not stop within 10 s of SIGQUIT", i, pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// genhashIn runs `uvs genhash` in namespace ns against addr:port and path, and returns the
// digest it prints ("MD5SUM = <hex>"). It retries for 10 s while the server is not answering
// yet.
func genhashIn(t *testing.T, bin, ns, addr string, port int, path string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, err := exec.Command("ip", "netns", "exec", ns, bin, "genhash", "-s", addr, "-p", fmt.Sprint(port), "-u", path, "-t", "2").CombinedOutput()
		if err == nil {
			if _, sum, ok := strings.Cut(string(out), "MD5SUM = "); ok {
				return strings.TrimSpace(sum)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("uvs genhash -s %s -p %d -u %s in %s: %v\n%s", addr, port, path, ns, err, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitLoggedTimes is waitLogged (e2e_tun_test.go) for the n-th time text is logged: it waits
// until uvs's log holds text n times and returns how long that took; it fails the test after
// d or when uvs exits.
func waitLoggedTimes(t *testing.T, p *uvsProc, text string, n int, d time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		if strings.Count(p.logged(), text) >= n {
			return time.Since(start)
		}
		if err := p.running(); err != nil {
			t.Fatalf("waiting for %q in the log: %v", text, err)
		}
		if time.Since(start) > d {
			t.Fatalf("%q not logged %d times within %v", text, n, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stampedLine is one line of a process's output and the time it was read.
type stampedLine struct {
	at   time.Time
	text string
}

// stampedProc is a process whose output lines are stamped with the time they are read, for
// tests that time what a program logs (keepalived's console log has whole seconds, uvs's
// JSON log too). It runs in a process group of its own, so that a signal reaches its
// children too (signalGroup). Its output also goes to a log file, unchanged: the uvsProc it
// embeds (waitLogged, logged, running, stop) works on it. It is stopped with SIGTERM at
// cleanup, and what is left of its group killed.
type stampedProc struct {
	*uvsProc
	mu    sync.Mutex
	lines []stampedLine
}

// startStamped runs argv with its output (stdout and stderr) read line by line into logPath.
func startStamped(t *testing.T, logPath string, argv ...string) *stampedProc {
	t.Helper()
	p := &stampedProc{uvsProc: &uvsProc{log: logPath, exited: make(chan error, 1)}}
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	argv = withSocket(argv, filepath.Dir(logPath))
	p.cmd = exec.Command(argv[0], argv[1:]...)
	p.cmd.Stdout, p.cmd.Stderr = w, w
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	pid := p.cmd.Process.Pid
	read := make(chan struct{})
	go func() {
		defer close(read)
		defer logf.Close()
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			l := stampedLine{time.Now(), sc.Text()}
			p.mu.Lock()
			p.lines = append(p.lines, l)
			p.mu.Unlock()
			fmt.Fprintln(logf, l.text)
		}
	}()
	go func() { p.exited <- p.cmd.Wait() }()
	t.Cleanup(func() {
		p.stop()
		syscall.Kill(-pid, syscall.SIGKILL) // children that outlived it, if any
		r.Close()
		<-read
		if t.Failed() {
			t.Logf("%s:\n%s", filepath.Base(logPath), p.logged())
		}
	})
	return p
}

// signalGroup sends sig to the process and its children (its process group), then waits
// for the process to exit (10 s at most); stop does nothing after it.
func (p *stampedProc) signalGroup(sig syscall.Signal) error {
	if err := syscall.Kill(-p.cmd.Process.Pid, sig); err != nil {
		return err
	}
	p.stopped = true
	select {
	case err := <-p.exited:
		p.exited <- err
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("pid %d did not exit within 10 s of %v", p.cmd.Process.Pid, sig)
	}
}

// since returns the lines read at t0 or later that contain text.
func (p *stampedProc) since(t0 time.Time, text string) []stampedLine {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []stampedLine
	for _, l := range p.lines {
		if !l.at.Before(t0) && strings.Contains(l.text, text) {
			out = append(out, l)
		}
	}
	return out
}

// waitLine waits for a line that contains text, read at t0 or later, and returns the first;
// it fails the test after d, or when the process exits first.
func (p *stampedProc) waitLine(t *testing.T, t0 time.Time, text string, d time.Duration) stampedLine {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		if l := p.since(t0, text); len(l) > 0 {
			return l[0]
		}
		if err := p.running(); err != nil {
			t.Fatalf("%s: %v before logging %q", filepath.Base(p.log), err, text)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: no %q logged within %v", filepath.Base(p.log), text, d)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// fields returns, for each frame of the capture that the display filter takes, the values
// of fields (tshark's -e, the first occurrence of each) as tshark prints them. It stops the
// capture first if it is still running, 1.5 s later: libpcap hands dumpcap frames a block at
// a time and the kernel closes a block that is not full after about 0.7 s, so that waiting
// gets every frame up to the call (settle would wait for traffic that never stops, as
// periodic adverts do).
func (c *capture) fields(filter string, fields ...string) [][]string {
	c.t.Helper()
	if !c.done {
		time.Sleep(1500 * time.Millisecond)
		c.stop()
	}
	args := []string{"-r", c.file, "-Y", filter, "-T", "fields", "-E", "separator=/t", "-E", "occurrence=f"}
	for _, f := range fields {
		args = append(args, "-e", f)
	}
	out, err := exec.Command("tshark", args...).Output()
	if err != nil {
		c.t.Fatalf("tshark -r %s: %v", c.file, err)
	}
	var rows [][]string
	for _, l := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		if f := strings.Split(l, "\t"); len(f) == len(fields) {
			rows = append(rows, f)
		}
	}
	return rows
}

// neighbour returns the link-layer address and the state of addr's entry in the neighbour
// table of dev in namespace ns (ip neigh): "" and "" without one, "" and INCOMPLETE or
// FAILED while unresolved.
func neighbour(ns, dev, addr string) (mac, state string) {
	out, _ := exec.Command("ip", "-n", ns, "neigh", "show", "to", addr, "dev", dev).Output()
	f := strings.Fields(string(out))
	for i := 0; i < len(f); i++ {
		if f[i] == "lladdr" && i+1 < len(f) {
			mac = f[i+1]
			i++
			continue
		}
		if strings.Trim(f[i], "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == "" {
			state = f[i] // REACHABLE, STALE, INCOMPLETE, FAILED...
		}
	}
	return mac, state
}

// resolveIn makes namespace ns resolve addr on dev afresh (ARP or neighbour discovery): it
// forgets addr's neighbour entry, sends a UDP datagram to addr's port 9 (discard), and
// returns the MAC address that answered, or "" if none did within d.
func resolveIn(t *testing.T, ns, dev, addr string, d time.Duration) string {
	t.Helper()
	exec.Command("ip", "-n", ns, "neigh", "flush", "to", addr, "dev", dev).Run()
	send := func() {
		err := inNS(ns, func() error {
			c, err := net.Dial("udp", net.JoinHostPort(addr, "9"))
			if err != nil {
				return err
			}
			defer c.Close()
			_, err = c.Write([]byte("who has it?"))
			return err
		})
		if err != nil {
			t.Fatalf("send to %s in %s: %v", addr, ns, err)
		}
	}
	send()
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		mac, state := neighbour(ns, dev, addr)
		if mac != "" {
			return mac
		}
		if state == "FAILED" || state == "" {
			send() // the kernel gave up (or dropped the entry): ask again
		}
	}
	return ""
}

// waitNeighbour waits until addr's neighbour entry on dev in namespace ns has MAC address
// mac, without making the namespace ask (a gratuitous ARP or an unsolicited neighbour
// advertisement must do it); it returns how long that took, or false after d.
func waitNeighbour(ns, dev, addr, mac string, d time.Duration) (time.Duration, bool) {
	start := time.Now()
	for {
		if m, _ := neighbour(ns, dev, addr); m == mac {
			return time.Since(start), true
		}
		if time.Since(start) > d {
			return time.Since(start), false
		}
		time.Sleep(10 * time.Millisecond)
	}
}
