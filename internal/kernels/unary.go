package kernels

import "unsafe"

// Dedicated loops for the activations on every training step's path. Map and
// Map2 call a function value per element, which costs more than the work
// itself for ops this cheap. They are branch-free: on real data the sign of
// an activation is a coin toss, and a mispredicted branch per element costs
// several times the arithmetic.

// ReLU sets dst[i] = max(x[px+i*sx], 0); NaN stays NaN.
func ReLU[T Float](dst, x []T, px, sx int) {
	if sx == 1 && isF32[T]() && reluF32Fast(f32s(dst), f32s(x[px:])) {
		return
	}
	if sx == 1 {
		x = x[px : px+len(dst)]
		dst = dst[:len(x)]
		for i, v := range x {
			dst[i] = max(v, 0)
		}
		return
	}
	for i := range dst {
		dst[i] = max(x[px+i*sx], 0)
	}
}

// ReLUGrad sets dst[i] = g[pg+i*sg] where x[px+i*sx] > 0 and 0 elsewhere
// (NaN included): the upstream gradient masked by the input's sign. A
// stride of 0 broadcasts one value.
func ReLUGrad[T Float](dst, g []T, pg, sg int, x []T, px, sx int) {
	n := len(dst)
	if sg == 1 && sx == 1 && isF32[T]() && reluGradF32Fast(f32s(dst), f32s(g[pg:]), f32s(x[px:])) {
		return
	}
	if sg == 1 && sx == 1 {
		g, x = g[pg:pg+n], x[px:px+n]
		dst = dst[:len(x)]
		g = g[:len(x)]
		for i, v := range x {
			dst[i] = keepIf(g[i], v > 0)
		}
		return
	}
	for i := range dst {
		dst[i] = keepIf(g[pg+i*sg], x[px+i*sx] > 0)
	}
}

// keepIf returns v when c holds and +0 otherwise, by masking v's bits (no
// branch; unlike v times 0 or 1 it turns an infinite or NaN v into 0 too).
// The size test is a constant in each instantiation.
func keepIf[T Float](v T, c bool) T {
	var m uint64
	if c {
		m = ^uint64(0)
	}
	if unsafe.Sizeof(v) == 4 {
		b := *(*uint32)(unsafe.Pointer(&v)) & uint32(m)
		return *(*T)(unsafe.Pointer(&b))
	}
	b := *(*uint64)(unsafe.Pointer(&v)) & m
	return *(*T)(unsafe.Pointer(&b))
}
