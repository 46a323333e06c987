package kernels

import (
	"math"
	"unsafe"
)

// Float is the element type of the arithmetic kernels.
type Float interface{ ~float32 | ~float64 }

// binOp names the binary ops that have assembly loops.
type binOp uint8

const (
	opAdd binOp = iota
	opSub
	opMul
	opDiv
)

// isF32 reports whether T is float32 (a constant in each instantiation).
func isF32[T Float]() bool {
	var z T
	return unsafe.Sizeof(z) == 4
}

// f32s views a []T of a float32 T as []float32.
func f32s[T Float](s []T) []float32 {
	return unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(s))), len(s))
}

// Elementwise kernels on runs: dst[i] = f(a[pa+i*sa], b[pb+i*sb]) for each
// i < len(dst). A stride of 0 broadcasts one value; the cases where both
// strides are 0 or 1 get loops of their own, without index arithmetic, and
// the common ops get kernels of their own, without a call per element.

// Map sets dst[i] = f(x[px+i*sx]) for each i.
func Map[T Float](dst, x []T, px, sx int, f func(T) T) {
	if sx == 1 {
		x = x[px : px+len(dst)]
		dst = dst[:len(x)]
		for i, v := range x {
			dst[i] = f(v)
		}
		return
	}
	for i := range dst {
		dst[i] = f(x[px+i*sx])
	}
}

// Map2 sets dst[i] = f(a[pa+i*sa], b[pb+i*sb]) for each i; a stride of 0
// broadcasts one value.
func Map2[T Float](dst, a []T, pa, sa int, b []T, pb, sb int, f func(x, y T) T) {
	n := len(dst)
	switch {
	case sa == 1 && sb == 1:
		a, b = a[pa:pa+n], b[pb:pb+n]
		dst = dst[:len(a)]
		b = b[:len(a)]
		for i, x := range a {
			dst[i] = f(x, b[i])
		}
	case sa == 1 && sb == 0:
		a = a[pa : pa+n]
		dst = dst[:len(a)]
		y := b[pb]
		for i, x := range a {
			dst[i] = f(x, y)
		}
	case sa == 0 && sb == 1:
		b = b[pb : pb+n]
		dst = dst[:len(b)]
		x := a[pa]
		for i, y := range b {
			dst[i] = f(x, y)
		}
	default:
		for i := range dst {
			dst[i] = f(a[pa+i*sa], b[pb+i*sb])
		}
	}
}

// AddRun sets dst[i] = a[pa+i*sa] + b[pb+i*sb] for each i < len(dst).
func AddRun[T Float](dst, a []T, pa, sa int, b []T, pb, sb int) {
	if isF32[T]() && binaryF32(opAdd, f32s(dst), f32s(a), pa, sa, f32s(b), pb, sb) {
		return
	}
	n := len(dst)
	switch {
	case sa == 1 && sb == 1:
		a = a[pa : pa+n]
		b = b[pb : pb+n]
		dst = dst[:len(a)]
		b = b[:len(a)]
		for i, x := range a {
			y := b[i]
			dst[i] = x + y
		}
	case sa == 1 && sb == 0:
		a = a[pa : pa+n]
		dst = dst[:len(a)]
		y := b[pb]
		for i, x := range a {
			dst[i] = x + y
		}
	case sa == 0 && sb == 1:
		b = b[pb : pb+n]
		dst = dst[:len(b)]
		x := a[pa]
		for i, y := range b {
			dst[i] = x + y
		}
	default:
		for i := range dst {
			x, y := a[pa+i*sa], b[pb+i*sb]
			dst[i] = x + y
		}
	}
}

// SubRun sets dst[i] = a[pa+i*sa] - b[pb+i*sb] for each i < len(dst).
func SubRun[T Float](dst, a []T, pa, sa int, b []T, pb, sb int) {
	if isF32[T]() && binaryF32(opSub, f32s(dst), f32s(a), pa, sa, f32s(b), pb, sb) {
		return
	}
	n := len(dst)
	switch {
	case sa == 1 && sb == 1:
		a = a[pa : pa+n]
		b = b[pb : pb+n]
		dst = dst[:len(a)]
		b = b[:len(a)]
		for i, x := range a {
			y := b[i]
			dst[i] = x - y
		}
	case sa == 1 && sb == 0:
		a = a[pa : pa+n]
		dst = dst[:len(a)]
		y := b[pb]
		for i, x := range a {
			dst[i] = x - y
		}
	case sa == 0 && sb == 1:
		b = b[pb : pb+n]
		dst = dst[:len(b)]
		x := a[pa]
		for i, y := range b {
			dst[i] = x - y
		}
	default:
		for i := range dst {
			x, y := a[pa+i*sa], b[pb+i*sb]
			dst[i] = x - y
		}
	}
}

