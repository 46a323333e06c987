//go:build amd64 && !purego

package kernels

// The AVX2 loops of gelu_amd64.s, on whole groups of eight values; the
// wrappers leave the rest to the Go functions, which compute the same bits.

//go:noescape
func geluF32(dst, x *float32, n int)

//go:noescape
func geluDerivF32(dst, x *float32, n int)

//go:noescape
func geluBackwardF32(dst, grad, x *float32, n int)

// geluVec sets dst[i] = GELU32(x[i]) for a prefix of dst and returns its
// length.
func geluVec(dst, x []float32) int {
	n := vecLen(len(dst))
	if n == 0 {
		return 0
	}
	x = x[:n]
	geluF32(&dst[0], &x[0], n)
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
	geluBackwardF32(&dst[0], &g[0], &x[0], n)
	return n
}
