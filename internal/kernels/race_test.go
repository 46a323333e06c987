//go:build race

package kernels

// raceEnabled: the race detector makes sync.Pool drop items at random, so
// tests that count allocations skip that check under it.
const raceEnabled = true
