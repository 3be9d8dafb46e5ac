package apps

import (
	"testing"
	"time"

	"github.com/uvs-lb/uvs/internal/leakcheck"
)

// TestMain fails the package when goroutines outlive its tests: servers wait for their
// connections and clients for their requests before returning, so a leak means one did not.
func TestMain(m *testing.M) { leakcheck.Main(m, 5*time.Second) }