// MulRun sets dst[i] = a[pa+i*sa] * b[pb+i*sb] for each i < len(dst).
func MulRun[T Float](dst, a []T, pa, sa int, b []T, pb, sb int) {
	if isF32[T]() && binaryF32(opMul, f32s(dst), f32s(a), pa, sa, f32s(b), pb, sb) {
		return
	}
	n := len(dst)
	switch {
	case sa == 1 && sb == 1:
		a = a[pa : pa+n]
		b = b[pb : pb+n]
		dst = dst[:len(a)]
		b = b[:len(a)]
		for i, x := range a {
			y := b[i]
			dst[i] = x * y
		}
	case sa == 1 && sb == 0:
		a = a[pa : pa+n]
		dst = dst[:len(a)]
		y := b[pb]
		for i, x := range a {
			dst[i] = x * y
		}
	case sa == 0 && sb == 1:
		b = b[pb : pb+n]
		dst = dst[:len(b)]
		x := a[pa]
		for i, y := range b {
			dst[i] = x * y
		}
	default:
		for i := range dst {
			x, y := a[pa+i*sa], b[pb+i*sb]
			dst[i] = x * y
		}
	}
}

// DivRun sets dst[i] = a[pa+i*sa] / b[pb+i*sb] for each i < len(dst).
func DivRun[T Float](dst, a []T, pa, sa int, b []T, pb, sb int) {
	if isF32[T]() && binaryF32(opDiv, f32s(dst), f32s(a), pa, sa, f32s(b), pb, sb) {
		return
	}
	n := len(dst)
	switch {
	case sa == 1 && sb == 1:
		a = a[pa : pa+n]
		b = b[pb : pb+n]
		dst = dst[:len(a)]
		b = b[:len(a)]
		for i, x := range a {
			y := b[i]
			dst[i] = x / y
		}
	case sa == 1 && sb == 0:
		a = a[pa : pa+n]
		dst = dst[:len(a)]
		y := b[pb]
		for i, x := range a {
			dst[i] = x / y
		}
	case sa == 0 && sb == 1:
		b = b[pb : pb+n]
		dst = dst[:len(b)]
		x := a[pa]
		for i, y := range b {
			dst[i] = x / y
		}
	default:
		for i := range dst {
			x, y := a[pa+i*sa], b[pb+i*sb]
			dst[i] = x / y
		}
	}
}

// TanhGradRun sets dst[i] = g·(1 - y²), with g = a[pa+i*sa] and y = b[pb+i*sb] (the backward of tanh from its output) for each i < len(dst).
func TanhGradRun[T Float](dst, a []T, pa, sa int, b []T, pb, sb int) {
	n := len(dst)
	switch {
	case sa == 1 && sb == 1:
		a = a[pa : pa+n]
		b = b[pb : pb+n]
		dst = dst[:len(a)]
		b = b[:len(a)]
		for i, x := range a {
			y := b[i]
			dst[i] = x * (1 - y*y)
		}
	case sa == 1 && sb == 0:
		a = a[pa : pa+n]
		dst = dst[:len(a)]
		y := b[pb]
		for i, x := range a {
			dst[i] = x * (1 - y*y)
		}
	case sa == 0 && sb == 1:
		b = b[pb : pb+n]
		dst = dst[:len(b)]
		x := a[pa]
		for i, y := range b {
			dst[i] = x * (1 - y*y)
		}
	default:
		for i := range dst {
			x, y := a[pa+i*sa], b[pb+i*sb]
			dst[i] = x * (1 - y*y)
		}
	}
}

// SigmoidGradRun sets dst[i] = g·y·(1 - y), with g = a[pa+i*sa] and y = b[pb+i*sb] (the backward of the sigmoid from its output) for each i < len(dst).
func SigmoidGradRun[T Float](dst, a []T, pa, sa int, b []T, pb, sb int) {
	n := len(dst)
	switch {
	case sa == 1 && sb == 1:
		a = a[pa : pa+n]
		b = b[pb : pb+n]
		dst = dst[:len(a)]
		b = b[:len(a)]
		for i, x := range a {
			y := b[i]
			dst[i] = x * y * (1 - y)
		}
	case sa == 1 && sb == 0:
		a = a[pa : pa+n]
		dst = dst[:len(a)]
		y := b[pb]
		for i, x := range a {
			dst[i] = x * y * (1 - y)
		}
	case sa == 0 && sb == 1:
		b = b[pb : pb+n]
		dst = dst[:len(b)]
		x := a[pa]
		for i, y := range b {
			dst[i] = x * y * (1 - y)
		}
	default:
		for i := range dst {
			x, y := a[pa+i*sa], b[pb+i*sb]
			dst[i] = x * y * (1 - y)
		}
	}
}

