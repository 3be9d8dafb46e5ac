//go:build linux

// Package netnstest gives privileged tests their own network namespaces: made fresh with a
// unique name, IPv6 autoconfiguration off (no router solicitations, MLD or DAD frames in the
// way of a test), deleted in Cleanup, and a way to run code inside one. Tests that use it need
// root; CI runs them as root.
package netnstest

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"
)

// Run runs a command and fails the test with its output when it fails.
func Run(tb testing.TB, args ...string) string {
	tb.Helper()
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		tb.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

var seq atomic.Int32

// New makes a namespace named <prefix>-<pid>-<n>, so concurrent runs do not collide, with IPv6
// off and lo up, and deletes it in Cleanup (with every device in it).
func New(tb testing.TB, prefix string) string {
	tb.Helper()
	name := fmt.Sprintf("%s-%d-%d", prefix, os.Getpid(), seq.Add(1))
	Run(tb, "ip", "netns", "add", name)
	tb.Cleanup(func() { exec.Command("ip", "netns", "del", name).Run() })
	In(tb, name, func() error {
		return os.WriteFile("/proc/sys/net/ipv6/conf/default/disable_ipv6", []byte("1"), 0)
	})
	Run(tb, "ip", "-n", name, "link", "set", "lo", "up")
	return name
}

// In runs fn on a thread that has joined the named namespace, then moves the thread back.
// Sockets and interface lookups made by fn belong to that namespace.
func In(tb testing.TB, ns string, fn func() error) {
	tb.Helper()
	if err := Do(ns, fn); err != nil {
		tb.Fatalf("in netns %s: %v", ns, err)
	}
}

// Do is In without a test: it returns fn's error, or why the namespace could not be joined.
func Do(ns string, fn func() error) error {
	runtime.LockOSThread()
	orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer unix.Close(orig)
	target, err := unix.Open("/run/netns/"+ns, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer unix.Close(target)
	if err := unix.Setns(target, unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("setns: %w", err)
	}
	defer func() {
		if unix.Setns(orig, unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread() // else the thread stays locked and dies with the goroutine
		}
	}()
	return fn()
}
