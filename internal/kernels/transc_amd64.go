//go:build amd64 && !purego

package kernels

// The AVX2 loops of transc_amd64.s. They take whole groups of eight
// values; the wrappers hand them the longest such prefix and leave the
// rest to the Go functions, which compute the same bits.

// expF32 is, for n a multiple of 8, the Go function's bits (transc_test.go
// checks every length against it):
//
//	for i := range n { dst[i] = Exp32(x[i] - shift) }
//
//go:noescape
func expF32(dst, x *float32, shift float32, n int)

// tanhF32 is, for n a multiple of 8,
//
//	for i := range n { dst[i] = Tanh32(x[i]) }
//
//go:noescape
func tanhF32(dst, x *float32, n int)

// sigmoidF32 is, for n a multiple of 8,
//
//	for i := range n { dst[i] = Sigmoid32(x[i]) }
//
//go:noescape
func sigmoidF32(dst, x *float32, n int)

// vecLen is how many leading values of a run of n the assembly takes: a
// multiple of 8, or 0 without AVX2.
func vecLen(n int) int {
	if !useAVX2 {
		return 0
	}
	return n &^ 7
}

// expVec sets dst[i] = Exp32(x[i] - shift) for a prefix of dst and
// returns its length.
func expVec(dst, x []float32, shift float32) int {
	n := vecLen(len(dst))
	if n == 0 {
		return 0
	}
	x = x[:n]
	expF32(&dst[0], &x[0], shift, n)
	return n
}

// tanhVec sets dst[i] = Tanh32(x[i]) for a prefix of dst and returns its
// length.
func tanhVec(dst, x []float32) int {
	n := vecLen(len(dst))
	if n == 0 {
		return 0
	}
	x = x[:n]
	tanhF32(&dst[0], &x[0], n)
	return n
}

// sigmoidVec sets dst[i] = Sigmoid32(x[i]) for a prefix of dst and
// returns its length.
func sigmoidVec(dst, x []float32) int {
	n := vecLen(len(dst))
	if n == 0 {
		return 0
	}
	x = x[:n]
	sigmoidF32(&dst[0], &x[0], n)
	return n
}
