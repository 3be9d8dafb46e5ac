package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/uvs-lb/uvs/internal/netnstest"
	"github.com/uvs-lb/uvs/tunnel/realserver"
)

func TestRealserverFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		err  string
	}{
		{nil, "at least one --vip"},
		{[]string{"--vip", "10.0.0.300"}, "invalid value"},
		{[]string{"--vip", "10.0.0.1", "--tun-type", "gre"}, "unknown tunnel type"},
		{[]string{"--vip", "10.0.0.1", "--tun-type", "gue"}, "needs --gue-port"},
		{[]string{"--vip", "10.0.0.1", "--tun-type", "both"}, "needs --gue-port"},
		{[]string{"--vip", "10.0.0.1", "--tun-type", "gue", "--gue-port", "70000"}, "not a port"},
		{[]string{"--vip", "10.0.0.1", "--gue-port", "6080"}, "--gue-port is for"},
		{[]string{"--vip", "10.0.0.1", "extra"}, "unexpected arguments"},
		{[]string{"--vip", "10.0.0.1", "--log-level", "loud"}, "--log-level"},
		{[]string{"--vip", "10.0.0.1", "--log-format", "xml"}, "--log-format"},
	} {
		_, err := parseRealserver(c.args, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("%q: %v, want an error with %q", c.args, err, c.err)
		}
	}
	f, err := parseRealserver([]string{"--vip", "10.0.0.1", "-vip", "fd00::1", "--tun-type", "both", "--gue-port", "6080",
		"--device", "rs9", "--log-level", "debug", "--log-format", "json"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if len(f.cfg.VIPs) != 2 || f.cfg.Types != realserver.IPIP|realserver.GUE || f.cfg.GUEPort != 6080 ||
		f.cfg.Device != "rs9" || f.log.Level != "debug" || f.log.Format != "json" {
		t.Errorf("parsed %+v", f)
	}
	f, err = parseRealserver([]string{"--vip", "10.0.0.1"}, &bytes.Buffer{})
	if err != nil || f.cfg.Types != realserver.IPIP || f.cfg.Device != realserver.DefaultDevice || f.log.Level != "info" {
		t.Errorf("defaults: %+v, %v", f, err)
	}

	var out, errb bytes.Buffer
	if code := run([]string{"realserver"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "usage: uvs realserver") {
		t.Errorf("no flags: exit %d, stderr %q", code, errb.String())
	}
	errb.Reset()
	if code := run([]string{"realserver", "-h"}, &out, &errb); code != 0 || !strings.Contains(errb.String(), "--gue-port") && !strings.Contains(errb.String(), "-gue-port") {
		t.Errorf("-h: exit %d, stderr %q", code, errb.String())
	}
	out.Reset()
	if run([]string{"help"}, &out, &errb); !strings.Contains(out.String(), "realserver") {
		t.Errorf("usage lacks realserver:\n%s", out.String())
	}
}

// lockedBuffer is a bytes.Buffer a child process and the test can share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestRealserverCommand runs the binary: in a fresh namespace as root it prints the host
// setup, warns about what is missing (the VIP is not on lo, ARP settings), runs until SIGTERM
// and logs its counters; as an ordinary user it says that it needs root.
func TestRealserverCommand(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (network namespaces, raw sockets, a TUN device); CI runs it as root")
	}
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		t.Skipf("needs /dev/net/tun: %v", err)
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs iproute2's ip command")
	}
	// A directory user nobody can read, for the unprivileged run.
	dir, err := os.MkdirTemp("", "uvs-realserver-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	bin := buildUVS(t, dir)
	ns := netnstest.New(t, "uvsrs-cmd")
	netnstest.Run(t, "ip", "-n", ns, "link", "add", "v0", "type", "veth", "peer", "name", "v1")

	var stdout, stderr lockedBuffer
	cmd := exec.Command("ip", "netns", "exec", ns, bin, "realserver", "--vip", "10.99.0.1", "--tun-type", "both",
		"--gue-port", "6080", "--log-format", "json")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		cmd.Process.Kill()
		<-exited
	}()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(stderr.String(), "receiving tunnelled packets") {
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("uvs realserver exited: %v\n%s", err, stderr.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("uvs realserver did not start within 20s:\n%s", stderr.String())
		}
	}
	if out := netnstest.Run(t, "ip", "-n", ns, "link", "show", "uvsrs0"); !strings.Contains(out, ",UP") {
		t.Errorf("uvsrs0 is not up: %s", out)
	}
	for _, want := range []string{"ip addr add 10.99.0.1/32 dev lo", "sysctl -w net.ipv4.conf.all.arp_ignore=1",
		"sysctl -w net.ipv4.conf.all.arp_announce=2"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout.String())
		}
	}
	for _, want := range []string{"VIP 10.99.0.1 is not on lo", "net.ipv4.conf.all.arp_ignore is 0", "net.ipv4.conf.all.arp_announce is 0"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("no warning %q:\n%s", want, stderr.String())
		}
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		exited <- err
		if err != nil {
			t.Errorf("exit after SIGTERM: %v\n%s", err, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("uvs realserver did not stop within 10s of SIGTERM")
	}
	if log := stderr.String(); !strings.Contains(log, `"message":"stopped"`) || !strings.Contains(log, `"received":0`) {
		t.Errorf("no counters logged at exit:\n%s", log)
	}

	// Not root: the error says so.
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Log("no setpriv(1): the unprivileged run is skipped")
		return
	}
	var out bytes.Buffer
	un := exec.Command(setpriv, "--reuid=nobody", "--regid=nogroup", "--clear-groups", filepath.Join(dir, "uvs"),
		"realserver", "--vip", "10.99.0.1")
	un.Stdout, un.Stderr = &out, &out
	err = un.Run()
	if code := un.ProcessState.ExitCode(); code != 1 || !strings.Contains(out.String(), "not root") {
		t.Errorf("as nobody: exit %d (%v), want 1 and a message saying it needs root:\n%s", code, err, out.String())
	}
	t.Logf("as nobody:\n%s", out.String())
}
