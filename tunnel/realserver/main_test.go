package realserver

import (
	"testing"
	"time"

	"github.com/uvs-lb/uvs/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m, 3*time.Second) }
