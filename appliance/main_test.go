package appliance

import (
	"os"
	"testing"
	"time"

	"github.com/uvs-lb/uvs/internal/leakcheck"
)

// TestMain fails the package's tests if a goroutine outlives them (an appliance's loops, a
// health check, a notify script's waiter, a lab host). The test binary is also the helper
// program the health tests' scripts run (see helperMain).
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == helperArg {
		os.Exit(helperMain(os.Args[2:]))
	}
	leakcheck.Main(m, 5*time.Second)
}
