package netstack

import (
	"testing"
	"time"

	"github.com/uvs-lb/uvs/internal/leakcheck"
)

// TestMain fails the package when goroutines outlive its tests: every goroutine has an owner
// that stops it (Dataplane.Close, Host.Close, Switch.Close), and a leak means one does not.
func TestMain(m *testing.M) { leakcheck.Main(m, 5*time.Second) }
