//go:build !amd64 || purego

package kernels

// No assembly here: the portable loops do all the work.

func binaryF32(op binOp, dst, a []float32, pa, sa int, b []float32, pb, sb int) bool { return false }

func reluF32Fast(dst, x []float32) bool { return false }

func reluGradF32Fast(dst, g, x []float32) bool { return false }

func accumF32Fast(acc []float64, x []float32) bool { return false }
