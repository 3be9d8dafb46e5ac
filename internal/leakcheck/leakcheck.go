// Package leakcheck fails a test binary whose goroutines outlive its tests. In uvs every
// goroutine has an owner that stops it and waits for it (Close), so a goroutine left running
// after the tests is a bug; this is the check, in the spirit of wireguard-go's.
package leakcheck

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Main runs the tests and then, if they passed, waits up to grace for the goroutines started
// since to end (peers closing connections asynchronously, timers firing late). Those still
// running fail the binary, with every goroutine's stack. Call it from TestMain; it exits.
func Main(m *testing.M, grace time.Duration) {
	before := runtime.NumGoroutine()
	code := m.Run()
	// A fuzzing run (go test -fuzz) leaves the coordinator's os/signal goroutine behind, and
	// its workers exit without returning from m.Run: nothing to check there.
	if fz := flag.Lookup("test.fuzz"); fz != nil && fz.Value.String() != "" {
		os.Exit(code)
	}
	if code == 0 {
		if err := wait(before, grace); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}

func wait(before int, grace time.Duration) error {
	deadline := time.Now().Add(grace)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			return fmt.Errorf("goroutine leak: %d running, %d before the tests:\n%s",
				runtime.NumGoroutine(), before, strings.TrimSpace(string(buf[:n])))
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}
