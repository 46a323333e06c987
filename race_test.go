//go:build race

package backprop_test

// raceEnabled: the race detector makes sync.Pool drop items at random and
// instruments allocations, so tests that count heap bytes skip that check.
const raceEnabled = true
