//go:build !amd64 || purego

package kernels

// No assembly here: the optimizer updates run the portable loops.

func sgdPlainF32Fast(p, g []float32, negLR float32) bool { return false }

func sgdMomentumF32Fast(p, g, buf []float32, mom, damp1, negLR float32) bool { return false }

func adamF32Fast(p, g, m, v []float32, c *[9]float32) bool { return false }

func rmspropF32Fast(p, g, sq, buf []float32, c *[9]float32) bool { return false }
