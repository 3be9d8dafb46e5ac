package sdnotify

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uvs-lb/uvs/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m, 5*time.Second) }

// listen is a service manager's end: a unixgram socket at addr (a path or "@name").
func listen(t *testing.T, addr string) *net.UnixConn {
	t.Helper()
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// recv reads one datagram.
func recv(t *testing.T, c *net.UnixConn) string {
	t.Helper()
	buf := make([]byte, 4096)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := c.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	return string(buf[:n])
}

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestNotify(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notify.sock")
	sm := listen(t, path)
	n := New(env(map[string]string{"NOTIFY_SOCKET": path}))
	if !n.Enabled() {
		t.Fatal("not enabled")
	}
	for _, c := range []struct {
		send func() error
		want string
	}{
		{n.Ready, "READY=1"},
		{n.Stopping, "STOPPING=1"},
		{n.Watchdog, "WATCHDOG=1"},
		{func() error { return n.Status("serving 3 services\nof 4") }, "STATUS=serving 3 services of 4"},
	} {
		if err := c.send(); err != nil {
			t.Fatal(err)
		}
		if got := recv(t, sm); got != c.want {
			t.Errorf("got %q, want %q", got, c.want)
		}
	}
}

// TestReloading: RELOADING=1 carries CLOCK_MONOTONIC, which systemd compares with the time it
// sent the reload signal.
func TestReloading(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notify.sock")
	sm := listen(t, path)
	n := New(env(map[string]string{"NOTIFY_SOCKET": path}))
	before, err := monotonicUsec()
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Reloading(); err != nil {
		t.Fatal(err)
	}
	got := recv(t, sm)
	first, rest, _ := strings.Cut(got, "\n")
	usec, ok := strings.CutPrefix(rest, "MONOTONIC_USEC=")
	v, err := strconv.ParseUint(usec, 10, 64)
	if first != "RELOADING=1" || !ok || err != nil {
		t.Fatalf("got %q", got)
	}
	after, _ := monotonicUsec()
	if v < before || v > after {
		t.Errorf("MONOTONIC_USEC=%d, not within [%d, %d]", v, before, after)
	}
}

// TestAbstract: "@name" is an abstract socket, as systemd's user managers and containers
// name theirs.
func TestAbstract(t *testing.T) {
	name := fmt.Sprintf("@uvs-sdnotify-test-%d-%d", os.Getpid(), time.Now().UnixNano())
	sm := listen(t, name)
	if err := New(env(map[string]string{"NOTIFY_SOCKET": name})).Ready(); err != nil {
		t.Fatal(err)
	}
	if got := recv(t, sm); got != "READY=1" {
		t.Errorf("got %q", got)
	}
}

// TestEnvironment: the package functions read the process's environment at each call.
func TestEnvironment(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	t.Setenv("WATCHDOG_USEC", "")
	// Unset: nothing is sent and nothing fails.
	for _, f := range []func() error{Ready, Reloading, Stopping, Watchdog, func() error { return Status("x") }} {
		if err := f(); err != nil {
			t.Errorf("without NOTIFY_SOCKET: %v", err)
		}
	}
	if _, ok := WatchdogInterval(); ok {
		t.Error("a watchdog without WATCHDOG_USEC")
	}
	var nilN *Notifier
	if err := nilN.Ready(); err != nil || nilN.Enabled() {
		t.Errorf("nil Notifier: %v", err)
	}

	path := filepath.Join(t.TempDir(), "notify.sock")
	sm := listen(t, path)
	t.Setenv("NOTIFY_SOCKET", path)
	if err := Ready(); err != nil {
		t.Fatal(err)
	}
	if got := recv(t, sm); got != "READY=1" {
		t.Errorf("got %q", got)
	}
}

func TestWatchdogInterval(t *testing.T) {
	me := strconv.Itoa(os.Getpid())
	for _, c := range []struct {
		usec, pid string
		want      time.Duration
		ok        bool
	}{
		{"", "", 0, false},
		{"30000000", "", 30 * time.Second, true},
		{"30000000", me, 30 * time.Second, true},
		{"30000000", "1", 0, false}, // another process's
		{"0", "", 0, false},
		{"-5", "", 0, false},
		{"soon", "", 0, false},
	} {
		d, ok := New(env(map[string]string{"WATCHDOG_USEC": c.usec, "WATCHDOG_PID": c.pid})).WatchdogInterval()
		if d != c.want || ok != c.ok {
			t.Errorf("WATCHDOG_USEC=%q WATCHDOG_PID=%q: %v %v, want %v %v", c.usec, c.pid, d, ok, c.want, c.ok)
		}
	}
}

// TestErrors: a socket that is not there, or not a socket address, is an error (the caller
// logs it); it never blocks.
func TestErrors(t *testing.T) {
	for _, s := range []string{filepath.Join(t.TempDir(), "absent.sock"), "relative.sock", "vsock:2:1234"} {
		if err := New(env(map[string]string{"NOTIFY_SOCKET": s})).Ready(); err == nil {
			t.Errorf("NOTIFY_SOCKET=%q: no error", s)
		}
	}
}

// TestRunWatchdog pings every half interval while alive, and stops when it is not.
func TestRunWatchdog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notify.sock")
	sm := listen(t, path)
	n := New(env(map[string]string{"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "40000"})) // 40 ms
	var calls atomic.Int32
	stuck := errors.New("the engine is stuck")
	done := make(chan error, 1)
	go func() {
		done <- n.RunWatchdog(context.Background(), func() error {
			if calls.Add(1) > 3 {
				return stuck
			}
			return nil
		}, nil)
	}()
	for range 3 {
		if got := recv(t, sm); got != "WATCHDOG=1" {
			t.Fatalf("got %q", got)
		}
	}
	select {
	case err := <-done:
		if !errors.Is(err, stuck) {
			t.Errorf("RunWatchdog: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("RunWatchdog goes on after alive failed")
	}

	// ctx ends it; without a watchdog it returns at once.
	ctx, cancel := context.WithCancel(context.Background())
	go func() { done <- n.RunWatchdog(ctx, func() error { return nil }, nil) }()
	recv(t, sm)
	cancel()
	if err := <-done; err != nil {
		t.Errorf("after cancel: %v", err)
	}
	if err := New(env(map[string]string{"NOTIFY_SOCKET": path})).RunWatchdog(context.Background(), nil, nil); err != nil {
		t.Errorf("without a watchdog: %v", err)
	}
}
