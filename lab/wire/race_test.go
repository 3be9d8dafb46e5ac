//go:build race

package wire

// raceEnabled: the race detector changes scheduling and allocations, so allocation counts
// are not checked under it.
const raceEnabled = true
