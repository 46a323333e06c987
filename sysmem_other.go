//go:build !linux

package backprop

// systemMemory is unknown here: only the Go runtime's own limit applies.
func systemMemory() uint64 { return 0 }
