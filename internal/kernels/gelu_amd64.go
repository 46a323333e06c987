//go:build amd64 && !purego

package kernels

import "golang.org/x/sys/cpu"

// The AVX2 loops of gelu_amd64.s, on whole groups of eight values; the
// wrappers leave the rest to the Go functions, which compute the same bits.

//go:noescape
func geluF32(dst, x *float32, n int)

//go:noescape
func geluDerivF32(dst, x *float32, n int)

//go:noescape
func geluBackwardF32(dst, grad, x *float32, n int)

// geluF32x16 and geluBackwardF32x16 are geluF32 and geluBackwardF32 on
// zmm registers, sixteen values at a time (n a multiple of 16), for
// AVX-512F: the same operations lane for lane, so the same bits.
//
//go:noescape
func geluF32x16(dst, x *float32, n int)

//go:noescape
func geluBackwardF32x16(dst, grad, x *float32, n int)

// useAVX512 selects the zmm GELU loops. x/sys/cpu reports AVX-512F only
// when the OS saves the zmm state.
var useAVX512 = useAVX2 && cpu.X86.HasAVX512F

// geluVec sets dst[i] = GELU32(x[i]) for a prefix of dst and returns its
// length.
func geluVec(dst, x []float32) int {
	n := vecLen(len(dst))
	if n == 0 {
		return 0
	}
	x = x[:n]
	i := 0
	if useAVX512 {
		if i = n &^ 15; i > 0 {
			geluF32x16(&dst[0], &x[0], i)
		}
	}
	if i < n {
		geluF32(&dst[i], &x[i], n-i)
	}
	return n
}

// geluDerivVec sets dst[i] = GELUDeriv32(x[i]) for a prefix of dst and
// returns its length.
func geluDerivVec(dst, x []float32) int {
	n := vecLen(len(dst))
	if n == 0 {
		return 0
	}
	x = x[:n]
	geluDerivF32(&dst[0], &x[0], n)
	return n
}

// geluBackwardVec sets dst[i] = g[i]·GELUDeriv32(x[i]) for a prefix of
// dst and returns its length.
func geluBackwardVec(dst, g, x []float32) int {
	n := vecLen(len(dst))
	if n == 0 {
		return 0
	}
	g, x = g[:n], x[:n]
	i := 0
	if useAVX512 {
		if i = n &^ 15; i > 0 {
			geluBackwardF32x16(&dst[0], &g[0], &x[0], i)
		}
	}
	if i < n {
		geluBackwardF32(&dst[i], &g[i], &x[i], n-i)
	}
	return n
}
