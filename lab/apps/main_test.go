package apps

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestMain fails the package when goroutines outlive its tests: servers wait for their
// connections and clients for their requests before returning, so a leak means one did not.
func TestMain(m *testing.M) {
	before := runtime.NumGoroutine()
	code := m.Run()
	if code == 0 {
		if err := checkLeaks(before); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}

// checkLeaks waits a little for goroutines above before to end (connections closed by a
// peer end asynchronously) and reports those that do not, with their stacks.
func checkLeaks(before int) error {
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			return fmt.Errorf("goroutine leak: %d running, %d before:\n%s",
				runtime.NumGoroutine(), before, strings.TrimSpace(string(buf[:n])))
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}
