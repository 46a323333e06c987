//go:build amd64 && !purego

package kernels

import "golang.org/x/sys/cpu"

// The AVX2 loops of elementwise_amd64.s, for float32 runs that are
// contiguous (or one broadcast value). The wrappers check the slices, so a
// wrong length fails here with an index error rather than in assembly.

// addVVF32 is, for any n >= 0, the portable loop
//
//	for i := range n { dst[i] = a[i] + b[i] }
//
// with the same single-precision rounding, so the bits are the same
// (elementwise_test.go checks the run kernels against plain loops).
//
//go:noescape
func addVVF32(dst, a, b *float32, n int)

// addVSF32 is, for any n >= 0,
//
//	for i := range n { dst[i] = x[i] + s }
//
//go:noescape
func addVSF32(dst, x *float32, s float32, n int)

// addSVF32 is, for any n >= 0,
//
//	for i := range n { dst[i] = s + x[i] }
//
//go:noescape
func addSVF32(dst, x *float32, s float32, n int)

// subVVF32 is, for any n >= 0, the portable loop
//
//	for i := range n { dst[i] = a[i] - b[i] }
//
// with the same single-precision rounding, so the bits are the same
// (elementwise_test.go checks the run kernels against plain loops).
//
//go:noescape
func subVVF32(dst, a, b *float32, n int)

// subVSF32 is, for any n >= 0,
//
//	for i := range n { dst[i] = x[i] - s }
//
//go:noescape
func subVSF32(dst, x *float32, s float32, n int)

// subSVF32 is, for any n >= 0,
//
//	for i := range n { dst[i] = s - x[i] }
//
//go:noescape
func subSVF32(dst, x *float32, s float32, n int)

// mulVVF32 is, for any n >= 0, the portable loop
//
//	for i := range n { dst[i] = a[i] * b[i] }
//
// with the same single-precision rounding, so the bits are the same
// (elementwise_test.go checks the run kernels against plain loops).
//
//go:noescape
func mulVVF32(dst, a, b *float32, n int)

// mulVSF32 is, for any n >= 0,
//
//	for i := range n { dst[i] = x[i] * s }
//
//go:noescape
func mulVSF32(dst, x *float32, s float32, n int)

// mulSVF32 is, for any n >= 0,
//
//	for i := range n { dst[i] = s * x[i] }
//
//go:noescape
func mulSVF32(dst, x *float32, s float32, n int)

// divVVF32 is, for any n >= 0, the portable loop
//
//	for i := range n { dst[i] = a[i] / b[i] }
//
// with the same single-precision rounding, so the bits are the same
// (elementwise_test.go checks the run kernels against plain loops).
//
//go:noescape
func divVVF32(dst, a, b *float32, n int)

// divVSF32 is, for any n >= 0,
//
//	for i := range n { dst[i] = x[i] / s }
//
//go:noescape
func divVSF32(dst, x *float32, s float32, n int)

// divSVF32 is, for any n >= 0,
//
//	for i := range n { dst[i] = s / x[i] }
//
//go:noescape
func divSVF32(dst, x *float32, s float32, n int)

// reluF32 is, for any n >= 0, ReLU's Go loop (unary.go), with Go's max
// (NaN stays NaN, -0 gives +0):
//
//	for i := range n { dst[i] = max(x[i], 0) }
//
//go:noescape
func reluF32(dst, x *float32, n int)

// accumF32 is, for any n >= 0,
//
//	for i := range n { acc[i] += float64(x[i]) }
//
// each sum one double-precision addition, as in reduce.go's Go loop.
//
//go:noescape
func accumF32(acc *float64, x *float32, n int)

// reluGradF32 is, for any n >= 0, ReLUGrad's Go loop (keepIf gives +0
// when x[i] > 0 fails, NaN x included, whatever gp[i] is):
//
//	for i := range n { dst[i] = keepIf(gp[i], x[i] > 0) }
//
// (g names a register in Go assembly, hence gp.)
//
//go:noescape
func reluGradF32(dst, gp, x *float32, n int)

var useAVX2 = cpu.X86.HasAVX2

// simdMin is the shortest run worth a call into assembly.
const simdMin = 16

// binaryF32 computes dst[i] = a[pa+i*sa] op b[pb+i*sb] with the AVX2
// loops when the strides allow (1 and 1, 1 and 0, 0 and 1) and reports
// whether it did.
func binaryF32(op binOp, dst, a []float32, pa, sa int, b []float32, pb, sb int) bool {
	n := len(dst)
	if !useAVX2 || n < simdMin {
		return false
	}
	d := &dst[0]
	switch {
	case sa == 1 && sb == 1:
		a, b = a[pa:pa+n], b[pb:pb+n]
		vv[op](d, &a[0], &b[0], n)
	case sa == 1 && sb == 0:
		a = a[pa : pa+n]
		vs[op](d, &a[0], b[pb], n)
	case sa == 0 && sb == 1:
		b = b[pb : pb+n]
		sv[op](d, &b[0], a[pa], n)
	default:
		return false
	}
	return true
}

var (
	vv = [...]func(dst, a, b *float32, n int){opAdd: addVVF32, opSub: subVVF32, opMul: mulVVF32, opDiv: divVVF32}
	vs = [...]func(dst, x *float32, s float32, n int){opAdd: addVSF32, opSub: subVSF32, opMul: mulVSF32, opDiv: divVSF32}
	sv = [...]func(dst, x *float32, s float32, n int){opAdd: addSVF32, opSub: subSVF32, opMul: mulSVF32, opDiv: divSVF32}
)

// reluF32Fast is ReLU on a contiguous float32 run, if AVX2 is there.
func reluF32Fast(dst, x []float32) bool {
	n := len(dst)
	if !useAVX2 || n < simdMin {
		return false
	}
	x = x[:n]
	reluF32(&dst[0], &x[0], n)
	return true
}

// reluGradF32Fast is ReLUGrad on contiguous float32 runs, if AVX2 is there.
func reluGradF32Fast(dst, g, x []float32) bool {
	n := len(dst)
	if !useAVX2 || n < simdMin {
		return false
	}
	g, x = g[:n], x[:n]
	reluGradF32(&dst[0], &g[0], &x[0], n)
	return true
}

// accumF32Fast is acc[i] += float64(x[i]) over len(acc) values, if AVX2
// is there.
func accumF32Fast(acc []float64, x []float32) bool {
	n := len(acc)
	if !useAVX2 || n < simdMin {
		return false
	}
	x = x[:n]
	accumF32(&acc[0], &x[0], n)
	return true
}