// NegRun sets dst[i] = -x for x = x[px+i*sx].
func NegRun[T Float](dst, x []T, px, sx int) {
	if sx == 1 {
		src := x[px : px+len(dst)]
		dst = dst[:len(src)]
		for i, x := range src {
			dst[i] = -x
		}
		return
	}
	for i := range dst {
		x := x[px+i*sx]
		dst[i] = -x
	}
}

// SquareRun sets dst[i] = x² for x = x[px+i*sx].
func SquareRun[T Float](dst, x []T, px, sx int) {
	if sx == 1 {
		src := x[px : px+len(dst)]
		dst = dst[:len(src)]
		for i, x := range src {
			dst[i] = x * x
		}
		return
	}
	for i := range dst {
		x := x[px+i*sx]
		dst[i] = x * x
	}
}

// SqrtRun sets dst[i] = √x for x = x[px+i*sx].
func SqrtRun[T Float](dst, x []T, px, sx int) {
	if sx == 1 {
		src := x[px : px+len(dst)]
		dst = dst[:len(src)]
		for i, x := range src {
			dst[i] = T(math.Sqrt(float64(x)))
		}
		return
	}
	for i := range dst {
		x := x[px+i*sx]
		dst[i] = T(math.Sqrt(float64(x)))
	}
}

// AbsRun sets dst[i] = |x| for x = x[px+i*sx].
func AbsRun[T Float](dst, x []T, px, sx int) {
	if sx == 1 {
		src := x[px : px+len(dst)]
		dst = dst[:len(src)]
		for i, x := range src {
			dst[i] = T(math.Abs(float64(x)))
		}
		return
	}
	for i := range dst {
		x := x[px+i*sx]
		dst[i] = T(math.Abs(float64(x)))
	}
}

// ExpRun sets dst[i] = eˣ for x = x[px+i*sx]: Exp32 for float32 (within
// 2 ulp, vectorized), math.Exp for float64.
func ExpRun[T Float](dst, x []T, px, sx int) {
	if isF32[T]() {
		expRunF32(f32s(dst), f32s(x), px, sx)
		return
	}
	if sx == 1 {
		src := x[px : px+len(dst)]
		dst = dst[:len(src)]
		for i, x := range src {
			dst[i] = T(math.Exp(float64(x)))
		}
		return
	}
	for i := range dst {
		x := x[px+i*sx]
		dst[i] = T(math.Exp(float64(x)))
	}
}

// LogRun sets dst[i] = ln x (computed in float64) for x = x[px+i*sx].
func LogRun[T Float](dst, x []T, px, sx int) {
	if sx == 1 {
		src := x[px : px+len(dst)]
		dst = dst[:len(src)]
		for i, x := range src {
			dst[i] = T(math.Log(float64(x)))
		}
		return
	}
	for i := range dst {
		x := x[px+i*sx]
		dst[i] = T(math.Log(float64(x)))
	}
}

// TanhRun sets dst[i] = tanh x for x = x[px+i*sx]: Tanh32 for float32
// (within 2 ulp, vectorized), math.Tanh for float64.
func TanhRun[T Float](dst, x []T, px, sx int) {
	if isF32[T]() {
		tanhRunF32(f32s(dst), f32s(x), px, sx)
		return
	}
	if sx == 1 {
		src := x[px : px+len(dst)]
		dst = dst[:len(src)]
		for i, x := range src {
			dst[i] = T(math.Tanh(float64(x)))
		}
		return
	}
	for i := range dst {
		x := x[px+i*sx]
		dst[i] = T(math.Tanh(float64(x)))
	}
}

// CopyRun sets dst[i] = x[px+i*sx].
func CopyRun[T Float](dst, x []T, px, sx int) {
	if sx == 1 {
		copy(dst, x[px:px+len(dst)])
		return
	}
	for i := range dst {
		dst[i] = x[px+i*sx]
	}
}
