//go:build !amd64 || purego

package kernels

// No assembly here: maxPool2x2's Go loop does all the work.

func maxPool2x2F32Fast(w, oh, ow int, plane, y []float32, idx []int32) bool { return false }
