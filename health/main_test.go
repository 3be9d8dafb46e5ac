package health_test

import (
	"testing"
	"time"

	"github.com/uvs-lb/uvs/internal/leakcheck"
)

// TestMain fails the package's tests if a goroutine outlives them (the Monitor's, a
// script's waiter, a checker's connection). The package has one TestMain: this one.
func TestMain(m *testing.M) { leakcheck.Main(m, 5*time.Second) }
