//go:build amd64 && !purego

package kernels

// The AVX2 loops of reduce_amd64.s. The wrappers slice their arguments to
// the lengths the assembly walks, so a wrong length fails here with an
// index error rather than in assembly, and each returns how much of the
// work it did (0 or false: none) for the portable code to finish.

// sumLanesF32 is, for n a multiple of 4 (Lanes), refSumLanes of
// reduce_test.go:
//
//	for i := range n { acc[i%4] += float64(x[i]) } // in order of i, each lane alone
//
//go:noescape
func sumLanesF32(acc *float64, x *float32, n int)

// sumLanesF64 is sumLanesF32 for float64 values, n a multiple of 4:
//
//	for i := range n { acc[i%4] += x[i] }
//
//go:noescape
func sumLanesF64(acc *float64, x *float64, n int)

// sumRuns4F32 is sumLanesF32 for four runs rs values apart, each into its
// own four lanes, n a multiple of 4:
//
//	for k := range 4 {
//		for i := range n { acc[4*k+i%4] += float64(x[k*rs+i]) }
//	}
//
//go:noescape
func sumRuns4F32(acc *float64, x *float32, rs, n int)

// sumSqDevF32 is, for n a multiple of 4, refSqDev of reduce_test.go:
//
//	for i := range n {
//		d := float64(x[i]) - c
//		acc[i%4] += float64(d * d) // the square rounded, not fused
//	}
//
//go:noescape
func sumSqDevF32(acc *float64, x *float32, c float64, n int)

// accumSqDevF32 is, for n a multiple of 4,
//
//	for i := range n {
//		d := float64(x[i]) - c[i]
//		acc[i] += float64(d * d) // the square rounded, not fused
//	}
//
//go:noescape
func accumSqDevF32(acc *float64, x *float32, c *float64, n int)

// maxF32 is, for n a positive multiple of 8,
//
//	m = x[0]
//	for i := range n {
//		if x[i] != x[i] { nan = true } else if x[i] > m { m = x[i] }
//	}
//
// except that of equal zeros it may return either (extremeFast's caller
// picks the one the Go loop would), and m means nothing when nan.
//
//go:noescape
func maxF32(x *float32, n int) (m float32, nan bool)

// minF32 is maxF32 for the smallest value (x[i] < m).
//
//go:noescape
func minF32(x *float32, n int) (m float32, nan bool)

// maxF64 is maxF32 for float64 values, n a positive multiple of 4.
//
//go:noescape
func maxF64(x *float64, n int) (m float64, nan bool)

// minF64 is maxF64 for the smallest value (x[i] < m).
//
//go:noescape
func minF64(x *float64, n int) (m float64, nan bool)

// maxColF32 is, for n a multiple of 8, MaxCol's Go loop:
//
//	for i := range n {
//		if x[i] > acc[i] || x[i] != x[i] { acc[i] = x[i] } // a NaN wins; equal zeros keep acc's
//	}
//
//go:noescape
func maxColF32(acc, x *float32, n int)

// minColF32 is maxColF32 for the smallest value (x[i] < acc[i]).
//
//go:noescape
func minColF32(acc, x *float32, n int)

// sumLanesFast adds the longest prefix of x whose length is a multiple of
// Lanes into acc, x[0] going to lane 0, and returns that length.
func sumLanesFast[T Float](x []T, acc *[Lanes]float64) int {
	n := len(x) &^ (Lanes - 1)
	if !useAVX2 || n < simdMin {
		return 0
	}
	if isF32[T]() {
		sumLanesF32(&acc[0], &f32s(x)[0], n)
	} else {
		sumLanesF64(&acc[0], &f64View(x)[0], n)
	}
	return n
}

// sumRunsFast is sumLanesFast for the runs x[k*rs:k*rs+n] into acc[k],
// k < len(acc), four at a time (float32 only). It returns how many whole
// runs it added, each from its start for the longest multiple of Lanes.
func sumRunsFast[T Float](x []T, rs, n int, acc [][Lanes]float64) int {
	m := n &^ (Lanes - 1)
	if !useAVX2 || !isF32[T]() || m < simdMin || rs < 0 {
		return 0
	}
	k := 0
	for ; k+4 <= len(acc); k += 4 {
		_ = x[(k+3)*rs+m-1]
		sumRuns4F32(&acc[k][0], &f32s(x[k*rs:])[0], rs, m)
	}
	return k
}

// sumSqDevFast is sumLanesFast for the squared deviations from c.
func sumSqDevFast[T Float](x []T, c float64, acc *[Lanes]float64) int {
	n := len(x) &^ (Lanes - 1)
	if !useAVX2 || !isF32[T]() || n < simdMin {
		return 0
	}
	sumSqDevF32(&acc[0], &f32s(x)[0], c, n)
	return n
}

// accumSqDevFast adds (x[i] - c[i])² to acc[i] for the longest prefix of
// x whose length is a multiple of 4 (float32 only), and returns its length.
func accumSqDevFast[T Float](acc []float64, x []T, c []float64) int {
	n := len(x) &^ 3
	if !useAVX2 || !isF32[T]() || n < simdMin {
		return 0
	}
	acc, c = acc[:n], c[:n]
	accumSqDevF32(&acc[0], &f32s(x)[0], &c[0], n)
	return n
}

// extremeFast returns the largest (isMax) or smallest of the longest
// prefix of x whose length is a multiple of 8, that length, and whether
// there is a NaN in it; n == 0 when it did nothing. Of two equal zeros it
// may return either: the caller picks the one the Go loop would.
func extremeFast[T Float](x []T, isMax bool) (m T, n int, nan bool) {
	n = len(x) &^ 7
	if !useAVX2 || n < simdMin {
		return 0, 0, false
	}
	if isF32[T]() {
		var v float32
		if isMax {
			v, nan = maxF32(&f32s(x)[0], n)
		} else {
			v, nan = minF32(&f32s(x)[0], n)
		}
		return T(v), n, nan
	}
	var v float64
	if isMax {
		v, nan = maxF64(&f64View(x)[0], n)
	} else {
		v, nan = minF64(&f64View(x)[0], n)
	}
	return T(v), n, nan
}

// extremeColFast folds x into acc as MaxCol (isMax) or MinCol do, for the
// longest prefix whose length is a multiple of 8 (float32 only), and
// returns its length.
func extremeColFast[T Float](acc, x []T, isMax bool) int {
	n := len(x) &^ 7
	if !useAVX2 || !isF32[T]() || n < simdMin {
		return 0
	}
	acc = acc[:n]
	if isMax {
		maxColF32(&f32s(acc)[0], &f32s(x)[0], n)
	} else {
		minColF32(&f32s(acc)[0], &f32s(x)[0], n)
	}
	return n
}
